"""The report's charts, as geometry: each chart is an `Svg` (shapes as tag + attributes) that the Jinja2 template
draws (templates/svg.html.j2), so every text in it is escaped by the template, and its legend is HTML beside it
(it wraps instead of running off the edge).

Kinds of timeline (`evidence.timeline(name, points, kind)`):
- `split`: the canary split as it builds up, per cluster `{t, name, share, low, high, n, target, tolerance}`: the
  share line, its 95% interval as a band, the target as a dashed line with its tolerance;
- `failover`: who answered each second, `{t, lane, state, counts: {cluster: n}}`: answers per second per cluster
  (failed requests in red);
- `health`: `{t, cluster, status, checks}`: Ceph health over virtual time, a lane per cluster;
- anything else: state lanes (`ok` / `status` / `state` per `cluster` / `node` / `name` / `lane`).
A cluster keeps one colour in every chart and in the topology (`Colours`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Cluster colours: none of them is a status colour (green / amber / red), so a cluster never reads as a verdict.
PALETTE = ["#2563eb", "#7c3aed", "#0891b2", "#c2410c", "#db2777", "#4f46e5", "#0f766e", "#a16207", "#475569"]
FAILED = "#dc2626"
STATE_COLOURS = {
    "ok": "#16a34a", "up": "#16a34a", "true": "#16a34a", "health_ok": "#16a34a", "ready": "#16a34a",
    "healthy": "#16a34a", "active+clean": "#16a34a",
    "warn": "#f59e0b", "health_warn": "#f59e0b", "degraded": "#f59e0b", "warning": "#f59e0b",
    "down": "#dc2626", "false": "#dc2626", "fail": "#dc2626", "failed": "#dc2626", "health_err": "#dc2626",
    "error": "#dc2626", "notready": "#dc2626", "unreachable": "#7f1d1d",
}
OTHER_STATES = ["#6366f1", "#0891b2", "#a855f7", "#64748b"]
LANE_KEYS = ("cluster", "node", "name", "service", "lane", "target", "osd", "pool")
CHAR_W = 6.6   # average width of a 11-12 px system-ui character, for label room


class Colours:
    """One colour per cluster for the whole report: the lab file's clusters first, in their order."""

    def __init__(self, clusters: list[str] | None = None) -> None:
        self.by_name: dict[str, str] = {}
        for c in clusters or []:
            self.of(c)

    def of(self, name: str) -> str:
        if name in ("failed", "unreachable"):
            return FAILED
        if name not in self.by_name:
            self.by_name[name] = PALETTE[len(self.by_name) % len(PALETTE)]
        return self.by_name[name]


@dataclass
class Shape:
    tag: str   # rect, line, path, polyline, circle, text, title: fixed names, never data
    attrs: dict[str, Any]
    text: str | None = None
    title: str | None = None


@dataclass
class Svg:
    id: str
    css: str
    label: str
    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)   # (colour, label, style: solid|dashed|band)
    notes: list[str] = field(default_factory=list)

    def add(self, tag: str, text: str | None = None, title: str | None = None, **attrs: Any) -> None:
        self.shapes.append(Shape(tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}, text, title))


def _t(p: dict) -> float:
    try:
        return float(p.get("t", 0))
    except (TypeError, ValueError):
        return 0.0


def ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    raw = max(hi - lo, 1e-9) / n
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    out, k = [], math.ceil(lo / step - 1e-9)
    while k * step <= hi + 1e-9:
        out.append(round(k * step, 6))
        k += 1
    return out


@dataclass
class Frame:
    """A plot area with axes: x in seconds, y in [y0, y1]."""

    svg: Svg
    x0: float
    x1: float
    y0: float
    y1: float
    left: float = 56
    right: float = 16
    top: float = 12
    bottom: float = 34

    def x(self, t: float) -> float:
        w = self.svg.width - self.left - self.right
        return round(self.left + (t - self.x0) / max(self.x1 - self.x0, 1e-9) * w, 1)

    def y(self, v: float) -> float:
        h = self.svg.height - self.top - self.bottom
        return round(self.top + (1 - (v - self.y0) / max(self.y1 - self.y0, 1e-9)) * h, 1)

    def axes(self, y_label: str, y_fmt: str = "{:g}") -> None:
        s = self.svg
        for tk in ticks(self.x0, self.x1):
            s.add("line", x1=self.x(tk), y1=self.top, x2=self.x(tk), y2=s.height - self.bottom, stroke="#e2e8f0")
            s.add("text", f"{tk:g} s", x=self.x(tk), y=s.height - self.bottom + 16, class_="tick",
                  text_anchor="middle")
        for tk in ticks(self.y0, self.y1, 4):
            s.add("line", x1=self.left, y1=self.y(tk), x2=s.width - self.right, y2=self.y(tk), stroke="#e2e8f0")
            s.add("text", y_fmt.format(tk), x=self.left - 6, y=self.y(tk) + 4, class_="tick", text_anchor="end")
        s.add("text", y_label, x=12, y=self.top + (s.height - self.top - self.bottom) / 2, class_="axis",
              text_anchor="middle", transform=f"rotate(-90 12 {self.top + (s.height - self.top - self.bottom) / 2})")
        s.add("text", "virtual time", x=s.width - self.right, y=s.height - 2, class_="axis", text_anchor="end")


