"""Intent checks on Proxmox VE: VM plans against the node's CPUs, memory, storage and Talos' minimums.

Talos minimums, with sources:
- memory: `talosctl health` ("all nodes memory sizes") fails below 1698 MiB on a control plane and
  874 MiB on a worker (siderolabs/talos pkg/minimal; see shared/reference/domain.md 2.1): an error. The
  documented minimum is 2 GiB / 1 GiB (Talos "System Requirements", talos.dev/v1.11/introduction/
  system-requirements; the Proxmox guide also asks for at least 2 GB): below that, a warning.
- system disk: 10 GiB minimum ("System Requirements": "a minimum of 10 GiB of disk space is
  required", the EPHEMERAL partition holds images and container data).
- cores: 2 on a control plane, 1 on a worker (same page): a warning.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.model import TalosCluster, VmPlan

TALOS_MIN_MEMORY_MIB = {"controlplane": 1698, "worker": 874}  # talosctl health (pkg/minimal)
TALOS_RECOMMENDED_MEMORY_MIB = {"controlplane": 2048, "worker": 1024}  # System Requirements "minimum"
TALOS_MIN_SYSTEM_DISK_GIB = 10
TALOS_MIN_CORES = {"controlplane": 2, "worker": 1}
VMID_RANGE = (100, 999_999_999)  # Proxmox VE accepts VM ids 100-999999999
_VM_NAME = re.compile(r"^(?=.{1,63}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")
_ROLE = {"controlplane": "control plane", "worker": "worker"}


def _vm_path(vm: VmPlan, field: str = "") -> str:
    base = vm.plan_path
    return f"{base}.{field}" if field else f"{base}.names[{vm.index}]"


@producer(
    ("unknown-proxmox-node", "error", "Does every cluster's proxmox_node exist?"),
    ("vm-id-duplicate", "error", "Is every VM id used once?"),
    ("vm-id-out-of-range", "error", "Is every VM id within Proxmox's 100-999999999?"),
    ("vm-name-duplicate", "error", "Is every VM name used once?"),
    ("vm-name-invalid", "error", "Is every VM name a valid host name?"),
    ("disk-slot-duplicate", "error", "Does each VM plan use each disk slot once?"),
)
def vm_identity(ctx: Context) -> Iterator[Hit]:
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        if isinstance(c, TalosCluster) and c.machines is not None and c.proxmox_node not in ctx.pve:
            yield Hit("unknown-proxmox-node", f"{cp}.proxmox_node",
                      f"cluster {c.name} puts its VMs on {c.proxmox_node}, which is not in proxmox.nodes "
                      f"({', '.join(ctx.pve) or 'none'})", {"node": c.proxmox_node})
        if isinstance(c, TalosCluster) and c.machines is not None:
            for key in ("control_plane", "workers"):
                plan = getattr(c.machines, key)
                if plan is None:
                    continue
                slots: dict[str, int] = {}
                for k, disk in enumerate(plan.disks):
                    if disk.slot in slots:
                        yield Hit("disk-slot-duplicate", f"{cp}.machines.{key}.disks[{k}].slot",
                                  f"slot {disk.slot} is used by disks[{slots[disk.slot]}] and disks[{k}]", {"slot": disk.slot})
                    slots.setdefault(disk.slot, k)
    ids: dict[int, VmPlan] = {}
    names: dict[str, VmPlan] = {}
    for vm in ctx.lab.vms():
        if not VMID_RANGE[0] <= vm.vmid <= VMID_RANGE[1]:
            yield Hit("vm-id-out-of-range", _vm_path(vm, "first_vmid"),
                      f"{vm.name} would get VM id {vm.vmid}; Proxmox VM ids are {VMID_RANGE[0]}-{VMID_RANGE[1]}",
                      {"vm": vm.name, "vmid": vm.vmid})
        if vm.vmid in ids:
            o = ids[vm.vmid]
            yield Hit("vm-id-duplicate", _vm_path(vm, "first_vmid"),
                      f"{vm.name} ({vm.cluster}) would get VM id {vm.vmid}, already {o.name}'s ({o.cluster})",
                      {"vm": vm.name, "vmid": vm.vmid, "other": o.name})
        ids.setdefault(vm.vmid, vm)
        if vm.name in names:
            o = names[vm.name]
            yield Hit("vm-name-duplicate", _vm_path(vm),
                      f"VM name {vm.name} is used twice ({o.cluster} and {vm.cluster}); Talos host names and DHCP "
                      f"leases would collide", {"vm": vm.name})
        names.setdefault(vm.name, vm)
        if not _VM_NAME.match(vm.name):
            yield Hit("vm-name-invalid", _vm_path(vm),
                      f"{vm.name!r} is not a valid VM/host name (letters, digits and '-', at most 63, no leading or "
                      f"trailing '-')", {"vm": vm.name})


@producer(
    ("vm-memory-below-talos-minimum", "error",
     "Does every Talos VM have at least the memory talosctl health requires (1698 MiB control plane, 874 MiB worker)?"),
    ("vm-memory-below-talos-recommended", "warning",
     "Does every Talos VM have Talos' documented minimum memory (2 GiB control plane, 1 GiB worker)?"),
    ("vm-disk-below-talos-minimum", "error", "Is every Talos VM's system disk at least 10 GiB?"),
    ("vm-cores-below-talos-minimum", "warning", "Does every Talos VM have Talos' minimum cores (2 control plane, 1 worker)?"),
    ("install-disk-not-system-disk", "warning", "Does install_disk name the VMs' system disk?"),
)
def talos_minimums(ctx: Context) -> Iterator[Hit]:
    for c in ctx.lab.clusters:
        if not isinstance(c, TalosCluster):
            continue
        seen_plans: set[str] = set()
        for vm in c.vms():
            if vm.plan_path in seen_plans:
                continue  # one finding per plan: every VM of a plan is the same size
            seen_plans.add(vm.plan_path)
            names = ", ".join(v.name for v in c.vms() if v.plan_path == vm.plan_path)
            role = _ROLE[vm.role]
            if vm.memory_mib < TALOS_MIN_MEMORY_MIB[vm.role]:
                yield Hit("vm-memory-below-talos-minimum", _vm_path(vm, "memory_mib"),
                          f"{role} VMs ({names}) get {vm.memory_mib} MiB; talosctl health requires at least "
                          f"{TALOS_MIN_MEMORY_MIB[vm.role]} MiB on a {role}",
                          {"memory_mib": vm.memory_mib, "minimum": TALOS_MIN_MEMORY_MIB[vm.role]})
            elif vm.memory_mib < TALOS_RECOMMENDED_MEMORY_MIB[vm.role]:
                yield Hit("vm-memory-below-talos-recommended", _vm_path(vm, "memory_mib"),
                          f"{role} VMs ({names}) get {vm.memory_mib} MiB; Talos documents "
                          f"{TALOS_RECOMMENDED_MEMORY_MIB[vm.role]} MiB as the minimum for a {role}",
                          {"memory_mib": vm.memory_mib, "minimum": TALOS_RECOMMENDED_MEMORY_MIB[vm.role]})
            sysdisk = vm.system_disk
            k = list(vm.disks).index(sysdisk)
            if sysdisk.size_gib < TALOS_MIN_SYSTEM_DISK_GIB:
                yield Hit("vm-disk-below-talos-minimum", f"{vm.plan_path}.disks[{k}].size_gib",
                          f"{role} VMs ({names}) get a {sysdisk.size_gib} GiB system disk ({sysdisk.slot}); Talos needs "
                          f"at least {TALOS_MIN_SYSTEM_DISK_GIB} GiB", {"size_gib": sysdisk.size_gib})
            if vm.cores * vm.sockets < TALOS_MIN_CORES[vm.role]:
                yield Hit("vm-cores-below-talos-minimum", _vm_path(vm, "cores"),
                          f"{role} VMs ({names}) get {vm.cores * vm.sockets} core(s); Talos' minimum for a {role} is "
                          f"{TALOS_MIN_CORES[vm.role]}", {"cores": vm.cores * vm.sockets})
            expected = _device_name(vm)
            if expected is not None and c.install_disk.startswith("/dev/") and c.install_disk != expected:
                yield Hit("install-disk-not-system-disk", f"{ctx.cluster_path(c.name)}.install_disk",
                          f"install_disk is {c.install_disk}, but the {role} VMs' system disk {sysdisk.slot} shows up as "
                          f"{expected}", {"install_disk": c.install_disk, "expected": expected})
                break


def _device_name(vm: VmPlan) -> str | None:
    """The Linux device a VM's system disk appears as."""
    return disk_device(vm, vm.system_disk)


