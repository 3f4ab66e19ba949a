"""Nodes as their kubelet registers and reports them (pkg/kubelet/kubelet_node_status.go, nodestatus/setters.go),
driven by the world: a Talos node that boots registers, a stopped VM goes NotReady or Unknown.

Condition texts are the kubelet's (`kubelet is posting ready status`, `KubeletHasSufficientMemory`, ...) and the
node lifecycle controller's for a silent kubelet (`NodeStatusUnknown`, `Kubelet stopped posting node status.`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.meta import deep, owner_ref, set_condition

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

PRESSURE = [
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
]
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
NO_CNI_MESSAGE = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                  "message:Network plugin returns error: cni plugin not initialized")


def register_node(cluster: KubeCluster, name: str, addresses: list | None, labels: dict[str, str] | None,
                  capacity: dict[str, str] | None, *, taints: list[dict] | None = None, pod_cidr: str | None = None,
                  ready: bool | None = True, ready_reason: str | None = None, ready_message: str | None = None,
                  control_plane: bool = False, node_info: dict[str, str] | None = None,
                  unschedulable: bool = False, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """Register (or re-register) a node the way its kubelet does. `addresses`: [("InternalIP", "192.168.1.5"),
    ...] or dicts; a Hostname address is added. `ready=False` registers it NotReady (e.g. no CNI yet)."""
    with cluster.lock:
        addrs = [a if isinstance(a, dict) else {"type": a[0], "address": a[1]} for a in addresses or []]
        if not any(a["type"] == "Hostname" for a in addrs):
            addrs.append({"type": "Hostname", "address": name})
        lab = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
               "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        if control_plane:
            lab["node-role.kubernetes.io/control-plane"] = ""
        lab.update(labels or {})
        cap = {"cpu": "4", "ephemeral-storage": "20470Mi", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
               "memory": "8131244Ki", "pods": "110"}
        cap.update(capacity or {})
        info = {"architecture": "amd64", "bootID": cluster.new_uid(), "containerRuntimeVersion": "containerd://2.1.4",
                "kernelVersion": "6.12.57-talos", "kubeProxyVersion": "", "kubeletVersion": cluster.version,
                "machineID": cluster.new_uid().replace("-", ""), "operatingSystem": "linux",
                "osImage": "Talos (v1.11.5)", "systemUUID": cluster.new_uid()}
        info.update(node_info or {})
        if taints is None:
            taints = [dict(CONTROL_PLANE_TAINT)] if control_plane else []
        cidr = pod_cidr or cluster.ipam.node_cidr(name)
        cluster.ipam.node_cidrs[name] = cidr
        existing = cluster.live("nodes", name)
        now = cluster.now()
        status: dict[str, Any] = deep(existing.get("status", {})) if existing else {}
        status.update({"addresses": addrs, "capacity": cap, "allocatable": dict(cap),
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}, "nodeInfo": info})
        status.setdefault("images", [])
        for typ, reason, msg in PRESSURE:
            set_condition(status, typ, "False", now, reason, msg)
            _heartbeat(status, typ, now)
        _set_ready(status, ready, ready_reason, ready_message, now)
        spec: dict[str, Any] = {"podCIDR": cidr, "podCIDRs": [cidr]}
        if taints:
            spec["taints"] = taints
        if unschedulable:
            spec["unschedulable"] = True
        ann = {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
        ann.update(annotations or {})
        if existing is None:
            _start_lease_renewal(cluster)
            node = cluster.create("nodes", {"metadata": {"name": name, "labels": lab, "annotations": ann},
                                            "spec": spec, "status": status}, keep_status=True)
            cluster.create("leases", {"metadata": {"name": name, "namespace": "kube-node-lease",
                                                   "ownerReferences": [owner_ref(node, controller=False)]},
                                      "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                                               "renewTime": cluster.now_micro()}}, "kube-node-lease")
        else:
            node = deep(existing)
            node["metadata"].setdefault("labels", {}).update(lab)
            node["metadata"].setdefault("annotations", {}).update(ann)
            node["spec"] = {**node.get("spec", {}), **spec}
            node["status"] = status
            cluster.put("nodes", node)
        cluster.controllers.nodes.observe(name)
        return cluster.get("nodes", name)


LEASE_RENEW = 10.0     # the kubelet renews its node lease every leaseDurationSeconds (40) * 0.25


def _start_lease_renewal(cluster: KubeCluster) -> None:
    """Every LEASE_RENEW virtual seconds each live kubelet renews its Lease in kube-node-lease (renewTime), as
    pkg/kubelet/nodelease does; a silent kubelet's lease goes stale."""
    if getattr(cluster, "_lease_renewal", False) or not cluster.controllers.enabled:
        return
    cluster._lease_renewal = True

    def renew() -> None:
        with cluster.lock:
            now = cluster.now_micro()
            for node in cluster.store.items(("", "nodes")):
                if not kubelet_alive(node):
                    continue
                lease = cluster.store.get(("coordination.k8s.io", "leases"), "kube-node-lease",
                                          node["metadata"]["name"])
                if lease is None:
                    continue
                new = deep(lease)
                new["spec"]["renewTime"] = now
                cluster.store.put(("coordination.k8s.io", "leases"), new)   # no controller cares: no kick
        cluster.clock.call_later(LEASE_RENEW, renew)
    cluster.clock.call_later(LEASE_RENEW, renew)


