"""What a probe's requests say: the split between clusters with a confidence interval, the timeline second by
second, and when traffic failed over.

The Wilson score interval is used for a share p of n requests (it stays inside [0, 1] and behaves at p near 0
or 1, unlike the normal approximation): a split "holds within tolerance" when the interval around the observed
share overlaps the expected share +/- tolerance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from labsim.provisioners.mesh.probe import Request

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Share:
    name: str
    hits: int
    n: int
    low: float
    high: float

    @property
    def p(self) -> float:
        return self.hits / self.n if self.n else 0.0

    def __str__(self) -> str:
        return f"{self.name} {self.hits}/{self.n} = {self.p:.1%} (95% CI {self.low:.1%}-{self.high:.1%})"


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if hits == 0 else max(0.0, min(p, centre - half))      # exact at the ends (no rounding residue)
    hi = 1.0 if hits == n else min(1.0, max(p, centre + half))
    return lo, hi


def share(requests: list[Request], name: str) -> Share:
    hits = sum(1 for r in requests if (r.cluster or "failed") == name)
    lo, hi = wilson(hits, len(requests))
    return Share(name, hits, len(requests), lo, hi)


def holds(s: Share, expected: float, tolerance: float) -> bool:
    """The observed share is compatible with `expected` +/- `tolerance` at 95%."""
    return s.high >= expected - tolerance and s.low <= expected + tolerance


def timeline(requests: list[Request], lane: str = "answered by") -> list[dict]:
    """One point per second of the probe: who answered in that second (`talos-east`, `talos-west`, `failed`, or
    a mix such as `talos-west+failed`), with the counts, for the sign-off chart."""
    by_second: dict[int, dict[str, int]] = {}
    for r in requests:
        sec = math.floor(r.t)
        bucket = by_second.setdefault(sec, {})
        key = r.cluster or "failed"
        bucket[key] = bucket.get(key, 0) + 1
    out = []
    for sec in sorted(by_second):
        counts = by_second[sec]
        state = "+".join(sorted(counts, key=lambda k: (k == "failed", k)))
        out.append({"t": sec, "lane": lane, "state": state, "counts": counts})
    return out


def split_timeline(requests: list[Request], expected: dict[str, float], tolerance: float) -> list[dict]:
    """The split as it built up, second by second, for the sign-off chart: per cluster, the share of the requests
    so far with its 95% Wilson interval, beside the target share and tolerance."""
    out: list[dict] = []
    ordered = sorted(requests, key=lambda r: r.t)
    seconds = sorted({math.floor(r.t) for r in ordered})
    i, hits = 0, dict.fromkeys(expected, 0)
    for sec in seconds:
        while i < len(ordered) and math.floor(ordered[i].t) <= sec:
            name = ordered[i].cluster or "failed"
            if name in hits:
                hits[name] += 1
            i += 1
        for name, target in expected.items():
            lo, hi = wilson(hits[name], i)
            out.append({"t": sec, "name": name, "share": hits[name] / i if i else 0.0, "low": lo, "high": hi,
                        "n": i, "target": target, "tolerance": tolerance})
    return out


def failover(requests: list[Request], after: float, to: str | set[str]) -> float | None:
    """Seconds from `after` until every later request was answered by `to` (a cluster, or any of a set of them;
    None: it never settled there)."""
    group = {to} if isinstance(to, str) else to
    later = [r for r in requests if r.t >= after]
    if not later:
        return None
    last_other = None
    for r in later:
        if r.cluster not in group:
            last_other = r.t
    if last_other is None:
        return 0.0
    settled = [r for r in later if r.t > last_other]
    return (settled[0].t - after) if settled else None


def failed_after(requests: list[Request], t: float) -> list[Request]:
    return [r for r in requests if r.t >= t and r.cluster is None]
