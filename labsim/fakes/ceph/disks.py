"""Which disks of a node become OSDs, and the OSD prepare job's log saying why the others do not.

Rook's prepare job (pkg/daemon/ceph/osd/daemon.go getAvailableDevices) skips a device with a mountpoint or a
filesystem signature itself, then asks `ceph-volume inventory` (src/ceph-volume/ceph_volume/util/device.py
reject reasons: "Has GPT headers", "Has partitions", "Insufficient space (<5GB)") and logs the reasons as a
list. Texts as logged (rook issue threads and docs):
  cephosd: skipping device "sdb" because it contains a filesystem "ext4"
  cephosd: skipping device "nvme0n1p1": ["Insufficient space (<5GB)"].
  cephosd: skipping OSD configuration as no devices matched the storage settings for this node "odin"
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from labsim.fakes.ceph.model import Disk

MIN_OSD_SIZE = 5 * 1024 ** 3


@dataclass
class Verdict:
    disk: Disk
    ok: bool
    log: str


def judge(disk: Disk, *, use_all: bool = True, devices: list[str] | None = None, device_filter: str = "") -> Verdict:
    name = disk.dev.rsplit("/", 1)[-1]
    if disk.mountpoint:
        return Verdict(disk, False, f'cephosd: skipping device "{name}" with mountpoint "{disk.mountpoint}"')
    if disk.filesystem:
        return Verdict(disk, False, f'cephosd: skipping device "{name}" because it contains a filesystem '
                                    f'"{disk.filesystem}"')
    reasons = []
    if disk.partitions or disk.system:
        reasons += ["Has GPT headers", "Has partitions"]
    if disk.size < MIN_OSD_SIZE:
        reasons.append("Insufficient space (<5GB)")
    if reasons:
        listed = json.dumps(reasons, separators=(", ", ": "))
        return Verdict(disk, False, f'cephosd: skipping device "{name}": {listed}.')
    wanted = devices or []
    if wanted and not any(w in (name, disk.dev) for w in wanted):
        return Verdict(disk, False, f'cephosd: skipping device "{name}" that does not match the device filter/list '
                                    f'({wanted}). <nil>')
    if device_filter and not re.search(device_filter, name):
        return Verdict(disk, False, f'cephosd: skipping device "{name}" that does not match the device filter/list '
                                    f'([{{{device_filter} 1  0  false false}}]). <nil>')
    if not (use_all or wanted or device_filter):
        return Verdict(disk, False, f'cephosd: skipping device "{name}" until the admin specifies it can be used '
                                    "by an osd")
    return Verdict(disk, True, f'cephosd: device "{name}" is available.')


def prepare_log(node: str, disks: list[Disk], **kw) -> tuple[list[Disk], str]:
    """(the disks that become OSDs, the prepare job's log) for one node."""
    verdicts = [judge(d, **kw) for d in disks]
    lines = [v.log for v in verdicts]
    ok = [v.disk for v in verdicts if v.ok]
    if not ok:
        lines.append(f'cephosd: skipping OSD configuration as no devices matched the storage settings for this '
                     f'node "{node}"')
    else:
        lines += [f'cephosd: configuring new device "{d.dev.rsplit("/", 1)[-1]}"' for d in ok]
    return ok, "\n".join(lines) + "\n"


# --- a VM's drives as the node sees them ------------------------------------------------------------------------
CONTENT = "disk_content"     # vm.world[CONTENT][slot] = {"filesystem": "xfs", "partitions": 2}


def mark(vm, slot: str, *, filesystem: str = "", partitions: int = 0) -> None:
    """Leave data on one of a VM's disks (a previous install, a forgotten `mkfs`): Rook will skip it."""
    vm.world.setdefault(CONTENT, {})[slot] = {"filesystem": filesystem, "partitions": partitions}


def wipe(vm, slot: str) -> None:
    """`talosctl wipe disk`: the disk is blank again."""
    vm.world.setdefault(CONTENT, {}).pop(slot, None)


def from_vm(vm) -> list[Disk]:
    """The VM's disks (virtio -> /dev/vdX, as labsim.fakes.talos.hardware names them); the disk an OS was installed on
    (or the first one) is the system disk."""
    from labsim.fakes.talos import hardware
    installed = (vm.world.get("installed") or {}).get("disk")
    found = [d for d in hardware.disks(vm) if not d.cdrom]
    system = installed or (found[0].slot if found else None)
    content = vm.world.get(CONTENT) or {}
    return [Disk(d.dev, d.size, partitions=int((content.get(d.slot) or {}).get("partitions", 0)),
                 filesystem=(content.get(d.slot) or {}).get("filesystem", ""), system=d.slot == system)
            for d in found]
