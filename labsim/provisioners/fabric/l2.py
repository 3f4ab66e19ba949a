"""A neutral layer-2 model of RouterOS bridges and a VLAN trace across cables.

Used by the intent checks (model built from the lab file, `intent.desired_l2`) and by the fabric
verifier (model built from what the devices report), so both answer "does VLAN V get from the device
that serves it to the NIC that needs it, and if not, at which hop does it stop?" the same way.

Semantics (RouterOS bridge VLAN filtering):
- with `vlan_filtering`, a port egresses VLAN V tagged if V is in its tagged list, untagged if V is in
  its untagged list or is its pvid (RouterOS adds the pvid as a dynamic untagged row);
- a tagged frame is admitted if the port is a member of V (tagged, untagged or pvid), or ingress
  filtering is off, unless `frame_types=admit-only-untagged-and-priority-tagged`; an untagged frame
  lands in the port's pvid unless `frame_types=admit-only-vlan-tagged`. Membership means tagged *or*
  untagged, as RouterOS's ingress filtering checks it (and as the simulator does);
- without `vlan_filtering` every frame passes with its tag as it came;
- the source device's VLAN interface reaches the bridge only if the bridge itself is a tagged member
  of V (or V is the bridge's pvid: the native VLAN lives on the bridge interface);
- crossing a cable, an untagged frame takes the peer port's pvid, so a native mismatch moves the
  traffic into another VLAN: the trace stops there and says so (also in `Trace.notes`);
- a bond slave's cable belongs to its bond (the bridge port);
- endpoints that are not RouterOS devices (Proxmox NICs, hosts) are leaves: the target is reached when
  the frame arrives there tagged with V, or untagged from a port whose untagged VLAN is V (the last hop
  says which; a VLAN-aware Proxmox bridge behind the NIC needs it tagged).
The search is breadth first over (device, ingress port) with a visited set, so loops are fine, and the
ports are visited in natural order (ether2 before ether10), so the answer is deterministic.
"""
from __future__ import annotations

import functools

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

NodePort = tuple[str, str]
CableList = Iterable[tuple[NodePort, NodePort]]

ALL_VLANS = range(1, 4095)


@functools.lru_cache(maxsize=4096)
def natural_key(name: str) -> tuple:
    """Sort key that puts ether2 before ether10."""
    return tuple((text, int(num) if num else -1) for text, num in re.findall(r"(\D*)(\d*)", name) if text or num)


@dataclass(frozen=True)
class PortL2:
    interface: str
    pvid: int
    tagged: frozenset[int]
    untagged: frozenset[int]
    frame_types: str = "admit-all"
    ingress_filtering: bool = True
    disabled: bool = False

    def egress(self, vlan: int) -> bool | None:
        """How VLAN `vlan` leaves this port (with VLAN filtering): True tagged, False untagged, None not."""
        if vlan in self.tagged:
            return True
        if vlan in self.untagged or vlan == self.pvid:
            return False
        return None

    def member(self, vlan: int) -> bool:
        return vlan in self.tagged or vlan in self.untagged or vlan == self.pvid


@dataclass
class DeviceL2:
    device: str
    bridge: str
    vlan_filtering: bool
    bridge_pvid: int
    bridge_tagged: frozenset[int]  # VLANs where the bridge itself (the CPU/VLAN interfaces) is a tagged member
    ports: dict[str, PortL2] = field(default_factory=dict)  # bridge ports by name (a bond's name for a bond)
    bonds: dict[str, tuple[str, ...]] = field(default_factory=dict)  # bond name -> slave ports
    vlan_interfaces: dict[int, str] = field(default_factory=dict)  # VLAN id -> VLAN interface name on the bridge

    def bridge_port_of(self, interface: str) -> str:
        """The bridge port a physical interface belongs to: its bond if it is a slave, else itself."""
        for bond, slaves in self.bonds.items():
            if interface in slaves:
                return bond
        return interface

    def physical(self, bridge_port: str) -> tuple[str, ...]:
        """The cabled interfaces behind a bridge port (a bond's slaves, or the port itself)."""
        return tuple(sorted(self.bonds.get(bridge_port, (bridge_port,)), key=natural_key))

    def cpu_reaches(self, vlan: int) -> bool:
        """Can the VLAN interface for `vlan` (or the bridge, for the native VLAN) exchange frames with the bridge?"""
        if not self.vlan_filtering:
            return vlan == self.bridge_pvid or vlan in self.vlan_interfaces
        return vlan == self.bridge_pvid or vlan in self.bridge_tagged

    def _bridge_words(self) -> str:
        return "bridge" if self.bridge == "bridge" else f"bridge {self.bridge}"


