"""Verify the fabric: read-only checks, each a named condition with the evidence behind its answer.

Everything here comes from `print` commands on the devices; verification never writes.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from labsim.provisioners.fabric.desired import vlan_interface
from labsim.provisioners.fabric.intent import trace_need, vlan_needs
from labsim.provisioners.fabric.observed import Observed, device_l2, observe, _true
from labsim.provisioners.fabric.plan import plan_device
from labsim.provisioners.fabric.rows import text
from labsim.provisioners.vocabulary import Result


def observe_all(lab, connections: dict[str, Any]) -> dict[str, Observed]:
    return {d.identity: observe(connections[d.identity], d.identity) for d in lab.routeros.devices}


def config_matches(lab, observed: dict[str, Observed]) -> list[Result]:
    """Every setting the lab file manages is as the lab file says (bridge, ports, VLAN table, bonds,
    addresses, pools, DHCP, leases, firewall)."""
    out = []
    for ident, obs in observed.items():
        changes = plan_device(lab, ident, obs.menus).changes
        diffs = [c.describe() for c in changes]
        out.append(Result("config-matches-intent", ident, not diffs,
                          "matches the lab file" if not diffs else "; ".join(diffs),
                          {"differences": diffs}))
    return out


def vlans_present(lab, observed: dict[str, Observed]) -> list[Result]:
    """Every VLAN exists on every device that the lab file gives an address in it, with that address."""
    vlan_rows = {ident: {text(r.get("name")): r for r in obs.rows("/interface/vlan")} for ident, obs in observed.items()}
    addresses: dict[str, dict[str, list[str]]] = {}
    for ident, obs in observed.items():
        per_iface = addresses.setdefault(ident, {})
        for r in obs.rows("/ip/address"):
            if not _true(r.get("disabled")):
                per_iface.setdefault(text(r.get("interface")), []).append(text(r.get("address")))
    out = []
    for vlan in lab.vlans:
        for ident, addr in vlan.addresses.items():
            bridge = lab.device(ident).bridge.name
            iface = vlan_interface(vlan, bridge)
            problems = []
            if not vlan.native:
                row = vlan_rows[ident].get(iface)
                if row is None:
                    problems.append(f"no VLAN interface {iface}")
                elif int(text(row.get("vlan-id"))) != vlan.id or row.get("interface") != bridge:
                    problems.append(f"{iface} is vlan-id {text(row.get('vlan-id'))} on "
                                    f"{row.get('interface')}, want vlan-id {vlan.id} on {bridge}")
                elif _true(row.get("disabled")):
                    problems.append(f"{iface} is disabled")
            want = str(addr)
            have = addresses[ident].get(iface, [])
            if want not in have:
                problems.append(f"address {want} missing on {iface} (found {', '.join(have) or 'none'})")
            out.append(Result("vlan-present", f"{ident} {vlan.name}", not problems,
                              f"{iface} has {want}" if not problems else "; ".join(problems),
                              {"interface": iface, "want": want, "found": have}))
    return out


def vlans_carried(lab, observed: dict[str, Observed], clusters_only: bool = True,
                  vlans: list[str] | None = None) -> list[Result]:
    """Each cluster VLAN (each VLAN anyone needs, without `clusters_only`; only `vlans`, when given) is carried hop
    by hop from the device serving its DHCP to the host NICs that need it (the Proxmox node's bridge ports for
    VMs, tagged into a VLAN-aware bridge; hosts' NICs untagged); when it is not, the result names the hop where it
    stops. Traced over what the devices report."""
    devices = {}
    for d in lab.routeros.devices:
        l2 = device_l2(observed[d.identity], d.bridge.name)
        if l2 is not None:
            devices[d.identity] = l2
    out = []
    for need in vlan_needs(lab):
        if clusters_only and not any(c.startswith("cluster ") for c in need.consumers):
            continue
        if vlans is not None and need.vlan not in vlans:
            continue
        subject = f"{need.vlan} from {need.source} for {', '.join(need.consumers)}"
        if not need.targets:
            out.append(Result("vlan-carried", subject, False, need.no_target_reason))
            continue
        traces = trace_need(lab, need, devices)
        good = [(t, tr) for t, tr in traces if tr.reached and
                (t.want == "any" or tr.arrived_tagged == (t.want == "tagged"))]
        if good:
            t, tr = good[0]
            msg = f"reaches {t} {'tagged' if tr.arrived_tagged else 'untagged'}: {tr.describe()}"
        else:
            t, tr = traces[0]
            msg = (f"to {t}: {tr.describe()}" if not tr.reached else
                   f"to {t}: arrives {'tagged' if tr.arrived_tagged else 'untagged'}, but {t.why} so it "
                   f"must arrive {t.want}")
        out.append(Result("vlan-carried", subject, bool(good), msg,
                          {"targets": [str(t) for t, _ in traces], "hops": [str(h) for h in tr.hops],
                           "stopped_at": tr.stopped_at, "reason": tr.reason}))
    return out


def dhcp_servers(lab, observed: dict[str, Observed], vlans: list[str] | None = None) -> list[Result]:
    """Each VLAN with DHCP in the lab file (of `vlans`, when given) has exactly one DHCP server in the fabric, on
    the planned device, with its pool inside the VLAN's subnet."""
    found: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for ident, obs in observed.items():
        vlan_of = {text(r["name"]): int(text(r["vlan-id"])) for r in obs.rows("/interface/vlan")}
        pvid = {text(r["name"]): int(text(r.get("pvid", 1))) for r in obs.rows("/interface/bridge")}
        for srv in obs.rows("/ip/dhcp-server"):
            if _true(srv.get("disabled")):
                continue
            iface = text(srv.get("interface"))
            vid = vlan_of.get(iface, pvid.get(iface))
            if vid is not None:
                found.setdefault(vid, []).append((ident, srv))
    out = []
    for vlan in lab.vlans:
        if vlan.dhcp is None or (vlans is not None and vlan.name not in vlans):
            continue
        servers = found.get(vlan.id, [])
        subnet = ipaddress.ip_network(str(vlan.subnet))
        problems = []
        if len(servers) != 1:
            where = ", ".join(f"{d} {text(s.get('name'))}" for d, s in servers) or "none"
            problems.append(f"{len(servers)} DHCP servers serve VLAN {vlan.id} ({where}), want exactly one")
        for ident, srv in servers:
            if ident != vlan.dhcp.server:
                problems.append(f"{ident} serves VLAN {vlan.id}, the lab file says {vlan.dhcp.server}")
            pools = [p for p in observed[ident].rows("/ip/pool") if p.get("name") == srv.get("address-pool")]
            for p in pools:
                for rng in filter(None, text(p.get("ranges")).split(",")):
                    lo, _, hi = rng.partition("-")
                    if not all(ipaddress.ip_address(x) in subnet for x in (lo, hi or lo)):
                        problems.append(f"{ident} pool {text(p.get('name'))} range {rng} is outside {subnet}")
            if not pools:
                problems.append(f"{ident} {text(srv.get('name'))} has no address pool "
                                f"({text(srv.get('address-pool')) or 'static-only'})")
        out.append(Result("dhcp-server", vlan.name, not problems,
                          f"one DHCP server on {vlan.dhcp.server} with its pool inside {subnet}"
                          if not problems else "; ".join(problems),
                          {"servers": [f"{d} {text(s.get('name'))}" for d, s in servers]}))
    return out


def inter_vlan_routing(lab, observed: dict[str, Observed], pairs: list[tuple[str, str]]) -> list[Result]:
    """Between two VLANs (the mesh's cluster VLANs): each VLAN's gateway has an active route to the
    other's subnet and no forward rule drops the traffic first."""
    out = []
    for a_name, b_name in pairs:
        for src, dst in ((lab.vlan(a_name), lab.vlan(b_name)), (lab.vlan(b_name), lab.vlan(a_name))):
            subject = f"{src.name} -> {dst.name}"
            gw = next((d for d, addr in src.addresses.items() if addr.ip == src.gateway), None)
            if gw is None:
                out.append(Result("inter-vlan-routing", subject, False,
                                  f"no device holds {src.name}'s gateway {src.gateway}"))
                continue
            obs = observed[gw]
            routes = [r for r in obs.rows("/ip/route") if text(r.get("dst-address")) == str(dst.subnet)
                      and _true(r.get("active")) and not _true(r.get("disabled"))]
            blocked = _forward_block(obs, str(src.subnet), str(dst.subnet))
            ok = bool(routes) and blocked is None
            msg = (f"{gw} routes {src.subnet} to {dst.subnet} via {text(routes[0].get('gateway'))}" if ok else
                   f"{gw} (gateway {src.gateway}) has no active route to {dst.subnet}" if not routes else
                   f"{gw} forward rule {blocked} drops {src.subnet} -> {dst.subnet}")
            out.append(Result("inter-vlan-routing", subject, ok, msg,
                              {"gateway_device": gw, "routes": [dict(r) for r in routes], "blocked_by": blocked}))
    return out


def _covers(rule_value: Any, net: str) -> bool:
    v = text(rule_value)
    if not v:
        return True
    neg = v.startswith("!")
    covered = ipaddress.ip_network(net).subnet_of(ipaddress.ip_network(v.lstrip("!"), strict=False))
    return covered != neg


def _forward_block(obs: Observed, src: str, dst: str) -> str | None:
    for rule in obs.rows("/ip/firewall/filter"):
        if text(rule.get("chain")) != "forward" or _true(rule.get("disabled")):
            continue
        if rule.get("protocol") or rule.get("connection-state") or rule.get("in-interface") or rule.get("out-interface"):
            continue  # narrower than "all traffic between the subnets": not judged here
        if _covers(rule.get("src-address"), src) and _covers(rule.get("dst-address"), dst):
            action = text(rule.get("action"))
            if action in ("drop", "reject"):
                return f"{rule.get('.id')} ({action})"
            if action == "accept":
                return None
    return None


def mesh_vlan_pairs(lab) -> list[tuple[str, str]]:
    names = [lab.cluster(c).vlan for c in lab.mesh.clusters] if lab.mesh else []
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if a != b]


