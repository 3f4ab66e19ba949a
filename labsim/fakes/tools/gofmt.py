"""Go's formats that the real tools print through: durations, text/tabwriter tables, JSON encoding."""
from __future__ import annotations

import json
import re
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
