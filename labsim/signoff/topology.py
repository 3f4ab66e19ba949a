"""The lab topology for the report: drawn from what the fabric verification observed (the `labsim-topology/1`
evidence a step recorded: ports, VLANs per link tagged and untagged, intended vs observed, where a VLAN stops), or,
when no step observed the fabric, from the lab file alone (and then labelled as intended, not observed).

Rows: RouterOS devices (device-to-device cables as arcs above them), then Proxmox nodes, hosts and other cable ends,
then the clusters in their report colour, with ClusterMesh links below them. A link whose VLANs differ from the lab
file is amber and dashed; the link where a VLAN stops is red, thick, and says which VLAN. Signoff imports no lab
layer: this reads plain data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .plots import Colours, Svg

NODE_W, NODE_H, GAP, ROW_GAP = 160, 56, 30, 140
RED, AMBER, GREY = "#dc2626", "#d97706", "#64748b"
FILL = {"routeros": ("#eff6ff", "#1d4ed8"), "proxmox": ("#fff7ed", "#c2410c"), "host": ("#f8fafc", "#475569"),
        "endpoint": ("#f1f5f9", "#94a3b8")}


@dataclass
class Topology:
    svg: Svg | None
    source: str          # "observed" or "lab file"
    scenario: str | None = None   # the scenario whose observation it is
    breaks: list[dict] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


def _list(v: object) -> list:
    return v if isinstance(v, list) else []


def _get(d: object, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def from_lab_file(lab: object) -> dict | None:
    """The topology the lab file intends (no observation): same shape as the observed evidence."""
    if not isinstance(lab, dict):
        return None
    nodes = [{"name": str(d["identity"]), "kind": "routeros", "detail": str(d.get("model") or "RouterOS")}
             for d in _list(_get(lab, "routeros", "devices")) if isinstance(d, dict) and d.get("identity")]
    nodes += [{"name": str(n["name"]), "kind": "proxmox", "detail": "Proxmox VE"}
              for n in _list(_get(lab, "proxmox", "nodes")) if isinstance(n, dict) and n.get("name")]
    nodes += [{"name": str(h["name"]), "kind": "host", "detail": str(h.get("kind") or "host")}
              for h in _list(lab.get("hosts")) if isinstance(h, dict) and h.get("name")]
    links = []
    for c in _list(lab.get("cables")):
        if isinstance(c, (list, tuple)) and len(c) == 2:
            (a, _, pa), (b, _, pb) = (str(x).partition(":") for x in c)
            links.append({"a": a, "a_port": pa, "b": b, "b_port": pb, "ends": {}, "differences": [], "broken": []})
    clusters = []
    for c in _list(lab.get("clusters")):
        if not isinstance(c, dict) or not c.get("name"):
            continue
        runs_on = [str(c["proxmox_node"])] if c.get("proxmox_node") else []
        hosts = c.get("hosts")
        for v in (hosts.values() if isinstance(hosts, dict) else [hosts] if isinstance(hosts, list) else []):
            runs_on += [str(x) for x in _list(v)]
        clusters.append({"name": str(c["name"]), "vlan": c.get("vlan"), "runs_on": runs_on})
    if not (nodes or clusters):
        return None
    return {"format": "labsim-topology/1", "source": "lab file", "nodes": nodes, "links": links, "breaks": [],
            "vlans": [{"id": v.get("id"), "name": v.get("name")} for v in _list(lab.get("vlans")) if isinstance(v, dict)],
            "clusters": clusters, "mesh": [str(m) for m in _list(_get(lab, "mesh", "clusters"))]}


def _vids(ids: list) -> str:
    return ",".join(str(i) for i in ids)


def _link_label(link: dict) -> str:
    """`T 10,1500,2000 · U 1`: the VLANs the RouterOS end(s) send on this cable (both ends when they differ)."""
    parts = []
    for node, end in (link.get("ends") or {}).items():
        if end.get("up") is False:
            parts.append((node, "down"))
            continue
        t, u = end.get("tagged") or [], end.get("untagged") or []
        text = " · ".join(x for x in ((f"T {_vids(t)}" if t else ""), (f"U {_vids(u)}" if u else "")) if x)
        parts.append((node, text or "no VLAN"))
    if not parts:
        return ""
    if len({p[1] for p in parts}) == 1:
        return parts[0][1]
    return " / ".join(f"{n}: {t}" for n, t in parts)


def draw(topo: dict, colours: Colours, svg_id: str = "topology-svg") -> Svg:
    nodes = [n for n in _list(topo.get("nodes")) if isinstance(n, dict) and n.get("name")]
    kinds = {n["name"]: n.get("kind", "endpoint") for n in nodes}
    row0 = [n["name"] for n in nodes if kinds[n["name"]] == "routeros"]
    row1 = [n["name"] for n in nodes if kinds[n["name"]] != "routeros"]
    links = [x for x in _list(topo.get("links")) if isinstance(x, dict)]
    clusters = [c for c in _list(topo.get("clusters")) if isinstance(c, dict) and c.get("name")]
    dev_pos = {d: i for i, d in enumerate(row0)}

    def attach(name: str) -> float:   # order row 1 under the device each is cabled to (fewer crossings)
        ps = [dev_pos[x["b"]] for x in links if x["a"] == name and x["b"] in dev_pos]
        ps += [dev_pos[x["a"]] for x in links if x["b"] == name and x["a"] in dev_pos]
        return sum(ps) / len(ps) if ps else len(row0)

    order = {n: i for i, n in enumerate(row1)}
    row1.sort(key=lambda n: (attach(n), order[n]))
    cl_names = [str(c["name"]) for c in clusters]
    cols = max(len(row0), len(row1), len(cl_names), 1)
    width = cols * (NODE_W + GAP) + GAP
    arcs = len({tuple(sorted((x["a"], x["b"]))) for x in links if x["a"] in dev_pos and x["b"] in dev_pos})
    y0 = 16 + NODE_H / 2 + (34 + 26 * 4 / 3 * (min(arcs, 8) - 1)) * 0.75 + 4 if arcs else 40
    y1 = y0 + NODE_H + ROW_GAP
    y2 = y1 + NODE_H + ROW_GAP - 30
    mesh = [m for m in _list(topo.get("mesh")) if m in cl_names]
    height = y2 + NODE_H + (60 + 14 * len(mesh) if len(mesh) > 1 else 20)
    svg = Svg(svg_id, "topology", "Lab topology", width, height)

    def row_x(ids: list[str]) -> dict[str, float]:
        total = len(ids) * NODE_W + (len(ids) - 1) * GAP
        start = (width - total) / 2
        return {n: start + i * (NODE_W + GAP) + NODE_W / 2 for i, n in enumerate(ids)}

    pos = {n: (x, y0) for n, x in row_x(row0).items()}
    pos.update({n: (x, y1) for n, x in row_x(row1).items()})
    cpos = {n: (x, y2) for n, x in row_x(cl_names).items()}

    # ---- cluster links to what they run on (under everything else)
    for c in clusters:
        cx, cy = cpos[str(c["name"])]
        col = colours.of(str(c["name"]))
        for t in dict.fromkeys(str(x) for x in _list(c.get("runs_on"))):
            if t in pos:
                tx, ty = pos[t]
                svg.add("path", d=f"M{cx:.1f},{cy - NODE_H / 2:.1f} L{tx:.1f},{ty + NODE_H / 2:.1f}", stroke=col,
                        stroke_width=1.4, stroke_dasharray="5 4", fill="none", class_="runs-on",
                        title=f"{c['name']} runs on {t}")
    # ---- cables: parallel cables between the same two boxes (a bond's slaves) are drawn as one line
    groups: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for i, x in enumerate(links):
        if x.get("a") in pos and x.get("b") in pos:
            groups.setdefault(tuple(sorted((str(x["a"]), str(x["b"])))), []).append((i, x))
    # arcs between devices: the shortest spans lowest, so arcs nest instead of crossing
    span = {k: abs(dev_pos.get(k[0], 0) - dev_pos.get(k[1], 0)) if k[0] in dev_pos and k[1] in dev_pos else 0
            for k in groups}
    groups = dict(sorted(groups.items(), key=lambda kv: span[kv[0]]))
    arc_i = 0
    fan: dict[str, int] = {}   # links leaving each upper box so far: their labels are staggered
    for members in groups.values():
        i, x = next(((j, y) for j, y in members if _list(y.get("broken"))), members[0])
        a, b = x["a"], x["b"]
        broken = [t for _, y in members for t in _list(y.get("broken"))]
        diffs = [t for _, y in members for t in _list(y.get("differences"))]
        state = "broken" if broken else "differs" if diffs else "ok"
        col = {"broken": RED, "differs": AMBER}.get(state, GREY)
        (xa, ya), (xb, yb) = pos[a], pos[b]
        labels = list(dict.fromkeys(_link_label(y) for _, y in members))
        label = labels[0] if len(labels) == 1 else " | ".join(labels)
        if len(members) > 1:
            label = f"{label} ×{len(members)}" if label else f"×{len(members)}"

        def ports(node: str, members: list = members) -> str:
            bridge = {(y.get("ends") or {}).get(node, {}).get("port") for _, y in members}
            if len(members) > 1 and len(bridge) == 1 and None not in bridge:
                return str(bridge.pop())   # the bond the cables belong to
            return ",".join(str(y["a_port"] if y["a"] == node else y["b_port"]) for _, y in members)

        cables = [f"{y['a']}:{y['a_port']} ↔ {y['b']}:{y['b_port']}" for _, y in members]
        tip = "\n".join(cables + [label] + broken + diffs)
        if ya == yb:   # two devices: an arc above the row
            arc_i += 1
            top = ya - NODE_H / 2
            h = 34 + 26 * ((arc_i - 1) % 8) * 4 / 3
            d = f"M{xa:.1f},{top:.1f} C{xa:.1f},{top - h:.1f} {xb:.1f},{top - h:.1f} {xb:.1f},{top:.1f}"
            lx, ly = (xa + xb) / 2, top - h * 0.75 - 4
            label = f"{ports(a)} ⇄ {ports(b)} · {label}" if label else f"{ports(a)} ⇄ {ports(b)}"
            pa = pb = None
            anchor_a = anchor_b = "middle"
        else:
            upper, lower = (a, b) if ya < yb else (b, a)
            (xt, yt), (xl, yl) = pos[upper], pos[lower]
            d = f"M{xt:.1f},{yt + NODE_H / 2:.1f} L{xl:.1f},{yl - NODE_H / 2:.1f}"
            k = fan[upper] = fan.get(upper, -1) + 1
            frac = 0.86 if broken else (0.42, 0.62, 0.8)[k % 3]   # a break's words near its own end, apart
            lx = xt + (xl - xt) * frac
            ly = yt + NODE_H / 2 + (yl - yt - NODE_H) * frac
            label = f"{ports(upper)}: {label}" if label else ports(upper)
            low_end = (xl - (xl - xt) * 0.06, yl - NODE_H / 2 - 6)
            pa, pb = (None, low_end) if upper == a else (low_end, None)
            anchor_a = anchor_b = "middle"
        svg.add("path", d=d, fill="none", stroke=col, stroke_width=(4 if state == "broken" else 2) + min(len(members) - 1, 3),
                stroke_dasharray="7 4" if state == "differs" else None, class_=f"link {state}", data_a=a,
                data_a_port=x.get("a_port"), data_b=b, data_b_port=x.get("b_port"), data_link=i,
                data_cables=len(members), title=tip)
        for node, at, anchor in ((a, pa, anchor_a), (b, pb, anchor_b)):
            if at is not None:
                svg.add("text", ports(node), x=round(at[0], 1), y=round(at[1], 1), class_="port", text_anchor=anchor)
        if label:
            svg.add("text", label, x=round(lx, 1), y=round(ly, 1), class_=f"vlans {state}", text_anchor="middle",
                    title=tip)
        if broken:
            stops = sorted({str(t).split(" ", 1)[0] for t in broken})
            svg.add("text", "✗ " + ", ".join(stops) + " stops here", x=round(lx, 1), y=round(ly + 14, 1),
                    class_="breaks", text_anchor="middle", title=tip)
    # ---- mesh arcs below the clusters
    pairs = [(mesh[i], mesh[j]) for i in range(len(mesh)) for j in range(i + 1, len(mesh))]
    for k, (a, b) in enumerate(pairs):
        (xa, ya), (xb, _) = cpos[a], cpos[b]
        bot = ya + NODE_H / 2
        h = 34 + 14 * k
        svg.add("path", d=f"M{xa:.1f},{bot:.1f} Q{(xa + xb) / 2:.1f},{bot + 2 * h:.1f} {xb:.1f},{bot:.1f}", fill="none",
                stroke="#0f766e", stroke_width=2.5, stroke_dasharray="8 5", class_="mesh-link",
                title=f"ClusterMesh: {a} ↔ {b}")
    if pairs:
        a, b = pairs[0]
        svg.add("text", "ClusterMesh", x=round((cpos[a][0] + cpos[b][0]) / 2, 1), y=round(y2 + NODE_H / 2 + 40, 1),
                class_="lbl mesh", text_anchor="middle")
    # ---- boxes
    broken_nodes = {str(b.get("node")) for b in _list(topo.get("breaks")) if isinstance(b, dict)
                    and b.get("link") is None and b.get("node")}

    def box(name: str, x: float, y: float, sub: str, cls: str, fill: str, stroke: str, tip: str) -> None:
        bad = name in broken_nodes
        svg.add("rect", x=round(x - NODE_W / 2, 1), y=round(y - NODE_H / 2, 1), width=NODE_W, height=NODE_H, rx=7,
                fill=fill, stroke=RED if bad else stroke, stroke_width=3 if bad else 1.5,
                class_=f"node {cls}" + (" broken" if bad else ""), data_name=name, title=tip)
        lines = [p for p in sub.split(" · ") if p][:2]
        top = y - 6 * len(lines) - 1
        svg.add("text", name, x=round(x, 1), y=round(top, 1), text_anchor="middle", class_="nm", title=tip)
        for j, line in enumerate(lines):
            svg.add("text", line, x=round(x, 1), y=round(top + 15 + 13 * j, 1), text_anchor="middle", class_="sub")

    for n in nodes:
        name = n["name"]
        fill, stroke = FILL.get(kinds[name], FILL["endpoint"])
        x, y = pos[name]
        box(name, x, y, str(n.get("detail") or kinds[name]), kinds[name], fill, stroke, f"{name}: {n.get('detail')}")
    for c in clusters:
        name = str(c["name"])
        col = colours.of(name)
        x, y = cpos[name]
        box(name, x, y, f"cluster · {c.get('vlan') or ''}".strip(" ·"), "cluster", col + "1f", col,
            f"cluster {name} on {c.get('vlan')}")
    svg.legend = [(GREY, "cable: VLANs as observed (T tagged, U untagged)", "solid"),
                  (AMBER, "differs from the lab file", "dashed"), (RED, "a VLAN stops here", "solid")]
    return svg


def topology_for(records: list, lab_data: object, colours: Colours) -> Topology | None:
    """The topology to show first: the observation of a failed scenario that found a break, else of any failed
    scenario, else the last one recorded; else the lab file's."""
    observed = [r for r in records if getattr(r, "topology", None)]
    failed = [r for r in observed if r.status == "failed"]
    with_break = [r for r in failed if r.topology.get("breaks")]
    pick = with_break[0] if with_break else failed[0] if failed else observed[-1] if observed else None
    if pick is not None:
        topo = pick.topology
        diffs = [d for x in _list(topo.get("links")) if isinstance(x, dict) for d in _list(x.get("differences"))]
        return Topology(draw(topo, colours), "observed", pick.full_title,
                        [b for b in _list(topo.get("breaks")) if isinstance(b, dict)], diffs)
    topo = from_lab_file(lab_data)
    if topo is None:
        return None
    return Topology(draw(topo, colours), "lab file")
