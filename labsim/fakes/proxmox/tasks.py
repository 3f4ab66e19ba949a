"""PVE worker tasks in virtual time.

Every long operation answers with a UPID at once and runs as a task: `running` until its virtual
duration has passed, then `stopped` with `exitstatus` `OK` or the error text, and a log ending in
`TASK OK` or `TASK ERROR: <msg>`. Nothing happens between polls unless the virtual clock is advanced.

UPID format (pve-common PVE/Tools.pm upid_encode), note the trailing colon (9 fields):
    UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{type}:{id}:{user}:
With API-token authentication the user is the token id (`root@pam!ci`); task status and list split it
into `user` (`root@pam`) and `tokenid` (`ci`) (pve-manager PVE/API2/Tasks.pm).
"""
from __future__ import annotations

import random
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.clock import VirtualClock
from labsim.fakes.proxmox import errors as E

UPID_RE = re.compile(r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):"
                     r"([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$")

HZ = 100   # clock ticks per second for pstart (/proc/PID/stat starttime)


class TaskError(Exception):
    """Raised by a task's work: the task stops with this message as its exit status."""


def encode_upid(node: str, pid: int, pstart: int, starttime: int, typ: str, wid: str, user: str) -> str:
    return f"UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{typ}:{wid}:{user}:"


def decode_upid(upid: str) -> dict[str, Any] | None:
    m = UPID_RE.match(upid)
    if not m:
        return None
    return {"node": m.group(1), "pid": int(m.group(3), 16), "pstart": int(m.group(4), 16),
            "starttime": int(m.group(5), 16), "type": m.group(6), "id": m.group(7), "user": m.group(8)}


def split_user(user: str) -> tuple[str, str | None]:
    if "!" in user:
        u, _, t = user.partition("!")
        return u, t
    return user, None


@dataclass
class Task:
    upid: str
    node: str
    pid: int
    pstart: int
    starttime: int
    type: str
    id: str
    user: str
    status: str = "running"
    exitstatus: str | None = None
    endtime: int | None = None
    log: list[str] = field(default_factory=list)

    def print(self, line: str) -> None:
        self.log.extend(line.split("\n"))

    def _base(self) -> dict[str, Any]:
        user, tokenid = split_user(self.user)
        out: dict[str, Any] = {"upid": self.upid, "node": self.node, "pid": self.pid, "pstart": self.pstart,
                               "starttime": self.starttime, "type": self.type, "id": self.id, "user": user}
        if tokenid:
            out["tokenid"] = tokenid
        return out

    def status_json(self) -> dict[str, Any]:
        out = self._base()
        out["status"] = self.status
        if self.status == "stopped":
            out["exitstatus"] = self.exitstatus
        return out

    def list_json(self) -> dict[str, Any]:
        out = self._base()
        if self.status == "stopped":
            out["status"] = self.exitstatus
            out["endtime"] = self.endtime
        return out

    def log_json(self, start: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
        lines = list(self.log)
        if not lines:
            lines = ["no content"]
        total = len(lines)
        limit = limit or 50
        return [{"n": i + 1, "t": t} for i, t in enumerate(lines) if start <= i < start + limit], total


Work = Callable[[Task], None]


class TaskManager:
    def __init__(self, clock: VirtualClock, seed: int, boot_uptime: Callable[[str], float]):
        self.clock = clock
        self.tasks: dict[str, Task] = {}
        self.order: list[str] = []
        self._rng = random.Random(f"pve-pids:{seed}")
        self._pid: dict[str, int] = {}
        self._boot_uptime = boot_uptime
        self.listeners: list[Callable[[Task], None]] = []   # called when a task stops

    def next_pid(self, node: str) -> int:
        if node not in self._pid:
            self._pid[node] = 1000 + self._rng.randrange(0, 50000)
        self._pid[node] += 1 + self._rng.randrange(0, 40)
        return self._pid[node]

    def epoch(self) -> int:
        return int(self.clock.utcnow().timestamp())

    def start(self, node: str, typ: str, wid: str, user: str, duration: float, work: Work, *,
              on_fail: Callable[[Task, str], None] | None = None,
              fault: str | None = None) -> Task:
        """Start a task now; its `work` runs when `duration` virtual seconds have passed.

        `work` raises TaskError (or ApiError) to fail the task; `on_fail` then cleans up. With `fault`
        set, the work is skipped and the task fails with that text (fault injection).
        """
        pid = self.next_pid(node)
        pstart = int((self._boot_uptime(node)) * HZ)
        task = Task(upid=encode_upid(node, pid, pstart, self.epoch(), typ, wid, user), node=node, pid=pid,
                    pstart=pstart, starttime=self.epoch(), type=typ, id=wid, user=user)
        self.tasks[task.upid] = task
        self.order.append(task.upid)

        def finish() -> None:
            if task.status != "running":
                return
            try:
                if fault is not None:
                    raise TaskError(fault)
                work(task)
            except (TaskError, E.ApiError) as exc:
                msg = str(exc).rstrip("\n")
                if on_fail is not None:
                    on_fail(task, msg)
                self._stop(task, msg)
                return
            except Exception as exc:  # noqa: BLE001 - a bug (in the fake or a world hook): fail the task, keep the clock going
                traceback.print_exc()
                msg = f"internal error in the Proxmox fake: {exc!r}"
                if on_fail is not None:
                    on_fail(task, msg)
                self._stop(task, msg)
                return
            self._stop(task, None)
        self.clock.call_later(max(0.0, duration), finish)
        return task

    def _stop(self, task: Task, error: str | None) -> None:
        task.status = "stopped"
        task.endtime = self.epoch()
        if error is None:
            task.exitstatus = "OK"
            task.log.append(E.TASK_OK)
        else:
            task.exitstatus = error.split("\n")[-1] if error else "unknown error"
            task.log.append(E.TASK_ERROR.format(err=error))
        for fn in list(self.listeners):
            fn(task)

    def get(self, upid: str) -> Task | None:
        return self.tasks.get(upid)

    def for_node(self, node: str) -> list[Task]:
        return [self.tasks[u] for u in reversed(self.order) if self.tasks[u].node == node]
