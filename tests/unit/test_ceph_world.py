"""Ceph follows the rest of the world (issue 6 §1): on a simulated Aggrik8s lab with talos-east up, Rook-Ceph on the
workers' extra disks reaches HEALTH_OK, and a worker whose VM stops, whose NIC loses its link, or whose host
cable is pulled takes its daemons down; Ceph reports it in its own words and recovers when the node is back."""
from __future__ import annotations

import pytest

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph import podsecurity
from tests.unit.talos_world import TalosLab
from tests.unit.test_ceph_rook import NS, _install


@pytest.fixture
def lab():
    lab = TalosLab()
    lab.up()
    kube = lab.kube()
    kube.create("namespaces", {"metadata": {"name": NS, "labels": {podsecurity.LABEL: "privileged"}}})
    _install(kube)
    lab.ceph = None
    for _ in range(200):
        lab.clock.sleep(5)
        op = lab.sim.ceph.operator("talos-east")
        lab.ceph = op.ceph(NS) if op else None
        st = (kube.get("cephclusters.ceph.rook.io", NS, NS).get("status") or {})
        if lab.ceph is not None and st.get("phase") == "Ready" and (st.get("ceph") or {}).get("health") == "HEALTH_OK" \
                and all(o.up and o.in_ for o in lab.ceph.osds.values()) and H.evaluate(lab.ceph) == {}:
            break
    yield lab
    lab.stop()


def _until(lab, pred, limit: float, step: float = 1.0) -> float:
    t0 = lab.clock.now()
    while not pred(H.evaluate(lab.ceph)):
        assert lab.clock.now() - t0 < limit, sorted(H.evaluate(lab.ceph))
        lab.clock.sleep(step)
    return lab.clock.now() - t0


def test_one_osd_per_worker_disk_and_health_ok(lab):
    c = lab.ceph
    assert sorted(o.host for o in c.osds.values()) == ["wrk-e-1", "wrk-e-2", "wrk-e-3"]
    assert H.evaluate(c) == {} and len(c.quorum()) == 3


def test_a_stopped_worker_vm_is_reported_within_45_seconds_and_recovers(lab):
    """The heartbeat grace and the reports (20-26 s), then peering, the OSDs' PG report and the mgr's digest
    (up to 5 s each) before PG_DEGRADED."""
    lab.power_off("wrk-e-2")                             # PVE stop: the plug is pulled (5 s of it already slept)
    took = 5 + _until(lab, lambda r: {"OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED"} <= set(r), 45)
    assert took <= 45
    got = H.evaluate(lab.ceph)
    assert got["OSD_HOST_DOWN"].detail == ["host wrk-e-2 (root=default) (1 osds) is down"]
    vm = lab.vm("wrk-e-2")
    lab.prox.nodes(vm.node).qemu(vm.vmid).status.start.post()
    _until(lab, lambda r: H.overall(r) == "HEALTH_OK", 900, 5)


def test_a_worker_that_loses_its_link_takes_its_osd_down(lab):
    vm = lab.vm("wrk-e-3")
    net0 = vm.conf["net0"]
    lab.prox.nodes(vm.node).qemu(vm.vmid).config.put(net0=net0 + ",link_down=1")      # cable out of the VM
    _until(lab, lambda r: "OSD_HOST_DOWN" in r, 60)
    assert H.evaluate(lab.ceph)["OSD_HOST_DOWN"].detail == ["host wrk-e-3 (root=default) (1 osds) is down"]
    lab.prox.nodes(vm.node).qemu(vm.vmid).config.put(net0=net0)
    _until(lab, lambda r: H.overall(r) == "HEALTH_OK", 900, 5)


def test_a_pulled_host_cable_takes_every_daemon_away(lab):
    lab.sim.world.pull_cable(("pve", "enp1s0f0"))
    lab.sim.world.settle()
    lab.clock.sleep(30)
    c = lab.ceph
    assert not c.has_quorum()                            # every mon's node is gone: nothing decides any more
    assert not any(o.running for o in c.osds.values())
