"""Cilium agents in the world: a CNI provider for the Talos clusters.

Each reconcile tick looks at a cluster's Kubernetes API the way the agents would: the `cilium` DaemonSet's
pods, their pod template, the `cilium-config` ConfigMap. An agent whose pod is bound to a node starts
there; after AGENT_START virtual seconds it runs, unless `onhost` says a container cannot run on that Talos
node, in which case the kubelet's events tell why (Failed, BackOff) and the node keeps no CNI. While an
agent runs, its node's network is ready: the node goes Ready and pods get IPs from the pod subnet.

The kubelets run the agent pods once their node is Ready; until then the agent's state here is the truth
(Kubernetes shows the node NotReady, the pod Pending). Hooks on the cluster make the pods behave the same
way once they do run: a failing container crash-loops with its message, and CoreDNS never gets ready when
no one implements Services (kube-proxy disabled and no kube-proxy replacement).

An agent also asks the API for what it needs at start (the chart's data/rbac.yaml `needs`) as its pod's
ServiceAccount, under the cluster's RBAC: while one of those is forbidden (the ClusterRoleBinding deleted, the
ClusterRole edited) the agent does not run, its pod is not ready and its log holds the API server's answer, in
the shape of client-go's reflector error (`Failed to watch *v1.Node: failed to list *v1.Node: nodes is
forbidden: User "system:serviceaccount:kube-system:cilium" cannot list ...`; the words around the API's text
are [unv]). Once the permission is back, the next sync starts it, as the agent's informers retry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsim.fakes.cilium import chart, onhost
from labsim.fakes.kube import PodBehaviour, rbac
from labsim.fakes.kube.auth import UserInfo

if TYPE_CHECKING:
    from labsim.fakes.talos.cluster import TalosCluster
    from labsim.fakes.talos.world import TalosWorld

AGENT_START = 20.0
NS = "kube-system"


@dataclass
class ClusterAgents:
    seen: dict[str, float] = field(default_factory=dict)          # pod uid -> when first seen
    running: set[str] = field(default_factory=set)                 # node names with a running agent
    failures: dict[str, onhost.Failure] = field(default_factory=dict)   # node name -> why its agent fails
    services_ok: bool = True
    reported: set[str] = field(default_factory=set)                # pod uids whose failure was reported
    denied: dict[str, str] = field(default_factory=dict)           # pod uid -> the forbidden line it last logged


class CiliumWorld:
    def __init__(self, talos: TalosWorld):
        self.talos = talos
        self.clusters: dict[str, ClusterAgents] = {}
        self._hooked: set[int] = set()
        self.on_sync: list = []        # fn(cluster) on every pass over a cluster with an API (the mesh layer)
        talos.cni.append(self)

    # --- the CNI provider interface (labsim.fakes.talos.world) -------------------------------------------------------
    def ready(self, cluster: TalosCluster, node: str) -> bool:
        state = self.clusters.get(cluster.name)
        return bool(state and node in state.running)

    def sync(self, cluster: TalosCluster) -> None:
        if cluster.kube is None or not cluster.api_up():
            return
        for fn in self.on_sync:
            fn(cluster)
        kube = cluster.kube.cluster
        state = self.clusters.setdefault(cluster.name, ClusterAgents())
        if id(kube) not in self._hooked:
            self._hooked.add(id(kube))
            kube.pod_behaviour.append(lambda pod, c=cluster: self._behaviour(c, pod))
        with kube.lock:     # read in place, not copied: this runs on every tick of every cluster
            self._sync(cluster, kube, state)

    def _sync(self, cluster: TalosCluster, kube, state: ClusterAgents) -> None:
        ds = kube.live("daemonsets", "cilium", NS)
        if ds is None:
            state.seen.clear()
            state.running.clear()
            state.failures.clear()
            state.services_ok = True
            return
        config = (kube.live("configmaps", "cilium-config", NS) or {}).get("data") or {}
        spec = ds["spec"]["template"]["spec"]
        kube_proxy = kube.live("daemonsets", "kube-proxy", NS) is not None
        service_ip = (kube.live("services", "kubernetes", "default") or {}).get("spec", {}).get("clusterIP", "")
        now = self.talos.clock.now()
        running, failures, live = set(), {}, set()
        for pod in kube.select(kube.rtype("pods"), NS, labels="k8s-app=cilium"):
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name or pod["metadata"].get("deletionTimestamp"):
                continue
            uid = pod["metadata"]["uid"]
            live.add(uid)
            first = state.seen.setdefault(uid, now)
            host = self._host(cluster, node_name, kube_proxy, service_ip)
            failure = onhost.agent_failure(spec, config, host) if host else None
            if failure is not None:
                failures[node_name] = failure
                self._report(kube, {**pod, "apiVersion": "v1", "kind": "Pod"}, node_name, failure, state)
            elif now - first >= AGENT_START:
                why = denied(kube, pod)
                if why is None:
                    running.add(node_name)
                    state.denied.pop(uid, None)
                elif state.denied.get(uid) != why:
                    state.denied[uid] = why
                    stamp = self.talos.clock.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
                    kube.append_log(NS, pod["metadata"]["name"], "cilium-agent",
                                    f'time="{stamp}" level=error msg="{why}" subsys=k8s-client')
        state.seen = {u: t for u, t in state.seen.items() if u in live}
        state.denied = {u: t for u, t in state.denied.items() if u in live}
        state.running, state.failures = running, failures
        any_host = next((h for h in (self._host(cluster, n, kube_proxy, service_ip) for n in running) if h), None)
        state.services_ok = any_host is None or onhost.services_work(config, any_host)

    # --- helpers --------------------------------------------------------------------------------------------
    def _host(self, cluster: TalosCluster, node_name: str, kube_proxy: bool, service_ip: str) -> onhost.Host | None:
        node = next((n for n in cluster.nodes.values() if n.hostname == node_name), None)
        if node is None or node.config is None or not node.reachable:
            return None
        return onhost.Host(node.config.kubeprism, node.config.kubeprism_port, kube_proxy, service_ip)

    def _report(self, kube, pod: dict[str, Any], node: str, failure: onhost.Failure, state: ClusterAgents) -> None:
        uid = pod["metadata"]["uid"]
        if uid in state.reported:
            return
        state.reported.add(uid)
        path = f"spec.{'initContainers' if failure.init else 'containers'}{{{failure.container}}}"
        kube.record_event(pod, "Warning", "Failed", f"Error: {failure.message}", "kubelet", node, path)
        kube.record_event(pod, "Warning", "BackOff", f"Back-off restarting failed container {failure.container} in "
                          f"pod {pod['metadata']['name']}_{NS}({uid})", "kubelet", node, path)

    def _behaviour(self, cluster: TalosCluster, pod: dict[str, Any]) -> PodBehaviour | None:
        labels = pod["metadata"].get("labels") or {}
        state = self.clusters.get(cluster.name)
        if state is None:
            return None
        if labels.get("k8s-app") == "cilium":
            failure = state.failures.get((pod.get("spec") or {}).get("nodeName", ""))
            if failure is not None:
                return PodBehaviour(start_delay=2.0, run_for=1.0, exit_code=failure.exit_code,
                                    logs=failure.message + "\n", ready=False)
            kube = cluster.kube.cluster if cluster.kube else None
            return PodBehaviour(ready=lambda p: kube is not None and denied(kube, p) is None)
        if labels.get("k8s-app") == "kube-dns" and not state.services_ok:
            ip = (cluster.kube.cluster.try_get("services", "kubernetes", "default") or {}) \
                .get("spec", {}).get("clusterIP", "") if cluster.kube else ""
            return PodBehaviour(logs=onhost.COREDNS_ERROR.format(ip=ip) + "\n", ready=False)
        return None


def denied(kube, pod: dict[str, Any]) -> str | None:
    """What the agent logs when its ServiceAccount may not do something it needs at start; None: it may do all."""
    spec = pod.get("spec") or {}
    ns = pod["metadata"].get("namespace") or NS
    sa = spec.get("serviceAccountName") or "default"
    user = UserInfo.of(f"system:serviceaccount:{ns}:{sa}", ("system:serviceaccounts", f"system:serviceaccounts:{ns}"))
    for verb, group, resource, typ in chart.rbac_data()["cilium"]["needs"]:
        a = rbac.Attributes(verb, True, group, "", resource)
        allowed, reason = rbac.authorize(kube, user, a)
        if not allowed:
            text = rbac.forbidden(user, a, reason).message.replace('"', '\\"')
            if verb == "list":
                return f"Failed to watch {typ}: failed to list {typ}: {text}"
            return f"Unable to {verb} {typ}: {text}"
    return None
