"""Every cloud scenario (features/cloud_cluster.feature, backups.feature; the failover ones in
test_broken_failover.py, a file of its own so that the two spread over the test workers) passes on the healthy
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
FEATURES = [ROOT / "features" / f for f in ("cloud_cluster.feature", "backups.feature")]
CASES = [
    # (scenario name, breakage, text the failure must contain)
    ("The cloud servers of <cluster> are created as the lab file says, and a second run changes nothing",
     "cloud-server-labels-edited", "FAIL hcloud-server [lily]: labels"),
    ("Every node of <cluster> joins the tailnet, and its Talos API answers there and only there",
     "cloud-tailscale-stopped", "FAIL tailnet-device [lily]: offline"),
    ("Every node of <cluster> joins the tailnet, and its Talos API answers there and only there",
     "cloud-talos-port-opened", "ANSWERS on its public address"),
    ("<cluster> comes up healthy over the tailnet", "cloud-endpoint-record-edited", "100.64.99.99"),
    ("A backup of an app's namespace goes to the bucket and restores elsewhere with the same objects",
     "s3-key-revoked", "refused the lab's credentials (object_storage.access_key env:S3_ACCESS_KEY)"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[f"{b}-{i}" for i, (_, b, _) in enumerate(CASES)])
def test_cloud_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected, lab=LAB)


def test_every_cloud_scenario_passes_on_a_healthy_lab_and_has_a_breaking_case(tmp_path):
    assert_features_pass(tmp_path, FEATURES, CASES)


def assert_features_pass(tmp_path, features, cases) -> None:
    """Every scenario of `features` runs on healthy bouquet2 (none skipped) and passes; each has a case in `cases`."""
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", *map(str, features), f"--lab={LAB}", "-q",
                           "-p", "no:cacheprovider", f"--junitxml={junit}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    ran_cases = list(ET.parse(junit).getroot().iter("testcase"))
    names = {c.get("name") for c in ran_cases}
    skipped = [c.get("name") for c in ran_cases if c.find("skipped") is not None]
    assert skipped == [], f"not run on bouquet2: {skipped}"
    scenarios = [s for f in features for s in re.findall(r"^\s*Scenario(?: Outline)?: (.+?)\s*$", f.read_text(),
                                                          re.MULTILINE)]
    assert len(names) == len(scenarios), sorted(names)
    for scenario in scenarios:
        assert ran(names, scenario), f"{scenario!r} did not run"
    assert sorted(set(scenarios)) == sorted({s for s, _, _ in cases}), "every scenario needs a breaking case"
