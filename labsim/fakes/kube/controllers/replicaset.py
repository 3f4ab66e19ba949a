"""ReplicaSets -> Pods (pkg/controller/replicaset/replica_set.go): keep `spec.replicas` active pods, create
with `<rs>-<random>` names, delete the least useful first (unscheduled, pending, not ready, newest), and
report replicas/readyReplicas/availableReplicas (zero counts omitted, as the apiserver's omitempty does)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.meta import deep
from labsim.fakes.kube.controllers.util import (
    Watching,
    active,
    owned_pods,
    pod_available,
    pod_from_template,
    pod_ready,
)
from labsim.fakes.kube.errors import KubeError
from labsim.fakes.kube.selectors import from_object

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster


def _deletion_rank(pod: dict[str, Any]) -> tuple:
    st = pod.get("status") or {}
    return (bool((pod.get("spec") or {}).get("nodeName")), st.get("phase") == "Running", pod_ready(pod),
            # newer pods go first: invert the timestamp by sorting descending on it below
            )


class ReplicaSetController(Watching):
    WATCHES = (("apps", "replicasets"), ("", "pods"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def sync(self) -> None:
        for rs in list(self.cluster.store.items(("apps", "replicasets"))):
            if not rs["metadata"].get("deletionTimestamp"):
                self._sync(rs)

    def _sync(self, rs: dict[str, Any]) -> None:
        c = self.cluster
        ns = rs["metadata"]["namespace"]
        want = int(rs["spec"].get("replicas", 1))
        pods = [p for p in owned_pods(c, rs) if active(p)]
        if len(pods) < want:
            for _ in range(want - len(pods)):
                try:
                    pod = c.create("pods", pod_from_template(c, rs, rs["spec"].get("template")), ns)
                except KubeError as err:   # refused by admission (e.g. PodSecurity): the controller's event
                    c.record_event(rs, "Warning", "FailedCreate", f"Error creating: {err.message}",
                                   "replicaset-controller")
                    break
                c.record_event(rs, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                               "replicaset-controller")
        elif len(pods) > want:
            ranked = sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
            ranked.sort(key=_deletion_rank)
            for p in ranked[:len(pods) - want]:
                c.delete("pods", p["metadata"]["name"], ns)
                c.record_event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}",
                               "replicaset-controller")
        rs = c.live("replicasets.apps", rs["metadata"]["name"], ns)
        pods = [p for p in owned_pods(c, rs) if active(p)]
        sel = from_object((rs["spec"].get("template") or {}).get("metadata", {}).get("labels") and
                          {"matchLabels": rs["spec"]["template"]["metadata"]["labels"]} or {})
        now = c.clock.utcnow()
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        status = deep(rs.get("status") or {})
        counts = {"replicas": len(pods),
                  "fullyLabeledReplicas": sum(1 for p in pods if sel.matches(p["metadata"].get("labels"))),
                  "readyReplicas": sum(1 for p in pods if pod_ready(p)),
                  "availableReplicas": sum(1 for p in pods if pod_available(p, min_ready, now)),
                  "terminatingReplicas": None}
        for k, v in counts.items():
            if v:
                status[k] = v
            elif k == "replicas":
                status[k] = 0
            else:
                status.pop(k, None)
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        if min_ready:
            for p in pods:
                if pod_ready(p) and not pod_available(p, min_ready, now):
                    from labsim.fakes.kube.meta import get_condition, parse_time
                    since = parse_time(get_condition(p, "Ready")["lastTransitionTime"])
                    c.controllers.wake_at(c.clock.now() + min_ready - (now - since).total_seconds())
        if status != (rs.get("status") or {}):
            new = deep(rs)
            new["status"] = status
            c.put_status("replicasets.apps", new)
