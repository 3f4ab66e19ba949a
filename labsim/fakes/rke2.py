"""The Kubernetes API of each RKE2 cluster (the piCluster): one API server per cluster, nodes from its hosts.

RKE2 runs on hosts, not VMs: a node is Ready while its host's `rke2-server` / `rke2-agent` unit runs. When
the unit stops, the kubelet stops posting status and, after the node monitor grace period, the node
controller marks Ready Unknown (kube-controller-manager `--node-monitor-grace-period`, 40 s until 1.32,
50 s from 1.32 on; the lab's RKE2 1.33 line uses 50 s).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from labsim.fakes.kube import KubeCluster, KubeServer

GRACE = 50.0   # node-monitor-grace-period (Kubernetes >= 1.32)
TICK = 10.0    # how often the world looks at the hosts' units (virtual seconds)
OS_IMAGE = "Ubuntu 24.04.3 LTS"


def _k8s_version(rke2_version: str) -> str:
    m = re.match(r"v?(\d+\.\d+\.\d+)", str(rke2_version))
    return f"v{m.group(1)}" if m else "v1.33.5"


class Rke2Face:
    def __init__(self, raw: Mapping[str, Any], machines: Mapping[str, Any], clock: Any, ca: Any, workdir: Path):
        self.clock, self.ca, self.workdir = clock, ca, Path(workdir)
        self.clusters: dict[str, KubeCluster] = {}
        self.servers: dict[str, KubeServer] = {}
        self._members: dict[str, list[tuple[str, str, Any]]] = {}   # cluster -> [(node, unit, machine)]
        self._silent_since: dict[tuple[str, str], float] = {}
        self.addresses: dict[str, dict[str, str]] = {}              # cluster -> node -> address
        hosts = {h["name"]: h for h in raw.get("hosts") or []}
        for c in raw.get("clusters") or []:
            if c.get("distribution") != "rke2":
                continue
            kube = KubeCluster(c["name"], clock, version=_k8s_version(c.get("version", "")),
                               pod_subnet=c.get("pod_subnet", "10.42.0.0/16"),
                               service_subnet=c.get("service_subnet", "10.43.0.0/16"))
            members = []
            for role, unit in (("servers", "rke2-server"), ("agents", "rke2-agent")):
                for name in (c.get("hosts") or {}).get(role) or []:
                    host = hosts.get(name, {})
                    members.append((name, unit, machines.get(name)))
                    self.addresses.setdefault(c["name"], {})[name] = str(host.get("address", ""))
                    labels = {"kubernetes.io/arch": "arm64", "beta.kubernetes.io/arch": "arm64"}
                    if role == "servers":  # RKE2 labels servers, and leaves them schedulable (no taint)
                        labels.update({"node-role.kubernetes.io/etcd": "true", "node-role.kubernetes.io/master": "true"})
                    kube.register_node(name, [("InternalIP", str(host.get("address", "")))], labels,
                                       control_plane=role == "servers", taints=[],
                                       node_info={"architecture": "arm64", "osImage": OS_IMAGE,
                                                  "kernelVersion": "6.8.0-1013-raspi",
                                                  "kubeletVersion": f"{c.get('version', '')}",
                                                  "containerRuntimeVersion": "containerd://1.7.27-k3s1"})
            self.clusters[c["name"]] = kube
            self._members[c["name"]] = members
        # Cilium where the cluster says `cni: cilium`, installed by RKE2's helm-controller (labsim/fakes/rke2_cilium.py)
        from labsim.fakes.rke2_cilium import Rke2Cilium
        self.cilium = Rke2Cilium(clock, self.clusters, dict(raw))
        if self.clusters:
            clock.call_later(TICK, self._tick)
            clock.call_later(TICK, self.cilium.tick)

    def _tick(self) -> None:
        """Nodes follow their hosts' rke2 units: silent for longer than the grace period means Unknown."""
        now = self.clock.now()
        for cname, members in self._members.items():
            kube = self.clusters[cname]
            for node, unit, machine in members:
                running = machine is None or (machine.units.get(unit) is not None and machine.units[unit].active)
                key = (cname, node)
                if running:
                    if self._silent_since.pop(key, None) is not None:
                        kube.set_node_ready(node, True)
                else:
                    since = self._silent_since.setdefault(key, now)
                    if now - since >= GRACE:
                        kube.set_node_ready(node, None)
        self.clock.call_later(TICK, self._tick)

    def running(self, cluster: str, node: str) -> bool:
        """The node's rke2 unit runs (its host is up): what the node's agents and kubelet need."""
        for name, unit, machine in self._members.get(cluster, []):
            if name == node:
                return machine is None or (machine.units.get(unit) is not None and machine.units[unit].active)
        return False

    def api_up(self, cluster: str) -> bool:
        """Some server's rke2-server runs (each serves the API)."""
        return any(self.running(cluster, n) for n, unit, _ in self._members.get(cluster, []) if unit == "rke2-server")

    def start(self) -> "Rke2Face":
        for name, kube in self.clusters.items():
            self.servers[name] = KubeServer(kube, ca=self.ca).start()
        return self

    def stop(self) -> None:
        for srv in self.servers.values():
            srv.stop()

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Per RKE2 cluster: the API server and a kubeconfig for it (client certificate from the lab CA)."""
        out = {}
        for name, srv in self.servers.items():
            path = srv.kubeconfig(self.workdir / f"kubeconfig-{name}")
            out[name] = {"host": "127.0.0.1", "port": int(srv.url.rsplit(":", 1)[1]), "url": srv.url,
                         "kubeconfig": str(path), "ca": self.ca.cert_path}
        return out
