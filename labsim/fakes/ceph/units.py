"""How Ceph prints sizes, rates, durations and tables (src/include/types.h byte_u_t, src/common/Formatter
TextTable, src/common/ceph_time.cc timespan_str), so the toolbox's plain text reads like the real one."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
SI = ("", "k", "M", "G", "T", "P", "E")


def _format_u(v: int, n: int, index: int, mult: int, unit: str) -> str:
    """format_u (src/include/types.h): whole when exact, else the most decimals (2, 1, 0) that fit 7 chars."""
    if index == 0 or v % mult == 0:
        return f"{n}{unit}"
    for places in (2, 1, 0):
        text = f"{v / mult:.{places}f}{unit}"
        if len(text) <= 7:
            break
    return text


def _scaled(n: float, base: int, names: list[str] | tuple[str, ...], sep: str) -> str:
    """The largest prefix that leaves at least 1, then Ceph's digits rule (_format_u)."""
    v = int(n)
    i, m = 0, v
    while m >= base and i < len(names) - 1:
        m //= base
        i += 1
    return _format_u(v, m, i, base ** i, sep + names[i])


def byte_u(n: float) -> str:
    """byte_u_t: `46 MiB`, `300 GiB`, `1.3 MiB`, `449 KiB`, `3.0 TiB`, `0 B`."""
    return _scaled(n, 1024, UNITS, " ")


def si_u(n: float) -> str:
    """si_u_t, for counts: `214`, `1.54k`, `22.47k`, `225k`, `1.2M` (no unit is added)."""
    return _scaled(n, 1000, SI, "")


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
    """The crash module's timestamps (and crash ids): `2026-01-01T00:10:00.000000Z`."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utime(t: datetime) -> str:
    """utime_t in Ceph's JSON (servicemap `modified`, a mute's `ttl`): `2026-01-01T00:10:00.000000+0000`."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], left: Sequence[int] = (),
          headers_left: bool = False) -> list[str]:
    """TextTable (src/common/TextTable.cc): columns two spaces apart, values right-aligned except the `left`
    columns; headers aligned as their values, or all left (`ceph osd tree`, `ceph osd df` define them so); every
    cell padded to its column's width, so rows with empty last cells end in blanks."""
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, r in enumerate(cells):
        parts = [c.ljust(widths[i]) if i in left or (n == 0 and headers_left) else c.rjust(widths[i])
                 for i, c in enumerate(r)]
        out.append("  ".join(parts))
    return out


def percentify(v: float) -> str:
    """`ceph df` percentages: `0` under 0.01, else two decimals."""
    return "0" if v < 0.01 else f"{v:.2f}"
