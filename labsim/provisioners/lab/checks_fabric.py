"""Intent checks on RouterOS devices, ports, bonds, cables and layer 2 (VLANs carried to who needs them)."""
from __future__ import annotations

from collections.abc import Iterator

from labsim.messages import did_you_mean
from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.model import Endpoint


@producer(
    ("duplicate-device-identity", "error", "Is each RouterOS identity used once?"),
    ("duplicate-node-name", "error", "Does each name denote one machine (device, Proxmox node or host)?"),
    ("duplicate-management-address", "error", "Does each device and Proxmox node have its own management address?"),
    ("management-address-unassigned", "warning", "Is each device's management address one of its VLAN addresses?"),
    ("unknown-model", "error", "Is every RouterOS model in the hardware catalog?"),
)
def devices(ctx: Context) -> Iterator[Hit]:
    seen: dict[str, int] = {}
    for i, (d, dp) in enumerate(zip(ctx.lab.routeros.devices, ctx.dev_paths)):
        if d.identity in seen:
            yield Hit("duplicate-device-identity", f"routeros.devices[{i}].identity",
                      f"identity {d.identity} is used by routeros.devices[{seen[d.identity]}] and routeros.devices[{i}]",
                      {"identity": d.identity})
        seen.setdefault(d.identity, i)
        if d.model not in ctx.models:
            yield Hit("unknown-model", f"{dp}.model",
                      f"{d.identity}'s model {d.model} is not in labsim/hardware/routeros-models.yaml"
                      f"{did_you_mean(d.model, ctx.models)} (known: {', '.join(sorted(ctx.models))})",
                      {"model": d.model})
        mine = {iface.ip for v in ctx.lab.vlans for dev, iface in v.addresses.items() if dev == d.identity}
        if mine and d.management.address not in mine:
            yield Hit("management-address-unassigned", f"{dp}.management.address",
                      f"{d.identity}'s management address {d.management.address} is not one of its addresses in "
                      f"vlans ({', '.join(str(a) for a in sorted(mine))})", {"address": str(d.management.address)})
    names: list[tuple[str, str, str]] = []  # (name, kind, path)
    names += [(n.name, "Proxmox node", p) for n, p in zip(ctx.lab.proxmox.nodes if ctx.lab.proxmox else [], ctx.node_paths)]
    names += [(h.name, "host", p) for h, p in zip(ctx.lab.hosts, ctx.host_paths)]
    first: dict[str, tuple[str, str]] = {d.identity: ("RouterOS device", p) for d, p in
                                        reversed(list(zip(ctx.lab.routeros.devices, ctx.dev_paths)))}
    for name, kind, path in names:
        if name in first:
            yield Hit("duplicate-node-name", f"{path}.name",
                      f"{name} names both a {first[name][0]} ({first[name][1]}) and a {kind}; cables cannot tell them apart",
                      {"name": name})
        else:
            first[name] = (kind, path)
    mgmt: dict[str, str] = {}
    entries = [(str(d.management.address), d.identity, f"{p}.management.address")
               for d, p in zip(ctx.lab.routeros.devices, ctx.dev_paths)]
    entries += [(str(n.management.address), n.name, f"{p}.management.address")
                for n, p in zip(ctx.lab.proxmox.nodes if ctx.lab.proxmox else [], ctx.node_paths)]
    for addr, who, path in entries:
        if addr in mgmt and mgmt[addr] != who:
            yield Hit("duplicate-management-address", path,
                      f"{who}'s management address {addr} is also {mgmt[addr]}'s", {"address": addr, "other": mgmt[addr]})
        mgmt.setdefault(addr, who)


@producer(("unknown-device", "error", "Does every device named in addresses, DHCP servers and cables exist?"))
def unknown_devices(ctx: Context) -> Iterator[Hit]:
    known = ", ".join(ctx.devices) or "none"
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        for dev in v.addresses:
            if dev not in ctx.devices:
                yield Hit("unknown-device", f"{p}.addresses.{dev}",
                          f"{dev} is not a RouterOS device of this lab (devices: {known})", {"device": dev})
        if v.dhcp and v.dhcp.server not in ctx.devices:
            yield Hit("unknown-device", f"{p}.dhcp.server",
                      f"DHCP server {v.dhcp.server} is not a RouterOS device of this lab (devices: {known})",
                      {"device": v.dhcp.server})
    for i, c in enumerate(ctx.lab.cables):
        for k, end in enumerate(c.ends):
            if end.node not in ctx.node_names:
                yield Hit("unknown-device", f"cables[{i}][{k}]",
                          f"cable end {end}: {end.node} is not a RouterOS device, Proxmox node or host of this lab",
                          {"node": end.node, "cable": str(c)})


