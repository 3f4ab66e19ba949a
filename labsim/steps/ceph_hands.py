"""Faults for features/ceph_health.feature that only the simulator can inject (@sim_only): the physical world
around Ceph (a disk with old data on it, a node clock drifting, data written until the OSDs fill, a daemon
crashing). In a real lab the same conditions come from an engineer's mkfs, a broken NTP, a client's writes."""
from __future__ import annotations

from pytest_bdd import given, parsers, when

from labsim.fakes.ceph import disks as D


def _ceph(target, cluster: str):
    world = getattr(target.sim, "ceph", None)
    op = world.operator(cluster) if world is not None else None
    cl = op.ceph(target.lab.cluster(cluster).ceph.namespace) if op is not None else None
    assert cl is not None, f"no Ceph cluster runs on {cluster} in the simulated lab"
    return cl


@given(parsers.parse('the Ceph disk of "{node}" holds an old "{fs}" filesystem'))
def disk_not_blank(target, node, fs):
    vm = next(v for v in target.sim.world.proxmox.vms.values() if v.name == node)
    plan = next(p for c in target.lab.clusters for p in c.vms() if p.name == node)
    for disk in plan.ceph_disks:
        with target.clock.lock:
            D.mark(vm, disk.slot, filesystem=fs)


@when(parsers.parse('the clock of "{node}" in "{cluster}" runs {seconds:g} seconds ahead'))
def clock_ahead(target, cluster, node, seconds):
    with target.clock.lock:
        _ceph(target, cluster).set_clock_offset(node, seconds)


@when(parsers.parse('clients fill "{pool}" on "{cluster}" until its OSDs are {percent:d}% used'))
def fill(target, cluster, pool, percent):
    with target.clock.lock:
        cl = _ceph(target, cluster)
        p = cl.pool(pool)
        osds = {o for ps in range(p.pg_num) for o in cl.pgmap.pgs[(p.id, ps)].acting}
        worst = max(osds, key=cl.osd_ratio)
        share = sum(1 for ps in range(p.pg_num) if worst in cl.pgmap.pgs[(p.id, ps)].acting) / p.pg_num
        need = (percent / 100.0 * cl.osds[worst].size - cl.osd_used(worst)) / share / (p.shard_bytes(10**6) / 10**6)
        cl.write(pool, int(max(0.0, need)) + 1)


@when(parsers.parse('the OSD of "{node}" on "{cluster}" crashes'))
def osd_crash(target, cluster, node):
    with target.clock.lock:
        cl = _ceph(target, cluster)
        osd = next(o for o in cl.osds.values() if o.host == node)
        pods = target.sim.ceph.operator(cluster).kube.list("pods", cl.name, labels=f"ceph-osd-id={osd.id}")
        cl.crash(osd.name, host=pods[0]["metadata"]["name"] if pods else node)
