"""Layer-2 intent from the lab file: the bridges, ports and VLAN interfaces each device should have,
the cables, and which VLAN must reach which NIC (and from where).

- A trunk is a bridge port with its VLANs tagged; its pvid (untagged VLAN) is the `native:` VLAN if
  given, else the bridge's pvid (the lab's native VLAN, VLAN 1 in the Aggrik8s lab).
- An access port carries one VLAN untagged and has it as pvid.
- Bonds are bridge ports by their name; their slaves are not.
- Every non-native VLAN the device has an address in gets a VLAN interface (named after the VLAN) on the
  bridge, and the bridge is a tagged member of that VLAN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from labsim.provisioners.fabric.l2 import DeviceL2, PortL2, Trace, trace_vlan
from labsim.provisioners.lab.model import Lab, ProxmoxNode, RouterOSDevice, Vlan

Want = Literal["tagged", "untagged", "any"]


def _vlan_ids(lab: Lab) -> dict[str, int]:
    ids: dict[str, int] = {}
    for v in lab.vlans:
        ids.setdefault(v.name, v.id)
    return ids


def device_l2(lab: Lab, device: RouterOSDevice) -> DeviceL2:
    """The layer-2 state the lab file asks of one device."""
    ids = _vlan_ids(lab)
    br = device.bridge
    acc: dict[str, dict] = {}

    def entry(iface: str) -> dict:
        return acc.setdefault(iface, {"pvid": None, "tagged": set(), "untagged": set(),
                                      "frame_types": None, "ingress_filtering": None})

    for t in device.trunks:
        e = entry(t.interface)
        e["tagged"] |= {ids[n] for n in t.vlans if n in ids}
        if t.native is not None and t.native in ids:
            e["pvid"] = ids[t.native]
            e["untagged"].add(ids[t.native])
        e["frame_types"] = t.frame_types or e["frame_types"]
        if t.ingress_filtering is not None:
            e["ingress_filtering"] = t.ingress_filtering
    for a in device.access:
        e = entry(a.interface)
        if a.vlan in ids:
            e["untagged"].add(ids[a.vlan])
            e["pvid"] = ids[a.vlan]
        e["frame_types"] = a.frame_types or e["frame_types"]
        if a.ingress_filtering is not None:
            e["ingress_filtering"] = a.ingress_filtering
    ports = {
        name: PortL2(interface=name, pvid=e["pvid"] if e["pvid"] is not None else br.pvid,
                     tagged=frozenset(e["tagged"]), untagged=frozenset(e["untagged"]),
                     frame_types=e["frame_types"] or "admit-all",
                     ingress_filtering=True if e["ingress_filtering"] is None else e["ingress_filtering"])
        for name, e in acc.items()
    }
    vlan_ifaces: dict[int, str] = {}
    for v in lab.vlans:
        if not v.native and device.identity in v.addresses and v.id not in vlan_ifaces:
            vlan_ifaces[v.id] = v.name
    return DeviceL2(device=device.identity, bridge=br.name, vlan_filtering=br.vlan_filtering,
                    bridge_pvid=br.pvid, bridge_tagged=frozenset(vlan_ifaces), ports=ports,
                    bonds={b.name: tuple(b.slaves) for b in device.bonds}, vlan_interfaces=vlan_ifaces)


def desired_l2(lab: Lab) -> dict[str, DeviceL2]:
    """Every RouterOS device's intended layer 2, by identity (the first device wins on duplicates)."""
    out: dict[str, DeviceL2] = {}
    for d in lab.routeros.devices:
        out.setdefault(d.identity, device_l2(lab, d))
    return out


def lab_cables(lab: Lab) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    return [((c.a.node, c.a.port), (c.b.node, c.b.port)) for c in lab.cables]


def vlan_source(lab: Lab, vlan: Vlan) -> str | None:
    """Where a VLAN starts: its DHCP server, else the device holding the gateway, else the first device
    with an address in it (None if no RouterOS device has one)."""
    identities = {d.identity for d in lab.routeros.devices}
    if vlan.dhcp and vlan.dhcp.server in identities:
        return vlan.dhcp.server
    if vlan.gateway is not None:
        for dev, iface in vlan.addresses.items():
            if iface.ip == vlan.gateway and dev in identities:
                return dev
    return next((dev for dev in vlan.addresses if dev in identities), None)


@dataclass(frozen=True)
class Target:
    node: str
    port: str
    want: Want
    why: str = ""  # why this tagging is needed, e.g. "vmbr0 is VLAN-aware"

    def __str__(self) -> str:
        return f"{self.node}:{self.port}"


@dataclass
class VlanNeed:
    """VLAN `vlan` must reach one of `targets` (alternatives) from `source`, for `consumers`."""

    vlan: str
    vid: int
    source: str | None
    targets: tuple[Target, ...]
    consumers: list[str] = field(default_factory=list)  # e.g. "cluster talos-east"
    paths: list[str] = field(default_factory=list)  # lab-file paths of the consumers
    no_target_reason: str = ""  # set when targets is empty


def _cabled_ports(lab: Lab, node: str) -> list[str]:
    ports: list[str] = []
    for c in lab.cables:
        for end in c.ends:
            if end.node == node and end.port not in ports:
                ports.append(end.port)
    return ports