def _port_refs(ctx: Context) -> Iterator[tuple[str, str, str, str]]:
    """(path, device, port, role) for every RouterOS port named in the file. Roles: bridge-port (a port or a
    bond), physical (a port: bond slaves and cable ends), management (also the bridge or a VLAN interface)."""
    for d, dp in zip(ctx.lab.routeros.devices, ctx.dev_paths):
        yield f"{dp}.management.interface", d.identity, d.management.interface, "management"
        for b in d.bonds:
            for k, s in enumerate(b.slaves):
                yield f"{dp}.bonds[{b.name}].slaves[{k}]", d.identity, s, "physical"
        for i, t in enumerate(d.trunks):
            yield f"{dp}.trunks[{i}].interface", d.identity, t.interface, "bridge-port"
        for i, a in enumerate(d.access):
            yield f"{dp}.access[{i}].interface", d.identity, a.interface, "bridge-port"
    for i, c in enumerate(ctx.lab.cables):
        for k, end in enumerate(c.ends):
            if ctx.node_names.get(end.node) == "routeros":
                yield f"cables[{i}][{k}]", end.node, end.port, "physical"


@producer(("unknown-port", "error", "Does every port named in the file exist on that device, node or host?"))
def unknown_ports(ctx: Context) -> Iterator[Hit]:
    for path, ident, port, role in _port_refs(ctx):
        d = ctx.devices[ident]
        model = ctx.models.get(d.model)
        if model is None:
            continue  # unknown-model says so
        physical = set(model.port_names())
        bonds = {b.name: b for b in d.bonds}
        if port in physical:
            continue
        if role == "bridge-port" and (port in bonds or (port in ctx.vlans and port != d.bridge.name)):
            continue  # a VLAN name here is vlan-interface-also-bridge-port's to report
        if role == "management" and (port == d.bridge.name or port in bonds or port in ctx.vlans):
            continue
        if role == "physical" and port in bonds:
            yield Hit("unknown-port", path,
                      f"{port} is a bond on {ident}; cable (or bond) its slave ports ({', '.join(bonds[port].slaves)})",
                      {"device": ident, "port": port})
            continue
        extra = f", bonds {', '.join(bonds)}" if bonds and role != "physical" else ""
        yield Hit("unknown-port", path,
                  f"{ident} ({d.model}) has no port {port}; its ports are {model.describe_ports()}{extra}",
                  {"device": ident, "port": port, "model": d.model})
    for n, np_ in zip(ctx.lab.proxmox.nodes if ctx.lab.proxmox else [], ctx.node_paths):
        for b in n.bridges:
            for k, port in enumerate(b.ports):
                if port not in n.nics:
                    yield Hit("unknown-port", f"{np_}.bridges[{b.name}].ports[{k}]",
                              f"{port} is not one of {n.name}'s NICs ({', '.join(n.nics) or 'none listed'})",
                              {"node": n.name, "port": port})
    for i, c in enumerate(ctx.lab.cables):
        for k, end in enumerate(c.ends):
            kind = ctx.node_names.get(end.node)
            if kind == "proxmox" and end.port not in ctx.pve[end.node].nics:
                yield Hit("unknown-port", f"cables[{i}][{k}]",
                          f"cable end {end}: {end.port} is not one of {end.node}'s NICs "
                          f"({', '.join(ctx.pve[end.node].nics) or 'none listed'})", {"node": end.node, "port": end.port})
            elif kind == "host" and end.port != ctx.hosts[end.node].nic:
                yield Hit("unknown-port", f"cables[{i}][{k}]",
                          f"cable end {end}: host {end.node}'s NIC is {ctx.hosts[end.node].nic}, not {end.port}",
                          {"node": end.node, "port": end.port})


@producer(("cable-port-reused", "error", "Is every port at the end of one cable at most?"))
def cables(ctx: Context) -> Iterator[Hit]:
    first: dict[Endpoint, int] = {}
    for i, c in enumerate(ctx.lab.cables):
        for k, end in enumerate(c.ends):
            if end in first:
                j = first[end]
                yield Hit("cable-port-reused", f"cables[{i}][{k}]",
                          f"{end} is cabled twice: cables[{j}] ({ctx.lab.cables[j]}) and cables[{i}] ({c})",
                          {"end": str(end), "cables": [j, i]})
            else:
                first[end] = i


