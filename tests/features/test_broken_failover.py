"""Every scenario of features/dns_failover.feature passes on the healthy simulated bouquet2 lab and fails on a lab
broken the way it describes, every Then step shown failing: the watcher scaled to zero, a record added or a TTL
raised by hand at Cloudflare (labsim/steps/cloud_breakages.py). Method and helpers: test_broken_cloud.py.
"""
from __future__ import annotations

import pytest

from tests.features.test_broken_cloud import LAB, TRIO, assert_features_pass
from tests.features.test_broken_lab import ROOT, assert_scenario_fails, cases

FEATURES = [ROOT / "features" / "dns_failover.feature"]
POWERED_OFF = ("A worker powered off in its cloud loses its record, and clients stop failing once their answers "
               "expire")
LOSES = '"<record>" loses the record of "<record.worker>" within the watcher\'s detection time'
TOLD = ('the watcher wrote an Event on the Ingress of "<record>" and a log line saying why it removed '
        '"<record.worker>"')
CLIENTS = 'no client request to "<record>" fails once the record\'s TTL has passed since the removal'
ALL_DOWN = "With every worker down the last record stays, and the watcher says why"
CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step[, strike before[, further (step, text)]]])
    # An A record added at Cloudflare by hand, without the watcher's comment.
    ("<record> holds one A record per healthy worker, each owned by the watcher", "failover-record-added-by-hand",
     "records the watcher does not own: ['203.0.113.200']",
     '"<record>" holds one A record per healthy worker of "<record.cluster>", each owned by the watcher'),
    # The watcher scaled to zero: nobody removes the dead worker's record, no Event or log line says so, and clients
    # that resolve the name keep getting the dead address.
    (POWERED_OFF, "failover-watcher-stopped", "FAIL record-removed [lily]: still in the record set", LOSES, None,
     ((TOLD, "no DNSRecordRemoved Event about lily"),
      (CLIENTS, "FAIL clients-after-ttl [lily]: the record was never removed"))),
    # The TTL raised to an hour: resolvers keep the dead worker's address long after its record is gone.
    (POWERED_OFF, "failover-record-ttl-raised", "requests failed more than 60s after the removal", CLIENTS),
    ("The worker back on regains its record after M good probes", "failover-watcher-stopped-while-out",
     "FAIL record-regained [lily]: the record did not come back",
     '"<record>" regains the record of "<record.worker>" after <record.recover after> good probes, not sooner'),
    (ALL_DOWN, "failover-watcher-stopped", "records after every worker went down: [2, 2",
     '"<record>" keeps exactly one record', None,
     (("the watcher says that every worker is out and that it keeps the last record",
       "no DNSLastRecordKept Event"),)),
]
# On another cloud lab file (labs/hetzner-trio.yaml: its worker birch, its name www.example.net).
TRIO_CASES = [
    (POWERED_OFF, "failover-watcher-stopped", "FAIL record-removed [birch]: still in the record set", LOSES, None,
     ((TOLD, "no DNSRecordRemoved Event about birch"),
      (CLIENTS, "FAIL clients-after-ttl [birch]: the record was never removed"))),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_failover_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case, lab=LAB)


@pytest.mark.parametrize("case", cases(TRIO_CASES))
def test_failover_breakages_work_on_another_cloud_lab(tmp_path, case):
    assert_scenario_fails(tmp_path, *case, lab=TRIO)


def test_every_failover_scenario_passes_on_a_healthy_lab_and_has_a_breaking_case(tmp_path):
    assert_features_pass(tmp_path, FEATURES, CASES)
