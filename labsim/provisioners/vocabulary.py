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

__all__ = ["Actions", "Clock", "Plan", "RealClock", "Result", "WaitTimeout", "Waited", "failed", "only_changed",
           "plan_empty", "unchanged", "wait_for"]


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


def plan_empty(system: str, plan: Plan) -> Result:
    """The system already matches the lab file: its plan, made from what it reports, has nothing to do."""
    return Result("plan-empty", system, plan.empty(), "the plan is empty: nothing to change" if plan.empty() else
                  "the plan is not empty:\n" + "\n".join(plan.describe()))


def unchanged(system: str, plan: Plan, writes: dict[str, int], before: dict[str, int] | None,
              after: dict[str, int] | None) -> list[Result]:
    """A second apply changed nothing: its plan was empty, it sent no write, and (where the target can count them)
    no device accepted a change in the meantime."""
    sent = sum(writes.values())
    out = [Result("plan-empty", system, plan.empty(), "the second plan is empty" if plan.empty() else
                  "the second plan is not empty:\n" + "\n".join(plan.describe())),
           Result("no-writes", system, sent == 0, "the second apply sent no write" if sent == 0 else
                  f"the second apply sent {sent} writes: {writes}")]
    if before is not None and after is not None:
        changed = {d: after[d] - before.get(d, 0) for d in after if after[d] != before.get(d, 0)}
        out.append(Result("devices-unchanged", system, not changed, "no device accepted a change" if not changed
                          else f"devices accepted changes on the second apply: {changed}"))
    return out


def only_changed(system: str, writes: dict[str, int], expected: list[str]) -> list[Result]:
    """A repair wrote to exactly the things in `expected` (devices, VMs) and to nothing else."""
    changed = sorted(k for k, n in writes.items() if n)
    want = sorted(expected)
    return [Result("repair-scope", system, changed == want, f"the repair changed {changed}" +
                   ("" if changed == want else f", expected only {want}"), {"writes": dict(writes)})]
