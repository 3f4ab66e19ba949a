"""Draw a lab file's topology as inline SVG, from the raw YAML (no models: signoff imports no provisioners).

Rows: RouterOS devices (device-to-device cables as arcs above them), then Proxmox nodes and hosts (cabled to
a device), then clusters (linked to their Proxmox node or hosts, coloured by VLAN), with ClusterMesh links
as arcs below the clusters, and a VLAN legend.
"""

from __future__ import annotations

from html import escape

PALETTE = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#dc2626", "#4b5563",
           "#9333ea"]
NODE_W, NODE_H, GAP = 150, 46, 26
ROW_GAP = 120


def _get(d, *keys, default=None):
    for k in keys:
        if not isinstance(d, dict):
            return default
        d = d.get(k)
    return default if d is None else d


def _list(v) -> list:
    return v if isinstance(v, list) else []


def _s(v) -> str:
    return "" if v is None else str(v)


def topology_svg(lab: object) -> str | None:
    if not isinstance(lab, dict):
        return None
    devices = [d for d in _list(_get(lab, "routeros", "devices")) if isinstance(d, dict) and d.get("identity")]
    pnodes = [n for n in _list(_get(lab, "proxmox", "nodes")) if isinstance(n, dict) and n.get("name")]
    hosts = [h for h in _list(lab.get("hosts")) if isinstance(h, dict) and h.get("name")]
    clusters = [c for c in _list(lab.get("clusters")) if isinstance(c, dict) and c.get("name")]
    vlans = [v for v in _list(lab.get("vlans")) if isinstance(v, dict) and v.get("name") is not None]
    mesh = [_s(m) for m in _list(_get(lab, "mesh", "clusters"))]
    cables = []
    for c in _list(lab.get("cables")):
        if isinstance(c, (list, tuple)) and len(c) == 2:
            a, b = (_s(x) for x in c)
            cables.append((a.partition(":")[0], a.partition(":")[2], b.partition(":")[0], b.partition(":")[2]))
    if not (devices or pnodes or hosts or clusters):
        return None

    vlan_color = {_s(v["name"]): PALETTE[i % len(PALETTE)] for i, v in enumerate(vlans)}
    dev_ids = [_s(d["identity"]) for d in devices]
    row1_ids = [_s(n["name"]) for n in pnodes] + [_s(h["name"]) for h in hosts]
    known = set(dev_ids) | set(row1_ids)
    extra = []  # cable endpoints not described anywhere else
    for a, _, b, _ in cables:
        for x in (a, b):
            if x and x not in known and x not in extra:
                extra.append(x)
    row1_ids += extra

    # order row 1 by the position of the device each is cabled to (fewer crossings)
    dev_pos = {d: i for i, d in enumerate(dev_ids)}

    def attach_pos(name: str) -> float:
        ps = [dev_pos[b] for a, _, b, _ in cables if a == name and b in dev_pos]
        ps += [dev_pos[a] for a, _, b, _ in cables if b == name and a in dev_pos]
        return sum(ps) / len(ps) if ps else len(dev_ids)

    order = {n: i for i, n in enumerate(row1_ids)}
    row1_ids.sort(key=lambda n: (attach_pos(n), order[n]))
    cl_ids = [_s(c["name"]) for c in clusters]

    cols = max(len(dev_ids), len(row1_ids), len(cl_ids), 1)
    legend_w = 250 if vlans else 0
    width = cols * (NODE_W + GAP) + GAP + legend_w
    dev_arcs_h = 30 + 18 * max(len(dev_ids) - 1, 0)
    y0 = 30 + dev_arcs_h
    y1 = y0 + NODE_H + ROW_GAP
    y2 = y1 + NODE_H + ROW_GAP
    mesh_h = 40 + 16 * max(len(mesh) - 1, 0) if len(mesh) > 1 else 10
    height = max(y2 + NODE_H + mesh_h + 20, 60 + 22 * len(vlans) + 40)
    plot_w = width - legend_w

    def row_x(ids: list[str]) -> dict[str, float]:
        total = len(ids) * NODE_W + (len(ids) - 1) * GAP
        start = (plot_w - total) / 2
        return {n: start + i * (NODE_W + GAP) + NODE_W / 2 for i, n in enumerate(ids)}

    pos: dict[str, tuple[float, float]] = {}
    pos.update({n: (x, y0) for n, x in row_x(dev_ids).items()})
    pos.update({n: (x, y1) for n, x in row_x(row1_ids).items()})
    cl_pos = {n: (x, y2) for n, x in row_x(cl_ids).items()}

    out: list[str] = [
        (f'<svg id="topology-svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" style="max-width:{width:.0f}px" role="img" aria-label="Lab topology" class="topology">'),
        "<title>Lab topology</title>",
    ]
    # ---- cables: group parallel links between the same two boxes
    groups: dict[tuple[str, str], list[str]] = {}
    for a, pa, b, pb in cables:
        if a not in pos or b not in pos:
            continue
        k = tuple(sorted((a, b)))
        groups.setdefault(k, []).append(f"{a}:{pa} ↔ {b}:{pb}")
    for (a, b), ports in groups.items():
        (xa, ya), (xb, yb) = pos[a], pos[b]
        label = f"×{len(ports)}" if len(ports) > 1 else ""
        title = escape("\n".join(ports))
        cls = "cable bundle" if len(ports) > 1 else "cable"
        sw = 2 + min(len(ports) - 1, 4)
        if ya == yb:  # same row: arc above
            dist = abs(dev_pos.get(a, 0) - dev_pos.get(b, 0)) if a in dev_pos and b in dev_pos else 1
            h = 24 + 22 * (dist - 1) if dist > 1 else 0
            top = ya - NODE_H / 2
            if h == 0:
                x1, x2 = (xa + NODE_W / 2, xb - NODE_W / 2) if xa < xb else (xa - NODE_W / 2, xb + NODE_W / 2)
                d = f"M{x1:.1f},{ya:.1f} L{x2:.1f},{yb:.1f}"
                lx, ly = (x1 + x2) / 2, ya - 5
            else:
                d = f"M{xa:.1f},{top:.1f} Q{(xa + xb) / 2:.1f},{top - 2 * h:.1f} {xb:.1f},{top:.1f}"
                lx, ly = (xa + xb) / 2, top - h - 4
        else:
            (xt, yt), (xl, yl) = ((xa, ya), (xb, yb)) if ya < yb else ((xb, yb), (xa, ya))
            d = f"M{xt:.1f},{yt + NODE_H / 2:.1f} L{xl:.1f},{yl - NODE_H / 2:.1f}"
            lx, ly = xt + (xl - xt) * 0.5, yt + NODE_H / 2 + (yl - yt - NODE_H) * 0.5
        out.append(f'<g class="{cls}"><title>{title}</title>'
                   f'<path d="{d}" fill="none" stroke="#64748b" stroke-width="{sw}"/>')
        if label:
            out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" class="lbl" text-anchor="middle">{escape(label)}</text>')
        out.append("</g>")
    # ---- cluster links to their hosts / proxmox node
    for c in clusters:
        name = _s(c["name"])
        cx, cy = cl_pos[name]
        color = vlan_color.get(_s(c.get("vlan")), "#475569")
        targets = []
        if c.get("proxmox_node"):
            targets.append(_s(c["proxmox_node"]))
        hs = c.get("hosts")
        if isinstance(hs, dict):
            for v in hs.values():
                targets += [_s(x) for x in _list(v)]
        elif isinstance(hs, list):
            targets += [_s(x) for x in hs]
        for t in dict.fromkeys(targets):
            if t in pos:
                tx, ty = pos[t]
                out.append(f'<path class="runs-on" d="M{cx:.1f},{cy - NODE_H / 2:.1f} L{tx:.1f},{ty + NODE_H / 2:.1f}" '
                           f'stroke="{color}" stroke-width="1.5" stroke-dasharray="5 4" fill="none">'
                           f'<title>{escape(name)} runs on {escape(t)}</title></path>')
    # ---- mesh arcs below the clusters
    mesh_in = [m for m in mesh if m in cl_pos]
    pairs = [(mesh_in[i], mesh_in[j]) for i in range(len(mesh_in)) for j in range(i + 1, len(mesh_in))]
    for k, (a, b) in enumerate(pairs):
        (xa, ya), (xb, _) = cl_pos[a], cl_pos[b]
        bot = ya + NODE_H / 2
        h = 30 + 14 * k
        out.append(f'<g class="mesh-link"><title>ClusterMesh: {escape(a)} ↔ {escape(b)}</title>'
                   f'<path d="M{xa:.1f},{bot:.1f} Q{(xa + xb) / 2:.1f},{bot + 2 * h:.1f} {xb:.1f},{bot:.1f}" '
                   f'fill="none" stroke="#0f766e" stroke-width="2.5" stroke-dasharray="8 5"/></g>')
    if pairs:
        a, b = pairs[0]
        mx = (cl_pos[a][0] + cl_pos[b][0]) / 2
        out.append(f'<text x="{mx:.1f}" y="{y2 + NODE_H / 2 + 30 + 16:.1f}" class="lbl mesh" '
                   f'text-anchor="middle">ClusterMesh</text>')

    # ---- boxes
    def box(name: str, x: float, y: float, sub: str, cls: str, fill: str = "#ffffff", stroke: str = "#334155",
            tip: str = "") -> None:
        out.append(f'<g class="node {cls}" data-name="{escape(name)}"><title>{escape(tip or name)}</title>'
                   f'<rect x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{NODE_W}" height="{NODE_H}" '
                   f'rx="7" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
                   f'<text x="{x:.1f}" y="{y - 3:.1f}" text-anchor="middle" class="nm">{escape(name)}</text>'
                   f'<text x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle" class="sub">{escape(sub)}</text></g>')

    for d in devices:
        n = _s(d["identity"])
        x, y = pos[n]
        box(n, x, y, _s(d.get("model")) or "RouterOS", "routeros", "#eff6ff", "#1d4ed8",
            f"{n} — RouterOS {_s(d.get('model'))} {_s(_get(d, 'management', 'address'))}")
    for n in pnodes:
        nm = _s(n["name"])
        x, y = pos[nm]
        ver = _s(n.get("version"))
        box(nm, x, y, f"Proxmox VE {ver}".strip(), "proxmox", "#fff7ed", "#c2410c")
    for h in hosts:
        nm = _s(h["name"])
        x, y = pos[nm]
        box(nm, x, y, _s(h.get("kind")) or "host", "host", "#f8fafc", "#475569")
    for nm in extra:
        x, y = pos[nm]
        box(nm, x, y, "(cable endpoint)", "endpoint", "#f1f5f9", "#94a3b8")
    for c in clusters:
        nm = _s(c["name"])
        x, y = cl_pos[nm]
        vlan = _s(c.get("vlan"))
        color = vlan_color.get(vlan, "#475569")
        sub = " · ".join(p for p in (_s(c.get("distribution")), vlan) if p)
        box(nm, x, y, sub, "cluster", color + "22", color,
            f"cluster {nm}: {_s(c.get('distribution'))} {_s(c.get('version'))} on {vlan}")

    # ---- VLAN legend
    if vlans:
        lx = plot_w + 10
        out.append(f'<g class="legend" transform="translate({lx:.0f},30)">'
                   '<text x="0" y="0" class="nm">VLANs</text>')
        for i, v in enumerate(vlans):
            y = 22 + i * 22
            color = vlan_color[_s(v["name"])]
            out.append(f'<g class="vlan" data-vlan="{escape(_s(v["name"]))}">'
                       f'<rect x="0" y="{y - 11}" width="14" height="14" rx="3" fill="{color}"/>'
                       f'<text x="20" y="{y}" class="sub">{escape(_s(v["name"]))} (id {escape(_s(v.get("id")))})'
                       f' {escape(_s(v.get("subnet")))}</text></g>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