@producer(("unknown-vlan", "error", "Does every VLAN named on a trunk or access port exist?"),
          ("trunk-empty", "warning", "Does every trunk carry at least one VLAN?"),
          ("vlan-listed-twice", "warning", "Is every VLAN listed once in a trunk's list (a repeat is often a typo)?"))
def port_vlans(ctx: Context) -> Iterator[Hit]:
    known = ", ".join(ctx.vlans) or "none"
    for d, dp in zip(ctx.lab.routeros.devices, ctx.dev_paths):
        for i, t in enumerate(d.trunks):
            if not t.vlans:
                yield Hit("trunk-empty", f"{dp}.trunks[{i}].vlans", f"trunk {t.interface} on {d.identity} carries no VLAN",
                          {"interface": t.interface})
            first: dict[str, int] = {}
            for k, name in enumerate(t.vlans):
                if name in first:
                    yield Hit("vlan-listed-twice", f"{dp}.trunks[{i}].vlans[{k}]",
                              f"trunk {t.interface} on {d.identity} lists {name} twice (vlans[{first[name]}] and "
                              f"vlans[{k}]); list it once (was another VLAN meant?)", {"vlan": name})
                first.setdefault(name, k)
            for k, name in enumerate(t.vlans):
                if name not in ctx.vlans:
                    yield Hit("unknown-vlan", f"{dp}.trunks[{i}].vlans[{k}]",
                              f"trunk {t.interface} on {d.identity} names VLAN {name}, which is not in vlans ({known})",
                              {"vlan": name})
            if t.native is not None and t.native not in ctx.vlans:
                yield Hit("unknown-vlan", f"{dp}.trunks[{i}].native",
                          f"trunk {t.interface} on {d.identity} names native VLAN {t.native}, which is not in vlans ({known})",
                          {"vlan": t.native})
        for i, a in enumerate(d.access):
            if a.vlan not in ctx.vlans:
                yield Hit("unknown-vlan", f"{dp}.access[{i}].vlan",
                          f"access port {a.interface} on {d.identity} names VLAN {a.vlan}, which is not in vlans ({known})",
                          {"vlan": a.vlan})


