"""What a freshly bootstrapped Talos cluster holds (siderolabs/talos internal/app/machined/pkg/controllers/k8s:
static pods rendered by the control-plane controllers, and the bootstrap manifests: CoreDNS and kube-proxy),
so health checks that read Nodes, static pods, kube-proxy and CoreDNS find what they find on a real one.

Static pods are mirror pods: `kube-apiserver-<node>` etc. in kube-system, owned by their Node, labelled
`k8s-app`, `component` and `tier=control-plane`, annotated `kubernetes.io/config.mirror`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.meta import owner_ref
from labsim.fakes.kube.nodes import internal_ip

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

COREFILE = """.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    log . {
        class error
    }
    prometheus :9153

    kubernetes %(domain)s in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
        denial 9984 30
    }
    loop
    reload
    loadbalance
}
"""

COMPONENTS = {
    "kube-apiserver": ("registry.k8s.io/kube-apiserver", 6443),
    "kube-controller-manager": ("registry.k8s.io/kube-controller-manager", 10257),
    "kube-scheduler": ("registry.k8s.io/kube-scheduler", 10259),
}


def _ensure(cluster: KubeCluster, resource: str, obj: dict[str, Any], namespace: str | None = None) -> dict:
    name = obj["metadata"]["name"]
    found = cluster.try_get(resource, name, namespace)
    return found if found is not None else cluster.create(resource, obj, namespace)


def static_pod(cluster: KubeCluster, component: str, node: dict[str, Any]) -> dict[str, Any]:
    image, port = COMPONENTS[component]
    nname = node["metadata"]["name"]
    digest = cluster.new_uid().replace("-", "")
    return {
        "metadata": {
            "name": f"{component}-{nname}", "namespace": "kube-system",
            "labels": {"k8s-app": component, "component": component, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.hash": digest, "kubernetes.io/config.mirror": digest,
                            "kubernetes.io/config.seen": cluster.clock.utcnow().isoformat().replace("+00:00", "Z"),
                            "kubernetes.io/config.source": "file", "talos.dev/config-version": "1"},
            "ownerReferences": [owner_ref(node, controller=True)],
        },
        "spec": {
            "nodeName": nname, "hostNetwork": True, "priorityClassName": "system-cluster-critical",
            "priority": 2000001000 if component == "kube-apiserver" else 2000000000,
            "containers": [{"name": component, "image": f"{image}:{cluster.version}",
                            "command": [f"/usr/local/bin/{component}"],
                            "ports": [{"containerPort": port, "hostPort": port, "name": "https" if port == 6443
                                       else "metrics", "protocol": "TCP"}]}],
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534},
        },
    }


def bootstrap_control_plane(cluster: KubeCluster, nodes: list[str], *, kube_proxy: bool = True,
                            coredns_replicas: int = 2, dns_ip: str | None = None,
                            coredns_image: str = "registry.k8s.io/coredns/coredns:v1.12.4") -> None:
    """Create the bootstrap content for control-plane nodes `nodes` (already registered). Idempotent."""
    with cluster.lock:
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            _ensure(cluster, "namespaces", {"metadata": {"name": ns}})
        addrs = []
        for n in nodes:
            node = cluster.get("nodes", n)
            for comp in COMPONENTS:
                _ensure(cluster, "pods", static_pod(cluster, comp, node), "kube-system")
            ip = internal_ip(node)
            if ip:
                addrs.append(ip)
        if addrs:
            ep = {"metadata": {"name": "kubernetes", "namespace": "default",
                               "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                  "subsets": [{"addresses": [{"ip": ip} for ip in sorted(addrs)],
                               "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}
            cur = cluster.try_get("endpoints", "kubernetes", "default")
            if cur is None:
                cluster.create("endpoints", ep, "default")
            else:
                cur["subsets"] = ep["subsets"]
                cluster.update("endpoints", cur, "default")
            sl = {"metadata": {"name": "kubernetes", "namespace": "default",
                               "labels": {"kubernetes.io/service-name": "kubernetes"}},
                  "addressType": "IPv4",
                  "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in sorted(addrs)],
                  "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
            cur = cluster.try_get("endpointslices", "kubernetes", "default")
            if cur is None:
                cluster.create("endpointslices", sl, "default")
            else:
                cur["endpoints"] = sl["endpoints"]
                cluster.update("endpointslices", cur, "default")
        _coredns(cluster, coredns_replicas, dns_ip or cluster.ipam.service_ip(10), coredns_image)
        if kube_proxy:
            _kube_proxy(cluster)


def _coredns(cluster: KubeCluster, replicas: int, dns_ip: str, image: str) -> None:
    labels = {"k8s-app": "kube-dns"}
    _ensure(cluster, "serviceaccounts", {"metadata": {"name": "coredns"}}, "kube-system")
    _ensure(cluster, "configmaps", {"metadata": {"name": "coredns"},
                                    "data": {"Corefile": COREFILE % {"domain": cluster.cluster_domain}}},
            "kube-system")
    _ensure(cluster, "deployments.apps", {
        "metadata": {"name": "coredns", "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                    "dnsPolicy": "Default", "nodeSelector": {"kubernetes.io/os": "linux"},
                    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                     "effect": "NoSchedule"},
                                    {"key": "CriticalAddonsOnly", "operator": "Exists"}],
                    "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": [
                            {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                            "topologyKey": "kubernetes.io/hostname"}}]}},
                    "containers": [{
                        "name": "coredns", "image": image, "args": ["-conf", "/etc/coredns/Corefile"],
                        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}],
                        "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"}},
                        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                                          "initialDelaySeconds": 60},
                        "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
                    }],
                    "volumes": [{"name": "config-volume", "configMap": {"name": "coredns", "items": [
                        {"key": "Corefile", "path": "Corefile"}]}}],
                },
            },
        },
    }, "kube-system")
    _ensure(cluster, "services", {
        "metadata": {"name": "kube-dns", "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                                    "kubernetes.io/name": "CoreDNS"},
                     "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
        "spec": {"selector": dict(labels), "clusterIP": dns_ip,
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                           {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
    }, "kube-system")


def _kube_proxy(cluster: KubeCluster) -> None:
    labels = {"k8s-app": "kube-proxy"}
    _ensure(cluster, "serviceaccounts", {"metadata": {"name": "kube-proxy"}}, "kube-system")
    _ensure(cluster, "daemonsets.apps", {
        "metadata": {"name": "kube-proxy", "labels": {"k8s-app": "kube-proxy", "tier": "node"}},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": {"k8s-app": "kube-proxy", "tier": "node"}},
                "spec": {
                    "hostNetwork": True, "priorityClassName": "system-node-critical",
                    "serviceAccountName": "kube-proxy", "tolerations": [{"operator": "Exists"}],
                    "containers": [{
                        "name": "kube-proxy", "image": f"registry.k8s.io/kube-proxy:{cluster.version}",
                        "command": ["/usr/local/bin/kube-proxy", "--cluster-cidr=" + str(cluster.ipam.pods),
                                    "--hostname-override=$(NODE_NAME)", "--proxy-mode=iptables"],
                        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                                 "fieldPath": "spec.nodeName"}}}],
                        "securityContext": {"privileged": True},
                    }],
                },
            },
        },
    }, "kube-system")
