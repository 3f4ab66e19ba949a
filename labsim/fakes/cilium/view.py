"""What one cluster's Cilium is configured with right now, read from its Kubernetes objects the way the agents
and the clustermesh-apiserver read them: `cilium-config` (name, id, max connected clusters, cache TTL, kube-proxy
replacement), the CA and the certificates the clustermesh-apiserver serves and presents, the remote clusters of
`cilium-clustermesh` / `cilium-kvstoremesh` with the addresses of their hostAliases, the clustermesh-apiserver's
Service and pods, and the agent pods by node.

Read from the object store itself (no copies) under the cluster lock; cached until the store changes.
"""
from __future__ import annotations

import base64
import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Any

import yaml

from labsim import fastyaml
from labsim.fakes.kube import KubeCluster

NS = "kube-system"
CONFIGMAPS, SECRETS = ("", "configmaps"), ("", "secrets")
SERVICES, PODS = ("", "services"), ("", "pods")
DEPLOYMENTS, DAEMONSETS = ("apps", "deployments"), ("apps", "daemonsets")


@dataclass(frozen=True)
class Remote:
    name: str
    host: str                   # the endpoint's host name
    port: int
    ips: tuple[str, ...]        # what hostAliases resolve the host to


@dataclass(frozen=True)
class Pod:
    name: str
    uid: str
    node: str
    running: bool               # Running and Ready, not terminating
    phase: str = "Pending"      # its containers answer `exec` while Running (even when terminating)


@dataclass
class View:
    name: str = "default"
    id: str = "0"
    max_clusters: int = 255
    cache_ttl: float = 0.0
    kpr: bool = False
    envoy: bool = False
    trust: frozenset[str] = frozenset()
    server_ca: str | None = None
    client_ca: str | None = None
    service_type: str | None = None
    node_port: int | None = None
    service_port: int | None = None
    lb_ips: tuple[str, ...] = ()
    kvstoremesh: bool = False
    remotes: dict[str, Remote] = field(default_factory=dict)          # what the agents connect to
    kvs_remotes: dict[str, Remote] = field(default_factory=dict)      # what KVStoreMesh connects to
    agents: dict[str, Pod] = field(default_factory=dict)              # node -> agent pod
    agent_pods: list[Pod] = field(default_factory=list)               # every agent pod (a rollout has two a node)
    apiservers: list[Pod] = field(default_factory=list)
    pod_cidr: ipaddress.IPv4Network | None = None
    configured: bool = False                                          # cilium-config exists
    version: str | None = None                                        # the agent image's tag (1.18.5)
    config: dict[str, str] = field(default_factory=dict)              # cilium-config's data


def _pem(b64: str | None) -> str | None:
    if not b64:
        return None
    try:
        return base64.b64decode(b64).decode().strip()
    except (ValueError, UnicodeDecodeError):
        return None


def _pems(text: str) -> set[str]:
    end = "-----END CERTIFICATE-----"
    return {part.strip() + "\n" + end for part in text.split(end) if "BEGIN CERTIFICATE" in part}


def _seconds(text: str) -> float:
    from labsim.fakes.tools.gofmt import parse_duration
    try:
        return parse_duration(text or "0s")
    except ValueError:
        return 0.0


def _pods(kube: KubeCluster, label: str, value: str) -> list[Pod]:
    out = []
    for p in kube.store.items(PODS, NS):
        if (p["metadata"].get("labels") or {}).get(label) != value:
            continue
        st = p.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])
        out.append(Pod(p["metadata"]["name"], p["metadata"]["uid"], (p.get("spec") or {}).get("nodeName") or "",
                       st.get("phase") == "Running" and ready and not p["metadata"].get("deletionTimestamp"),
                       st.get("phase", "Pending")))
    return out


@functools.lru_cache(maxsize=256)
def _endpoint(text: str) -> str | None:
    """A remote's first etcd endpoint (None: its config does not parse). Kept by text: every view reads every
    remote's config, and the mesh's worlds read views on every tick."""
    try:
        return (fastyaml.load(text) or {}).get("endpoints", [""])[0]
    except yaml.YAMLError:
        return None


