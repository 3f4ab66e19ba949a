"""Global services as Cilium reads them from one cluster's Kubernetes: the annotations (pkg/annotation, with the
old `io.cilium/` aliases), the backends of a Service from its EndpointSlices, and what a cluster exports to the
mesh (its global, shared services with their ready backends, as the clustermesh-apiserver publishes them).

Backend states follow Cilium's EndpointSlice parsing: a ready endpoint is Active, a terminating one that still
serves is Terminating, anything else is left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labsim.fakes.cilium import texts as T
from labsim.fakes.kube import KubeCluster

SLICES = ("discovery.k8s.io", "endpointslices")
SERVICES = ("", "services")
ACTIVE, TERMINATING = "active", "terminating"
AFFINITIES = ("", "none", "local", "remote")


@dataclass(frozen=True)
class Flags:
    is_global: bool = False
    shared: bool = False
    affinity: str = "none"
    error: str | None = None      # an unrecognized affinity, as the agent logs it


@dataclass(frozen=True)
class Backend:
    cluster: str                  # the member (cluster) whose pod this is
    namespace: str
    pod: str
    ip: str
    port: int
    node: str
    state: str = ACTIVE
    unhealthy: bool = False
    remote: bool = False          # learnt through the mesh (source ClusterMesh)


def _get(annotations: dict[str, str], names: tuple[str, str]) -> str | None:
    for n in names:
        if n in annotations:
            return annotations[n]
    return None


def flags(service: dict[str, Any]) -> Flags:
    """GetAnnotationIncludeExternal / GetAnnotationShared / GetAnnotationServiceAffinity."""
    ann = (service.get("metadata") or {}).get("annotations") or {}
    g = (_get(ann, T.GLOBAL) or "").lower() == "true"
    if not g:
        return Flags()
    shared_raw = _get(ann, T.SHARED)
    shared = True if shared_raw is None else shared_raw.lower() == "true"
    raw = _get(ann, T.AFFINITY)
    aff = (raw or "").lower()
    if aff not in AFFINITIES:
        return Flags(True, shared, "none", T.BAD_AFFINITY.format(value=raw))
    return Flags(True, shared, aff or "none")


def service(kube: KubeCluster, namespace: str, name: str) -> dict[str, Any] | None:
    return kube.store.get(SERVICES, namespace, name)


def local_backends(member: str, kube: KubeCluster, namespace: str, name: str) -> list[Backend]:
    """The Service's backends from its EndpointSlices (the agent's own cluster: no mesh involved)."""
    out = []
    for sl in kube.store.items(SLICES, namespace):
        if (sl["metadata"].get("labels") or {}).get("kubernetes.io/service-name") != name:
            continue
        port = next((p.get("port") for p in sl.get("ports") or [] if p.get("port")), 0)
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            if cond.get("ready"):
                state = ACTIVE
            elif cond.get("terminating") and cond.get("serving"):
                state = TERMINATING
            else:
                continue
            ref = ep.get("targetRef") or {}
            for ip in ep.get("addresses") or []:
                out.append(Backend(member, namespace, ref.get("name", ""), ip, int(port or 0),
                                   ep.get("nodeName", ""), state))
    return out


def exports(member: str, kube: KubeCluster) -> dict[tuple[str, str], tuple[Backend, ...]]:
    """What this cluster publishes to the mesh: (namespace, name) -> its Active backends, for every Service that
    is global and shared."""
    out = {}
    for svc in kube.store.items(SERVICES):
        f = flags(svc)
        if not (f.is_global and f.shared):
            continue
        md = svc["metadata"]
        bes = local_backends(member, kube, md["namespace"], md["name"])
        out[(md["namespace"], md["name"])] = tuple(
            Backend(b.cluster, b.namespace, b.pod, b.ip, b.port, b.node, ACTIVE, remote=True)
            for b in bes if b.state == ACTIVE)
    return out