@producer(
    ("bond-slave-also-bridge-port", "error", "Is no bond slave also a trunk or access port by itself?"),
    ("bond-slave-in-two-bonds", "error", "Is every port a slave of one bond at most?"),
    ("bond-cabling-mismatch", "warning", "Do a bond's slaves all reach one bond on one peer?"),
    ("vlan-interface-also-bridge-port", "error", "Is no VLAN interface name used as a trunk or access port?"),
    ("interface-name-conflict", "error", "Are bond, bridge and VLAN interface names distinct from ports and each other?"),
    ("duplicate-port-entry", "error", "Is each interface listed once among trunks and once among access ports?"),
    ("port-tagged-and-untagged", "error", "Is no port both tagged and untagged for the same VLAN?"),
    ("port-untagged-in-two-vlans", "error", "Is each port untagged in one VLAN at most?"),
    ("vlan-filtering-off", "warning", "Is VLAN filtering on wherever trunks or access ports are configured?"),
    ("native-vlan-not-bridge-pvid", "error", "Is the native VLAN every bridge's pvid?"),
    ("bond-not-bridge-port", "warning", "Is every cabled bond a trunk or access port of its bridge?"),
)
def ports(ctx: Context) -> Iterator[Hit]:
    native = ctx.lab.native_vlan()
    for d, dp in zip(ctx.lab.routeros.devices, ctx.dev_paths):
        model = ctx.models.get(d.model)
        physical = set(model.port_names()) if model else set()
        slave_of: dict[str, str] = {}
        for b in d.bonds:
            for k, s in enumerate(b.slaves):
                if s in slave_of and slave_of[s] != b.name:
                    yield Hit("bond-slave-in-two-bonds", f"{dp}.bonds[{b.name}].slaves[{k}]",
                              f"{s} on {d.identity} is a slave of both {slave_of[s]} and {b.name}", {"port": s})
                slave_of.setdefault(s, b.name)
        # names
        names: dict[str, str] = {d.bridge.name: "the bridge"}
        for b in d.bonds:
            if b.name in physical:
                yield Hit("interface-name-conflict", f"{dp}.bonds[{b.name}].name",
                          f"bond {b.name} on {d.identity} has the name of a physical port", {"name": b.name})
            elif b.name in names:
                yield Hit("interface-name-conflict", f"{dp}.bonds[{b.name}].name",
                          f"bond {b.name} on {d.identity} has the same name as {names[b.name]}", {"name": b.name})
            names.setdefault(b.name, f"bond {b.name}")
        for v in ctx.vlans.values():
            if d.identity in v.addresses and not v.native and (v.name in names or v.name in physical):
                what = names.get(v.name, "a physical port")
                yield Hit("interface-name-conflict", f"{ctx.vlan_path(v.name)}.name",
                          f"VLAN interface {v.name} on {d.identity} has the same name as {what}", {"name": v.name})
        # port entries
        for kind, entries in (("trunks", d.trunks), ("access", d.access)):
            seen: dict[str, int] = {}
            for i, e in enumerate(entries):
                p = f"{dp}.{kind}[{i}].interface"
                if e.interface in seen:
                    yield Hit("duplicate-port-entry", p,
                              f"{e.interface} on {d.identity} is listed twice in {kind} ({kind}[{seen[e.interface]}] "
                              f"and {kind}[{i}]); list it once", {"interface": e.interface})
                seen.setdefault(e.interface, i)
                if e.interface in slave_of:
                    yield Hit("bond-slave-also-bridge-port", p,
                              f"{e.interface} on {d.identity} is a slave of bond {slave_of[e.interface]}; use the bond "
                              f"as the bridge port, not its slave", {"interface": e.interface, "bond": slave_of[e.interface]})
                if e.interface in ctx.vlans and e.interface not in physical:
                    yield Hit("vlan-interface-also-bridge-port", p,
                              f"{e.interface} is a VLAN interface; a VLAN interface sits on the bridge and cannot be "
                              f"a trunk or access port of it", {"interface": e.interface})
        # tagged vs untagged on the intended layer 2
        dl2 = ctx.l2.get(d.identity)
        if dl2 is not None and ctx.devices.get(d.identity) is d:
            names_by_id = {vid: name for name, vid in reversed(list(ctx.vlan_ids.items()))}
            for iface, port in dl2.ports.items():
                where = _first_path(dp, d, iface)
                for vid in sorted(port.tagged & (port.untagged | {port.pvid})):
                    how = "untagged (its access VLAN or native)" if vid in port.untagged else f"untagged as its pvid {vid}"
                    yield Hit("port-tagged-and-untagged", where,
                              f"{iface} on {d.identity} carries VLAN {vid} ({names_by_id.get(vid, '?')}) both tagged "
                              f"and {how}", {"interface": iface, "vlan": vid})
                if len(port.untagged) > 1:
                    listed = ", ".join(f"{names_by_id.get(v, v)}" for v in sorted(port.untagged))
                    yield Hit("port-untagged-in-two-vlans", where,
                              f"{iface} on {d.identity} is untagged in {len(port.untagged)} VLANs ({listed}); an "
                              f"untagged frame can belong to one VLAN only", {"interface": iface,
                                                                                 "vlans": sorted(port.untagged)})
        bridged = {e.interface for e in [*d.trunks, *d.access]}
        for b in d.bonds:
            cabled = [s for s in b.slaves if ctx.lab.cable_at(d.identity, s) is not None]
            if cabled and b.name not in bridged:
                yield Hit("bond-not-bridge-port", f"{dp}.bonds[{b.name}]",
                          f"bond {b.name} on {d.identity} is cabled ({', '.join(cabled)}) but is neither a trunk nor an "
                          f"access port: nothing it receives reaches the bridge {d.bridge.name}",
                          {"bond": b.name, "cabled": cabled})
        if (d.trunks or d.access) and not d.bridge.vlan_filtering:
            yield Hit("vlan-filtering-off", f"{dp}.bridge.vlan_filtering",
                      f"{d.identity} has trunks or access ports but its bridge {d.bridge.name} has vlan_filtering off: "
                      f"VLAN membership is not enforced and every VLAN leaks everywhere", {"device": d.identity})
        if native is not None and d.bridge.pvid != native.id:
            yield Hit("native-vlan-not-bridge-pvid", f"{dp}.bridge.pvid",
                      f"{d.identity}'s bridge pvid is {d.bridge.pvid}, but the native VLAN {native.name} has id {native.id}",
                      {"pvid": d.bridge.pvid, "native": native.id})
    yield from _bond_cabling(ctx)


