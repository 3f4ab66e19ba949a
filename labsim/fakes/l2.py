"""Layer 2 of the simulated lab, computed from what the devices are configured with right now.

The simulator's ground truth: which frames each bridge port forwards and how a VLAN travels from a
device to a host NIC across the cables. It reads each RouterOS device's live rows (the same rows the
API prints), so a change made through the API, a pulled cable or a removed trunk VLAN changes the
answer immediately. Semantics follow RouterOS bridge VLAN filtering:
- with `vlan-filtering=yes` a port sends VLAN V tagged when it is in a `tagged` list for V, untagged
  when it is in an `untagged` list or V is its PVID (RouterOS's dynamic rows); it admits a tagged V when
  it is a member of V or ingress filtering is off, and puts untagged frames into its PVID unless
  `frame-types=admit-only-vlan-tagged`;
- without filtering a bridge forwards every frame with its tag as it came (VLAN 0 stands for untagged);
- a VLAN interface on the bridge reaches the bridge only if the bridge itself is a tagged member of V
  (or V is the bridge's PVID), which is the classic reason a DHCP server on VLAN1500 hears nothing.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from labsim.fakes.routeros.schema import parse_vlan_ids

UNTAGGED = 0  # the "VLAN" of an untagged frame inside a bridge without VLAN filtering

Endpoint = tuple[str, str]  # (node, port): a RouterOS device and interface, or a host and NIC


def _true(v: str | None) -> bool:
    return str(v).lower() in ("true", "yes")


def _names(text: str | None) -> set[str]:
    return {n.strip() for n in str(text or "").split(",") if n.strip()}


@dataclass
class Port:
    name: str
    bridge: str
    pvid: int = 1
    frame_types: str = "admit-all"
    ingress_filtering: bool = True
    tagged: set[int] = field(default_factory=set)
    untagged: set[int] = field(default_factory=set)


@dataclass
class Bridge:
    name: str
    vlan_filtering: bool
    pvid: int
    tagged: set[int] = field(default_factory=set)  # VLANs where the bridge (the CPU side) is tagged


@dataclass
class DeviceView:
    """One device's forwarding state, parsed from its rows."""

    identity: str
    bridges: dict[str, Bridge] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)  # bridge ports by interface (a bond by name)
    bond_of: dict[str, str] = field(default_factory=dict)  # slave -> bond
    vlan_ifaces: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (vlan-id, parent)
    disabled: set[str] = field(default_factory=set)  # disabled interfaces

    @classmethod
    def from_rows(cls, identity: str, rows: Callable[[str], list[dict[str, str]]]) -> "DeviceView":
        view = cls(identity)
        view.disabled = {r["name"] for r in rows("/interface") if _true(r.get("disabled"))}
        for r in rows("/interface/bridge"):
            if not _true(r.get("disabled")):
                view.bridges[r["name"]] = Bridge(r["name"], _true(r.get("vlan-filtering")),
                                                  int(r.get("pvid", 1) or 1))
        for r in rows("/interface/bonding"):
            for slave in _names(r.get("slaves")):
                view.bond_of[slave] = r["name"]
        for r in rows("/interface/bridge/port"):
            if _true(r.get("disabled")) or r.get("bridge") not in view.bridges:
                continue
            view.ports[r["interface"]] = Port(
                r["interface"], r["bridge"], int(r.get("pvid", 1) or 1),
                r.get("frame-types", "admit-all"), _true(r.get("ingress-filtering", "true")))
        for r in rows("/interface/bridge/vlan"):
            if _true(r.get("disabled")) or _true(r.get("dynamic")):
                continue  # dynamic rows only mirror PVIDs, which Port.pvid already models
            ids = set(parse_vlan_ids(r.get("vlan-ids", "")))
            bridge = view.bridges.get(r.get("bridge", ""))
            for name in _names(r.get("tagged")):
                if bridge is not None and name == bridge.name:
                    bridge.tagged |= ids
                elif name in view.ports:
                    view.ports[name].tagged |= ids
            for name in _names(r.get("untagged")):
                if name in view.ports:
                    view.ports[name].untagged |= ids
        for r in rows("/interface/vlan"):
            if not _true(r.get("disabled")):
                view.vlan_ifaces[r["name"]] = (int(r["vlan-id"]), r["interface"])
        return view

    # --- forwarding -----------------------------------------------------------------------------
    def egress(self, port: Port, vlan: int) -> bool | None:
        """How VLAN `vlan` leaves `port`: True tagged, False untagged, None not at all."""
        bridge = self.bridges[port.bridge]
        if not bridge.vlan_filtering:
            return None if port.name in self.disabled else vlan != UNTAGGED
        if vlan in port.tagged:
            return True
        if vlan in port.untagged or vlan == port.pvid:
            return False
        return None

    def ingress(self, port: Port, tag: int | None) -> int | None:
        """The bridge VLAN a frame arriving on `port` lands in (tag None = untagged), or None if dropped."""
        bridge = self.bridges[port.bridge]
        if not bridge.vlan_filtering:
            return UNTAGGED if tag is None else tag
        if tag is None:
            return None if port.frame_types == "admit-only-vlan-tagged" else port.pvid
        if port.frame_types == "admit-only-untagged-and-priority-tagged":
            return None
        member = tag in port.tagged or tag in port.untagged or tag == port.pvid
        return tag if (member or not port.ingress_filtering) else None

    def why_not_egress(self, port: Port, vlan: int) -> str:
        return (f"{self.identity} {port.name}: VLAN {vlan} is not in the tagged or untagged list of "
                f"{port.bridge}'s VLAN table (pvid {port.pvid})")

    def why_not_ingress(self, port: Port, tag: int | None) -> str:
        if tag is None:
            return f"{self.identity} {port.name}: untagged frames refused (frame-types={port.frame_types})"
        return (f"{self.identity} {port.name}: tagged VLAN {tag} refused on ingress "
                f"(not a member, ingress-filtering on)")

    def cpu_vlan(self, iface: str) -> tuple[int, str] | None:
        """(bridge VLAN, bridge) that a VLAN interface or the bridge itself sends into, or None."""
        if iface in self.bridges:
            b = self.bridges[iface]
            return (b.pvid if b.vlan_filtering else UNTAGGED, iface)
        if iface in self.vlan_ifaces and iface not in self.disabled:
            vid, parent = self.vlan_ifaces[iface]
            b = self.bridges.get(parent)
            if b is None:
                return None
            if b.vlan_filtering and vid not in b.tagged and vid != b.pvid:
                return None
            return (vid, parent)
        return None

    def bridge_ports(self, bridge: str) -> list[Port]:
        return sorted((p for p in self.ports.values() if p.bridge == bridge and p.name not in self.disabled),
                      key=lambda p: _port_key(p.name))

    def physical(self, port_name: str) -> list[str]:
        """The cabled interfaces behind a bridge port (a bond's slaves, or the port itself)."""
        slaves = sorted((s for s, b in self.bond_of.items() if b == port_name), key=_port_key)
        return slaves or [port_name]


