"""Every cloud scenario (features/cloud_cluster.feature, dns_failover.feature, backups.feature) passes on the healthy
simulated bouquet2 lab and fails on a lab broken the way it describes, at the step and with the words expected.

Same method as test_broken_lab.py: the real feature runs in a subprocess on labs/bouquet2.yaml with `--sim-break
NAME`; the breakages (labsim/steps/cloud_breakages.py) act at a provider's API, on the cluster, or as the world.
"""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, ran

LAB = "labs/bouquet2.yaml"
FEATURES = [ROOT / "features" / f for f in ("cloud_cluster.feature", "dns_failover.feature", "backups.feature")]
POWERED_OFF = ("A worker powered off in its cloud loses its record, and clients stop failing once their answers "
               "expire")
CASES = [
    # (scenario name, breakage, text the failure must contain)
    ("The cloud servers of <cluster> are created as the lab file says, and a second run changes nothing",
     "cloud-server-labels-edited", "FAIL hcloud-server [lily]: labels"),
    ("Every node of <cluster> joins the tailnet, and its Talos API answers there and only there",
     "cloud-tailscale-stopped", "FAIL tailnet-device [lily]: offline"),
    ("Every node of <cluster> joins the tailnet, and its Talos API answers there and only there",
     "cloud-talos-port-opened", "ANSWERS on its public address"),
    ("<cluster> comes up healthy over the tailnet", "cloud-endpoint-record-edited", "100.64.99.99"),
    ("<record> holds one A record per healthy worker, each owned by the watcher", "failover-record-added-by-hand",
     "records the watcher does not own: ['49.12.200.200']"),
    (POWERED_OFF, "failover-watcher-stopped", "FAIL record-removed [lily]: still in the record set"),
    (POWERED_OFF, "failover-record-ttl-raised", "requests failed more than 60s after the removal"),
    ("The worker back on regains its record after M good probes", "failover-watcher-stopped-while-out",
     "FAIL record-regained [lily]: the record did not come back"),
    ("With every worker down the last record stays, and the watcher says why", "failover-watcher-stopped",
     "records after every worker went down: [2, 2"),
    ("A backup of an app's namespace goes to the bucket and restores elsewhere with the same objects",
     "s3-key-revoked", "refused the lab's credentials (object_storage.access_key env:S3_ACCESS_KEY)"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[f"{b}-{i}" for i, (_, b, _) in enumerate(CASES)])
def test_cloud_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected, lab=LAB)


def test_every_cloud_scenario_passes_on_a_healthy_lab_and_has_a_breaking_case(tmp_path):
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", *map(str, FEATURES), f"--lab={LAB}", "-q",
                           "-p", "no:cacheprovider", f"--junitxml={junit}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    names = {c.get("name") for c in cases}
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == [], f"not run on bouquet2: {skipped}"
    scenarios = [s for f in FEATURES for s in re.findall(r"^\s*Scenario(?: Outline)?: (.+?)\s*$", f.read_text(),
                                                          re.MULTILINE)]
    assert len(names) == len(scenarios) == 8, sorted(names)
    for scenario in scenarios:
        assert ran(names, scenario), f"{scenario!r} did not run"
    assert sorted(set(scenarios)) == sorted({s for s, _, _ in CASES}), "every cloud scenario needs a breaking case"