def _first_path(dp: str, d, iface: str) -> str:
    for i, t in enumerate(d.trunks):
        if t.interface == iface:
            return f"{dp}.trunks[{i}]"
    for i, a in enumerate(d.access):
        if a.interface == iface:
            return f"{dp}.access[{i}]"
    return dp


def _bond_cabling(ctx: Context) -> Iterator[Hit]:
    for d, dp in zip(ctx.lab.routeros.devices, ctx.dev_paths):
        for b in d.bonds:
            peers = [(s, ctx.lab.peer_of(d.identity, s)) for s in b.slaves]
            cabled = [(s, pe) for s, pe in peers if pe is not None]
            if not cabled:
                continue
            nodes = sorted({pe.node for _, pe in cabled})
            if len(nodes) > 1:
                yield Hit("bond-cabling-mismatch", f"{dp}.bonds[{b.name}]",
                          f"bond {b.name} on {d.identity} has slaves cabled to {', '.join(nodes)}; 802.3ad needs one "
                          f"partner", {"bond": b.name, "peers": nodes})
                continue
            peer_dev = ctx.devices.get(nodes[0])
            if peer_dev is None:
                continue
            peer_bonds = {pe.port: (peer_dev.bond_of(pe.port).name if peer_dev.bond_of(pe.port) else None)
                          for _, pe in cabled}
            groups = sorted({str(v) for v in peer_bonds.values()})
            if len(groups) != 1 or groups == ["None"]:
                detail = ", ".join(f"{p} ({g or 'no bond'})" for p, g in sorted(peer_bonds.items()))
                yield Hit("bond-cabling-mismatch", f"{dp}.bonds[{b.name}]",
                          f"bond {b.name} on {d.identity} reaches {peer_dev.identity} ports {detail}; they should all be "
                          f"slaves of one bond there", {"bond": b.name, "peer": peer_dev.identity})


@producer(
    ("vlan-not-carried", "error",
     "Is every VLAN carried from its DHCP device (or gateway) to every NIC that needs it, tagged as needed?"),
    ("vlan-without-router", "warning", "Does every VLAN that something needs have a RouterOS device in it?"),
)
def vlans_carried(ctx: Context) -> Iterator[Hit]:
    from labsim.provisioners.fabric.intent import trace_need, vlan_needs  # (fabric.intent imports lab.model)

    for need in vlan_needs(ctx.lab):
        who = ", ".join(need.consumers)
        path = need.paths[0]
        if need.source is None:
            yield Hit("vlan-without-router", path,
                      f"{need.vlan} is needed by {who}, but no RouterOS device has an address in it and it has no DHCP "
                      f"server, so nothing serves or routes it", {"vlan": need.vlan})
            continue
        vl = ctx.vlans.get(need.vlan)
        if vl is not None and not vl.native and need.source not in vl.addresses:
            continue  # the DHCP server has no address (no VLAN interface): dhcp-server-without-address says so
        if not need.targets:
            yield Hit("vlan-not-carried", path,
                      f"{need.vlan} (VLAN {need.vid}) cannot reach {who}: {need.no_target_reason}",
                      {"vlan": need.vlan, "source": need.source, "reason": need.no_target_reason})
            continue
        results = trace_need(ctx.lab, need, ctx.l2)
        good = [(t, tr) for t, tr in results if tr.reached and (
            t.want == "any" or (t.want == "tagged") == bool(tr.arrived_tagged))]
        if good:
            continue
        reached = [(t, tr) for t, tr in results if tr.reached]
        if reached:
            t, tr = reached[0]
            got = "tagged" if tr.arrived_tagged else "untagged"
            last = tr.hops[-2] if len(tr.hops) > 1 else tr.hops[-1]
            yield Hit("vlan-not-carried", path,
                      f"{need.vlan} (VLAN {need.vid}) from {need.source} reaches {t} {got} (from {last.device} "
                      f"{last.egress}), but {who} needs it {t.want}: {t.why}",
                      {"vlan": need.vlan, "source": need.source, "target": str(t), "arrives": got, "wants": t.want,
                       "hops": [str(h) for h in tr.hops]})
            continue
        t, tr = results[0]
        where = f"it stops at {tr.reason}" if tr.stopped_at and (tr.reason or "").startswith(tr.stopped_at) \
            else f"{tr.reason}"
        yield Hit("vlan-not-carried", path,
                  f"{need.vlan} (VLAN {need.vid}) from {need.source} does not reach {t}, needed by {who}: {where}",
                  {"vlan": need.vlan, "source": need.source, "target": str(t),
                   "stopped_at": tr.stopped_at, "reason": tr.reason})
