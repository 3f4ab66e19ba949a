"""Every scenario of features/dns_failover.feature passes on the healthy simulated bouquet2 lab and fails on a lab
broken the way it describes: the watcher scaled to zero, a record added or a TTL raised by hand at Cloudflare
(labsim/steps/cloud_breakages.py). Method and helpers: test_broken_cloud.py.
"""
from __future__ import annotations

import pytest

from tests.features.test_broken_cloud import LAB, assert_features_pass
from tests.features.test_broken_lab import ROOT, assert_scenario_fails

FEATURES = [ROOT / "features" / "dns_failover.feature"]
POWERED_OFF = ("A worker powered off in its cloud loses its record, and clients stop failing once their answers "
               "expire")
CASES = [
    # (scenario name, breakage, text the failure must contain)
    ("<record> holds one A record per healthy worker, each owned by the watcher", "failover-record-added-by-hand",
     "records the watcher does not own: ['49.12.200.200']"),
    (POWERED_OFF, "failover-watcher-stopped", "FAIL record-removed [lily]: still in the record set"),
    (POWERED_OFF, "failover-record-ttl-raised", "requests failed more than 60s after the removal"),
    ("The worker back on regains its record after M good probes", "failover-watcher-stopped-while-out",
     "FAIL record-regained [lily]: the record did not come back"),
    ("With every worker down the last record stays, and the watcher says why", "failover-watcher-stopped",
     "records after every worker went down: [2, 2"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[f"{b}-{i}" for i, (_, b, _) in enumerate(CASES)])
def test_failover_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected, lab=LAB)


def test_every_failover_scenario_passes_on_a_healthy_lab_and_has_a_breaking_case(tmp_path):
    assert_features_pass(tmp_path, FEATURES, CASES)
