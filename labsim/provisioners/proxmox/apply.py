"""Apply: make exactly the planned steps, phase by phase (create, update, resize, start, reboot).

Within a phase the requests go out together and their tasks run side by side; then each task is awaited
through the target's clock. A refused request or a failed task stops the run with the VM, the step, PVE's
message (a task's exit status) and the task log's last line. Nothing is rolled back: the next run plans
from what PVE then reports and finishes the job.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from proxmoxer import ResourceException

from labsim.provisioners.vocabulary import Clock, Result, WaitTimeout
from labsim.provisioners.proxmox.plan import PHASES, Plan, Step
from labsim.provisioners.proxmox.tasks import last_log_line, succeeded, wait_tasks

TASK_TIMEOUT = 900.0     # seconds for one phase's tasks (a create allocates disks; a start boots QEMU)
POLL_INTERVAL = 1.0


class ProxmoxApplyError(RuntimeError):
    def __init__(self, step: Step, message: str, last_log: str | None, done: int):
        self.step, self.message, self.last_log, self.done = step, message, last_log, done
        vm = step.vm
        tail = f"; last log line: {last_log}" if last_log and last_log != message else ""
        super().__init__(f"{vm.name} (VM {vm.vmid} on {vm.node}) {step.action} failed: {message}{tail} "
                         f"({done} change(s) applied before it; run again to converge)")


@dataclass
class ApplyReport:
    writes: dict[str, int] = field(default_factory=dict)          # VM name -> API writes
    tasks: list[tuple[str, str, str]] = field(default_factory=list)  # (VM name, step, UPID)

    @property
    def total(self) -> int:
        return sum(self.writes.values())


def _send(api, step: Step) -> str | None:
    vm = api.nodes(step.vm.node).qemu
    if step.action == "create":
        return vm.post(**step.params)
    one = vm(step.vm.vmid)
    if step.action == "update":
        return one.config.put(**step.params)   # synchronous: PVE answers null
    if step.action == "resize":
        return one.resize.put(**step.params)   # a UPID on PVE 8, null before
    return getattr(one.status, step.action).post()


def _reason(exc: ResourceException) -> str:
    detail = "; ".join(f"{k}: {v}" for k, v in (exc.errors or {}).items())
    return f"{exc.status_code} {exc.content}" + (f" ({detail})" if detail else "")


def apply(plan: Plan, api, clock: Clock, *, timeout: float = TASK_TIMEOUT,
          interval: float = POLL_INTERVAL) -> ApplyReport:
    report = ApplyReport()
    done = 0
    for phase in PHASES:
        started: list[tuple[Step, str]] = []
        for step in (s for s in plan.steps if s.action == phase):
            try:
                upid = _send(api, step)
            except ResourceException as exc:
                raise ProxmoxApplyError(step, _reason(exc), None, done) from exc
            report.writes[step.vm.name] = report.writes.get(step.vm.name, 0) + 1
            done += 1
            if isinstance(upid, str) and upid.startswith("UPID:"):
                started.append((step, upid))
                report.tasks.append((step.vm.name, step.action, upid))
        try:
            statuses = wait_tasks(api, [(s.vm.node, u) for s, u in started], clock, timeout, interval)
        except WaitTimeout as exc:
            step = next(s for s, u in started if u in exc.what)
            raise ProxmoxApplyError(step, f"its task did not finish within {timeout:g}s", None, done) from exc
        failed = [(step, upid, st) for (step, upid), st in zip(started, statuses) if not succeeded(st)]
        if failed:
            step, upid, status = failed[0]
            raise ProxmoxApplyError(step, str(status.get("exitstatus")), last_log_line(api, step.vm.node, upid),
                                    done - len(failed))
    return report


def stopped_at(exc: ProxmoxApplyError | None, name: str, status: str) -> list[Result]:
    """A run stopped at VM `name` with the task's exit status `status`, and its message carries the task log's last
    line."""
    if exc is None:
        return [Result("run-stopped", name, False, "the run did not stop")]
    return [Result("run-stopped-at", name, exc.step.vm.name == name,
                   f"the run stopped at {exc.step.vm.name}" + ("" if exc.step.vm.name == name else f", expected {name}")),
            Result("exit-status", name, exc.message == status, f"exit status {exc.message!r}" +
                   ("" if exc.message == status else f", expected {status!r}")),
            Result("last-log-line", name, bool(exc.last_log) and exc.last_log in str(exc),
                   f"the failure carries the task log's last line {exc.last_log!r}" if exc.last_log
                   else f"no last log line in: {exc}")]