def split_chart(svg_id: str, name: str, points: list[dict], colours: Colours, width: int = 760) -> Svg:
    pts = sorted((p for p in points if isinstance(p, dict) and "share" in p), key=_t)
    svg = Svg(svg_id, "chart split", f"canary split: {name}", width, 260)
    if not pts:
        return svg
    f = Frame(svg, min(_t(p) for p in pts), max(max(_t(p) for p in pts), min(_t(p) for p in pts) + 1), 0, 1)
    f.axes("share of requests", "{:.0%}")
    series: dict[str, list[dict]] = {}
    for p in pts:
        series.setdefault(str(p.get("name")), []).append(p)
    for cname, ps in series.items():
        col = colours.of(cname)
        target = ps[-1].get("target")
        tol = float(ps[-1].get("tolerance") or 0)
        if target is not None:
            tgt = float(target)
            if tol:
                svg.add("rect", x=f.left, y=f.y(min(tgt + tol, 1)), width=width - f.left - f.right,
                        height=max(f.y(max(tgt - tol, 0)) - f.y(min(tgt + tol, 1)), 1), fill=col, opacity=0.07,
                        title=f"{cname}: target {tgt:.0%} ± {tol:.0%}")
            svg.add("line", x1=f.left, y1=f.y(tgt), x2=width - f.right, y2=f.y(tgt), stroke=col, stroke_width=1.5,
                    stroke_dasharray="6 4", class_="target", data_cluster=cname)
        upper = " ".join(f"{f.x(_t(p))},{f.y(float(p['high']))}" for p in ps)
        lower = " ".join(f"{f.x(_t(p))},{f.y(float(p['low']))}" for p in reversed(ps))
        svg.add("polygon", points=f"{upper} {lower}", fill=col, opacity=0.18, class_="band", data_cluster=cname,
                title=f"{cname}: 95% interval")
        line = " ".join(f"{f.x(_t(p))},{f.y(float(p['share']))}" for p in ps)
        last = ps[-1]
        svg.add("polyline", points=line, fill="none", stroke=col, stroke_width=2, class_="share",
                data_cluster=cname, title=(f"{cname}: {last['share']:.1%} of {last.get('n')} requests "
                                            f"(95% interval {last['low']:.1%}-{last['high']:.1%})"))
        svg.legend.append((col, f"{cname}: share so far", "solid"))
        svg.legend.append((col, "95% interval", "band"))
        if target is not None:
            svg.legend.append((col, f"target {float(target):.0%}" + (f" ± {tol:.0%}" if tol else ""), "dashed"))
        svg.notes.append(f"{cname}: {last['share']:.1%} of {last.get('n')} requests, 95% interval "
                         f"{last['low']:.1%}–{last['high']:.1%}" + (f", target {float(target):.0%}"
                                                                   if target is not None else ""))
    return svg


def answers_chart(svg_id: str, name: str, points: list[dict], colours: Colours, width: int = 760) -> Svg:
    pts = sorted((p for p in points if isinstance(p, dict) and isinstance(p.get("counts"), dict)), key=_t)
    svg = Svg(svg_id, "chart failover", f"answers per second: {name}", width, 240)
    if not pts:
        return svg
    clusters: list[str] = []
    for p in pts:
        for k in p["counts"]:
            if k not in clusters:
                clusters.append(k)
    clusters.sort(key=lambda k: (k == "failed", k))
    t0, t1 = _t(pts[0]), max(_t(pts[-1]) + 1, _t(pts[0]) + 1)
    top = max(max(p["counts"].values()) for p in pts)
    f = Frame(svg, t0, t1, 0, max(top, 1))
    f.axes("answers / s")
    for cname in clusters:
        col = colours.of(cname)
        coords = []
        for p in pts:   # a step line: each second's count holds for that second
            n = int(p["counts"].get(cname, 0))
            coords += [f"{f.x(_t(p))},{f.y(n)}", f"{f.x(_t(p) + 1)},{f.y(n)}"]
        svg.add("polyline", points=" ".join(coords), fill="none", stroke=col, stroke_width=2,
                stroke_dasharray="4 3" if cname == "failed" else None, class_="answers", data_cluster=cname,
                title=f"{cname}: {sum(int(p['counts'].get(cname, 0)) for p in pts)} answers")
        svg.legend.append((col, f"{cname}" + (" (no answer)" if cname == "failed" else ""),
                           "dashed" if cname == "failed" else "solid"))
    return svg


