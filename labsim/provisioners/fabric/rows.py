"""Configuration rows as RouterOS prints them, and how to compare what we want with what a device has.

Both sides are reduced to RouterOS text (`true`/`false`, decimal numbers, comma lists) because that is
what the device stores; librouteros's casts (`"1500"` -> 1500, `"yes"` -> True) are undone here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Fields whose value is a comma-separated set: RouterOS may print members in its own order.
SET_FIELDS = frozenset({"tagged", "untagged", "slaves", "vlan-ids", "dns-server", "ranges", "ntp-server"})


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    s = str(value)
    return {"yes": "true", "no": "false"}.get(s, s)


def same(name: str, want: str, have: Any) -> bool:
    if name in SET_FIELDS:
        return _members(want) == _members(text(have))
    return text(want) == text(have)


def key_of(fields: tuple[str, ...], row: dict[str, Any]) -> tuple:
    """A hashable identity of a row under `fields`, equal exactly when `same` holds for each field."""
    return tuple(_members(text(row.get(k, ""))) if k in SET_FIELDS else text(row.get(k, "")) for k in fields)


def _members(value: str) -> frozenset[str]:
    return frozenset(p.strip() for p in value.split(",") if p.strip())


@dataclass(frozen=True)
class Row:
    """One row the lab file manages on one device.

    `key` names the fields that identify the row among the device's rows (an interface name, a
    bridge and VLAN id, a MAC address). `fields` are every value the lab file wants, key included.
    `on_add` are extra values used only when the row is created (never enforced afterwards).
    """

    menu: str
    key: tuple[str, ...]
    fields: dict[str, str]
    label: str
    phase: int
    on_add: dict[str, str] = field(default_factory=dict)

    def matches(self, row: dict[str, Any]) -> bool:
        return all(same(k, self.fields[k], row.get(k, "")) for k in self.key)

    def key_value(self) -> tuple:
        return key_of(self.key, self.fields)

    def differences(self, row: dict[str, Any]) -> dict[str, tuple[str, str]]:
        return {k: (v, text(row.get(k, ""))) for k, v in self.fields.items() if not same(k, v, row.get(k, ""))}
