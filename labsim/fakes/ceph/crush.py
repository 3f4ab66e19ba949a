"""CRUSH-like placement: straw2 draws from a stable hash, per failure domain, with CRUSH's retry rules.

Like crush_choose_firstn with chooseleaf: for replica r, try r' = r, r + 1, ... (choose_total_tries 50); a draw
that lands on a domain already used, or on an OSD that is out, is rejected and retried. Weights are CRUSH
weights (TiB, constant while an OSD is merely out), so marking an OSD out moves only the PGs that used it, and
marking it back in moves them back: the stability real CRUSH gives. The hash is splitmix64, seeded per lab.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

MASK = (1 << 64) - 1
TOTAL_TRIES = 50


def _mix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def stable_hash(*parts: int) -> int:
    h = 0x243F6A8885A308D3
    for p in parts:
        h = _mix(h ^ (p & MASK))
    return h


def _draw(h: int, weight: float) -> float:
    """straw2: ln(u) / w with u in (0, 1]; the largest draw wins (a heavier item wins proportionally more)."""
    u = ((h >> 11) + 1) / float(1 << 53)
    return math.log(u) / weight


@dataclass
class Domain:
    """A failure domain (a host, or one OSD when the failure domain is `osd`) and its OSDs' CRUSH weights."""
    id: int
    osds: list[tuple[int, float]] = field(default_factory=list)

    @property
    def weight(self) -> float:
        return sum(w for _, w in self.osds)


def _straw2(items, key: int, salt: int):
    best, best_draw = None, -math.inf
    base = key ^ ((salt * 0x9E3779B97F4A7C15) & MASK)
    for item, weight in items:
        if weight <= 0:
            continue
        d = _draw(_mix(base ^ (((item & MASK) * 0xC2B2AE3D27D4EB4F) & MASK)), weight)
        if d > best_draw:
            best, best_draw = item, d
    return best


def place(key: int, size: int, domains: list[Domain], is_in) -> tuple[list[int], bool]:
    """The raw (CRUSH) set of up to `size` OSDs for one PG, one per domain, and whether any draw was rejected
    because its OSD was out (such a PG may move back when OSDs come back in)."""
    chosen: list[int] = []
    used: set[int] = set()
    rejected = False
    dom_items = [(d.id, d.weight) for d in domains]
    by_id = {d.id: d for d in domains}
    for r in range(size):
        for ftotal in range(TOTAL_TRIES):
            rr = r + ftotal
            dom = _straw2(dom_items, key, rr)
            if dom is None:
                return chosen, rejected
            if dom in used:
                continue
            osd = _straw2(by_id[dom].osds, key, (rr << 20) ^ (dom & 0xFFFFF))
            if osd is None or not is_in(osd):
                rejected = True
                continue
            chosen.append(osd)
            used.add(dom)
            break
    return chosen, rejected


def pg_key(seed: int, pool: int, ps: int) -> int:
    return stable_hash(seed, pool, ps)
