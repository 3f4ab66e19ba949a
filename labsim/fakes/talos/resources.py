"""The COSI resources `talosctl get` reads from a simulated node, shaped as machined serves them:
`metadata{namespace,type,id,version,owner,phase,created,updated}` and a type-specific `spec`.

Each definition also names the extra table columns talosctl prints after NODE NAMESPACE TYPE ID VERSION.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labsim.fakes.talos import hardware, services
from labsim.fakes.talos.machineconfig import load_all
from labsim.fakes.talos.texts import SYSTEM_PARTITIONS_MIB

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode


@dataclass(frozen=True)
class Definition:
    display: str                              # the TYPE column of the table
    type: str
    namespace: str
    aliases: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]      # (header, spec path)
    items: Callable[[TalosNode], list[tuple[str, dict[str, Any]]]]   # (id, spec)
    maintenance: bool = False                 # readable with --insecure in maintenance mode


def _stage(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    ready = node.stage == "running"
    unmet = [] if ready or node.stage == "maintenance" else [{"name": "nodeReady", "reason": "node is not ready"}]
    return [("machine", {"stage": node.stage, "status": {"ready": ready, "unmetConditions": unmet}})]


def _members(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    if node.cluster is None:
        return []
    out = []
    for n in sorted(node.cluster.nodes.values(), key=lambda n: n.hostname):
        if n.stage == "off" or not n.address:
            continue
        node_id = hashlib.sha256(f"{n.vm.node}/{n.vmid}".encode()).hexdigest()[:43]
        out.append((n.hostname, {"nodeId": node_id, "addresses": [n.address],
                                 "hostname": n.hostname, "machineType": n.config.type if n.config else "unknown",
                                 "operatingSystem": f"Talos (v{n.version})"}))
    return out


def _services(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [(s.id, {"running": s.state == "Running", "healthy": bool(s.healthy), "unknown": s.healthy is None})
            for s in services.services(node)]


def _machineconfig(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    if node.config is None:
        return []
    docs = [d for d in load_all(node.config.text) if d]
    return [("v1alpha1", docs[0])]


def _disks(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for d in hardware.disks(node.vm):
        out.append((d.name, {"dev_path": d.dev, "size": d.size, "pretty_size": _pretty(d.size), "io_size": 512,
                             "sector_size": 512, "readonly": False, "cdrom": d.cdrom, "model": d.model,
                             "transport": d.transport, "rotational": True, "wwid": "", "serial": ""}))
    return out


def _addresses(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    lease = node.vm.world.get("lease")
    out = [("lo/127.0.0.1/8", {"address": "127.0.0.1/8", "linkName": "lo", "family": "inet4", "scope": "host"})]
    if lease is not None:
        link = f"ens{18 + int(lease.nic[3:])}"
        out.append((f"{link}/{lease.address}/{lease.prefix}",
                    {"address": f"{lease.address}/{lease.prefix}", "linkName": link, "family": "inet4",
                     "scope": "global"}))
        cluster = node.cluster
        if cluster is not None and cluster.vip_holder == node.vmid and cluster.vip:
            out.append((f"{link}/{cluster.vip}/32", {"address": f"{cluster.vip}/32", "linkName": link,
                                                     "family": "inet4", "scope": "global"}))
    return out


def _volumes(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    disk = hardware.disk(node.vm, (node.config.install_disk if node.config else "") or "")
    if disk is None or node.stage == "maintenance":
        return []
    size = max(0, disk.size - SYSTEM_PARTITIONS_MIB * 1024 ** 2)
    return [("EPHEMERAL", {"phase": "ready", "location": f"{disk.dev}6", "size": size, "prettySize": _pretty(size)})]


def _nodename(node: TalosNode) -> list[tuple[str, dict[str, Any]]]:
    return [("nodename", {"nodename": node.hostname, "hostnameVersion": "1"})] if node.config else []


def _pretty(n: int) -> str:
    """go-humanize Bytes (SI): 17 GB, 137 GB."""
    for unit, size in (("TB", 10 ** 12), ("GB", 10 ** 9), ("MB", 10 ** 6), ("kB", 10 ** 3)):
        if n >= size:
            v = n / size
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{n} B"


DEFINITIONS = [
    Definition("MachineStatus", "MachineStatuses.runtime.talos.dev", "runtime", ("machinestatus", "machinestatuses", "ms"),
               (("STAGE", "stage"), ("READY", "status.ready")), _stage, maintenance=True),
    Definition("Member", "Members.cluster.talos.dev", "cluster", ("member", "members"),
               (("HOSTNAME", "hostname"), ("MACHINE TYPE", "machineType"), ("OS", "operatingSystem"),
                ("ADDRESSES", "addresses")), _members),
    Definition("Service", "Services.v1alpha1.talos.dev", "runtime", ("service", "services", "svc"),
               (("RUNNING", "running"), ("HEALTHY", "healthy"), ("HEALTH UNKNOWN", "unknown")), _services),
    Definition("MachineConfig", "MachineConfigs.config.talos.dev", "config", ("machineconfig", "machineconfigs", "mc"), (),
               _machineconfig),
    Definition("Disk", "Disks.block.talos.dev", "runtime", ("disk", "disks"),
               (("SIZE", "pretty_size"), ("READ ONLY", "readonly"), ("TRANSPORT", "transport"),
                ("ROTATIONAL", "rotational"), ("WWID", "wwid"), ("MODEL", "model"), ("SERIAL", "serial")),
               _disks, maintenance=True),
    Definition("AddressStatus", "AddressStatuses.net.talos.dev", "network", ("address", "addresses", "addressstatus",
                                                             "addressstatuses"),
               (("ADDRESS", "address"), ("LINK", "linkName")), _addresses, maintenance=True),
    Definition("VolumeStatus", "VolumeStatuses.block.talos.dev", "runtime", ("volumestatus", "volumestatuses", "vs"),
               (("PHASE", "phase"), ("LOCATION", "location"), ("SIZE", "prettySize")), _volumes),
    Definition("Nodename", "Nodenames.kubernetes.talos.dev", "controlplane", ("nodename", "nodenames"),
               (("NODENAME", "nodename"),), _nodename),
]


def definition(name: str) -> Definition | None:
    low = name.lower()
    for d in DEFINITIONS:
        if low in d.aliases or low == d.type.lower() or low == d.type.split(".", 1)[0].lower():
            return d
    return None


def read(node: TalosNode, d: Definition, rid: str | None, now: str) -> list[dict[str, Any]]:
    out = []
    for item_id, spec in d.items(node):
        if rid is not None and item_id != rid:
            continue
        version = int((node.vm.world.get("installed") or {}).get("config_version", 1)) \
            if d.namespace == "config" else 1
        out.append({"metadata": {"namespace": d.namespace, "type": d.type, "id": item_id, "version": version,
                                 "owner": "", "phase": "running", "created": now, "updated": now},
                    "spec": spec})
    return out
