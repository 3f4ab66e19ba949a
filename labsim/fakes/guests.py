"""What runs inside a simulated VM once it starts: the first bootable device of its boot order decides.

- a disk boots only when an OS was installed on it: `vm.world["installed"] = {"disk": "virtio0", "os":
  "talos", "version": "1.11.3"}`, written by whoever installs (the Talos layer); a blank disk is skipped,
  as the firmware does;
- a CD-ROM holding one of the node's Talos images (`images[].talos_version` in the lab file) boots Talos
  in maintenance mode: `vm.world["talos"] = "maintenance"` and `vm.world["talos_version"]`. No machine
  config yet, the Talos API answers `--insecure`; the Talos layer takes over from there;
- any other ISO boots a generic Linux guest;
- a NIC (PXE) or nothing bootable: no OS, so no DHCP client and no guest agent.

A guest with an OS asks for DHCP on its first NIC and runs the QEMU guest agent (the lab's Talos image
is built with the qemu-guest-agent extension).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labsim.fakes.proxmox.qemu import BOOT_FMT, FormatError, QemuVM, default_boot_order

LEGACY_BOOT = {"c": "disk", "d": "cdrom", "n": "net"}   # PVE's old `boot: cdn` letters


@dataclass(frozen=True)
class Guest:
    os: str | None            # "talos", "linux", or None (nothing booted)
    device: str | None        # the boot device it came up from
    talos: str | None = None  # Talos mode: "maintenance" (from the ISO) or "installed"
    version: str | None = None

    @property
    def runs(self) -> bool:
        return self.os is not None


def boot_order(vm: QemuVM) -> list[str]:
    raw = vm.conf.get("boot") or default_boot_order(vm.conf)
    try:
        parsed = BOOT_FMT.parse(raw)
    except FormatError:
        return []
    if parsed.get("order"):
        return [d for d in parsed["order"].split(";") if d]
    drives, nets = vm.drives(), list(vm.nets())
    kinds = {"disk": [k for k, d in drives.items() if not d.is_cdrom],
             "cdrom": [k for k, d in drives.items() if d.is_cdrom], "net": nets}
    return [kinds[LEGACY_BOOT[c]][0] for c in parsed.get("legacy", "") if kinds.get(LEGACY_BOOT.get(c, ""))]


def boot(images: list[dict[str, Any]], vm: QemuVM) -> Guest:
    """The guest that comes up when `vm` starts on a node with `images`."""
    talos_isos = {str(i["volid"]): str(i["talos_version"]) for i in images if i.get("talos_version")}
    drives = vm.drives()
    installed = vm.world.get("installed") or {}
    for dev in boot_order(vm):
        d = drives.get(dev)
        if d is None:
            continue        # a NIC (PXE: no server in the lab answers with an OS) or a missing slot
        if d.is_cdrom:
            if d.volid in talos_isos:
                return Guest("talos", dev, "maintenance", talos_isos[d.volid])
            if d.volid:
                return Guest("linux", dev)
            continue        # an empty drive
        if installed.get("disk") == dev:
            os = installed.get("os", "linux")
            return Guest(os, dev, "installed" if os == "talos" else None, installed.get("version"))
    return Guest(None, None)


def come_up(vm: QemuVM, guest: Guest) -> None:
    """Record the guest on the VM: Talos mode, and whether a guest agent will ever answer."""
    vm.world["guest"] = guest
    vm.world.pop("talos", None)
    vm.world.pop("talos_version", None)
    if guest.talos:
        vm.world["talos"] = guest.talos
        vm.world["talos_version"] = guest.version
        vm.agent_info["osinfo"] = {"id": "talos", "name": "Talos", "version-id": f"v{guest.version}",
                                   "pretty-name": f"Talos (v{guest.version})", "machine": "x86_64"}
    vm.agent_running = None if guest.runs else False


def go_down(vm: QemuVM) -> None:
    for key in ("guest", "talos", "talos_version"):
        vm.world.pop(key, None)
    vm.agent_info.pop("osinfo", None)