def verify(lab, connections: dict[str, Any]) -> list[Result]:
    observed = observe_all(lab, connections)
    return (config_matches(lab, observed) + vlans_present(lab, observed) + vlans_carried(lab, observed)
            + dhcp_servers(lab, observed) + inter_vlan_routing(lab, observed, mesh_vlan_pairs(lab)))




# --- what verification reports about a change made by hand ---------------------------------------------------------
def _differences(lab, observed: dict[str, Observed], device: str) -> list[str]:
    return next((r.evidence["differences"] for r in config_matches(lab, observed) if r.subject == device), [])


def reports_untagged(lab, observed: dict[str, Observed], device: str, port: str, vid: int) -> list[Result]:
    """Verification of `device` reports that its bridge VLAN `vid` no longer tags `port`, which the lab file tags."""
    diffs = _differences(lab, observed, device)
    hits = [d for d in diffs if f"bridge VLAN {vid}:" in d and "tagged is" in d]
    ok = False
    if hits:
        have, _, want = hits[0].split("tagged is ", 1)[1].partition(", want ")
        ok = port not in have.split(",") and port in want.split(",")
    return [Result("reports-untagged", f"{device} {port} VLAN {vid}", ok,
                   hits[0] if hits else f"no difference reported for bridge VLAN {vid} on {device}: {diffs}",
                   {"differences": diffs})]


