"""Read a Debian/Proxmox `/etc/network/interfaces` (ifupdown2 syntax) into stanzas: name -> options.

Only `iface NAME ...` stanzas and their indented options are read; `auto`, `source` and comments are
skipped. Option names keep their dashes (`bridge-vlan-aware`, `bridge-vids`).
"""
from __future__ import annotations


def parse_interfaces(text: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        words = line.split()
        if words[0] == "iface" and len(words) >= 2:
            current = out.setdefault(words[1], {})
            if len(words) >= 4:
                current["method"] = words[3]
        elif words[0] in ("auto", "allow-hotplug", "source", "source-directory", "mapping"):
            current = None if words[0] != "auto" else current
        elif current is not None and raw[:1].isspace():
            current[words[0]] = " ".join(words[1:])
    return out


def vids(text: str) -> set[int]:
    """`2-4094` or `10 1500 2000` (ranges and single ids) as a set of VLAN ids."""
    out: set[int] = set()
    for part in text.replace(",", " ").split():
        lo, _, hi = part.partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.update(range(int(lo), int(hi or lo) + 1))
    return out
