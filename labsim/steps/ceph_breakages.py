"""Ways to break a simulated lab for features/ceph_health.feature (`--sim-break NAME`), each the opposite of what
one scenario claims, on the cluster the scenario builds (the struck step's "<cluster>"): the physical world (a disk
that is not blank, a disk wiped) and what an engineer does by hand through the Ceph toolbox and kubectl
(`ceph config set mon mon_osd_min_down_reporters 3`, `ceph osd pool set POOL min_size 1`, `ceph config set mon
mon_clock_drift_allowed 0.5`, `ceph osd set-nearfull-ratio 0.9`, the CephCluster's crash collector disabled, the
namespace's PodSecurity label removed). The registry and its rules are in labsim/steps/breaking.py.
"""
from __future__ import annotations

import json

from labsim.fakes.ceph import disks as D
from labsim.steps.breaking import Strike, breakage

TALOS = 'the Talos cluster "<cluster>" is provisioned'
ROOK = 'Rook-Ceph is provisioned on "<cluster>"'


def _access(target, at: Strike):
    from labsim.steps.ceph_steps import access
    return access(target, at.request.getfixturevalue("ceph"), at.args["cluster"])


def _toolbox(*args: str, settle: float = 0.0):
    """An engineer's command in the Rook toolbox (`kubectl exec deploy/rook-ceph-tools -- ceph ...`), and `settle`
    seconds before the scenario goes on (the OSDs pick a new osdmap up in their next heartbeats)."""
    def act(target, at: Strike) -> None:
        _access(target, at).ceph_text(*args)
        target.clock.sleep(settle)
    return act


def _osd_vms(target, cluster: str):
    return [vm for vm in target.lab.cluster(cluster).vms() if vm.ceph_disks]


def _sim_vm(target, name: str):
    return next(v for v in target.sim.world.proxmox.vms.values() if v.name == name)


@breakage("ceph-namespace-label-removed-by-hand", after=ROOK)
def namespace_label_removed(target, at: Strike) -> None:
    """An engineer removes `pod-security.kubernetes.io/enforce=privileged` from the Rook namespace (kubectl label
    ns rook-ceph pod-security.kubernetes.io/enforce-): the next pod Rook makes would be refused."""
    from labsim.provisioners.ceph.values import NAMESPACE_LABEL
    a = _access(target, at)
    a.kubectl("label", "namespace", a.namespace, f"{NAMESPACE_LABEL[0]}-")


@breakage("ceph-osd-host-powered-off", before='the CephCluster of "<cluster>" is Ready and Created with HEALTH_OK')
def osd_host_powered_off(target, at: Strike) -> None:
    """The first OSD host's VM is powered off (Proxmox stop) a minute before the cluster's health is read."""
    from labsim.steps import proxmox_hands
    proxmox_hands.stop(target, _osd_vms(target, at.args["cluster"])[0].name)
    target.clock.sleep(90)


@breakage("ceph-osd-disk-not-blank", after=TALOS)
def osd_disk_not_blank(target, at: Strike) -> None:
    """The first OSD host's Ceph disk holds an ext4 filesystem before Rook looks at it."""
    vm = _osd_vms(target, at.args["cluster"])[0]
    with target.clock.lock:
        for disk in vm.ceph_disks:
            D.mark(_sim_vm(target, vm.name), disk.slot, filesystem="ext4")


@breakage("ceph-disk-wiped", after='the Ceph disk of "<node>" holds an old "<fs>" filesystem')
def disk_wiped(target, at: Strike) -> None:
    """Someone wipes the node's Ceph disk (`talosctl wipe disk`) before Rook looks at it."""
    vm = next(v for c in target.lab.clusters for v in c.vms() if v.name == at.args["node"])
    with target.clock.lock:
        for disk in vm.ceph_disks:
            D.wipe(_sim_vm(target, vm.name), disk.slot)


breakage("ceph-min-down-reporters-3", after=ROOK)(_toolbox("config", "set", "mon", "mon_osd_min_down_reporters", "3"))
breakage("ceph-clock-drift-allowed", after=ROOK)(_toolbox("config", "set", "mon", "mon_clock_drift_allowed", "0.5"))
breakage("ceph-nearfull-ratio-raised", after=ROOK)(_toolbox("osd", "set-nearfull-ratio", "0.9", settle=15.0))


@breakage("ceph-pools-min-size-1", after=ROOK)
def pools_min_size_1(target, at: Strike) -> None:
    """`ceph osd pool set POOL min_size 1` on every pool: placement groups stay active on one copy."""
    a = _access(target, at)
    for pool in json.loads(a.ceph_text("osd", "pool", "ls", "-f", "json").stdout or "[]"):
        a.ceph_text("osd", "pool", "set", pool, "min_size", "1")


