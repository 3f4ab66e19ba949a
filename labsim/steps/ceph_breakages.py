"""Ways to break a simulated lab for features/ceph_health.feature (`--sim-break NAME`), each the opposite of what
one scenario claims: a provisioner that forgets the PodSecurity label, a disk that is not blank, and Ceph
settings an engineer might have changed (`ceph config set mon mon_osd_min_down_reporters 3`, `ceph osd pool set
min_size 1`, `ceph config set mon mon_clock_drift_allowed 0.5`, `ceph osd set-nearfull-ratio 0.9`, Rook's
crash collector disabled). `AFTER[name]` is the step after which the harness applies each.
"""
from __future__ import annotations

from collections.abc import Callable

from labsim.fakes.ceph import disks as D
from labsim.steps.ceph_hands import _ceph

EAST = "talos-east"
TALOS = f'the Talos cluster "{EAST}" is provisioned'
ROOK = f'Rook-Ceph is provisioned on "{EAST}"'


def namespace_not_privileged(target, monkeypatch) -> None:
    """The provisioner forgets `pod-security.kubernetes.io/enforce=privileged` on the namespace."""
    from labsim.provisioners.ceph import install
    real = install._namespace
    monkeypatch.setattr(install, "_namespace", lambda access, report, label: real(access, report, False))


def osd_disk_not_blank(target, monkeypatch) -> None:
    vm = next(v for v in target.sim.world.proxmox.vms.values() if v.name == "wrk-e-1")
    with target.clock.lock:
        D.mark(vm, "virtio1", filesystem="ext4")


def disk_wiped(target, monkeypatch) -> None:
    """Someone runs `talosctl wipe disk vdb` on wrk-e-3 before Rook looks at it."""
    vm = next(v for v in target.sim.world.proxmox.vms.values() if v.name == "wrk-e-3")
    with target.clock.lock:
        D.wipe(vm, "virtio1")


def _tune(**values) -> Callable:
    def breakage(target, monkeypatch) -> None:
        with target.clock.lock:
            cl = _ceph(target, EAST)
            for k, v in values.items():
                setattr(cl.tun, k, v)
    return breakage


def _set_ratio(target, which: str, value: float) -> None:
    """`ceph osd set-<which>-ratio VALUE`, some time before the scenario goes on: the OSDs pick the new osdmap up
    in their next heartbeats (seconds)."""
    with target.clock.lock:
        _ceph(target, EAST).set_ratio(which, value)
    target.clock.sleep(15)


def pools_min_size_1(target, monkeypatch) -> None:
    with target.clock.lock:
        for pool in _ceph(target, EAST).pools.values():
            pool.min_size = 1


def crash_collector_off(target, monkeypatch) -> None:
    with target.clock.lock:
        _ceph(target, EAST).collect_crashes = False


CEPH_BREAKAGES: dict[str, Callable] = {
    "ceph-namespace-not-privileged": namespace_not_privileged,
    "ceph-osd-disk-not-blank": osd_disk_not_blank,
    "ceph-disk-wiped": disk_wiped,
    "ceph-min-down-reporters-3": _tune(min_down_reporters=3),
    "ceph-pools-min-size-1": pools_min_size_1,
    "ceph-clock-drift-allowed": _tune(clock_drift_allowed=0.5),
    "ceph-nearfull-ratio-raised": lambda target, monkeypatch: _set_ratio(target, "nearfull", 0.9),
    "ceph-crash-collector-off": crash_collector_off,
}

AFTER = {"ceph-namespace-not-privileged": TALOS, "ceph-osd-disk-not-blank": TALOS,
         "ceph-disk-wiped": 'the Ceph disk of "wrk-e-3" holds an old "xfs" filesystem'}


def breaks_after(name: str) -> str:
    return AFTER.get(name, ROOK)
