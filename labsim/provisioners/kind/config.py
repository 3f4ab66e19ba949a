"""kind cluster configs and Cilium Helm values for the kind tier, generated from the lab file.

One kind cluster per mesh member, shaped like Cilium's own ClusterMesh CI (cilium/cilium
.github/kind-config.yaml.tmpl and workflows/conformance-clustermesh.yaml): a control plane without
taints and two workers, no default CNI (`disableDefaultCNI: true`), kube-proxy off when the lab's
cluster runs without it (`kubeProxyMode: none`), and the cluster's own pod and service CIDRs from the
lab file, which the mesh needs distinct. Cilium gets the cluster's name and id, ClusterMesh through the
clustermesh-apiserver on a NodePort distinct per cluster (Cilium CI pins them to avoid #24692).
"""
from __future__ import annotations

from ipaddress import IPv4Network
from itertools import combinations
from typing import Any

from labsim.provisioners.lab.model import Lab

KIND_API = "kind.x-k8s.io/v1alpha4"
TAINTLESS_CONTROL_PLANE = ("apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n"
                           "nodeRegistration:\n  taints: []\n")


def kind_name(lab: Lab, cluster: str) -> str:
    """kind cluster names are lower-case; Cilium's cluster name already is (checked by the intent checks)."""
    return lab.cluster(cluster).cilium_name.lower()


def mesh_clusters(lab: Lab) -> list[str]:
    if lab.mesh is None or len(lab.mesh.clusters) < 2:
        raise ValueError(f"lab {lab.lab.name} has no mesh of two or more clusters to build with kind")
    return list(lab.mesh.clusters)


def kind_config(lab: Lab, cluster: str, workers: int = 2) -> dict[str, Any]:
    c = lab.cluster(cluster)
    return {
        "kind": "Cluster", "apiVersion": KIND_API, "name": kind_name(lab, cluster),
        "nodes": [{"role": "control-plane", "kubeadmConfigPatches": [TAINTLESS_CONTROL_PLANE]}]
                 + [{"role": "worker"} for _ in range(workers)],
        "networking": {"disableDefaultCNI": True, "ipFamily": "ipv4", "podSubnet": str(c.pod_subnet),
                       "serviceSubnet": str(c.service_subnet), "kubeProxyMode": "iptables" if c.kube_proxy else "none"},
    }


def cilium_values(lab: Lab, cluster: str) -> dict[str, Any]:
    c = lab.cluster(cluster)
    if c.cilium is None:
        raise ValueError(f"cluster {cluster} has no cilium section")
    name = kind_name(lab, cluster)
    values: dict[str, Any] = {
        "cluster": {"name": c.cilium_name, "id": c.cilium.cluster_id},
        "ipam": {"mode": "kubernetes"},
        "kubeProxyReplacement": c.replaces_kube_proxy,
        "operator": {"replicas": 1},
        "clustermesh": {
            "useAPIServer": True,
            "maxConnectedClusters": lab.mesh.max_connected_clusters if lab.mesh else 255,
            "apiserver": {"service": {"type": c.cilium.clustermesh_service_type}},
        },
    }
    if not c.kube_proxy:   # without kube-proxy Cilium must find the API server itself (the kind control plane)
        values["k8sServiceHost"] = f"{name}-control-plane"
        values["k8sServicePort"] = 6443
    if c.cilium.clustermesh_node_port:
        values["clustermesh"]["apiserver"]["service"]["nodePort"] = c.cilium.clustermesh_node_port
    return values


def problems(lab: Lab) -> list[str]:
    """What would make the kind mesh fail before it starts: shared CIDRs, ids or node ports."""
    out = []
    names = mesh_clusters(lab)
    cs = [lab.cluster(n) for n in names]
    for a, b in combinations(cs, 2):
        for field in ("pod_subnet", "service_subnet"):
            x, y = getattr(a, field), getattr(b, field)
            if isinstance(x, IPv4Network) and x.overlaps(y):
                out.append(f"{a.name} and {b.name} share {field} ({x}, {y}): kind clusters of one mesh need distinct CIDRs")
        if a.cilium and b.cilium:
            if a.cilium.cluster_id == b.cilium.cluster_id:
                out.append(f"{a.name} and {b.name} have the same Cilium cluster id {a.cilium.cluster_id}")
            if a.cilium.clustermesh_node_port and a.cilium.clustermesh_node_port == b.cilium.clustermesh_node_port:
                out.append(f"{a.name} and {b.name} use the same clustermesh NodePort {a.cilium.clustermesh_node_port}")
    out += [f"{c.name} has no cilium section" for c in cs if c.cilium is None]
    return out
