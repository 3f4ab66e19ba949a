"""The words every provisioner speaks, whatever system it builds (fabric, Proxmox, Talos, mesh, Ceph, hosts).

Each system offers the same three entry points:

    plan(lab, <clients>) -> Plan          what must change, computed from what the system reports now
    apply(plan, <clients>) -> report      exactly those changes, in a safe order (a second plan is then empty)
    verify(lab, <clients>) -> [Result]    read-only checks, each a named condition with its evidence

- `Result`: one verified condition (check name, subject, ok, message, evidence). Steps assert that a non-empty
  list of them holds (`labsim.steps.common.holds`): an empty list means nothing was checked, which is a failure.
- `Plan`: what a plan can always say: whether it is empty, and its changes in words. The systems' own plans
  (`fabric.plan.Plan`, `proxmox.plan.Plan`) carry their typed changes; the others use `Actions`.
- `wait_for` and the clocks: every wait goes through the clock the target hands in (virtual time in the
  simulator, real time in the lab); lab code never sleeps on its own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from labsim.provisioners.clock import Clock, RealClock, Waited, WaitTimeout, wait_for

__all__ = ["Actions", "Clock", "Plan", "RealClock", "Result", "WaitTimeout", "Waited", "failed", "wait_for"]


@dataclass
class Result:
    check: str
    subject: str
    ok: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.check} [{self.subject}]: {self.message}"


def failed(results: list[Result]) -> list[Result]:
    return [r for r in results if not r.ok]


@runtime_checkable
class Plan(Protocol):
    def empty(self) -> bool: ...

    def describe(self) -> list[str]: ...


@dataclass
class Actions:
    """A plan that is a list of actions in order (`subject: what`), for systems whose changes are commands run
    one after the other (talosctl, helm, cilium, kubectl) rather than rows of a configuration."""

    system: str
    actions: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not self.actions

    def describe(self) -> list[str]:
        return list(self.actions)
