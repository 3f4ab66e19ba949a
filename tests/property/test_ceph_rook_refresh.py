"""Rook's status refresh as a property: whatever `healthCheck.daemonHealth.status.interval` the chart sets, the
operator rewrites `status.ceph` (lastChecked, health, details) once per interval (on its 5 s reconcile tick),
so a lost node shows in the CephCluster at most one interval after Ceph itself reports it."""
from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph import podsecurity, toolbox
from labsim.fakes.ceph.model import Disk
from labsim.fakes.ceph.rook import TICK, RookOperator
from labsim.fakes.ceph.tunables import GIB
from labsim.fakes.kube.testing import start_kube_lab
from tests.unit.test_ceph_rook import NS, _install

INTERVALS = {"15s": 15.0, "30s": 30.0, "45s": 45.0, "1m": 60.0, "90s": 90.0, "2m": 120.0, "7s": 7.0, "1.5m": 90.0}


def _t(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(INTERVALS)), st.sampled_from(["worker-1", "worker-2", "worker-3"]))
def test_status_ceph_is_refreshed_once_per_interval(tmp_path_factory, interval, lost):
    every = INTERVALS[interval]
    with start_kube_lab(tmp_path_factory.mktemp("rook"), workers=3) as lab:
        kube = lab.cluster
        kube.create("namespaces", {"metadata": {"name": NS, "labels": {podsecurity.LABEL: "privileged"}}})
        op = RookOperator(kube, disks=lambda n: [Disk("/dev/vda", 24 * GIB, partitions=6, system=True),
                                                 Disk("/dev/vdb", 64 * GIB)]).start()
        toolbox.install(op)
        _install(kube, {"toolbox": {"enabled": True},
                        "cephClusterSpec": {"healthCheck": {"daemonHealth": {"status": {"interval": interval}}}}})

        def status() -> dict:
            return (kube.get("cephclusters.ceph.rook.io", NS, NS).get("status") or {}).get("ceph") or {}
        for _ in range(200):
            lab.clock.sleep(TICK)
            if status().get("health") == "HEALTH_OK":
                break
        assert status().get("health") == "HEALTH_OK"
        checked = []
        for _ in range(int(4 * every / TICK) + 2):
            lab.clock.sleep(TICK)
            t = status()["lastChecked"]
            if not checked or checked[-1] != t:
                checked.append(t)
        gaps = [_t(b) - _t(a) for a, b in pairwise(checked)]
        assert len(gaps) >= 3 and all(every <= g < every + TICK for g in gaps), (interval, gaps)

        ceph = op.ceph(NS)
        op.host_down(lost)
        while "OSD_DOWN" not in H.evaluate(ceph):
            lab.clock.sleep(1)
        reported = lab.clock.now()
        while "OSD_DOWN" not in status()["details"]:          # (MON_DOWN may have turned it WARN already)
            lab.clock.sleep(1)
            assert lab.clock.now() - reported <= every + TICK, f"status.ceph still {status()}"
        assert status()["health"] == "HEALTH_WARN" and status()["previousHealth"] == "HEALTH_OK"
        assert status()["details"]["OSD_DOWN"] == {"severity": "HEALTH_WARN", "message": "1 osds down"}
