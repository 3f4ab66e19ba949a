"""What each cluster VM must be on its Proxmox node, derived from the lab file's machine plans.

Talos on Proxmox (siderolabs docs, proxmox.mdx; shared/reference/domain.md 2.2): VirtIO SCSI
(`virtio-scsi-pci`, not "VirtIO SCSI single", which can hang the bootstrap), the QEMU guest agent on (the
lab's Talos image carries the qemu-guest-agent extension, and node addresses are read through it),
the Talos ISO as CD-ROM and a boot order that tries the system disk first: blank at first, so the
firmware falls through to the ISO (maintenance mode); once Talos is installed, the disk boots.
The CPU type is the lab file's (`x86-64-v2-AES` in the Aggrik8s lab; the Talos guide suggests `host`).
"""
from __future__ import annotations

from dataclasses import dataclass

from labsim.provisioners.lab.model import Lab, ProxmoxNode, PveBridge, VmPlan
from labsim.provisioners.proxmox.config import Nic

FIXED = {"ostype": "l26", "scsihw": "virtio-scsi-pci", "agent": "1", "onboot": "1"}
NIC_MODEL = "virtio"
DEFAULT_BRIDGE = "vmbr0"


@dataclass(frozen=True)
class DiskWant:
    slot: str
    storage: str
    size_gib: int
    purpose: str


@dataclass(frozen=True)
class DesiredVm:
    plan: VmPlan
    node: str
    settings: dict[str, str]   # config key -> value as PVE prints it (name, cores, memory, cpu, boot, ide2 ...)
    disks: tuple[DiskWant, ...]
    bridge: str
    tag: int | None
    vlan: int | None

    @property
    def vmid(self) -> int:
        return self.plan.vmid

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def cluster(self) -> str:
        return self.plan.cluster

    def nic_text(self, mac: str | None = None) -> str:
        return Nic(NIC_MODEL, mac, self.bridge, self.tag).print()

    def create_params(self) -> dict[str, str]:
        """POST /nodes/{node}/qemu: every setting, new disks as `storage:GiB`, the NIC (PVE adds its MAC)."""
        params = {"vmid": str(self.vmid), **self.settings, "net0": self.nic_text()}
        params.update({d.slot: f"{d.storage}:{d.size_gib}" for d in self.disks})
        return params


def talos_iso(node: ProxmoxNode, version: str | None) -> str | None:
    """The node's Talos image for the cluster's version (else any Talos image), as a volid."""
    talos = [i for i in node.images if i.talos_version is not None]
    same = [i for i in talos if version is not None and str(i.talos_version) == str(version)]
    chosen = (same or talos or [None])[0]
    return chosen.volid if chosen else None


def bridge_for(node: ProxmoxNode, vid: int | None) -> PveBridge | None:
    """The bridge that carries the VLAN to VMs: a VLAN-aware one allowing it, else the first bridge."""
    for b in node.bridges:
        if b.vlan_aware and vid is not None and (vid in b.vids or vid == b.pvid):
            return b
    return node.bridges[0] if node.bridges else None


def desired_vm(lab: Lab, plan: VmPlan) -> DesiredVm:
    node = lab.proxmox_node(plan.node or "")
    vid = lab.vlan(plan.vlan).id if plan.vlan else None
    bridge = bridge_for(node, vid)
    tag = vid if bridge is None or not bridge.vlan_aware or vid != bridge.pvid else None
    iso = talos_iso(node, str(lab.cluster(plan.cluster).version))
    order = [plan.system_disk.slot] + (["ide2"] if iso else []) + ["net0"]
    settings = {"name": plan.name, "cores": str(plan.cores), "sockets": str(plan.sockets),
                "memory": str(plan.memory_mib), "cpu": plan.cpu, **FIXED, "boot": "order=" + ";".join(order)}
    if iso:
        settings["ide2"] = f"{iso},media=cdrom"
    disks = tuple(DiskWant(d.slot, d.storage, d.size_gib, d.purpose or ("system" if d is plan.system_disk else "data"))
                  for d in plan.disks)
    return DesiredVm(plan, node.name, settings, disks, bridge.name if bridge else DEFAULT_BRIDGE, tag, vid)


def desired_vms(lab: Lab) -> list[DesiredVm]:
    return [desired_vm(lab, p) for p in lab.vms() if p.node]
