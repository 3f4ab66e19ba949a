"""Node lifecycle (pkg/controller/nodelifecycle, scheduler/taint_eviction.go): taints that follow the Ready
condition (not-ready for False, unreachable for Unknown, NoSchedule and NoExecute; unschedulable for cordoned
nodes), pods on an unreachable node marked not Ready, and NoExecute evictions once a pod's tolerationSeconds
(300 s by default, from DefaultTolerationSeconds) have passed since the taint was added."""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import Watching, tolerates
from labsim.fakes.kube.meta import deep, get_condition, parse_time, set_condition

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster
    from labsim.fakes.kube.controllers import Controllers

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED = (NOT_READY, UNREACHABLE, UNSCHEDULABLE)


class NodeLifecycle(Watching):
    WATCHES = (("", "nodes"), ("", "pods"))

    def __init__(self, cluster: KubeCluster, controllers: Controllers):
        self.cluster = cluster
        self.controllers = controllers
        self._ready: dict[str, str] = {}

    def observe(self, name: str) -> None:
        self.controllers.kick()

    def sync(self) -> None:
        for node in list(self.cluster.store.items(("", "nodes"))):
            self._taints(node)
        for node in list(self.cluster.store.items(("", "nodes"))):
            self._pods(node)

    def _taints(self, node: dict[str, Any]) -> None:
        c = self.cluster
        name = node["metadata"]["name"]
        ready = (get_condition(node, "Ready") or {}).get("status", "Unknown")
        want: list[tuple[str, str]] = []
        if ready == "False":
            want = [(NOT_READY, "NoSchedule"), (NOT_READY, "NoExecute")]
        elif ready != "True":
            want = [(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")]
        if (node.get("spec") or {}).get("unschedulable"):
            want.append((UNSCHEDULABLE, "NoSchedule"))
        taints = (node.get("spec") or {}).get("taints") or []
        keep = [t for t in taints if t.get("key") not in MANAGED or (t["key"], t.get("effect")) in want]
        have = {(t.get("key"), t.get("effect")) for t in keep}
        for key, effect in want:
            if (key, effect) not in have:
                t = {"key": key, "effect": effect}
                if effect == "NoExecute":
                    t["timeAdded"] = c.now()
                keep.append(t)
        if keep != taints:
            new = deep(node)
            if keep:
                new.setdefault("spec", {})["taints"] = keep
            else:
                new.get("spec", {}).pop("taints", None)
            c.put("nodes", new)
        prev = self._ready.get(name)
        if prev is not None and prev != ready:
            if ready == "True":
                c.record_event(node, "Normal", "NodeReady", f"Node {name} status is now: NodeReady", "node-controller")
            elif prev == "True":
                c.record_event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady",
                               "node-controller")
        self._ready[name] = ready

    def _pods(self, node: dict[str, Any]) -> None:
        c = self.cluster
        name = node["metadata"]["name"]
        ready = (get_condition(node, "Ready") or {}).get("status", "Unknown")
        noexec = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        for pod in list(c.select(c.rtype("pods"), None, None, f"spec.nodeName={name}")):
            md = pod["metadata"]
            if md.get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            # MarkPodsNotReady; only for a silent kubelet here, as a reporting one sets readiness itself
            if ready == "Unknown" and (get_condition(pod, "Ready") or {}).get("status") == "True":
                new = deep(pod)
                set_condition(new["status"], "Ready", "False", c.now(), probe_times=True)
                c.put_status("pods", new)
                c.record_event(pod, "Warning", "NodeNotReady", "Node is not ready", "node-controller")
            self._evict(pod, noexec)

    def _evict(self, pod: dict[str, Any], taints: list[dict[str, Any]]) -> None:
        c = self.cluster
        tols = (pod.get("spec") or {}).get("tolerations") or []
        due: float | None = None
        for taint in taints:
            matching = [t for t in tols if tolerates([t], taint)]
            if not matching:
                due = 0.0
                break
            secs = [t.get("tolerationSeconds") for t in matching]
            if any(s is None for s in secs):
                continue
            added = parse_time(taint.get("timeAdded")) or c.clock.utcnow()
            at = (added + timedelta(seconds=max(0, min(secs)))) - c.clock.utcnow()
            wait = at.total_seconds()
            due = wait if due is None else min(due, wait)
        if due is None:
            return
        if due <= 1e-6:
            md = pod["metadata"]
            c.record_event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {md['namespace']}/{md['name']}",
                           "taint-eviction-controller")
            c.delete("pods", md["name"], md["namespace"])
        else:
            self.controllers.wake_at(c.clock.now() + due)
