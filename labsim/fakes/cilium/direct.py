"""A mesh world built straight into Kubernetes fakes, without VMs, Talos or provisioning: for the benchmark's
16-cluster mesh and for unit tests of the mesh world, the datapath and the fake `cilium` CLI.

Each cluster is a KubeCluster with Ready nodes on its own /24 and the cilium chart's objects (rendered by the
same chart code the fake helm uses, with values like the lab's), optionally served over HTTPS with a kubeconfig
context per cluster. `connect()` writes `clustermesh.config` the way `cilium clustermesh connect` does in helm
mode. Reachability between clusters is `labsim.fakes.l3.Flat` (every host reaches every other unless cut).
"""
from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsim.fakes.cilium import chart
from labsim.fakes.cilium.layer import MeshLayer
from labsim.fakes.cilium.members import DirectMember
from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import KubeCluster
from labsim.fakes.l3 import Flat

PLURALS = {"ServiceAccount": "serviceaccounts", "Secret": "secrets", "ConfigMap": "configmaps",
           "Service": "services", "DaemonSet": "daemonsets", "Deployment": "deployments",
           "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}
VERSION = "1.18.5"


@dataclass
class Spec:
    name: str
    cluster_id: int
    nodes: int = 3
    node_port: int | None = None
    kvstoremesh: bool = True
    pod_subnet: str | None = None
    values: dict[str, Any] = field(default_factory=dict)     # more chart values (cacheTTL, ...)


def values_for(spec: Spec, index: int) -> dict[str, Any]:
    v = {"cluster": {"name": spec.name, "id": spec.cluster_id}, "ipam": {"mode": "kubernetes"},
         "kubeProxyReplacement": True, "k8sServiceHost": "localhost", "k8sServicePort": 7445,
         "cgroup": {"autoMount": {"enabled": False}, "hostRoot": "/sys/fs/cgroup"},
         "envoyConfig": {"enabled": True},
         "clustermesh": {"useAPIServer": True, "apiserver": {
             "kvstoremesh": {"enabled": spec.kvstoremesh},
             "service": {"type": "NodePort", "nodePort": spec.node_port or 30000 + index + 1}}}}
    return chart.merge(v, spec.values)


class DirectMesh:
    def __init__(self, specs: list[Spec], *, seed: int = 0, clock: VirtualClock | None = None,
                 shared_ca: bool = True, render: bool = True):
        from labsim.fakes.tools import helm_certs
        self.clock = clock or VirtualClock()
        self.network = Flat()
        self.members: dict[str, DirectMember] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self.layer = MeshLayer(self.clock, lambda: list(self.members.values()), self.network, seed=seed)
        self.servers: dict[str, Any] = {}
        shared = helm_certs.gen_ca() if shared_ca else None
        self.cas: dict[str, dict[str, str]] = {}
        for i, s in enumerate(specs):
            pods = s.pod_subnet or f"10.{100 + i}.0.0/16"
            kube = KubeCluster(s.name, self.clock, seed=seed, pod_subnet=pods, service_subnet=f"10.{200 + i % 50}.0.0/16")
            net = ipaddress.ip_network(f"192.168.{100 + i}.0/24")
            addrs = {f"{s.name}-n{k + 1}": str(net.network_address + 20 + k) for k in range(s.nodes)}
            with self.clock.lock:
                for k, (node, addr) in enumerate(addrs.items()):
                    kube.register_node(node, addresses=[("InternalIP", addr)], control_plane=k == 0,
                                       taints=[], ready=True)
            self.members[s.name] = DirectMember(s.name, kube, addrs)
            self.cas[s.name] = shared or helm_certs.gen_ca()
            self.values[s.name] = values_for(s, i)
            if render:      # else a test installs the chart itself (with the fake helm)
                self.render(s.name)
        self.layer.start()

    # --- the chart, as helm would apply it ----------------------------------------------------------------------
    def render(self, name: str) -> None:
        from labsim.fakes.tools import helm_certs
        ca = self.cas[name]
        values = chart.merge(chart.DEFAULTS, self.values[name])
        objs = chart.render(values, release="cilium", namespace="kube-system", version=VERSION, ca=ca,
                            issue=helm_certs.issuer(ca, "mesh.cilium.io"))
        kube = self.members[name].kube
        with self.clock.lock:
            for obj in objs:
                apply(kube, obj)

    def connect(self, a: str, b: str) -> None:
        """Both directions, as `cilium clustermesh connect` writes them (clusters list, chart < 1.20)."""
        for src, dst in ((a, b), (b, a)):
            entry = self._entry(dst)
            cfg = self.values[src].setdefault("clustermesh", {}).setdefault("config", {"enabled": True})
            cfg["enabled"] = True
            cfg["clusters"] = [c for c in cfg.get("clusters") or [] if c["name"] != dst] + [entry]
            self.render(src)

    def _entry(self, name: str) -> dict[str, Any]:
        m = self.members[name]
        port = self.values[name]["clustermesh"]["apiserver"]["service"]["nodePort"]
        return {"name": name, "ips": [next(iter(m.addresses.values()))], "port": port}

    def full_mesh(self) -> None:
        names = list(self.members)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                self.connect(a, b)

    # --- HTTPS faces, for the fake CLI --------------------------------------------------------------------------
    def serve(self, directory: Path, ca) -> Path:
        """Start an API server per cluster; write one kubeconfig holding every cluster's context."""
        import yaml

        from labsim.fakes.kube import KubeServer
        merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
        for name, m in self.members.items():
            srv = KubeServer(m.kube, ca=ca).start()
            self.servers[name] = srv
            m.url = srv.url
            doc = srv.kubeconfig_dict()
            for key in ("clusters", "users", "contexts"):
                merged[key] += doc[key]
        merged["current-context"] = merged["contexts"][0]["name"]
        path = Path(directory) / "kubeconfig"
        path.write_text(yaml.safe_dump(merged, sort_keys=False))
        return path

    def stop(self) -> None:
        for srv in self.servers.values():
            srv.stop()


def apply(kube: KubeCluster, obj: dict[str, Any]) -> None:
    plural = PLURALS[obj["kind"]]
    ns = obj["metadata"].get("namespace")
    cur = kube.try_get(plural, obj["metadata"]["name"], ns)
    if cur is None:
        kube.create(plural, copy.deepcopy(obj), ns)
        return
    new = copy.deepcopy(obj)
    new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
    if obj["kind"] == "Service":
        new["spec"].setdefault("clusterIP", cur["spec"].get("clusterIP"))
    kube.update(plural, new, ns)
