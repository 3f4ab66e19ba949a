"""Go's formats that the real tools print through: durations, times, text/tabwriter tables, JSON encoding, and
go-humanize's byte sizes.

Sources: Go's time/format.go (Time.String, RFC3339Nano, ANSIC: fractional seconds without trailing zeros) and
time/time.go (Duration.String); dustin/go-humanize bytes.go (Bytes: SI units, IBytes: IEC units).
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """time.ParseDuration: `10m`, `1h30m`, `20m0s`, `1.5h`, `300ms` -> seconds."""
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-")
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * total


def go_duration(seconds: float) -> str:
    """time.Duration.String() exactly: 5m0s, 1h0m0s, 1.5s, 300ms, 0s (a flag's default, `helm history`)."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size or unit == "ns":
                return sign + _frac(ns, size) + unit
    h, rem = divmod(ns, 3600 * 10 ** 9)
    m, rem = divmod(rem, 60 * 10 ** 9)
    out = (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + _frac(rem, 10 ** 9) + "s"
    return sign + out


def _frac(n: int, unit: int) -> str:
    whole, frac = divmod(n, unit)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0") if frac else ""
    return f"{whole}.{digits}" if digits else str(whole)


def format_duration(seconds: float) -> str:
    """time.Duration.String() rounded to seconds: 19m27s, 1h2m0s, 5s."""
    total = round(seconds)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def table(rows: list[list[str]], padding: int = 3) -> str:
    """text/tabwriter with minwidth 0, padding 3, spaces: columns as wide as their widest cell plus padding;
    the last cell of a row is not padded."""
    if not rows:
        return ""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell))
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i] + padding) for i, cell in enumerate(row[:-1])] + [row[-1]]
        out.append("".join(cells).rstrip() if not row[-1] else "".join(cells))
    return "\n".join(out) + "\n"


def encode_json(obj: Any, indent: str | None = "    ", sort_keys: bool = True) -> str:
    """encoding/json with SetIndent and Go's HTML escaping of <, > and &; maps come out key-sorted."""
    text = json.dumps(obj, indent=len(indent) if indent else None, sort_keys=sort_keys, ensure_ascii=False,
                      separators=(",", ": ") if indent else (",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_value(v: Any) -> str:
    """How talosctl's table prints a spec value: JSON for lists and maps, Go's %v otherwise."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return "" if v is None else str(v)


# --- times -------------------------------------------------------------------------------------------------------
def _nanos(t: datetime, ns: int | None) -> int:
    return t.microsecond * 1000 if ns is None else ns


def go_time_string(t: datetime, ns: int | None = None) -> str:
    """time.Time.String() of a UTC time: `2026-01-01 03:51:45.297623 +0000 UTC` (the fraction without trailing
    zeros, none at all on a whole second), as `helm list` prints `updated` and `talosctl time` its times."""
    frac = str(_nanos(t, ns)).rjust(9, "0").rstrip("0")
    return t.strftime("%Y-%m-%d %H:%M:%S") + (f".{frac}" if frac else "") + " +0000 UTC"


def rfc3339nano(t: datetime, ns: int | None = None) -> str:
    """time.RFC3339Nano of a UTC time: `2026-01-01T03:51:45.297623Z` (trailing zeros trimmed)."""
    frac = str(_nanos(t, ns)).rjust(9, "0").rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ansic(t: datetime) -> str:
    """time.ANSIC: `Mon Jan _2 15:04:05 2006` (the day padded with a space)."""
    return t.strftime("%a %b ") + f"{t.day:>2}" + t.strftime(" %H:%M:%S %Y")


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --- go-humanize -------------------------------------------------------------------------------------------------
def _humanate(n: float, base: int, units: list[str]) -> str:
    if n < 10:
        return f"{int(n)} B"
    e = 0
    while n >= base ** (e + 1) and e < len(units) - 1:
        e += 1
    val = n / base ** e
    # go-humanize: "%.0f" at 10 and above, "%.1f" below (math.Floor(val*10+0.5)/10)
    val = int(val * 10 + 0.5) / 10
    text = f"{val:.0f}" if val >= 10 else f"{val:.1f}"
    return f"{text} {units[e]}"


def humanize_bytes(n: int) -> str:
    """humanize.Bytes: SI units (`83 MB`, `1.2 GB`, `0 B`)."""
    return _humanate(float(n), 1000, ["B", "kB", "MB", "GB", "TB", "PB", "EB"])


def humanize_ibytes(n: int) -> str:
    """humanize.IBytes: IEC units (`4.6 GiB`)."""
    return _humanate(float(n), 1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"])
