"""DaemonSets (pkg/controller/daemon): one pod per eligible node (nodeSelector, required node affinity, taints
against the pod's tolerations plus the ones the controller adds), pinned with a `matchFields metadata.name`
node affinity for the scheduler; rolling updates replace at most maxUnavailable outdated pods at a time."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import (
    Watching,
    active,
    node_matches,
    owned_pods,
    pod_available,
    pod_from_template,
    pod_ready,
    template_hash,
    untolerated,
)
from labsim.fakes.kube.meta import deep, int_or_percent

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

# pkg/controller/daemon/util/daemonset_util.go AddOrUpdateDaemonPodTolerations
DS_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
HOST_NET_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}


def daemon_tolerations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    tols = list(spec.get("tolerations") or [])
    extra = DS_TOLERATIONS + ([HOST_NET_TOLERATION] if spec.get("hostNetwork") else [])
    for t in extra:
        if not any(x.get("key") == t["key"] and x.get("effect") == t["effect"] for x in tols):
            tols.append(dict(t))
    return tols


class DaemonSetController(Watching):
    WATCHES = (("apps", "daemonsets"), ("", "pods"), ("", "nodes"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def sync(self) -> None:
        for ds in list(self.cluster.store.items(("apps", "daemonsets"))):
            if not ds["metadata"].get("deletionTimestamp"):
                self._sync(ds)

    def _eligible(self, ds: dict[str, Any], node: dict[str, Any]) -> bool:
        spec = (ds["spec"].get("template") or {}).get("spec") or {}
        if not node_matches(spec, node):
            return False
        return untolerated(daemon_tolerations(spec), (node.get("spec") or {}).get("taints") or [],
                           ("NoSchedule", "NoExecute")) is None

    def _sync(self, ds: dict[str, Any]) -> None:
        c = self.cluster
        ns, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
        template = ds["spec"].get("template") or {}
        h = template_hash(template)
        gen = str(ds["metadata"].get("generation", 1))
        nodes = {n["metadata"]["name"]: n for n in c.store.items(("", "nodes"))}
        eligible = {n for n, node in nodes.items() if self._eligible(ds, node)}
        pods = [p for p in owned_pods(c, ds) if active(p)]
        by_node: dict[str, list[dict]] = {}
        for p in pods:
            by_node.setdefault(self._target(p), []).append(p)
        for node in sorted(eligible):
            if not by_node.get(node):
                t = deep(template)
                spec = t.setdefault("spec", {})
                spec["tolerations"] = daemon_tolerations(spec)
                spec["affinity"] = _pin(spec.get("affinity"), node)
                pod = c.create("pods", pod_from_template(c, ds, t, extra_labels={
                    "controller-revision-hash": h, "pod-template-generation": gen}), ns)
                c.record_event(ds, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                               "daemonset-controller")
            for extra in by_node.get(node, [])[1:]:
                c.delete("pods", extra["metadata"]["name"], ns)
        for node, ps in by_node.items():
            if node not in eligible:
                for p in ps:
                    c.delete("pods", p["metadata"]["name"], ns)
                    c.record_event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}",
                                   "daemonset-controller")
        pods = [p for p in owned_pods(c, ds) if active(p)]
        now = c.clock.utcnow()
        min_ready = int(ds["spec"].get("minReadySeconds", 0))
        desired = len(eligible)
        available = sum(1 for p in pods if self._target(p) in eligible and pod_available(p, min_ready, now))
        if (ds["spec"].get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            ru = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
            budget = max(int_or_percent(ru.get("maxUnavailable", 1), desired, True), 1) - (desired - available)
            outdated = [p for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") != h]
            outdated.sort(key=lambda p: pod_ready(p))
            for p in outdated:
                if budget <= 0 and pod_ready(p):
                    break
                c.delete("pods", p["metadata"]["name"], ns)
                if pod_ready(p):
                    budget -= 1
        pods = [p for p in owned_pods(c, ds) if active(p)]
        scheduled = {self._target(p) for p in pods}
        status = {"currentNumberScheduled": len(scheduled & eligible),
                  "desiredNumberScheduled": desired,
                  "numberMisscheduled": len(scheduled - eligible),
                  "numberReady": sum(1 for p in pods if self._target(p) in eligible and pod_ready(p)),
                  "numberAvailable": sum(1 for p in pods if self._target(p) in eligible
                                         and pod_available(p, min_ready, now)),
                  "observedGeneration": ds["metadata"].get("generation", 1),
                  "updatedNumberScheduled": sum(1 for p in pods if self._target(p) in eligible and
                                                p["metadata"].get("labels", {}).get("controller-revision-hash") == h)}
        status["numberUnavailable"] = desired - status["numberAvailable"]
        for k in ("numberAvailable", "numberUnavailable", "updatedNumberScheduled"):
            if not status[k]:
                del status[k]
        if status != (ds.get("status") or {}):
            new = deep(c.live("daemonsets.apps", name, ns))
            new["status"] = status
            c.put_status("daemonsets.apps", new)

    @staticmethod
    def _target(pod: dict[str, Any]) -> str:
        if (pod.get("spec") or {}).get("nodeName"):
            return pod["spec"]["nodeName"]
        terms = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
        for term in terms:
            for f in term.get("matchFields") or []:
                if f.get("key") == "metadata.name" and f.get("values"):
                    return f["values"][0]
        return ""


def _pin(affinity: dict[str, Any] | None, node: str) -> dict[str, Any]:
    a = deep(affinity or {})
    na = a.setdefault("nodeAffinity", {})
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    return a
