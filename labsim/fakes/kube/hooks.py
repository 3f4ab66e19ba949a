"""What the world tells the simulated kubelets: whether a pod's sandbox can start on its node, and how its
containers behave once started.

    cluster.pod_admission.append(no_cni_admission)              # no CNI yet: only host-network pods start
    cluster.pod_behaviour.append(lambda pod: PodBehaviour(run_for=30, logs="migrated\\n")
                                 if pod["metadata"]["name"].startswith("migrate-") else None)

The first hook that returns something wins; `None` means "no opinion".
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labsim.fakes.kube.nodes import NO_CNI_MESSAGE


@dataclass
class PodBlocked:
    """The sandbox cannot start: the pod stays Pending with its containers waiting in `reason`."""

    message: str
    event_reason: str = "FailedCreatePodSandBox"
    reason: str = "ContainerCreating"


@dataclass
class PodBehaviour:
    start_delay: float = 2.0                     # virtual seconds from binding to Running
    run_for: float | None = None                 # None: runs until deleted; else exits after this long
    exit_code: int = 0
    logs: str | Callable[[dict], str] | None = None   # written to every container's log at start
    ready_delay: float | None = None             # None: the readiness probe's initialDelaySeconds (or 0)
    ready: bool | Callable[[dict], bool] = True  # False: runs but never passes its readiness probe; a function
                                                 # of the pod: asked on every kubelet sync (a probe that recovers)

    def ready_now(self, pod: dict[str, Any]) -> bool:
        return self.ready(pod) if callable(self.ready) else self.ready


def no_cni_admission(pod: dict[str, Any], node: dict[str, Any]) -> PodBlocked | None:
    """A node without a CNI starts host-network pods only; others wait with the kubelet's real event."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        return None
    return PodBlocked(message=f"network is not ready: {NO_CNI_MESSAGE}", event_reason="NetworkNotReady")


def default_behaviour(pod: dict[str, Any]) -> PodBehaviour:
    """Long-running unless the pod is meant to finish (restartPolicy Never/OnFailure): then 5 s and exit 0."""
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    return PodBehaviour(run_for=None if policy == "Always" else 5.0)