def _state(p: dict) -> str:
    for k in ("status", "state", "value"):
        if k in p:
            return str(p[k])
    if "ok" in p:
        return "ok" if p["ok"] else "down"
    return "?"


def _lane(p: dict, default: str) -> str:
    for k in LANE_KEYS:
        if p.get(k) is not None:
            return str(p[k])
    return default


def lanes_chart(svg_id: str, name: str, kind: str, points: list[dict], colours: Colours, width: int = 760) -> Svg:
    """State lanes (Ceph health per cluster, or any timeline of states); lane labels get the room they need."""
    pts = sorted((p for p in points if isinstance(p, dict)), key=_t)
    lanes: dict[str, list[dict]] = {}
    for p in pts:
        lanes.setdefault(_lane(p, kind), []).append(p)
    lane_h, gap = 24, 10
    left = 24 + CHAR_W * max((len(n) for n in lanes), default=4)
    svg = Svg(svg_id, f"chart lanes {kind}", f"{kind}: {name}", width, 12 + len(lanes) * (lane_h + gap) + 34)
    if not pts:
        return svg
    t0 = _t(pts[0])
    t1 = max(_t(pts[-1]), t0 + 1)
    t_end = t1 + (t1 - t0) * 0.05
    f = Frame(svg, t0, t_end, 0, 1, left=left)
    for tk in ticks(t0, t_end):
        svg.add("line", x1=f.x(tk), y1=8, x2=f.x(tk), y2=svg.height - 34, stroke="#e2e8f0")
        svg.add("text", f"{tk:g} s", x=f.x(tk), y=svg.height - 18, class_="tick", text_anchor="middle")
    seen: dict[str, str] = {}
    others: dict[str, str] = {}
    for i, (lane, lp) in enumerate(lanes.items()):
        y = 12 + i * (lane_h + gap)
        svg.add("text", lane, x=left - 8, y=y + lane_h / 2 + 4, class_="lane", text_anchor="end",
                fill=colours.of(lane) if lane in colours.by_name else "#0f172a")
        # one segment per run of the same state (the checks of its first point in the tooltip)
        runs = [p for j, p in enumerate(lp) if j == 0 or _state(p) != _state(lp[j - 1])]
        for j, p in enumerate(runs):
            a, b = _t(p), (_t(runs[j + 1]) if j + 1 < len(runs) else t_end)
            st = _state(p)
            col = STATE_COLOURS.get(st.lower().replace(" ", ""))
            if col is None:
                col = others.setdefault(st, OTHER_STATES[len(others) % len(OTHER_STATES)])
            seen.setdefault(st, col)
            checks = p.get("checks")
            tip = f"{lane} at {a:g} s: {st}" + (f" ({', '.join(map(str, checks))})" if checks else "")
            svg.add("rect", x=f.x(a), y=y, width=max(f.x(b) - f.x(a), 1.5), height=lane_h, fill=col, rx=2,
                    class_="seg", data_state=st, title=tip)
    svg.legend += [(col, st, "block") for st, col in seen.items()]
    svg.add("text", "virtual time", x=width - 16, y=svg.height - 2, class_="axis", text_anchor="end")
    return svg


def transitions(points: list[dict], kind: str) -> list[str]:
    """State changes in words: 't=12 s talos-west: HEALTH_OK → HEALTH_WARN (OSD_DOWN, PG_DEGRADED)'."""
    if kind == "split":   # a series of shares, not of states: the chart's notes say where it ended
        return []
    last: dict[str, str] = {}
    out = []
    shown: dict[str, str] = {}
    for p in sorted((p for p in points if isinstance(p, dict)), key=_t):
        if kind == "failover" and isinstance(p.get("counts"), dict):
            continue
        lane, st = _lane(p, kind), _state(p)
        extra = f" ({', '.join(str(c) for c in p['checks'])})" if p.get("checks") else ""
        if shown.get(lane) != st + extra:   # a change of state, or of the checks behind it (Ceph's health)
            out.append(f"t={_t(p):g} s {lane}: " + (f"{last[lane]} → {st}" if lane in last and last[lane] != st
                                                     else st) + extra)
            last[lane], shown[lane] = st, st + extra
    return out


def chart(svg_id: str, name: str, kind: str, points: list[dict], colours: Colours) -> Svg:
    if kind == "split":
        return split_chart(svg_id, name, points, colours)
    if kind == "failover" and any(isinstance(p, dict) and isinstance(p.get("counts"), dict) for p in points):
        return answers_chart(svg_id, name, points, colours)
    return lanes_chart(svg_id, name, kind, points, colours)
