"""Faults a test can inject into the Proxmox fake (one object, `cluster.faults` is `server.faults`).

    faults.fail_next_task("qmstart", "start failed: QEMU exited with code 1")     # once
    faults.fail_next_task("qmcreate", "...", vmid=1501, times=None)              # every time
    faults.http_error(r"/nodes/pve/qemu$", 503, times=1)                         # answer 503 once
    faults.http_error(r"/cluster/resources", 500, "got timeout", method="GET")   # always (times=None)
    faults.expire_tickets()                                                      # every ticket now invalid
    faults.latency = 0.2                                                         # real seconds per answer

A failed task does not do its work (a failed `qmcreate` leaves no VM, a failed `qmstart` no running VM).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from labsim.fakes.face import HttpFault, HttpFaults

if TYPE_CHECKING:
    from labsim.fakes.proxmox.cluster import ProxmoxCluster


@dataclass
class TaskFault:
    kind: str
    message: str
    vmid: int | None
    node: str | None
    times: int | None    # None: every time


class Faults:
    def __init__(self, cluster: ProxmoxCluster):
        self._cluster = cluster
        self._lock = threading.Lock()
        self.tasks: list[TaskFault] = []
        self._http = HttpFaults()          # the faces' one registry (labsim/fakes/face.py)
        self.http: list[HttpFault] = self._http.http
        self.latency: float = 0.0
        self.triggered: list[str] = self._http.triggered   # what fired, for test evidence

    # --- tasks --------------------------------------------------------------------------------------
    def fail_next_task(self, kind: str, message: str, *, vmid: int | None = None, node: str | None = None,
                       times: int | None = 1) -> None:
        """Fail the next `times` tasks of type `kind` (qmcreate, qmstart, qmstop, qmshutdown, qmreboot,
        qmclone, qmdestroy, qmconfig, srvreload, ...) with `message` as their exit status."""
        with self._lock:
            self.tasks.append(TaskFault(kind, message, vmid, node, times))

    def take_task_fault(self, kind: str, node: str, wid: str) -> str | None:
        with self._lock:
            for f in self.tasks:
                if f.kind != kind or (f.node and f.node != node) or (f.vmid is not None and str(f.vmid) != wid):
                    continue
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self.tasks.remove(f)
                self.triggered.append(f"task {kind} {wid}: {f.message}")
                return f.message
        return None

    # --- HTTP ---------------------------------------------------------------------------------------
    def http_error(self, pattern: str, status: int = 500, message: str | None = None, *,
                   method: str | None = None, times: int | None = 1) -> None:
        """Answer requests whose path (under /api2/json) matches `pattern` (re.search) with `status`.
        `times=None` keeps answering so; the message becomes the reason phrase, as PVE sends it."""
        self._http.add(pattern, status, message or HTTPStatus(int(status)).phrase, method=method, times=times)

    def take_http_fault(self, method: str, path: str) -> HttpFault | None:
        return self._http.take(method, path)

    # --- auth / timing ------------------------------------------------------------------------------
    def expire_tickets(self) -> None:
        """Every ticket issued so far stops working (clients must log in again)."""
        with self._cluster.lock:
            self._cluster.auth.expire_all()
        self.triggered.append("expire tickets")

    def add_latency(self, seconds: float) -> None:
        self.latency = float(seconds)

    def clear(self) -> None:
        with self._lock:
            self.tasks.clear()
        self._http.clear()
        self.latency = 0.0