@dataclass(frozen=True)
class Hop:
    device: str
    ingress: str | None
    egress: str | None
    tagged: bool
    note: str = ""

    def __str__(self) -> str:
        how = "tagged" if self.tagged else "untagged"
        return f"{self.device}[{self.ingress or 'cpu'} -> {self.egress or 'end'} {how}]"


@dataclass
class Trace:
    vlan: int
    source: str
    target: str
    reached: bool
    hops: list[Hop]
    stopped_at: str | None
    reason: str | None
    notes: list[str] = field(default_factory=list)  # e.g. native-VLAN leaks seen on the way

    @property
    def arrived_tagged(self) -> bool | None:
        """At the target: True tagged, False untagged, None not reached."""
        return self.hops[-1].tagged if self.reached and self.hops else None

    def describe(self) -> str:
        if self.reached:
            return " -> ".join(str(h) for h in self.hops)
        return f"stops at {self.stopped_at}: {self.reason}"


def _peer_map(cables: CableList | None) -> dict[NodePort, NodePort]:
    peer: dict[NodePort, NodePort] = {}
    for a, b in cables or []:
        a, b = (a[0], a[1]), (b[0], b[1])
        peer[a] = b
        peer[b] = a
    return peer


def _distances(target: NodePort, peer: dict[NodePort, NodePort], devices: dict[str, DeviceL2]) -> dict[str, int]:
    """Cable hops from each node to the target's node, walking only through RouterOS devices."""
    adj: dict[str, set[str]] = {}
    for (n, _), (m, _) in peer.items():
        adj.setdefault(n, set()).add(m)
    dist = {target[0]: 0}
    queue = deque([target[0]])
    while queue:
        n = queue.popleft()
        for m in sorted(adj.get(n, ())):
            if m not in dist and (m in devices or m == target[0]):
                dist[m] = dist[n] + 1
                queue.append(m)
    return dist


_INF = 1 << 30


