"""The fabric as observed, for the sign-off report's topology: every cabled port with the VLANs it carries, tagged
and untagged, what the lab file intended there, the differences, and the hop where a VLAN stops.

`topology(lab, observed, carried)` returns plain JSON (format `labsim-topology/1`), attached by the fabric steps as
evidence (`evidence.topology(...)`); the sign-off draws it without importing this package:

    {"format": "labsim-topology/1", "source": "observed",
     "nodes": [{"name", "kind": routeros|proxmox|host|endpoint, "detail"}],
     "links": [{"a", "a_port", "b", "b_port",
                "ends": {NODE: {"port", "tagged": [ids], "untagged": [ids], "up": bool|null,
                                "intended": {"tagged": [ids], "untagged": [ids]}}},   (RouterOS ends only)
                "differences": [text], "broken": [text]}],
     "breaks": [{"vlan", "node", "port", "reason", "link": index|null}],
     "vlans": [{"id", "name"}], "clusters": [{"name", "vlan", "runs_on": [node]}], "mesh": [cluster]}

The observed VLANs are what the devices print (`/interface/bridge/vlan`, `/interface/bridge/port`, `/interface`
running), the same reading the verifier traces over; a port's untagged VLANs include its pvid.
"""
from __future__ import annotations

from typing import Any

from labsim.provisioners.fabric.intent import desired_l2
from labsim.provisioners.fabric.l2 import DeviceL2
from labsim.provisioners.fabric.observed import Observed, device_l2
from labsim.provisioners.lab.model import Lab

FORMAT = "labsim-topology/1"


def _port_vlans(dev: DeviceL2 | None, port: str) -> dict[str, Any] | None:
    if dev is None:
        return None
    bp = dev.bridge_port_of(port)
    p = dev.ports.get(bp)
    if p is None:
        return {"port": bp, "tagged": [], "untagged": [], "up": None, "bridge_port": False}
    untagged = sorted(set(p.untagged) | {p.pvid}) if dev.vlan_filtering else sorted(p.untagged)
    return {"port": bp, "tagged": sorted(p.tagged), "untagged": untagged, "up": not p.disabled, "bridge_port": True}


def _differences(node: str, seen: dict[str, Any], want: dict[str, Any] | None) -> list[str]:
    out: list[str] = []
    where = f"{node} {seen['port']}"
    if not seen.get("bridge_port", True):
        out.append(f"{where}: not a port of the bridge")
    if seen.get("up") is False:
        out.append(f"{where}: down (disabled or no link)")
    if want is None:
        return out
    for kind in ("tagged", "untagged"):
        missing = sorted(set(want[kind]) - set(seen[kind]))
        extra = sorted(set(seen[kind]) - set(want[kind]))
        if missing:
            out.append(f"{where}: VLAN {', '.join(map(str, missing))} not {kind} (the lab file has it {kind})")
        if extra:
            out.append(f"{where}: VLAN {', '.join(map(str, extra))} {kind}, not in the lab file")
    return out


def _split(at: str | None) -> tuple[str, str | None]:
    node, _, port = (at or "").partition(" ")
    return node, port or None


def topology(lab: Lab, observed: dict[str, Observed], carried: list[Any] | None = None) -> dict[str, Any]:
    """The observed fabric as JSON (see the module's docstring); `carried` are vlans_carried results."""
    seen: dict[str, DeviceL2] = {}
    for d in lab.routeros.devices:
        obs = observed.get(d.identity)
        l2 = device_l2(obs, d.bridge.name) if obs is not None else None
        if l2 is not None:
            seen[d.identity] = l2
    intended = desired_l2(lab)
    nodes: list[dict[str, Any]] = []
    for d in lab.routeros.devices:
        obs = observed.get(d.identity)
        version = obs.version if obs is not None else ""
        nodes.append({"name": d.identity, "kind": "routeros",
                      "detail": " · ".join(x for x in (d.model, f"RouterOS {version}" if version else "") if x)})
    for n in lab.proxmox.nodes if lab.proxmox else []:
        nodes.append({"name": n.name, "kind": "proxmox", "detail": "Proxmox VE"})
    for h in lab.hosts:
        nodes.append({"name": h.name, "kind": "host", "detail": str(getattr(h, "kind", "") or "host")})
    named = {n["name"] for n in nodes}
    links: list[dict[str, Any]] = []
    for c in lab.cables:
        a, b = c.a, c.b
        for end in (a, b):
            if end.node not in named:
                nodes.append({"name": end.node, "kind": "endpoint", "detail": "cable end"})
                named.add(end.node)
        link: dict[str, Any] = {"a": a.node, "a_port": a.port, "b": b.node, "b_port": b.port, "ends": {},
                                "differences": [], "broken": []}
        for end in (a, b):
            if end.node not in intended:
                continue
            got = _port_vlans(seen.get(end.node), end.port)
            want = _port_vlans(intended[end.node], end.port)
            if got is None:   # the device did not answer, or has no such bridge
                got = {"port": end.port, "tagged": [], "untagged": [], "up": None, "bridge_port": False}
            got["intended"] = {"tagged": want["tagged"], "untagged": want["untagged"]} if want else None
            link["differences"] += _differences(end.node, got, got["intended"])
            link["ends"][end.node] = got
        links.append(link)
    breaks: list[dict[str, Any]] = []
    for r in carried or []:
        if getattr(r, "ok", True):
            continue
        ev = getattr(r, "evidence", {}) or {}
        node, port = _split(ev.get("stopped_at"))
        index = None
        for i, link in enumerate(links):
            for end, end_port in ((link["a"], link["a_port"]), (link["b"], link["b_port"])):
                bridge_port = (link["ends"].get(end) or {}).get("port")
                if end == node and port in (end_port, bridge_port):
                    index = i
        reason = ev.get("reason") or r.message
        if index is not None:
            links[index]["broken"].append(f"{r.subject}: {reason}")
        breaks.append({"vlan": r.subject.split(" ", 1)[0], "subject": r.subject, "node": node or None,
                       "port": port, "reason": reason, "link": index})
    clusters = []
    for cl in lab.clusters:
        runs_on = [cl.proxmox_node] if getattr(cl, "proxmox_node", None) else []
        runs_on += [m.name for m in cl.members() if m.name in named and m.name not in runs_on]
        clusters.append({"name": cl.name, "vlan": cl.vlan, "runs_on": runs_on})
    return {"format": FORMAT, "source": "observed", "nodes": nodes, "links": links, "breaks": breaks,
            "vlans": [{"id": v.id, "name": v.name} for v in lab.vlans],
            "clusters": clusters, "mesh": list(lab.mesh.clusters) if lab.mesh else []}
