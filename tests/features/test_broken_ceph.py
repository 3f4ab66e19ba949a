"""Every Rook-Ceph scenario passes on a healthy simulated lab and fails on a lab broken the way it describes
(features/ceph_health.feature; breakages in steps/ceph_breakages.py), at the step and with Ceph's words."""
from __future__ import annotations

import pytest

from tests.features.test_broken_lab import assert_scenario_fails, run_feature

READY = "Rook-Ceph on <cluster> reaches HEALTH_OK with three mons and one OSD per worker"
CASES = [
    # (scenario, breakage, text the failure must contain)
    (READY, "ceph-namespace-not-privileged", 'violates PodSecurity "baseline:latest"'),
    (READY, "ceph-osd-disk-not-blank", "OSD count 2 < osd_pool_default_size 3"),
    ("A stopped worker degrades the cluster, stays degraded with nowhere to backfill, and recovers when it returns",
     "ceph-min-down-reporters-3", "OSD_DOWN, OSD_HOST_DOWN, PG_DEGRADED"),
    ("Losing the OSDs of two of three workers makes placement groups inactive", "ceph-pools-min-size-1",
     "PG_AVAILABILITY on talos-east"),
    ("A worker whose extra disk is not blank gets no OSD, and health says so", "ceph-disk-wiped",
     "waiting for the prepare job of wrk-e-3 to log"),
    ("A mon whose clock runs ahead is reported as clock skew", "ceph-clock-drift-allowed",
     "MON_CLOCK_SKEW on talos-east"),
    ("Filling the block pool crosses the nearfull ratio, then the full ratio", "ceph-nearfull-ratio-raised",
     "OSD_NEARFULL on talos-east"),
    ("A crashed OSD is reported until its crash is archived", "ceph-crash-collector-off",
     "RECENT_CRASH on talos-east"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[b for _, b, _ in CASES])
def test_ceph_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected)


def test_every_ceph_scenario_passes_on_a_healthy_lab(tmp_path):
    results = {}
    for scenario in dict.fromkeys(s for s, _, _ in CASES):
        results.update(run_feature(tmp_path, scenario, None))
    assert len(results) == 8, sorted(results)
    failed = {name: msg[:1500] for name, msg in results.items() if msg}
    assert not failed, failed
