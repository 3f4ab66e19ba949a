"""Every Rook-Ceph scenario passes on a healthy simulated lab and fails on a lab broken the way it describes
(features/ceph_health.feature; breakages in labsim/steps/ceph_breakages.py), at the step and with Ceph's words."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.features.test_broken_lab import ROOT, _k, assert_scenario_fails

READY = "Rook-Ceph on <cluster> reaches HEALTH_OK with its mons in quorum and one OSD per planned disk"
CASES = [
    # (scenario, breakage, text the failure must contain)
    (READY, "ceph-namespace-not-privileged", 'violates PodSecurity "baseline:latest"'),
    (READY, "ceph-osd-disk-not-blank", "OSD count 2 < osd_pool_default_size 3"),
    ("A stopped worker degrades the cluster, stays degraded with nowhere to backfill, and recovers when it returns",
     "ceph-min-down-reporters-3", "[talos-east OSD_DOWN]"),
    ("Losing the OSDs of two of three workers makes placement groups inactive", "ceph-pools-min-size-1",
     "[talos-east PG_AVAILABILITY]"),
    ("A worker whose extra disk is not blank gets no OSD, and health says so", "ceph-disk-wiped",
     "waiting for the prepare job of wrk-e-3 to log"),
    ("A mon whose clock runs ahead is reported as clock skew", "ceph-clock-drift-allowed",
     "[talos-east MON_CLOCK_SKEW]"),
    ("Filling the block pool crosses the nearfull ratio, then the full ratio", "ceph-nearfull-ratio-raised",
     "[talos-east OSD_NEARFULL]"),
    ("A crashed OSD is reported until its crash is archived", "ceph-crash-collector-off",
     "[talos-east RECENT_CRASH]"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[b for _, b, _ in CASES])
def test_ceph_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected)


def test_every_ceph_scenario_passes_on_a_healthy_lab(tmp_path):
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "features/", "-m", "ceph", "-q", "-p", "no:cacheprovider",
                           f"--junitxml={junit}"], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    names = {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")}
    assert len(names) == 8, sorted(names)
    for scenario, _, _ in CASES:
        assert any(n.startswith(_k(scenario)) for n in names), f"{scenario!r} is not a scenario of the feature"
