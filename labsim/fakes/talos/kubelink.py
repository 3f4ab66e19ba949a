"""The one place the Talos world touches a cluster's Kubernetes (labsim.fakes.kube): the API server that comes up
when the cluster is bootstrapped, the Node each kubelet registers, and the API going away with etcd quorum.

While etcd has no quorum the API server still listens (the kubeconfig's loopback URL keeps answering), but
every request fails as kube-apiserver's do when etcd cannot commit: `etcdserver: request timed out`
(inferred: the text kube-apiserver relays from etcd; the real VIP would not answer at all).
"""
from __future__ import annotations

import base64
from typing import Any

import yaml

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import KubeCluster, PodBlocked, no_cni_admission
from labsim.fakes.kube.auth import ServiceAccountKeys
from labsim.fakes.pki import CA
from labsim.fakes.kube.faults import HttpFault

NO_QUORUM = (500, "etcdserver: request timed out")


class KubeLink:
    def __init__(self, name: str, clock: VirtualClock, *, version: str, seed: int, pod_subnet: str,
                 service_subnet: str, ca, cni_ready, sa_key: str = ""):
        keys = ServiceAccountKeys.from_pem(base64.b64decode(sa_key)) if sa_key else None
        self.cluster = KubeCluster(name, clock, version=f"v{version.lstrip('v')}", seed=seed,
                                   pod_subnet=pod_subnet, service_subnet=service_subnet, sa_keys=keys)
        self.ca = ca
        self.server = None
        self._outage: HttpFault | None = None
        self._cni_ready = cni_ready
        self._boots: dict[str, int] = {}      # node name -> the Talos boot its kubelet last reported from
        self.cluster.pod_admission.append(self._admission)

    @staticmethod
    def cluster_ca(cfg, name: str) -> CA:
        """The cluster's own Kubernetes CA: its machine configuration's `cluster.ca` (what `talosctl gen
        secrets` made), so only that cluster's kubeconfigs are trusted by, and trust, its API server."""
        if cfg is not None and cfg.kube_ca and cfg.kube_ca_key:
            try:
                return CA.from_pem(base64.b64decode(cfg.kube_ca), base64.b64decode(cfg.kube_ca_key))
            except ValueError:
                pass
        return CA.generate(f"kubernetes {name}")

    def start(self) -> None:
        from labsim.fakes.kube import KubeServer
        self.server = KubeServer(self.cluster, ca=self.ca, host="127.0.0.1").start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.ca.cleanup()

    @property
    def url(self) -> str:
        return self.server.url if self.server is not None else ""

    def kubeconfig(self, cluster: str, endpoint: str) -> str:
        """The admin kubeconfig as `talosctl kubeconfig` writes it (data embedded, context admin@<cluster>).
        One deviation: `server` is this loopback API server, not the cluster endpoint (kept in the header)."""
        issued = self.ca.issue_client_cert("admin", ["system:masters"])
        ctx = f"admin@{cluster}"
        b64 = lambda data: base64.b64encode(data).decode()
        doc = {"apiVersion": "v1", "kind": "Config",
               "clusters": [{"name": cluster, "cluster": {"server": self.url,
                                                          "certificate-authority-data": b64(self.ca.cert_pem)}}],
               "contexts": [{"name": ctx, "context": {"cluster": cluster, "namespace": "default", "user": ctx}}],
               "current-context": ctx,
               "users": [{"name": ctx, "user": {"client-certificate-data": b64(issued.cert_pem),
                                                "client-key-data": b64(issued.key_pem)}}]}
        head = (f"# cluster endpoint: {endpoint} (the simulated lab serves this cluster's API on {self.url})\n")
        return head + yaml.safe_dump(doc, sort_keys=False)

    # --- availability -------------------------------------------------------------------------------------------
    def set_available(self, up: bool) -> None:
        faults = self.cluster.faults
        if not up and self._outage is None:
            faults.http_error(".", NO_QUORUM[0], NO_QUORUM[1], times=None)
            self._outage = faults.http[-1]
        elif up and self._outage is not None:
            with faults._lock:
                if self._outage in faults.http:
                    faults.http.remove(self._outage)
            self._outage = None

    # --- nodes ---------------------------------------------------------------------------------------------------
    def has_node(self, name: str) -> bool:
        with self.cluster.lock:
            return self.cluster.live("nodes", name) is not None

    def register(self, name: str, address: str, *, control_plane: bool, labels: dict[str, str],
                 taints: list[dict[str, str]], capacity: dict[str, str], ready: bool, os_image: str) -> None:
        self.cluster.register_node(name, addresses=[("InternalIP", address)], labels=labels, capacity=capacity,
                                   taints=taints, control_plane=control_plane, ready=ready,
                                   node_info={"osImage": os_image})

    def kubelet_reports(self, name: str, boot: int) -> None:
        """The kubelet of `name` reports from Talos boot `boot`. After a reboot it reports a new boot ID, and
        the kubelet records the reboot on its Node (pkg/kubelet/nodestatus/setters.go MachineInfo): a Warning
        `Rebooted`, "Node <name> has been rebooted, boot id: <id>"."""
        last = self._boots.get(name)
        self._boots[name] = boot
        if last is None or last == boot:
            return
        with self.cluster.lock:
            node = self.cluster.try_get("nodes", name)
            if node is None:
                return
            boot_id = self.cluster.new_uid()
            node["status"].setdefault("nodeInfo", {})["bootID"] = boot_id
            self.cluster.put_status("nodes", node)
            self.cluster.record_event(node, "Warning", "Rebooted", f"Node {name} has been rebooted, boot id: {boot_id}",
                                      "kubelet", name)

    def node_ready(self, name: str) -> bool | None:
        with self.cluster.lock:     # read in place: every reconcile tick asks, for every node
            node = self.cluster.live("nodes", name)
            conditions = list(((node or {}).get("status") or {}).get("conditions") or [])
        for c in conditions:
            if c.get("type") == "Ready":
                return {"True": True, "False": False}.get(c.get("status"))
        return None

    def set_ready(self, name: str, ready: bool | None) -> None:
        if self.has_node(name) and self.node_ready(name) is not ready:
            self.cluster.set_node_ready(name, ready)

    def bootstrap(self, control_planes: list[str], kube_proxy: bool) -> None:
        self.cluster.bootstrap_control_plane(control_planes, kube_proxy=kube_proxy)

    def pods_on(self, node: str) -> list[dict[str, Any]]:
        """The pods scheduled on `node` (copies), as its kubelet and CRI know them (`talosctl containers -k`)."""
        return [p for p in self.cluster.list("pods") if (p.get("spec") or {}).get("nodeName") == node]

    def _admission(self, pod: dict[str, Any], node: dict[str, Any]) -> PodBlocked | None:
        return None if self._cni_ready(node["metadata"]["name"]) else no_cni_admission(pod, node)
