"""Waiting for PVE tasks (UPIDs) by polling their status through the target's clock, never time.sleep."""
from __future__ import annotations

from labsim.provisioners.vocabulary import Clock, wait_for

OK_PREFIXES = ("OK", "WARNINGS")   # `WARNINGS: n` is a task that finished with warnings, not a failure


def succeeded(status: dict) -> bool:
    return str(status.get("exitstatus", "")).startswith(OK_PREFIXES)


def _stopped(api, node: str, upid: str) -> dict | None:
    status = api.nodes(node).tasks(upid).status.get()
    return status if status.get("status") == "stopped" else None


def wait_tasks(api, tasks: list[tuple[str, str]], clock: Clock, timeout: float, interval: float) -> list[dict]:
    """The final status of each (node, UPID), in order. Tasks run side by side, so waiting for them one
    after the other costs one status read for most of them. Raises WaitTimeout after `timeout` in all."""
    start = clock.now()
    out = []
    for node, upid in tasks:
        left = max(timeout - (clock.now() - start), 0.0)
        out.append(wait_for(lambda n=node, u=upid: _stopped(api, n, u), left, interval, clock,
                            what=f"Proxmox task {upid}").value)
    return out


def last_log_line(api, node: str, upid: str) -> str:
    """The task log's last line that says what happened (not the closing `TASK ERROR: ...`)."""
    lines = [str(e.get("t", "")) for e in api.nodes(node).tasks(upid).log.get(limit=1000)]
    said = [t for t in lines if t and not t.startswith("TASK ")]
    return (said or lines or [""])[-1]
