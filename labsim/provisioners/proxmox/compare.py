"""How a VM's configuration differs from its plan: one `Diff` per setting, with how to repair it.

Only what the lab file plans is compared; anything else on the VM (a description, extra disks, NIC
options such as `firewall=1`) is left alone. Disks grow (resize) but never shrink or move storage: those
differences are reported and left to an engineer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from labsim.provisioners.proxmox.config import DiskSeen, Nic, boot_order, gib_text, leading_int, parse_props, text
from labsim.provisioners.proxmox.desired import NIC_MODEL, DesiredVm

# Changes PVE applies to a running VM only at its next start (they wait as "pending"); with PVE's default
# hotplug (network, disk, usb) NICs and disks change at once, and so do name, onboot and the CD-ROM.
RESTART_KEYS = frozenset({"cores", "sockets", "memory", "cpu", "scsihw", "ostype", "agent", "boot"})

SAME: dict[str, Callable[[str, str], bool]] = {
    "cores": lambda h, w: leading_int(h) == leading_int(w),
    "sockets": lambda h, w: leading_int(h) == leading_int(w),
    "memory": lambda h, w: leading_int(h) == leading_int(w),
    "cpu": lambda h, w: parse_props(h, "cputype").get("cputype") == w,
    "agent": lambda h, w: parse_props(h, "enabled").get("enabled") == w,
    "boot": lambda h, w: boot_order(h) == boot_order(w),
    "ide2": lambda h, w: (DiskSeen.parse(h).volume, DiskSeen.parse(h).media) == (DiskSeen.parse(w).volume, "cdrom"),
}


@dataclass(frozen=True)
class Diff:
    key: str
    have: str
    want: str
    repair: Literal["set", "resize"] | None
    value: str = ""    # what apply sends: the config value (set) or the new size (resize)
    note: str = ""     # why it is not repaired

    def describe(self) -> str:
        msg = f"{self.key} is missing, want {self.want}" if self.have == "" else \
            f"{self.key} is {self.have}, want {self.want}"
        return f"{msg} ({self.note})" if self.note else msg

    def describe_running(self) -> str:
        """For a setting that waits for the next start: what the VM runs with now."""
        return f"it runs with {self.key} {self.have or '(none)'}; {self.want} is pending until it restarts"


def _nic_words(nic: Nic) -> str:
    return f"{nic.model} on {nic.bridge} " + (f"VLAN {nic.tag}" if nic.tag else "untagged")


def _nic(vm: DesiredVm, have: str) -> list[Diff]:
    want = Nic(NIC_MODEL, None, vm.bridge, vm.tag)
    if not have:
        return [Diff("net0", "", _nic_words(want), "set", vm.nic_text())]
    nic = Nic.parse(have)
    if (nic.model, nic.bridge, nic.tag) == (want.model, want.bridge, want.tag):
        return []
    fixed = Nic(NIC_MODEL, nic.mac, vm.bridge, vm.tag, nic.other)   # keep PVE's MAC and unmanaged options
    return [Diff("net0", _nic_words(nic), _nic_words(want), "set", fixed.print())]


def _disks(vm: DesiredVm, conf: dict[str, str]) -> list[Diff]:
    out = []
    for d in vm.disks:
        want = f"{gib_text(d.size_gib)} on {d.storage}"
        raw = conf.get(d.slot, "")
        if not raw:
            out.append(Diff(d.slot, "", want, "set", f"{d.storage}:{d.size_gib}"))
            continue
        seen = DiskSeen.parse(raw)
        have = f"{gib_text(seen.size_gib or 0)} on {seen.storage or seen.volume}"
        if seen.media == "cdrom":
            out.append(Diff(d.slot, f"a CD-ROM ({seen.volume})", want, None, note="replace it by hand"))
        elif seen.storage != d.storage:
            out.append(Diff(d.slot, have, want, None, note="moving a disk is left to an engineer"))
        elif (seen.size_gib or 0) < d.size_gib:
            out.append(Diff(d.slot, have, want, "resize", gib_text(d.size_gib)))
        elif (seen.size_gib or 0) > d.size_gib:
            out.append(Diff(d.slot, have, want, None, note="a disk cannot shrink"))
    return out


def differences(vm: DesiredVm, conf: dict[str, str]) -> list[Diff]:
    """Every planned setting of `vm` that `conf` (a VM config as text) does not have."""
    out = []
    for key, want in vm.settings.items():
        have = text(conf.get(key))
        if not SAME.get(key, str.__eq__)(have, want):
            out.append(Diff(key, have, want, "set", want))
    return out + _nic(vm, text(conf.get("net0"))) + _disks(vm, conf)


def needs_restart(vm: DesiredVm, running_conf: dict[str, str]) -> list[Diff]:
    """What a running VM still runs with differently from the plan and only a restart changes."""
    return [d for d in differences(vm, running_conf) if d.key in RESTART_KEYS]