@breakage("ceph-crash-collector-off", after=ROOK)
def crash_collector_off(target, at: Strike) -> None:
    """The CephCluster edited by hand: `spec.crashCollector.disable: true` (Rook runs no crash collector)."""
    a = _access(target, at)
    cr = a.cephcluster()
    a.kubectl("-n", a.namespace, "patch", "cephcluster", cr["metadata"]["name"], "--type", "merge",
              "-p", json.dumps({"spec": {"crashCollector": {"disable": True}}}))
    target.clock.sleep(120)


@breakage("ceph-standby-mgrs-scaled-down", after=ROOK)
def standby_mgrs_scaled_down(target, at: Strike) -> None:
    """An engineer scales every mgr Deployment but the first to zero (`kubectl scale deploy rook-ceph-mgr-b
    --replicas=0`, e.g. to free a node), and a minute passes: the mons drop a mgr whose beacons stop after
    mgr_beacon_grace (30 s, src/common/options/global.yaml.in), so the mgrmap keeps one active and no standby."""
    a = _access(target, at)
    deps = a.kubectl("-n", a.namespace, "get", "deployments", "-l", "app=rook-ceph-mgr", "-o", "name").stdout.split()
    assert len(deps) > 1, f"--sim-break: {at.args['cluster']} runs {len(deps)} mgr, no standby to scale down"
    for dep in sorted(deps)[1:]:
        a.kubectl("-n", a.namespace, "scale", dep, "--replicas=0")
    target.clock.sleep(60)


@breakage("ceph-pool-renamed-by-hand", after=ROOK)
def pool_renamed_by_hand(target, at: Strike) -> None:
    """An engineer renames the lab file's first pool in the toolbox (`ceph osd pool rename POOL POOL-old`): Ceph
    knows it by the new name only, and Rook recreates a pool from its CephBlockPool only when it reconciles that
    resource again."""
    pool = target.lab.cluster(at.args["cluster"]).ceph.pools[0].name
    _access(target, at).ceph_text("osd", "pool", "rename", pool, f"{pool}-old")


@breakage("ceph-osds-scaled-back-up", before='within <s> seconds Ceph on "<cluster>" reports OSD_DOWN with "<text>"')
def osds_scaled_back_up(target, at: Strike) -> None:
    """A second engineer scales every OSD Deployment of the cluster back to one replica and waits until Ceph counts
    every OSD up (`ceph osd stat`), before Ceph's health is read: nothing is down any more."""
    from labsim.provisioners.vocabulary import wait_for
    a = _access(target, at)
    a.kubectl("-n", a.namespace, "scale", "deployment", "-l", "app=rook-ceph-osd", "--replicas=1")

    def all_up() -> bool:
        stat = a.ceph("osd", "stat")
        return stat.get("num_up_osds") == stat.get("num_osds")
    wait_for(all_up, 300, 5, target.clock, "every OSD up again")


@breakage("ceph-osd-host-scaled-to-zero", before='Ceph on "<cluster>" returns to HEALTH_OK within <m> minutes')
def osd_host_scaled_to_zero(target, at: Strike) -> None:
    """An engineer scales the OSDs of the first OSD host to zero (`kubectl scale deployment -l
    app=rook-ceph-osd,topology-location-host=NODE --replicas=0`, as before a disk swap) right before health is
    awaited: its OSDs stop and stay down."""
    a = _access(target, at)
    node = _osd_vms(target, at.args["cluster"])[0].name
    a.kubectl("-n", a.namespace, "scale", "deployment", "-l", f"app=rook-ceph-osd,topology-location-host={node}",
              "--replicas=0")


@breakage("ceph-pool-quota-at-its-data", before='clients fill "<pool>" on "<cluster>" until its OSDs are <p>% used')
def pool_quota_at_its_data(target, at: Strike) -> None:
    """An engineer caps the pool the clients fill at what it stores now (`ceph osd pool set-quota POOL max_bytes N`,
    N from `ceph df`): further writes are refused (FLAG_FULL_QUOTA) and the OSDs fill no further."""
    a = _access(target, at)
    df = a.ceph("df")
    stored = next(p["stats"]["stored"] for p in df["pools"] if p["name"] == at.args["pool"])
    a.ceph_text("osd", "pool", "set-quota", at.args["pool"], "max_bytes", str(max(1, int(stored))))
    target.clock.sleep(10)
