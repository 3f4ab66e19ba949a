"""How Ceph prints sizes, rates, durations and tables (src/include/types.h byte_u_t, src/common/Formatter
TextTable, src/common/ceph_time.cc timespan_str), so the toolbox's plain text reads like the real one."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def byte_u(n: float) -> str:
    """`46 MiB`, `300 GiB`, `1.3 MiB`, `3.0 TiB`, `0 B` (byte_u_t): an exact multiple prints whole, else one
    decimal under 10 and none above."""
    v = int(n)
    i = 0
    while v >= 1024 ** (i + 1) and i < len(UNITS) - 1:
        i += 1
    if i == 0 or v % (1024 ** i) == 0:
        return f"{v // 1024 ** i} {UNITS[i]}"
    x = v / 1024 ** i
    return f"{x:.1f} {UNITS[i]}" if x < 9.95 else f"{x:.0f} {UNITS[i]}"


def timespan(seconds: float) -> str:
    """timespan_str: `1.5s` under 2 s, then s < 120, m < 120, h < 48, d < 14, w < 12, M < 24, else y."""
    if seconds < 2:
        return f"{seconds:g}s"
    sec = int(seconds)
    for limit, div, unit in ((120, 1, "s"), (120 * 60, 60, "m"), (48 * 3600, 3600, "h"), (14 * 86400, 86400, "d"),
                             (12 * 7 * 86400, 7 * 86400, "w"), (24 * 30 * 86400, 30 * 86400, "M")):
        if sec < limit:
            return f"{sec // div}{unit}"
    return f"{sec // (365 * 86400)}y"


def stamp(t: datetime) -> str:
    """Ceph's JSON timestamps: `2026-01-01T00:10:00.000000Z`."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], left: Sequence[int] = (),
          headers_left: bool = False) -> list[str]:
    """TextTable: columns two spaces apart, values right-aligned except the `left` columns; headers aligned as
    their values, or all left (`ceph osd tree`, `ceph osd df` define them so); no trailing blanks."""
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, r in enumerate(cells):
        parts = [c.ljust(widths[i]) if i in left or (n == 0 and headers_left) else c.rjust(widths[i])
                 for i, c in enumerate(r)]
        out.append("  ".join(parts).rstrip())
    return out


def percentify(v: float) -> str:
    """`ceph df` percentages: `0` under 0.01, else two decimals."""
    return "0" if v < 0.01 else f"{v:.2f}"
