"""The default scheduler, reduced to its filters that matter in a lab (pkg/scheduler/framework/plugins:
NodeUnschedulable, TaintToleration, NodeAffinity incl. DaemonSet `matchFields`) and a spreading score
(fewest pods). Messages are the scheduler's: `Successfully assigned ns/pod to node`, and
`0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, ... preemption: ...` when nothing fits.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import Watching, node_matches, untolerated
from labsim.fakes.kube.meta import deep, set_condition

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster


class Scheduler(Watching):
    WATCHES = (("", "pods"), ("", "nodes"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def sync(self) -> None:
        c = self.cluster
        pending = [p for p in c.store.items(("", "pods")) if not (p.get("spec") or {}).get("nodeName")
                   and not p["metadata"].get("deletionTimestamp")
                   and (p.get("spec") or {}).get("schedulerName", "default-scheduler") == "default-scheduler"]
        if not pending:
            return
        nodes = c.store.items(("", "nodes"))
        load = Counter(p["spec"].get("nodeName") for p in c.store.items(("", "pods")) if p["spec"].get("nodeName"))
        for pod in sorted(pending, key=lambda p: (-int(p["spec"].get("priority", 0)),
                                                  p["metadata"]["creationTimestamp"])):
            fits, reasons = [], Counter()
            for node in nodes:
                why = self._filter(pod, node)
                if why:
                    reasons[why] += 1
                else:
                    fits.append(node)
            if fits:
                best = min(fits, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))
                self._bind(pod, best["metadata"]["name"])
                load[best["metadata"]["name"]] += 1
            else:
                self._unschedulable(pod, len(nodes), reasons)

    def _filter(self, pod: dict[str, Any], node: dict[str, Any]) -> str | None:
        spec = pod.get("spec") or {}
        nspec = node.get("spec") or {}
        if nspec.get("unschedulable") and not any(t.get("key") == "node.kubernetes.io/unschedulable"
                                                  or (t.get("operator") == "Exists" and not t.get("key"))
                                                  for t in spec.get("tolerations") or []):
            return "node(s) were unschedulable"
        taint = untolerated(spec.get("tolerations") or [], nspec.get("taints") or [], ("NoSchedule", "NoExecute"))
        if taint:   # TaintToleration filters before NodeAffinity
            return f"node(s) had untolerated taint {{{taint['key']}: {taint.get('value', '')}}}"
        if not node_matches(spec, node):
            return "node(s) didn't match Pod's node affinity/selector"
        return None

    def _bind(self, pod: dict[str, Any], node: str) -> None:
        c = self.cluster
        new = deep(pod)
        new["spec"]["nodeName"] = node
        status = new.setdefault("status", {})
        set_condition(status, "PodScheduled", "True", c.now(), probe_times=True)
        for cond in status["conditions"]:
            if cond["type"] == "PodScheduled":
                cond.pop("reason", None)
                cond.pop("message", None)
        c.put("pods", new)
        md = pod["metadata"]
        c.record_event(pod, "Normal", "Scheduled", f"Successfully assigned {md['namespace']}/{md['name']} to {node}",
                       "default-scheduler")

    def _unschedulable(self, pod: dict[str, Any], total: int, reasons: Counter) -> None:
        c = self.cluster
        if total == 0:
            msg = "no nodes available to schedule pods"
        else:
            parts = ", ".join(sorted(f"{n} {r}" for r, n in reasons.items()))   # FitError sorts the strings
            msg = (f"0/{total} nodes are available: {parts}. preemption: 0/{total} nodes are available: "
                   f"{total} Preemption is not helpful for scheduling.")
        status = deep(pod.get("status") or {})
        set_condition(status, "PodScheduled", "False", c.now(), "Unschedulable", msg, probe_times=True)
        if status != pod.get("status"):
            new = deep(pod)
            new["status"] = status
            c.put_status("pods", new)
            c.record_event(pod, "Warning", "FailedScheduling", msg, "default-scheduler")
