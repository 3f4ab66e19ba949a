"""Apply: make exactly the planned changes, device by device, in the plan's safe order.

A device that refuses a change stops the run with the device, the command and the device's own
message; nothing is rolled back, because the next run plans from what the device then reports and
finishes the job.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from librouteros.exceptions import LibRouterosError, TrapError, MultiTrapError

from labsim.provisioners.fabric.client import menu_path
from labsim.provisioners.fabric.plan import Change, Plan


class FabricApplyError(RuntimeError):
    def __init__(self, device: str, command: str, message: str, done: int):
        self.device, self.command, self.message, self.done = device, command, message, done
        super().__init__(f"{device} refused `{command}`: {message} "
                         f"({done} change(s) applied before it; run again to converge)")


@dataclass
class ApplyReport:
    writes: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.writes.values())


def _run(api, change: Change, ids: dict[str, str]) -> str | None:
    resolve = lambda i: ids.get(i, i) if i else i  # noqa: E731 - pending ids from this run's adds
    if change.row.menu == "/system/identity":
        tuple(api("/system/identity/set", **change.fields))
        return None
    path = menu_path(api, change.row.menu)
    if change.action == "add":
        args: dict[str, Any] = dict(change.fields)
        if change.place_before:
            args["place-before"] = resolve(change.place_before)
        return path.add(**args)
    path.update(**{".id": resolve(change.id), **change.fields})
    return None


def apply(plan: Plan, connections: dict[str, Any]) -> ApplyReport:
    report = ApplyReport()
    done = 0
    for dp in plan.devices:
        api = connections[dp.device]
        ids: dict[str, str] = {}
        report.writes[dp.device] = 0
        for index, change in enumerate(dp.changes):
            try:
                new_id = _run(api, change, ids)
            except (TrapError, MultiTrapError) as exc:
                raise FabricApplyError(dp.device, change.command(), str(exc), done) from exc
            except (LibRouterosError, OSError) as exc:
                raise FabricApplyError(dp.device, change.command(),
                                       f"connection lost ({type(exc).__name__}: {exc})", done) from exc
            if new_id:
                ids[f"@{index}"] = new_id
            report.writes[dp.device] += 1
            done += 1
    return report
