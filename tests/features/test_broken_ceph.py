"""Every Rook-Ceph scenario fails on a lab broken the way it describes (that it passes on a healthy one is `features/`)
(features/ceph_health.feature; breakages in labsim/steps/ceph_breakages.py), at the step and with Ceph's words."""
from __future__ import annotations


import pytest

from tests.features.test_broken_lab import ROOT, _k, assert_scenario_fails, cases, collected, scenario_names

READY = "Rook-Ceph on <cluster> reaches HEALTH_OK with its mons in quorum and one OSD per planned disk"
MGRS = "Rook-Ceph on <cluster> runs the mgrs and pools the lab file plans"
STOPPED = ("A stopped worker degrades the cluster, stays degraded with nowhere to backfill, and recovers when it "
           "returns")
CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    (READY, "ceph-namespace-label-removed-by-hand", "namespace",
     'a second plan of Rook-Ceph on "<cluster>" has nothing to do'),
    (READY, "ceph-osd-disk-not-blank", "OSD count 2 < osd_pool_default_size 3"),
    (READY, "ceph-osd-host-powered-off", "HEALTH_WARN", 'the CephCluster of "<cluster>" is Ready and Created with HEALTH_OK',
     None, (('Ceph on "<cluster>" has every mon in quorum, one OSD up and in per planned disk and every placement group '
             'active+clean', "wrk-e-1"),)),
    ("A stopped worker degrades the cluster, stays degraded with nowhere to backfill, and recovers when it returns",
     "ceph-min-down-reporters-3", "[talos-east OSD_DOWN]",
     'within 45 seconds Ceph on "<ceph>" reports OSD_DOWN, OSD_HOST_DOWN and PG_DEGRADED, and MON_DOWN as a mon ran on '
     '"<ceph.second worker>"', None,
     (('within 90 seconds Ceph on "<ceph>" reports PG_DEGRADED with "pgs undersized"',
       "PG_DEGRADED with 'pgs undersized' in HEALTH_WARN"),
      ('the OSD of "<ceph.second worker>" on "<ceph>" is down and out, and placement groups stay undersized and '
       'degraded', "OSDs of wrk-e-2: [('osd.1', 'up', 1"))),
    (STOPPED, "talos-worker-powered-off", "within 15 minutes: HEALTH_WARN", 'Ceph on "<ceph>" returns to HEALTH_OK within 15 minutes',
     'Ceph on "<ceph>" returns to HEALTH_OK within 15 minutes'),
    ("Losing the OSDs of two of three workers makes placement groups inactive", "ceph-pools-min-size-1",
     "[talos-east PG_AVAILABILITY]", 'within 3 minutes Ceph on "<ceph>" reports PG_AVAILABILITY with "pgs inactive"'),
    ("A worker whose extra disk is not blank gets no OSD, and health says so", "ceph-disk-wiped",
     "waiting for the prepare job of wrk-e-3 to log",
     'the OSD prepare log of "<ceph.third worker>" on "<ceph>" says \'skipping device "<ceph.disk>" because it contains '
     'a filesystem "xfs"\'', None,
     # the wiped disk gets its OSD: three OSDs on three hosts, every PG with its three copies (HEALTH_OK)
     (('within 15 minutes Ceph on "<ceph>" reports TOO_FEW_OSDS with "OSD count 2 < osd_pool_default_size 3"',
       "in HEALTH_OK"),
      ('within 3 minutes Ceph on "<ceph>" reports PG_DEGRADED with "pgs undersized"', "in HEALTH_OK"),
      ('verification of "<ceph>" reports "osds-up-in" failing with "<ceph.third worker>: 0 of 1 planned OSDs exist"',
       "3 OSDs up and in"))),
    ("A mon whose clock runs ahead is reported as clock skew", "ceph-clock-drift-allowed",
     "[talos-east MON_CLOCK_SKEW]",
     'within 10 minutes Ceph on "<ceph>" reports MON_CLOCK_SKEW naming the mon on "<ceph.third worker>"'),
    ("Filling the block pool crosses the nearfull ratio, then the full ratio", "ceph-nearfull-ratio-raised",
     "[talos-east OSD_NEARFULL]", 'Ceph on "<ceph>" reports OSD_NEARFULL with "nearfull osd(s)"', None,
     # no OSD nearfull, so no pool flagged nearfull either (OSDMap::check_health: POOL_NEARFULL follows the OSDs)
     (('Ceph on "<ceph>" reports POOL_NEARFULL with "pool \'<ceph.pool>\' is nearfull"', "in HEALTH_OK"),
      ('the health of "<ceph>" is HEALTH_WARN', "HEALTH_OK"))),
    ("A crashed OSD is reported until its crash is archived", "ceph-crash-collector-off",
     "[talos-east RECENT_CRASH]", 'within 11 minutes Ceph on "<ceph>" reports RECENT_CRASH with "1 daemons have recently crashed"'),
    # an OSD host's OSDs scaled to zero after the crash is archived: OSD_DOWN "1 osds down" (OSDMap::check_health)
    ("A crashed OSD is reported until its crash is archived", "ceph-osd-host-scaled-to-zero", "1 osds down",
     'Ceph on "<ceph>" returns to HEALTH_OK within 5 minutes', 'Ceph on "<ceph>" returns to HEALTH_OK within 5 minutes'),
    # the mgrmap's num_standbys (MgrMap::print_summary) once the standby mgr's beacons stop
    (MGRS, "ceph-standby-mgrs-scaled-down", "an active mgr and 0 standby(s)",
     'Ceph on "<cluster>" has one active mgr and the standbys the lab file plans'),
    (MGRS, "ceph-pool-renamed-by-hand", "missing pool(s) ceph-blockpool (pools: .mgr, ceph-blockpool-old",
     'Ceph on "<cluster>" has every pool the lab file plans'),
    # the OSDs back up before health is read: no OSD down (and Ceph says so: no OSD_DOWN)
    ("Losing the OSDs of two of three workers makes placement groups inactive", "ceph-osds-scaled-back-up",
     "OSD_DOWN with '2 osds down' in HEALTH_OK",
     'within 30 seconds Ceph on "<ceph>" reports OSD_DOWN with "2 osds down"'),
    # a quota on the pool before the second fill: writes stop at the quota, no OSD gets full; POOL_FULL is a
    # HEALTH_WARN check with "pool 'P' is full (running out of quota)" (src/osd/OSDMap.cc, OSDMap::check_health)
    ("Filling the block pool crosses the nearfull ratio, then the full ratio", "ceph-pool-quota-at-its-data",
     "pool 'ceph-blockpool' is full (running out of quota)", 'Ceph on "<ceph>" reports OSD_FULL with "full osd(s)"',
     'clients fill "<ceph.pool>" on "<ceph>" until its OSDs are 99% used',
     (('the health of "<ceph>" is HEALTH_ERR', "HEALTH_WARN"),)),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_ceph_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


def test_every_case_names_a_collected_ceph_scenario():
    """Every scenario of the feature is collected for this lab, and every case names one. That they pass on a healthy
    lab is `features/` itself, which make test and make verify run: running them again here repeated that work."""
    names = collected(["features/", "-m", "ceph"])
    for scenario in scenario_names(ROOT / "features" / "ceph_health.feature"):
        assert any(n.startswith(_k(scenario)) for n in names), f"{scenario!r} is not collected"
    for scenario, *_ in CASES:
        assert any(n.startswith(_k(scenario)) for n in names), f"{scenario!r} is not a scenario of the feature"
