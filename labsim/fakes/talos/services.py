"""What `talosctl service` and the health checks see of a node's services (machined's service runner):
state, health and the last event, derived from the node's life so far.

etcd's health follows quorum: an etcd that runs but cannot reach a majority fails its health check.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode

WORKER = ("apid", "containerd", "cri", "kubelet", "machined", "syslogd", "udevd")
CONTROL_PLANE = ("apid", "containerd", "cri", "etcd", "kubelet", "machined", "syslogd", "trustd", "udevd")
MAINTENANCE = ("apid", "machined", "udevd")
AT_BOOT = {   # services running as soon as machined does: (health, last event)
    "machined": ("?", "Service started as goroutine"), "udevd": ("OK", "Health check successful"),
    "containerd": ("OK", "Health check successful"), "cri": ("OK", "Health check successful"),
    "syslogd": ("?", "Service started as goroutine"),
}


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    state: str
    healthy: bool | None          # None: no health check ("?")
    event: str
    since: float

    @property
    def health(self) -> str:
        return "?" if self.healthy is None else ("OK" if self.healthy else "Fail")


def services(node: TalosNode) -> list[ServiceInfo]:
    if node.stage == "maintenance":
        ids = MAINTENANCE
    else:
        ids = CONTROL_PLANE if node.control_plane else WORKER
    out = []
    for sid in ids:
        t, state, health, event = node.events.get(sid, (node.booted_at, "Waiting", "?",
                                                         _waiting(sid)))
        healthy = None if health == "?" else health == "OK"
        if sid == "etcd" and state == "Running" and node.cluster is not None and not node.cluster.quorum():
            healthy, event = False, "Health check failed: context deadline exceeded"
        if sid == "machined" and sid not in node.events:
            state, healthy, event = "Running", None, "Service started as goroutine"
        out.append(ServiceInfo(sid, state, healthy, event, t))
    return out


def service(node: TalosNode, sid: str) -> ServiceInfo | None:
    return next((s for s in services(node) if s.id == sid), None)


def _waiting(sid: str) -> str:
    if sid == "kubelet":
        return 'Waiting for service "cri" to be "up"'
    if sid == "etcd":
        return "Running pre state"
    return "Starting"