def _remotes(kube: KubeCluster, secret: str, aliases: list[dict[str, Any]]) -> dict[str, Remote]:
    obj = kube.store.get(SECRETS, NS, secret)
    resolve: dict[str, list[str]] = {}
    for a in aliases or []:
        for h in a.get("hostnames") or []:
            resolve.setdefault(h, []).append(a.get("ip", ""))
    out = {}
    for name, raw in ((obj or {}).get("data") or {}).items():
        text = _pem(raw) or ""
        if "endpoints:" not in text:      # the agents' own check (pkg/clustermesh/internal/config.go)
            continue
        endpoint = _endpoint(text)
        if endpoint is None:
            continue
        hostport = endpoint.split("://", 1)[-1].rstrip("/")
        host, _, port = hostport.rpartition(":")
        out[name] = Remote(name, host, int(port or 2379), tuple(resolve.get(host, [])))
    return out


def _aliases(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    return ((((obj or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("hostAliases") or []


def read(kube: KubeCluster) -> View:
    cm = kube.store.get(CONFIGMAPS, NS, "cilium-config")
    v = View(pod_cidr=kube.ipam.pods)
    if cm is None:
        return v
    d = cm.get("data") or {}
    v.configured = True
    v.config = dict(d)
    v.name = d.get("cluster-name") or "default"
    v.id = d.get("cluster-id") or "0"
    v.max_clusters = int(d.get("max-connected-clusters") or 255)
    v.cache_ttl = _seconds(d.get("clustermesh-cache-ttl", "0s"))
    v.kpr = d.get("kube-proxy-replacement") == "true"
    v.envoy = d.get("enable-envoy-config") == "true"
    ca = _pem(((kube.store.get(SECRETS, NS, "cilium-ca") or {}).get("data") or {}).get("ca.crt"))
    bundle = ((kube.store.get(CONFIGMAPS, NS, "cilium-root-ca.crt") or {}).get("data") or {}).get("ca.crt", "")
    v.trust = frozenset(({ca} if ca else set()) | _pems(bundle))
    v.server_ca = _pem(((kube.store.get(SECRETS, NS, "clustermesh-apiserver-server-cert") or {}).get("data")
                        or {}).get("ca.crt"))
    v.client_ca = _pem(((kube.store.get(SECRETS, NS, "clustermesh-apiserver-remote-cert") or {}).get("data")
                        or {}).get("ca.crt"))
    svc = kube.store.get(SERVICES, NS, "clustermesh-apiserver")
    if svc is not None:
        spec = svc.get("spec") or {}
        v.service_type = spec.get("type", "ClusterIP")
        ports = spec.get("ports") or [{}]
        v.node_port = ports[0].get("nodePort")
        v.service_port = ports[0].get("port")
        v.lb_ips = tuple(i.get("ip", "") for i in ((svc.get("status") or {}).get("loadBalancer") or {})
                         .get("ingress") or [] if i.get("ip"))
    deploy = kube.store.get(DEPLOYMENTS, NS, "clustermesh-apiserver")
    containers = ((((deploy or {}).get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    v.kvstoremesh = any(c.get("name") == "kvstoremesh" for c in containers)
    ds = kube.store.get(DAEMONSETS, NS, "cilium")
    image = next((c.get("image", "") for c in ((((ds or {}).get("spec") or {}).get("template") or {}).get("spec")
                                                 or {}).get("containers") or [] if c.get("name") == "cilium-agent"), "")
    v.version = image.rsplit(":", 1)[-1].lstrip("v").split("@")[0] if ":" in image else None
    v.remotes = _remotes(kube, "cilium-clustermesh", _aliases(ds))
    v.kvs_remotes = _remotes(kube, "cilium-kvstoremesh", _aliases(deploy)) if v.kvstoremesh else {}
    v.agent_pods = _pods(kube, "k8s-app", "cilium")
    for p in v.agent_pods:   # during a rollout a node briefly has two: the running one counts
        if p.node and (p.node not in v.agents or p.running):
            v.agents[p.node] = p
    v.apiservers = _pods(kube, "k8s-app", "clustermesh-apiserver") if deploy is not None else []
    return v