def _heartbeat(status: dict[str, Any], typ: str, now: str) -> None:
    for c in status["conditions"]:
        if c["type"] == typ:
            c["lastHeartbeatTime"] = now
            # keep the kubelet's key order: type, status, lastHeartbeatTime, lastTransitionTime, reason, message
            ordered = {k: c[k] for k in ("type", "status", "lastHeartbeatTime", "lastTransitionTime", "reason",
                                         "message") if k in c}
            c.clear()
            c.update(ordered)


def _set_ready(status: dict[str, Any], ready: bool | None, reason: str | None, message: str | None,
               now: str) -> None:
    if ready is True:
        set_condition(status, "Ready", "True", now, reason or "KubeletReady", message or "kubelet is posting ready status")
    elif ready is False:
        set_condition(status, "Ready", "False", now, reason or "KubeletNotReady", message or NO_CNI_MESSAGE)
    else:
        for c in status.get("conditions", []):
            set_condition(status, c["type"], "Unknown", now, "NodeStatusUnknown", "Kubelet stopped posting node status.")
        set_condition(status, "Ready", "Unknown", now, reason or "NodeStatusUnknown",
                      message or "Kubelet stopped posting node status.")
        return
    _heartbeat(status, "Ready", now)


def set_node_condition(cluster: KubeCluster, name: str, typ: str, value: str, reason: str, message: str) -> None:
    with cluster.lock:
        node = deep(cluster.get("nodes", name))
        status = node.setdefault("status", {})
        now = cluster.now()
        set_condition(status, typ, value, now, reason or None, message or None)
        _heartbeat(status, typ, now)
        cluster.put_status("nodes", node)
        cluster.controllers.nodes.observe(name)


def set_node_ready(cluster: KubeCluster, name: str, ready: bool | None, reason: str | None,
                   message: str | None) -> None:
    with cluster.lock:
        node = deep(cluster.get("nodes", name))
        status = node.setdefault("status", {})
        if ready is not None:
            for typ, r, m in PRESSURE:   # a kubelet that reports again reports every condition
                set_condition(status, typ, "False", cluster.now(), r, m)
                _heartbeat(status, typ, cluster.now())
        _set_ready(status, ready, reason, message, cluster.now())
        cluster.put_status("nodes", node)
        cluster.controllers.nodes.observe(name)


def node_ready(node: dict[str, Any] | None) -> bool:
    if not node:
        return False
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def kubelet_alive(node: dict[str, Any] | None) -> bool:
    """Ready True or False: the kubelet reports (a node NotReady for want of a CNI still runs pods); Unknown: silent."""
    for c in ((node or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") in ("True", "False")
    return False


def internal_ip(node: dict[str, Any] | None) -> str | None:
    for a in ((node or {}).get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return None