def _port_key(name: str) -> tuple:
    head = name.rstrip("0123456789")
    tail = name[len(head):]
    return (head, int(tail) if tail else -1)


@dataclass(frozen=True)
class Hop:
    device: str
    ingress: str | None
    egress: str | None
    vlan: int
    tagged: bool | None  # how the frame leaves `egress` (None at the target)

    def __str__(self) -> str:
        how = "" if self.tagged is None else (" tagged" if self.tagged else " untagged")
        return f"{self.device}[{self.ingress or 'cpu'} -> {self.egress or 'end'}{how} vlan {self.vlan}]"


@dataclass
class Arrival:
    """A frame of the traced VLAN reaching a host NIC."""

    endpoint: Endpoint
    tag: int | None  # the 802.1Q tag it carries on the wire (None: untagged)
    path: list[Hop]


@dataclass
class Trace:
    vlan: int
    source: str
    target: Endpoint | None
    arrivals: list[Arrival]
    reached: bool
    stopped_at: str | None = None
    reason: str | None = None

    @property
    def path(self) -> list[Hop]:
        for a in self.arrivals:
            if a.endpoint == self.target:
                return a.path
        return []


class Fabric:
    """Layer 2 over a set of devices and the cables between them (and to host NICs)."""

    def __init__(self, views: dict[str, DeviceView], cables: Iterable[tuple[Endpoint, Endpoint]],
                 link_up: Callable[[Endpoint], bool] = lambda e: True):
        self.views = views
        self.peer: dict[Endpoint, Endpoint] = {}
        for a, b in cables:
            if link_up(a) and link_up(b):
                self.peer[a] = b
                self.peer[b] = a

    def flood(self, source: str, iface: str) -> tuple[list[Arrival], list[str]]:
        """Every host NIC a frame sent from `source`'s `iface` (a VLAN interface or the bridge) reaches.

        Returns the arrivals (with the first path found, breadth first, deterministic) and the reasons
        the frame stopped wherever it did not pass, for naming the hop that drops it.
        """
        view = self.views[source]
        start = view.cpu_vlan(iface)
        if start is None:
            return [], [self._why_no_cpu(view, iface)]
        vlan, bridge = start
        arrivals: list[Arrival] = []
        stops: list[str] = []
        seen: set[tuple[str, str, int]] = {(source, bridge, vlan)}
        queue = deque([(source, bridge, vlan, None, [])])
        while queue:
            dev, br, v, came_in, path = queue.popleft()
            dview = self.views[dev]
            for port in dview.bridge_ports(br):
                if port.name == came_in:
                    continue
                tagged = dview.egress(port, v)
                if tagged is None:
                    stops.append(dview.why_not_egress(port, v))
                    continue
                hop = Hop(dev, came_in, port.name, v, tagged)
                wire_tag = v if tagged else None
                for phys in dview.physical(port.name):
                    peer = self.peer.get((dev, phys))
                    if peer is None:
                        continue
                    if peer[0] not in self.views:
                        arrivals.append(Arrival(peer, wire_tag, path + [hop]))
                        continue
                    pview = self.views[peer[0]]
                    pport_name = pview.bond_of.get(peer[1], peer[1])
                    pport = pview.ports.get(pport_name)
                    if pport is None or pport_name in pview.disabled:
                        stops.append(f"{peer[0]} {peer[1]}: not a port of any bridge")
                        continue
                    nv = pview.ingress(pport, wire_tag)
                    if nv is None:
                        stops.append(pview.why_not_ingress(pport, wire_tag))
                        continue
                    state = (peer[0], pport.bridge, nv)
                    if state not in seen:
                        seen.add(state)
                        queue.append((peer[0], pport.bridge, nv, pport_name, path + [hop]))
        return arrivals, stops

    @staticmethod
    def _why_no_cpu(view: DeviceView, iface: str) -> str:
        if iface in view.vlan_ifaces:
            vid, parent = view.vlan_ifaces[iface]
            if parent not in view.bridges:
                return f"{view.identity} {iface}: parent {parent} is not a bridge with VLAN filtering"
            return (f"{view.identity} {iface}: bridge {parent} is not a tagged member of VLAN {vid}, "
                    f"so {iface} cannot reach the bridge")
        return f"{view.identity}: no VLAN interface or bridge named {iface}"

    def trace(self, source: str, iface: str, vlan: int, target: Endpoint) -> Trace:
        """Does `vlan`, sent from `source`'s `iface`, reach `target` (a host NIC) tagged or native?"""
        arrivals, stops = self.flood(source, iface)
        if any(a.endpoint == target for a in arrivals):
            return Trace(vlan, source, target, arrivals, True)
        reason = stops[0] if not arrivals and self.views[source].cpu_vlan(iface) is None else \
            self._first_stop_on_cable_path(source, target, stops)
        return Trace(vlan, source, target, arrivals, False, reason.split(":", 1)[0], reason)

    def _first_stop_on_cable_path(self, source: str, target: Endpoint, stops: list[str]) -> str:
        """Among the places the VLAN stopped, the one on the shortest cable path to the target."""
        if target not in self.peer:
            return f"{target[0]} {target[1]}: no cable (or the link is down)"
        path = self._cable_path(source, target)
        if not path:
            return f"{target[0]} {target[1]}: no cable path from {source}"
        for dev, port in path:
            for s in stops:
                if s.startswith(f"{dev} {port}:"):
                    return s
        return stops[0] if stops else f"{source}: VLAN {target} unreachable"

    def _cable_path(self, source: str, target: Endpoint) -> list[Endpoint]:
        """The (device, bridge port) pairs, in order, on the shortest cable path from a device to a NIC."""
        prev: dict[str, list[Endpoint]] = {source: []}
        queue = deque([source])
        while queue:
            dev = queue.popleft()
            view = self.views.get(dev)
            if view is None:
                continue
            for (_, p), (pd, pp) in sorted((k, v) for k, v in self.peer.items() if k[0] == dev):
                hops = prev[dev] + [(dev, view.bond_of.get(p, p))]
                if (pd, pp) == target:
                    return hops
                if pd not in prev:
                    pview = self.views.get(pd)
                    prev[pd] = hops + ([(pd, pview.bond_of.get(pp, pp))] if pview else [])
                    queue.append(pd)
        return []
