"""Defaulting on create (pkg/apis/*/v1/defaults.go) and the admission plugins a fresh cluster runs
(DefaultTolerationSeconds, Priority, ServiceAccount), so objects read back the way a real apiserver
returns them and typed clients find the fields they expect.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

NOT_READY_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]
SYSTEM_PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def _image_pull_policy(image: str) -> str:
    tail = image.rsplit("/", 1)[-1]
    if "@" in tail:
        return "IfNotPresent"
    tag = tail.split(":", 1)[1] if ":" in tail else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for field in ("containers", "initContainers"):
        for c in spec.get(field) or []:
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("imagePullPolicy", _image_pull_policy(c.get("image", "")))
            c.setdefault("resources", {})
            for p in c.get("ports") or []:
                p.setdefault("protocol", "TCP")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                pr = c.get(probe)
                if isinstance(pr, dict):
                    for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                                 ("failureThreshold", 3)):
                        pr.setdefault(k, v)


def template(t: dict[str, Any] | None) -> None:
    if not isinstance(t, dict):
        return
    t.setdefault("metadata", {})
    pod_spec(t.setdefault("spec", {}))


def apply(cluster: KubeCluster, kind: str, obj: dict[str, Any]) -> None:
    fn = _BY_KIND.get(kind)
    if fn:
        fn(cluster, obj)


def _pod(cluster: KubeCluster, pod: dict[str, Any]) -> None:
    spec = pod.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    if not spec.get("serviceAccountName"):
        spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    pc = spec.get("priorityClassName")
    spec.setdefault("priority", cluster.priority_of(pc))
    tols = spec.setdefault("tolerations", [])
    for default in NOT_READY_TOLERATIONS:   # DefaultTolerationSeconds admission
        if not any(t.get("key") == default["key"] and t.get("effect") in (None, "", "NoExecute")
                   or (t.get("operator") == "Exists" and not t.get("key")) for t in tols):
            tols.append(dict(default))
    st = pod.setdefault("status", {})
    st.setdefault("phase", "Pending")
    st.setdefault("qosClass", _qos(spec))


def _qos(spec: dict[str, Any]) -> str:
    reqs = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in reqs):
        return "BestEffort"
    if all(r.get("limits") and set(r["limits"]) >= {"cpu", "memory"}
           and (not r.get("requests") or r["requests"] == r["limits"]) for r in reqs):
        return "Guaranteed"
    return "Burstable"


def _service(cluster: KubeCluster, svc: dict[str, Any]) -> None:
    spec = svc.setdefault("spec", {})
    typ = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if typ != "ExternalName":
        ip = spec.get("clusterIP")
        if ip != "None":
            ip = cluster.ipam.allocate_service_ip(ip or None)
            spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))
        if typ in ("NodePort", "LoadBalancer"):
            p["nodePort"] = cluster.ipam.allocate_node_port(p.get("nodePort"))
    if typ in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if typ == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    svc.setdefault("status", {}).setdefault("loadBalancer", {})


def _deployment(cluster: KubeCluster, d: dict[str, Any]) -> None:
    spec = d.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strat = spec.setdefault("strategy", {"type": "RollingUpdate"})
    if strat.get("type", "RollingUpdate") == "RollingUpdate":
        strat["type"] = "RollingUpdate"
        ru = strat.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    template(spec.get("template"))


def _replicaset(cluster: KubeCluster, rs: dict[str, Any]) -> None:
    rs.setdefault("spec", {}).setdefault("replicas", 1)
    template(rs["spec"].get("template"))


def _daemonset(cluster: KubeCluster, ds: dict[str, Any]) -> None:
    spec = ds.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    us = spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if us.get("type", "RollingUpdate") == "RollingUpdate":
        us["type"] = "RollingUpdate"
        ru = us.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    template(spec.get("template"))


def _statefulset(cluster: KubeCluster, s: dict[str, Any]) -> None:
    spec = s.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    template(spec.get("template"))


def _job(cluster: KubeCluster, job: dict[str, Any]) -> None:
    spec = job.setdefault("spec", {})
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    if not spec.get("manualSelector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                       "controller-uid": uid, "job-name": name})
    t = spec.setdefault("template", {})
    t.setdefault("spec", {}).setdefault("restartPolicy", "Never")
    template(t)


def _namespace(cluster: KubeCluster, ns: dict[str, Any]) -> None:
    ns.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    ns.setdefault("status", {})["phase"] = "Active"
    ns["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = ns["metadata"]["name"]


def _secret(cluster: KubeCluster, s: dict[str, Any]) -> None:
    s.setdefault("type", "Opaque")
    # "stringData ... is merged into the data field on write, overwriting any existing values. The stringData field
    # is never output when reading from the API." (core/v1 Secret)
    plain = s.pop("stringData", None)
    if isinstance(plain, dict) and plain:
        import base64
        data = s.setdefault("data", {})
        for k, v in plain.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def _crd(cluster: KubeCluster, crd: dict[str, Any]) -> None:
    spec = crd.setdefault("spec", {})
    spec.setdefault("conversion", {"strategy": "None"})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")


_BY_KIND = {
    "Pod": _pod, "Service": _service, "Deployment": _deployment, "ReplicaSet": _replicaset,
    "DaemonSet": _daemonset, "StatefulSet": _statefulset, "Job": _job, "Namespace": _namespace,
    "Secret": _secret, "CustomResourceDefinition": _crd,
}
