"""Plan: the changes that make each device match the lab file, computed from what the devices report.

Never from memory of an earlier run: a run that stopped halfway is repaired by the next plan.
A row is owned when its key matches a lab file item; nothing else is ever changed or removed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.fabric.desired import desired_rows, managed_menus
from labsim.provisioners.fabric.rows import Row, key_of, text


@dataclass
class Change:
    device: str
    row: Row
    action: str  # "add" or "set"
    id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    differences: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (want, have)
    place_before: str | None = None

    def command(self) -> str:
        words = [f"{self.row.menu}/{self.action}"]
        if self.id:
            words.append(f".id={self.id}")
        words += [f"{k}={v}" for k, v in self.fields.items()]
        if self.place_before:
            words.append(f"place-before={self.place_before}")
        return " ".join(words)

    def describe(self) -> str:
        if self.action == "add":
            return f"{self.device}: {self.row.label} is missing"
        diffs = ", ".join(f"{k} is {have or '(empty)'!s}, want {want}" for k, (want, have) in self.differences.items())
        return f"{self.device}: {self.row.label}: {diffs}"


@dataclass
class DevicePlan:
    device: str
    changes: list[Change]


@dataclass
class Plan:
    devices: list[DevicePlan]

    @property
    def changes(self) -> list[Change]:
        return [c for d in self.devices for c in d.changes]

    def empty(self) -> bool:
        return not self.changes

    def describe(self) -> list[str]:
        return [c.describe() for c in self.changes]


def observed_state(api, menus: list[str]) -> dict[str, list[dict[str, Any]]]:
    from labsim.provisioners.fabric.client import read
    return {m: read(api, m) for m in menus}


def plan_device(lab, identity: str, observed: dict[str, list[dict[str, Any]]]) -> DevicePlan:
    """The changes for one device, in apply order.

    Planning works on a projection of the device: a row the plan adds is visible to later rows (with a
    pending id `@N`, resolved by apply to the id the device returns), so a bridge created in phase 1
    with filtering off is the same bridge whose filtering is switched on in the last phase.
    """
    projected = {m: [dict(r) for r in rows if not _dynamic(r)] for m, rows in observed.items()}
    index: dict[tuple, list[dict[str, Any]]] = {}  # (menu, key fields, key values) -> rows, built lazily

    def candidates(row: Row) -> list[dict[str, Any]]:
        slot = (row.menu, row.key)
        if slot not in index:
            index[slot] = {}
            for r in projected.get(row.menu, []):
                index[slot].setdefault(key_of(row.key, r), []).append(r)
        return index[slot].setdefault(row.key_value(), [])

    changes: list[Change] = []
    for row in sorted(desired_rows(lab, identity), key=lambda r: r.phase):
        have = projected.setdefault(row.menu, [])
        if row.menu == "/system/identity":
            diffs = row.differences(have[0] if have else {})
            if diffs:
                changes.append(Change(identity, row, "set", fields=dict(row.fields), differences=diffs))
            continue
        found = candidates(row)
        if not found:
            change = Change(identity, row, "add", fields={**row.on_add, **row.fields},
                            place_before=_first_unmanaged_rule(lab, identity, row, have))
            changes.append(change)
            pending = {".id": f"@{len(changes) - 1}", **change.fields}
            have.append(pending)
            for (menu, key), slot in index.items():  # later rows with another key see it too
                if menu == row.menu:
                    slot.setdefault(key_of(key, pending), []).append(pending)
            continue
        best = min(found, key=lambda r: len(row.differences(r)))
        diffs = row.differences(best)
        if diffs:
            changes.append(Change(identity, row, "set", id=best[".id"],
                                  fields={k: w for k, (w, _) in diffs.items()}, differences=diffs))
            best.update({k: w for k, (w, _) in diffs.items()})
    return DevicePlan(identity, changes)


def _dynamic(row: dict[str, Any]) -> bool:
    return text(row.get("dynamic", "false")) == "true"


def _first_unmanaged_rule(lab, identity: str, row: Row, have: list[dict[str, Any]]) -> str | None:
    """New firewall rules go before the first rule of the same chain the lab file does not own,
    so an accept the lab wants is never shadowed by a drop added by hand."""
    if row.menu != "/ip/firewall/filter":
        return None
    owned = [r for r in desired_rows(lab, identity) if r.menu == row.menu]
    for r in have:  # print order is rule order
        if text(r.get("chain")) == row.fields.get("chain") and not any(o.matches(r) for o in owned):
            return r[".id"]
    return None


def plan(lab, connections: dict[str, Any], devices: list[str] | None = None) -> Plan:
    """Read every managed menu of every device (read-only) and plan the changes."""
    result = []
    for identity in devices or [d.identity for d in lab.routeros.devices]:
        menus = managed_menus(desired_rows(lab, identity))
        result.append(plan_device(lab, identity, observed_state(connections[identity], menus)))
    return Plan(result)
