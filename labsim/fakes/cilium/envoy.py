"""CiliumEnvoyConfig (CRD cilium.io/v2): the Envoy listener Cilium puts in front of a Service, reduced to what
decides where a request goes: the RouteConfiguration's `weighted_clusters` (or a single `cluster`) over Envoy
clusters named `<namespace>/<service>`, whose endpoints are those backend services' (EDS from Cilium, so a
global service's affinity applies). A request routed to a cluster without endpoints gets Envoy's 503
`no healthy upstream`; retries stay on the cluster the route picked.

The CRDs are registered by the operator (as cilium-operator does at start); the agents honour a CEC only with
`enable-envoy-config` (Helm `envoyConfig.enabled`). Shape: Cilium's L7 Traffic Shifting example
(Documentation/network/servicemesh/envoy-traffic-shifting.rst, envoy-helloworld-v1-90-v2-10.yaml).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from labsim.fakes.kube import KubeCluster

CEC = ("cilium.io", "ciliumenvoyconfigs")
CCEC = ("cilium.io", "ciliumclusterwideenvoyconfigs")
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"


@dataclass(frozen=True)
class Route:
    config: str                                   # the CEC's name
    clusters: tuple[tuple[str, str, int], ...]    # (namespace, service, weight)

    def pick(self, rng: random.Random) -> tuple[str, str]:
        total = sum(w for _, _, w in self.clusters)
        x = rng.uniform(0, total)
        for ns, name, w in self.clusters:
            x -= w
            if x <= 0:
                return ns, name
        return self.clusters[-1][:2]


def _clusters(route_config: dict[str, Any], default_ns: str) -> list[tuple[str, str, int]]:
    out = []
    for vh in route_config.get("virtual_hosts") or route_config.get("virtualHosts") or []:
        for r in vh.get("routes") or []:
            action = r.get("route") or {}
            wc = action.get("weighted_clusters") or action.get("weightedClusters") or {}
            entries = wc.get("clusters") or ([{"name": action["cluster"], "weight": 1}] if action.get("cluster") else [])
            for c in entries:
                ns, _, name = str(c.get("name", "")).rpartition("/")
                out.append((ns or default_ns, name, int(c.get("weight", 1) or 0)))
            if out:
                return out
    return out


def route_for(kube: KubeCluster, namespace: str, name: str) -> Route | None:
    """The Envoy route of the first CEC (or cluster-wide CEC) that redirects Service namespace/name."""
    objs = list(kube.store.items(CEC, namespace)) + list(kube.store.items(CCEC))
    for cec in objs:
        spec = cec.get("spec") or {}
        own_ns = cec["metadata"].get("namespace") or "default"
        if not any(s.get("name") == name and (s.get("namespace") or own_ns) == namespace
                   for s in spec.get("services") or []):
            continue
        for res in spec.get("resources") or []:
            if res.get("@type") == ROUTE_TYPE:
                clusters = _clusters(res, own_ns)
                if clusters:
                    return Route(cec["metadata"]["name"], tuple(clusters))
    return None