def disk_device(vm: VmPlan, disk) -> str | None:
    """The Linux device one of a VM's disks appears as (virtio -> /dev/vdX, scsi/sata -> /dev/sdX), in slot order;
    None for IDE."""
    bus = re.match(r"[a-z]+", disk.slot).group(0)  # type: ignore[union-attr]
    if bus == "ide":
        return None
    family = ("virtio",) if bus == "virtio" else ("scsi", "sata")
    ordered = sorted((d for d in vm.disks if re.match(r"[a-z]+", d.slot).group(0) in family),  # type: ignore[union-attr]
                     key=lambda d: (d.slot.rstrip("0123456789"), int(re.sub(r"\D", "", d.slot))))
    idx = ordered.index(disk)
    return f"/dev/{'vd' if bus == 'virtio' else 'sd'}{chr(ord('a') + idx)}"


@producer(
    ("vm-cores-exceed-node-cpus", "error", "Does every VM fit the CPUs of its Proxmox node?"),
    ("vms-exceed-node-memory", "warning", "Does the memory of a node's VMs fit the node?"),
    ("storage-missing", "error", "Is every VM disk on a storage of its node that holds VM images?"),
    ("disks-exceed-storage", "error", "Do the VM disks planned on a storage fit its size?"),
    ("talos-image-missing", "warning", "Does each node hosting Talos VMs have that Talos version's image?"),
)
def node_capacity(ctx: Context) -> Iterator[Hit]:
    used: dict[tuple[str, str], list[tuple[VmPlan, int]]] = defaultdict(list)
    mem: dict[str, int] = defaultdict(int)
    reported_plans: set[tuple[str, int, str]] = set()
    for vm in ctx.lab.vms():
        node = ctx.pve.get(vm.node or "")
        if node is None:
            continue
        mem[node.name] += vm.memory_mib
        if vm.cores * vm.sockets > node.cpus and (vm.plan_path, 0, "cpu") not in reported_plans:
            reported_plans.add((vm.plan_path, 0, "cpu"))
            yield Hit("vm-cores-exceed-node-cpus", _vm_path(vm, "cores"),
                      f"{vm.name} asks for {vm.cores * vm.sockets} vCPUs but {node.name} has {node.cpus}; Proxmox refuses "
                      f"to start it", {"vm": vm.name, "cores": vm.cores * vm.sockets, "cpus": node.cpus})
        for k, disk in enumerate(vm.disks):
            st = node.storage_named(disk.storage)
            if st is None or "images" not in st.content:
                if (vm.plan_path, k, "storage") in reported_plans:
                    continue
                reported_plans.add((vm.plan_path, k, "storage"))
                why = (f"{node.name} has no storage {disk.storage} (it has {', '.join(s.name for s in node.storage) or 'none'})"
                       if st is None else f"storage {disk.storage} on {node.name} does not hold VM disks (content: "
                                          f"{', '.join(st.content) or 'none'}; needs images)")
                yield Hit("storage-missing", f"{vm.plan_path}.disks[{k}].storage",
                          f"{disk.slot} of {vm.name}: {why}", {"storage": disk.storage, "node": node.name})
                continue
            used[(node.name, st.name)].append((vm, disk.size_gib))
    for (node_name, st_name), disks in used.items():
        st = ctx.pve[node_name].storage_named(st_name)
        total = sum(size for _, size in disks)
        if st is not None and total > st.size_gib:
            idx = next(i for i, n in enumerate(ctx.lab.proxmox.nodes) if n.name == node_name)  # type: ignore[union-attr]
            per_cluster: dict[str, int] = defaultdict(int)
            for vm, size in disks:
                per_cluster[vm.cluster] += size
            detail = ", ".join(f"{c} {s} GiB" for c, s in per_cluster.items())
            yield Hit("disks-exceed-storage", f"{ctx.node_paths[idx]}.storage[{st_name}].size_gib",
                      f"the VM disks planned on {st_name} of {node_name} add up to {total} GiB ({detail}), more than its "
                      f"{st.size_gib:g} GiB", {"storage": st_name, "planned_gib": total, "size_gib": st.size_gib})
    for node_name, total in mem.items():
        node = ctx.pve[node_name]
        if total > node.memory_gib * 1024:
            idx = next(i for i, n in enumerate(ctx.lab.proxmox.nodes) if n.name == node_name)  # type: ignore[union-attr]
            yield Hit("vms-exceed-node-memory", f"{ctx.node_paths[idx]}.memory_gib",
                      f"the VMs planned on {node_name} need {total} MiB, more than its {node.memory_gib:g} GiB "
                      f"({int(node.memory_gib * 1024)} MiB)", {"planned_mib": total, "memory_gib": node.memory_gib})
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        if not isinstance(c, TalosCluster) or c.machines is None:
            continue
        node = ctx.pve.get(c.proxmox_node or "")
        if node is None:
            continue
        have = [img.talos_version for img in node.images if img.talos_version]
        if c.version.lstrip("v") not in {h.lstrip("v") for h in have}:
            yield Hit("talos-image-missing", f"{cp}.version",
                      f"cluster {c.name} runs Talos {c.version}, but {node.name}'s images have "
                      f"{', '.join(have) or 'no Talos image'}", {"version": c.version, "images": have})