def reports_address(lab, observed: dict[str, Observed], device: str, vlan: str, have: str, want: str) -> list[Result]:
    """Verification of `device` reports `have` on `vlan` where the lab file wants `want`."""
    diffs = _differences(lab, observed, device)
    expected = f"{device}: address on {vlan}: address is {have}, want {want}"
    return [Result("reports-address", f"{device} {vlan}", expected in diffs,
                   expected if expected in diffs else f"expected {expected!r} among {diffs}", {"differences": diffs})]


def trace_stops(lab, observed: dict[str, Observed], vlan: str, target: str, where: str) -> list[Result]:
    """The trace of `vlan` from its DHCP device to `target` (NODE:PORT), over what the devices report, stops at
    `where` ("device port")."""
    from labsim.provisioners.fabric.intent import lab_cables
    from labsim.provisioners.fabric.l2 import trace_vlan

    v = lab.vlan(vlan)
    devices = {d.identity: device_l2(observed[d.identity], d.bridge.name) for d in lab.routeros.devices}
    node, nic = target.split(":", 1)
    tr = trace_vlan({k: l2 for k, l2 in devices.items() if l2}, lab_cables(lab), v.id, v.dhcp.server if v.dhcp
                    else "", (node, nic))
    ev = {"reached": tr.reached, "stopped_at": tr.stopped_at, "reason": tr.reason, "hops": [str(h) for h in tr.hops]}
    ok = not tr.reached and tr.stopped_at == where
    return [Result("trace-stops", f"{vlan} to {target}", ok,
                   f"the trace stops at {tr.stopped_at} ({tr.reason})" if ok else
                   f"{vlan} still reaches {target}" if tr.reached else
                   f"the trace stops at {tr.stopped_at!r} ({tr.reason}), expected {where!r}", ev)]
