"""Timelines (failover, health, ...) drawn as inline SVG lane charts.

Each point is a dict with ``t`` (seconds) and a state: ``ok`` (bool) or ``status`` (e.g. HEALTH_OK), in a lane
named by ``cluster`` / ``node`` / ``name`` / ``service`` / ``lane`` (one lane when none is given). Each state
holds until the lane's next point; the last one until the end of the timeline.
"""

from __future__ import annotations

import json
import math
from html import escape

LANE_KEYS = ("cluster", "node", "name", "service", "lane", "target", "osd", "pool")
COLORS = {
    "ok": "#16a34a", "up": "#16a34a", "true": "#16a34a", "health_ok": "#16a34a", "ready": "#16a34a",
    "healthy": "#16a34a", "active+clean": "#16a34a",
    "warn": "#f59e0b", "health_warn": "#f59e0b", "degraded": "#f59e0b", "warning": "#f59e0b",
    "down": "#dc2626", "false": "#dc2626", "fail": "#dc2626", "failed": "#dc2626", "health_err": "#dc2626",
    "error": "#dc2626", "notready": "#dc2626", "unreachable": "#dc2626",
}
OTHER = ["#6366f1", "#0891b2", "#a855f7", "#64748b"]
LANE_H, LANE_GAP, LEFT, RIGHT, TOP = 26, 10, 130, 20, 14


def _state(p: dict) -> str:
    if "status" in p:
        return str(p["status"])
    if "ok" in p:
        return "ok" if p["ok"] else "down"
    if "state" in p:
        return str(p["state"])
    if "value" in p:
        return str(p["value"])
    return "?"


def _lane(p: dict, default: str) -> str:
    for k in LANE_KEYS:
        if p.get(k) is not None:
            return str(p[k])
    return default


def _t(p: dict) -> float:
    try:
        return float(p.get("t", 0))
    except (TypeError, ValueError):
        return 0.0


def _color(state: str, others: dict[str, str]) -> str:
    c = COLORS.get(state.lower().replace(" ", ""))
    if c:
        return c
    if state not in others:
        others[state] = OTHER[len(others) % len(OTHER)]
    return others[state]


def _ticks(t0: float, t1: float) -> list[float]:
    raw = max(t1 - t0, 1e-9) / 6
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 5, 10) if m * base >= raw)
    out, k = [], math.ceil(t0 / step - 1e-9)
    while k * step <= t1 + 1e-9:
        out.append(round(k * step, 6))
        k += 1
    return out


def timeline_svg(name: str, kind: str, points: list[dict], width: int = 760, svg_id: str | None = None) -> str:
    pts = sorted((p for p in points if isinstance(p, dict)), key=_t)
    if not pts:
        return '<p class="muted">(empty timeline)</p>'
    lanes: dict[str, list[dict]] = {}
    for p in pts:
        lanes.setdefault(_lane(p, kind), []).append(p)
    t0 = min(_t(p) for p in pts)
    t1 = max(_t(p) for p in pts)
    if t1 <= t0:
        t1 = t0 + 1
    t_end = t1 + (t1 - t0) * 0.05
    plot_w = width - LEFT - RIGHT
    height = TOP + len(lanes) * (LANE_H + LANE_GAP) + 36

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t_end - t0) * plot_w

    others: dict[str, str] = {}
    seen_states: dict[str, str] = {}
    attr_id = f' id="{escape(svg_id)}"' if svg_id else ""
    out = [(f'<svg{attr_id} class="timeline" data-kind="{escape(kind)}" viewBox="0 0 {width} {height}" width="100%" '
           f'role="img" aria-label="{escape(kind)} timeline {escape(name)}"><title>{escape(name)}</title>')]
    for tk in _ticks(t0, t_end):
        xx = x(tk)
        out.append(f'<line x1="{xx:.1f}" y1="{TOP - 4}" x2="{xx:.1f}" y2="{height - 28}" stroke="#e2e8f0"/>'
                   f'<text x="{xx:.1f}" y="{height - 14}" class="tick" text-anchor="middle">{tk:g}s</text>')
    for i, (lane, lp) in enumerate(lanes.items()):
        y = TOP + i * (LANE_H + LANE_GAP)
        out.append(f'<text x="{LEFT - 8}" y="{y + LANE_H / 2 + 4:.1f}" text-anchor="end" class="lane">'
                   f'{escape(lane)}</text>')
        for j, p in enumerate(lp):
            a = _t(p)
            b = _t(lp[j + 1]) if j + 1 < len(lp) else t_end
            st = _state(p)
            col = _color(st, others)
            seen_states.setdefault(st, col)
            tip = escape(json.dumps(p, default=str, ensure_ascii=False))
            out.append(f'<rect class="seg" data-state="{escape(st)}" x="{x(a):.1f}" y="{y}" '
                       f'width="{max(x(b) - x(a), 1.5):.1f}" height="{LANE_H}" fill="{col}" rx="2">'
                       f'<title>{tip}</title></rect>')
    # legend
    lx = LEFT
    for st, col in seen_states.items():
        out.append(f'<rect x="{lx}" y="{height - 10}" width="10" height="10" fill="{col}"/>'
                   f'<text x="{lx + 14}" y="{height - 1}" class="tick">{escape(st)}</text>')
        lx += 24 + 7 * len(st)
    out.append("</svg>")
    return "".join(out)


def transitions(points: list[dict], kind: str) -> list[str]:
    """Human-readable state changes: 't=12s talos-west: ok → down'."""
    pts = sorted((p for p in points if isinstance(p, dict)), key=_t)
    last: dict[str, str] = {}
    out = []
    for p in pts:
        lane, st = _lane(p, kind), _state(p)
        prev = last.get(lane)
        if prev != st:
            extra = ""
            if p.get("checks"):
                extra = " (" + ", ".join(str(c) for c in p["checks"]) + ")"
            out.append(f"t={_t(p):g}s {lane}: " + (f"{prev} → {st}" if prev else st) + extra)
            last[lane] = st
    return out
