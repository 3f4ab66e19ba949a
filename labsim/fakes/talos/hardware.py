"""A Proxmox VM as the Talos kernel sees it: block devices, memory, the NIC's MAC.

Linux names virtio-blk disks vda, vdb, ... in slot order (virtio0 -> /dev/vda, virtio1 -> /dev/vdb) and
SCSI/SATA/IDE disks sda, sdb, ...; a CD-ROM is sr0 and is never an install target. MemTotal is what the
kernel reports, a little less than the VM's RAM (firmware and kernel reservations, about 3 %).
"""
from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass

from labsim.fakes.proxmox.qemu import QemuVM
from labsim.fakes.proxmox.schema import parse_size

KERNEL_RESERVED = 0.03


@dataclass(frozen=True)
class Disk:
    dev: str          # /dev/vda
    slot: str         # virtio0
    size: int         # bytes
    model: str
    transport: str
    cdrom: bool = False

    @property
    def name(self) -> str:
        return self.dev.rsplit("/", 1)[-1]


def _order(key: str) -> tuple[str, int]:
    m = re.fullmatch(r"([a-z]+)(\d+)", key)
    return (m.group(1), int(m.group(2))) if m else (key, 0)


def disks(vm: QemuVM) -> list[Disk]:
    out: list[Disk] = []
    vd = sd = sr = 0
    drives = vm.drives()
    for key in sorted(drives, key=_order):
        d = drives[key]
        bus = _order(key)[0]
        if d.is_cdrom:
            out.append(Disk(f"/dev/sr{sr}", key, 0, "QEMU DVD-ROM", "ata", cdrom=True))
            sr += 1
            continue
        size = parse_size(str(d.opts.get("size", "0"))) or 0
        if bus == "virtio":
            out.append(Disk(f"/dev/vd{string.ascii_lowercase[vd]}", key, size, "", "virtio"))
            vd += 1
        else:
            out.append(Disk(f"/dev/sd{string.ascii_lowercase[sd]}", key, size, "QEMU HARDDISK",
                            "virtio" if bus == "scsi" else "ata"))
            sd += 1
    return sorted(out, key=lambda d: d.name)     # as `talosctl get disks` lists them: by device name


def disk(vm: QemuVM, dev: str) -> Disk | None:
    return next((d for d in disks(vm) if d.dev == dev and not d.cdrom), None)


def memtotal_mib(vm: QemuVM) -> int:
    return int(vm.memory_mib() * (1 - KERNEL_RESERVED))


def mac(vm: QemuVM) -> str | None:
    nets = vm.nets()
    return next(iter(nets.values())).macaddr if nets else None


def stable_hostname(vm: QemuVM) -> str:
    """Talos's `stableHostname` feature: `talos-xxx-yyy`, derived from the machine's identity."""
    h = hashlib.sha256(f"{vm.node}/{vm.vmid}/{mac(vm)}".encode()).hexdigest()
    return f"talos-{h[:3]}-{h[3:6]}"