def trace_vlan(devices: dict[str, DeviceL2], cables: CableList, vlan: int, source: str,
               target: tuple[str, str], expected_cables: CableList | None = None) -> Trace:
    """Follow VLAN `vlan` from `source`'s VLAN interface (or bridge, for its native VLAN) to `target`.

    `target` is (node, port): usually a leaf (a Proxmox NIC or a host NIC); a RouterOS device with its
    bridge or VLAN interface name, or one of its ports, also works. `expected_cables` (optional, e.g. the
    lab file's cables when `cables` are the observed ones) lets the trace say "cable ... not present".
    """
    target = (target[0], target[1])
    target_s = f"{target[0]}:{target[1]}"
    cables = [((a[0], a[1]), (b[0], b[1])) for a, b in cables]
    peer = _peer_map(cables)
    exp_peer = _peer_map(expected_cables)
    both = dict(exp_peer)
    both.update(peer)
    dist = _distances(target, both, devices)

    def result(reached: bool, hops: list[Hop], at: str | None, why: str | None, notes: list[str]) -> Trace:
        return Trace(vlan, source, target_s, reached, hops, at, why, notes)

    src = devices.get(source)
    if src is None:
        return result(False, [], source, f"{source}: not a RouterOS device of the fabric", [])
    viface = src.vlan_interfaces.get(vlan)
    if vlan != src.bridge_pvid and viface is None:
        return result(False, [], source, f"{source}: no VLAN interface for VLAN {vlan} on {src.bridge}", [])
    if src.vlan_filtering and not src.cpu_reaches(vlan):
        return result(False, [], source,
                      f"{source}: {src._bridge_words()} is not a tagged member of VLAN {vlan}, "
                      f"so {viface}'s interface cannot reach the bridge", [])
    start_tagged = not src.vlan_filtering and viface is not None
    start_note = f"from VLAN interface {viface}" if viface is not None and vlan != src.bridge_pvid \
        else f"from {src.bridge} (native VLAN {vlan})"
    if target[0] == source and target[1] in (src.bridge, viface):
        return result(True, [Hop(source, None, None, start_tagged, start_note)], None, None, [])

    # Missing cable at the target: nothing can reach it.
    if target not in peer and target[0] not in devices:
        exp = exp_peer.get(target)
        if exp is not None:
            return result(False, [], f"{exp[0]} {exp[1]}", f"cable {exp[0]}:{exp[1]} - {target_s} not present", [])
        return result(False, [], f"{target[0]} {target[1]}", f"{target_s}: no cable", [])

    # The target hangs off a RouterOS port that is not in the bridge: say so (nothing else will).
    tpeer = peer.get(target)
    if tpeer is not None and tpeer[0] in devices:
        tdev = devices[tpeer[0]]
        tbp = tdev.bridge_port_of(tpeer[1])
        if tbp not in tdev.ports:
            what = f"{tpeer[1]} belongs to bond {tbp}, which" if tbp != tpeer[1] else tpeer[1]
            return result(False, [], f"{tpeer[0]} {tbp}",
                          f"{tpeer[0]} {tbp}: {what} is not a port of {tdev._bridge_words()}", [])

    State = tuple[str, str | None, bool | None]
    start: State = (source, None, start_tagged if not src.vlan_filtering else None)
    parent: dict[State, tuple[State, Hop] | None] = {start: None}
    queue: deque[State] = deque([start])
    candidates: list[tuple[int, int, str, str]] = []
    notes: list[str] = []
    reach: tuple[State, Hop, Hop | None] | None = None

    def cand(distance: int, at: str, why: str) -> None:
        candidates.append((distance, len(candidates), at, why))

    def note(text: str) -> None:
        if text not in notes:
            notes.append(text)

    def _remaining(node: str, port: str) -> int:
        """Cable hops left to the target from the far end of (node, port), for ranking stop points."""
        far = both.get((node, port))
        if far is None:
            return _INF
        return 0 if far == target else dist.get(far[0], _INF)

    def chain(state: State, last: Hop) -> list[Hop]:
        hops = [last]
        link = parent[state]
        while link is not None:
            state, hop = link
            hops.append(hop)
            link = parent[state]
        return list(reversed(hops))

    while queue and reach is None:
        state = queue.popleft()
        name, ingress, tag_in = state
        dev = devices[name]
        first_hop_note = start_note if ingress is None else ""
        # A target on this device (its bridge / VLAN interface): reached once V is inside and can get up.
        if name == target[0] and ingress is not None and target[1] not in dev.ports and \
                target[1] not in {p for ps in dev.bonds.values() for p in ps}:
            if dev.cpu_reaches(vlan):
                reach = (state, Hop(name, ingress, target[1], bool(tag_in), f"reaches {target[1]}"), None)
                break
            cand(0, name, f"{name}: {dev._bridge_words()} is not a tagged member of VLAN {vlan}")
            continue
        for bp in sorted(dev.ports, key=natural_key):
            if bp == ingress:
                continue
            port = dev.ports[bp]
            phys_list = dev.physical(bp)
            port_dist = min(_remaining(name, ph) for ph in phys_list)
            if port.disabled:
                cand(port_dist, f"{name} {bp}", f"{name} {bp}: the port is disabled")
                continue
            if dev.vlan_filtering:
                eg = port.egress(vlan)
                if eg is None:
                    cand(port_dist, f"{name} {bp}",
                         f"{name} {bp}: VLAN {vlan} not in the tagged or untagged list of the bridge VLAN table")
                    continue
            else:
                eg = bool(tag_in) if ingress is not None else start_tagged
            for phys in phys_list:
                hop_note = first_hop_note
                if bp in dev.bonds:
                    hop_note = (hop_note + "; " if hop_note else "") + f"bond {bp} slave {phys}"
                hop = Hop(name, ingress, bp, eg, hop_note)
                if (name, bp) == target or (name, phys) == target:
                    reach = (state, hop, None)
                    break
                pe = peer.get((name, phys))
                if pe is None:
                    exp = exp_peer.get((name, phys))
                    if exp is not None:
                        cand(0 if exp == target else dist.get(exp[0], _INF), f"{name} {bp}",
                             f"cable {name}:{phys} - {exp[0]}:{exp[1]} not present")
                    continue
                if pe == target:
                    how = (f"arrives tagged with VLAN {vlan}" if eg else
                           f"arrives untagged: {name} {bp} carries VLAN {vlan} untagged"
                           + (f" (its pvid {port.pvid})" if dev.vlan_filtering and port.pvid == vlan else ""))
                    reach = (state, hop, Hop(target[0], target[1], None, eg, how))
                    break
                if pe[0] not in devices:
                    if pe[0] == target[0]:
                        cand(1, f"{name} {bp}", f"{name} {bp}: VLAN {vlan} reaches {pe[0]}:{pe[1]}, not {target_s}")
                    continue
                pdev = devices[pe[0]]
                pbp = pdev.bridge_port_of(pe[1])
                here = f"{pe[0]} {pbp}"
                pd = dist.get(pe[0], _INF)
                if pbp not in pdev.ports:
                    what = f"{pe[1]} belongs to bond {pbp}, which" if pbp != pe[1] else f"{pe[1]}"
                    cand(pd, here, f"{here}: {what} is not a port of {pdev._bridge_words()}")
                    continue
                pport = pdev.ports[pbp]
                if pport.disabled:
                    cand(pd, here, f"{here}: the port is disabled")
                    continue
                if pdev.vlan_filtering:
                    if eg:
                        if pport.frame_types == "admit-only-untagged-and-priority-tagged":
                            cand(pd, here, f"{here}: frame-types={pport.frame_types} drops VLAN {vlan}'s tagged frames")
                            continue
                        if pport.ingress_filtering and not pport.member(vlan):
                            cand(pd, here, f"{here}: VLAN {vlan} not in the tagged or untagged list of the bridge "
                                           f"VLAN table, and ingress filtering drops it")
                            continue
                    else:
                        if pport.frame_types == "admit-only-vlan-tagged":
                            cand(pd, here, f"{here}: frame-types=admit-only-vlan-tagged drops VLAN {vlan}'s untagged frames")
                            continue
                        if pport.pvid != vlan:
                            why = (f"{here}: VLAN {vlan} arrives untagged from {name} {bp} and lands in pvid "
                                   f"{pport.pvid} (native VLAN mismatch: VLAN {vlan} traffic leaks into VLAN {pport.pvid})")
                            note(why)
                            cand(pd, here, why)
                            continue
                    nstate: State = (pe[0], pbp, None)
                else:
                    nstate = (pe[0], pbp, eg)
                if nstate not in parent:
                    parent[nstate] = (state, hop)
                    queue.append(nstate)
            if reach is not None:
                break

    if reach is not None:
        state, hop, last = reach
        hops = chain(state, hop) + ([last] if last is not None else [])
        return result(True, hops, None, None, notes)
    if candidates:
        distance, _, at, why = min(candidates)
        if distance < _INF:
            return result(False, [], at, why, notes)
    exp = exp_peer.get(target)
    if target not in peer and exp is not None:
        return result(False, [], f"{exp[0]} {exp[1]}", f"cable {exp[0]}:{exp[1]} - {target_s} not present", notes)
    if candidates:
        _, _, at, why = min(candidates)
        return result(False, [], at, why, notes)
    return result(False, [], source, f"VLAN {vlan} from {source} has no forwarding path to {target_s}", notes)


def carried_vlans(devices: dict[str, DeviceL2], device: str, interface: str) -> dict[int, bool]:
    """VLAN -> tagged? for what leaves `interface` (a port, a bond, or a bond's slave) of `device`.

    Without VLAN filtering every VLAN passes with its tag as it came: every id maps to True (tagged
    frames stay tagged; untagged frames also pass, untagged). A port that is not a bridge port, or is
    disabled, carries nothing.
    """
    dev = devices[device]
    bp = dev.bridge_port_of(interface)
    port = dev.ports.get(bp)
    if port is None or port.disabled:
        return {}
    if not dev.vlan_filtering:
        return {v: True for v in ALL_VLANS}
    out = {v: False for v in sorted(port.untagged | {port.pvid})}
    out.update({v: True for v in sorted(port.tagged)})
    return dict(sorted(out.items()))