def proxmox_targets(lab: Lab, node: ProxmoxNode, vlan: Vlan, for_address: bool = False) -> tuple[tuple[Target, ...], str]:
    """NICs of a Proxmox node through which VMs (or, with for_address, the node's own address) get `vlan`."""
    cabled = _cabled_ports(lab, node.name)
    if not cabled:
        return (), f"{node.name} has no cabled NIC"
    if not node.bridges:
        return tuple(Target(node.name, p, "any") for p in cabled), ""
    targets: list[Target] = []
    refused: list[str] = []
    for b in node.bridges:
        if for_address and (b.address is None or b.address.ip not in vlan.subnet):
            continue
        for p in b.ports:
            if p not in cabled:
                continue
            if not b.vlan_aware:
                want: Want = "untagged" if for_address else "any"
                targets.append(Target(node.name, p, want, f"{b.name} is not VLAN-aware"))
            elif vlan.id == b.pvid:
                targets.append(Target(node.name, p, "untagged", f"VLAN {vlan.id} is {b.name}'s pvid"))
            elif for_address:
                continue
            elif vlan.id in b.vids:
                targets.append(Target(node.name, p, "tagged", f"{b.name} is VLAN-aware"))
            else:
                refused.append(f"{b.name} (vids {b.vids})")
    if targets:
        return tuple(targets), ""
    if refused:
        return (), f"no bridge on {node.name} with a cabled port allows VLAN {vlan.id}: {', '.join(refused)}"
    return (), f"no bridge on {node.name} has a cabled port"


def vlan_needs(lab: Lab) -> list[VlanNeed]:
    """Which VLAN must reach which NICs, and for whom: Talos VMs (via their Proxmox node's NICs), RKE2 and
    Talos hosts, hosts and Proxmox nodes with an address in the VLAN's subnet."""
    needs: list[VlanNeed] = []
    seen_names: set[str] = set()
    pve = {n.name: n for n in (lab.proxmox.nodes if lab.proxmox else [])}
    hosts = {h.name: h for h in lab.hosts}
    for v in lab.vlans:
        if v.name in seen_names:
            continue
        seen_names.add(v.name)
        source = vlan_source(lab, v)
        by_key: dict[tuple, VlanNeed] = {}

        def add(targets: tuple[Target, ...], consumer: str, path: str, no_target: str = "",
                by_key: dict[tuple, VlanNeed] = by_key, v: Vlan = v, source: str | None = source) -> None:
            key = targets if targets else ("none", no_target)
            need = by_key.get(key)
            if need is None:
                need = by_key[key] = VlanNeed(v.name, v.id, source, targets, no_target_reason=no_target)
                needs.append(need)
            if consumer not in need.consumers:
                need.consumers.append(consumer)
                need.paths.append(path)

        for c in lab.clusters:
            if c.vlan != v.name:
                continue
            cpath = f"clusters[{c.name}].vlan"
            if c.distribution == "talos" and c.machines is not None:
                node = pve.get(c.proxmox_node or "")
                if node is None:
                    continue  # unknown-proxmox-node reports it
                targets, why = proxmox_targets(lab, node, v)
                add(targets, f"cluster {c.name} (VMs on {node.name})", cpath, why)
            else:
                for m in c.members():
                    h = hosts.get(m.name)
                    if h is not None:
                        add((Target(h.name, h.nic, "untagged", f"{h.name} is a host on an untagged NIC"),),
                            f"cluster {c.name} (host {h.name})", cpath)
        for i, h in enumerate(lab.hosts):
            if h.address is not None and h.address in v.subnet:
                add((Target(h.name, h.nic, "untagged", f"{h.name} is a host on an untagged NIC"),),
                    f"host {h.name} ({h.address})", f"hosts[{h.name}].address")
        for node in pve.values():
            if any(b.address is not None and b.address.ip in v.subnet for b in node.bridges):
                targets, why = proxmox_targets(lab, node, v, for_address=True)
                add(targets, f"Proxmox node {node.name}'s address", f"proxmox.nodes[{node.name}].bridges", why)
            elif not node.bridges and node.management.address in v.subnet:
                targets, why = proxmox_targets(lab, node, v)
                add(targets, f"Proxmox node {node.name}'s address", f"proxmox.nodes[{node.name}].management.address", why)
    return needs


def trace_need(lab: Lab, need: VlanNeed, devices: dict[str, DeviceL2] | None = None) -> list[tuple[Target, Trace]]:
    """Trace a need to each of its targets."""
    devices = devices if devices is not None else desired_l2(lab)
    cables = lab_cables(lab)
    return [(t, trace_vlan(devices, cables, need.vid, need.source or "", (t.node, t.port)))
            for t in need.targets]


def trace_intent(lab: Lab, vlan: str, target: tuple[str, str], source: str | None = None) -> Trace:
    """Trace a lab VLAN (by name) from its source device (DHCP server by default) to (node, port)."""
    v = lab.vlan(vlan)
    src = source or vlan_source(lab, v) or ""
    return trace_vlan(desired_l2(lab), lab_cables(lab), v.id, src, target)
