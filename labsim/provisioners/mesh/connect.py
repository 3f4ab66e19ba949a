"""Enable and connect the mesh with the `cilium` CLI, as the owners do, and read `cilium clustermesh status`.

A pair is connected already when each side's release values list the other with the address and port
`connect` would write now (the first node's IP and the clustermesh-apiserver NodePort): then nothing is run.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.mesh import settings
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.mesh.workload import pairs
from labsim.provisioners.talos.cilium import NAMESPACE

WAIT = "5m"




def enabled(values: dict[str, Any], service_type: str) -> bool:
    api = (values.get("clustermesh") or {})
    svc = ((api.get("apiserver") or {}).get("service") or {})
    return bool(api.get("useAPIServer")) and svc.get("type", "NodePort") == service_type


def is_enabled(lab, ctx: MeshContext, cluster: str) -> bool:
    """The clustermesh-apiserver is enabled as the lab file asks, and its Service exists."""
    _, values = settings.deployed(ctx, cluster)
    return enabled(values, lab.cluster(cluster).cilium.clustermesh_service_type) and \
        ctx.kube(cluster).get("Service", "clustermesh-apiserver", NAMESPACE) is not None


def enable(lab, ctx: MeshContext, cluster: str) -> bool:
    kind = lab.cluster(cluster).cilium.clustermesh_service_type
    if is_enabled(lab, ctx, cluster):
        return False
    ctx.releases.pop(cluster, None)
    ctx.cilium(cluster, "clustermesh", "enable", "--service-type", kind)
    return True


def _entries(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = ((values.get("clustermesh") or {}).get("config") or {}).get("clusters") or {}
    if isinstance(raw, list):
        return {c.get("name"): c for c in raw}
    return {k: {**v, "name": k} for k, v in raw.items()}


def access(lab, ctx: MeshContext, cluster: str) -> tuple[list[str], int]:
    """What `connect` would record for this cluster: the first node's address and the NodePort, or the
    LoadBalancer's addresses and port."""
    kube = ctx.kube(cluster)
    svc = kube.get("Service", "clustermesh-apiserver", NAMESPACE) or {}
    port = ((svc.get("spec") or {}).get("ports") or [{}])[0]
    if (svc.get("spec") or {}).get("type") == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return [i["ip"] for i in ingress if i.get("ip")], int(port.get("port") or 2379)
    nodes = kube.core.list_node(_request_timeout=30).items
    ips = []
    for n in nodes:
        addrs = {a.type: a.address for a in n.status.addresses or []}
        ip = addrs.get("ExternalIP") or addrs.get("InternalIP")
        if ip:
            ips = [ip]
            break
    return ips, int(port.get("nodePort") or port.get("port") or 2379)


def connected(lab, ctx: MeshContext, a: str, b: str) -> bool:
    for x, y in ((a, b), (b, a)):
        _, values = settings.deployed(ctx, x)
        entry = _entries(values).get(lab.cluster(y).cilium_name)
        ips, port = access(lab, ctx, y)
        if entry is None or list(entry.get("ips") or []) != ips or int(entry.get("port") or 0) != port:
            return False
    return True


def connect(lab, ctx: MeshContext, a: str, b: str) -> bool:
    if connected(lab, ctx, a, b):
        return False
    if "rke2" in (lab.cluster(a).distribution, lab.cluster(b).distribution):
        # `cilium clustermesh connect` upgrades one release name (--helm-release-name) in both contexts, and an RKE2
        # member's is rke2-cilium, kept by helm-controller: each side gets the other's entry in its values instead
        # (clustermesh.config.clusters, what connect itself writes there).
        for x, y in ((a, b), (b, a)):
            ips, port = access(lab, ctx, y)
            settings.add_remote(lab, ctx, x, lab.cluster(y).cilium_name, ips, port)
        return True
    args = ["clustermesh", "connect", "--destination-context", ctx.context(b)]
    ca = lab.mesh.ca
    if ca is None or not ca.source or ca.allow_mismatching:
        args.append("--allow-mismatching-ca")
    ctx.releases.pop(a, None)
    ctx.releases.pop(b, None)
    ctx.cilium(a, *args)
    return True


# --- status -------------------------------------------------------------------------------------------------------------
@dataclass
class Status:
    cluster: str
    rc: int
    text: str                                  # the summary output (or the error)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def connectivity(self) -> dict[str, Any]:
        return self.data.get("connectivity") or {}

    def all_connected(self, remotes: list[str]) -> bool:
        c = self.connectivity
        total = int(c.get("total") or 0)
        clusters = c.get("clusters") or {}
        return self.rc == 0 and total > 0 and not c.get("not_ready") and all(
            int((clusters.get(r) or {}).get("connected") or 0) == total for r in remotes)

    def errors(self) -> list[str]:
        """The `❌ <pod> is not connected to cluster <c>: <err>` lines of the summary."""
        return [line.strip().removeprefix("❌ ")
                for line in self.text.splitlines() if "is not connected to cluster" in line]


def status(ctx: MeshContext, cluster: str, *, wait: str | None = None, with_json: bool = True) -> Status:
    args = ["clustermesh", "status"] + (["--wait", "--wait-duration", wait] if wait else [])
    text = ctx.cilium(cluster, *args, check=False)
    if not with_json:
        return Status(cluster, text.rc, text.output)
    js = ctx.cilium(cluster, "clustermesh", "status", "-o", "json", check=False)
    try:
        data = json.loads(js.stdout) if js.rc == 0 else {}
    except ValueError:
        data = {}
    data.get("access_information", {}).pop("client_key", None)    # evidence carries no private keys
    return Status(cluster, text.rc, text.output, data)


def remotes_of(lab, cluster: str) -> list[str]:
    names = []
    for a, b in pairs(lab):
        if cluster in (a, b):
            names.append(lab.cluster(b if a == cluster else a).cilium_name)
    return names
