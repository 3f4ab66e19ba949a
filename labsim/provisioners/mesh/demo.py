"""The mesh's echo workloads (the lab file's global services, or the suite's probe services), as manifests.

- Backends: per global service, a Deployment of a small echo server in every member cluster (replicas from the
  lab file, 0 where it names none) that answers `{"cluster": <cilium name>, "pod": <pod name>}`, and the Service
  of the same name and namespace in every cluster with the global/shared/affinity annotations.
- Frontend: the canary's entry Service in every cluster, redirected by a CiliumEnvoyConfig whose route splits
  requests between global services by weight (Envoy `weighted_clusters`; Cilium's L7 traffic shifting shape).
  With the a local-affinity service at 25 and a remote-affinity one at 75, a request stays local
  25% of the time and crosses the mesh 75%; each side falls back through its affinity when the other has no
  healthy backends (the Isovalent "25%/75% with failover" canary, as domain.md 1.4 reconstructs it).
"""
from __future__ import annotations

import json
from typing import Any

ECHO_IMAGE = "hashicorp/http-echo:1.0"
PORT = 8080
GLOBAL, SHARED, AFFINITY = "service.cilium.io/global", "service.cilium.io/shared", "service.cilium.io/affinity"
MANAGED = {"app.kubernetes.io/managed-by": "labsim-mesh"}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(MANAGED)}}


def echo_deployment(name: str, ns: str, replicas: int, cilium_name: str) -> dict[str, Any]:
    text = json.dumps({"cluster": cilium_name, "pod": "$(POD_NAME)"}, separators=(",", ":"))
    labels = {"app": name, **MANAGED}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": "echo", "image": ECHO_IMAGE,
                                      "args": [f"-listen=:{PORT}", f"-text={text}"],
                                      "env": [{"name": "POD_NAME",
                                               "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                                      "ports": [{"name": "http", "containerPort": PORT}],
                                      "readinessProbe": {"httpGet": {"path": "/", "port": PORT},
                                                         "periodSeconds": 2, "failureThreshold": 1}}]}}}}


def global_service(name: str, ns: str, affinity: str, shared: bool) -> dict[str, Any]:
    ann = {GLOBAL: "true", AFFINITY: affinity}
    if not shared:
        ann[SHARED] = "false"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name, **MANAGED}, "annotations": ann},
            "spec": {"selector": {"app": name},
                     "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}]}}


def entry_service(name: str, ns: str) -> dict[str, Any]:
    """The canary's frontend: a Service without selector that the CiliumEnvoyConfig takes over."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name, **MANAGED}},
            "spec": {"ports": [{"name": "http", "port": PORT, "protocol": "TCP"}]}}


def _cluster(ns: str, svc: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": f"{ns}/{svc}",
            "connect_timeout": "5s", "lb_policy": "ROUND_ROBIN", "type": "EDS",
            "outlier_detection": {"split_external_local_origin_errors": True, "consecutive_local_origin_failure": 2}}


def envoy_config(name: str, ns: str, weights: dict[str, int]) -> dict[str, Any]:
    router = {"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
    hcm = {"name": "envoy.filters.network.http_connection_manager", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                 "HttpConnectionManager",
        "stat_prefix": f"{name}-listener", "rds": {"route_config_name": f"{name}-route"},
        "use_remote_address": True, "skip_xff_append": True, "http_filters": [router]}}
    route = {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", "name": f"{name}-route",
             "virtual_hosts": [{"name": name, "domains": ["*"], "routes": [{
                 "match": {"prefix": "/"},
                 "route": {"weighted_clusters": {"clusters": [{"name": f"{ns}/{svc}", "weight": w}
                                                              for svc, w in weights.items()]}}}]}]}
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumEnvoyConfig",
            "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED)},
            "spec": {"services": [{"name": name, "namespace": ns}],
                     "backendServices": [{"name": svc, "namespace": ns} for svc in weights],
                     "resources": [{"@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
                                    "name": f"{name}-listener", "filter_chains": [{"filters": [hcm]}]},
                                   route, *[_cluster(ns, svc) for svc in weights]]}}


CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"
NS_LABEL = "io.kubernetes.pod.namespace"
POLICY_PREFIX = "labsim-allow-"


def reached_by(lab, service: str) -> list:
    """The lab file's applications that may reach a global service: directly, or through the canary that weighs it
    (the canary's Envoy sends their requests on to its weighted services)."""
    mesh = lab.mesh
    canary = mesh.canary.name if mesh.canary and service in mesh.canary.weights else None
    return [a for a in mesh.applications if service in a.reaches or (canary and canary in a.reaches)]


def access_policy(lab, g) -> dict[str, Any]:
    """The CiliumNetworkPolicy in front of one global service's backends: ingress on its port only from the
    applications that reach it, in whichever member they run (the cluster label names every member, so the rule is
    the same whether policy-default-local-cluster is on or off: Documentation/network/clustermesh/policy.rst).
    Reached by none: `ingress: [{}]`, every connection denied."""
    members = sorted(lab.cluster(c).cilium_name for c in lab.mesh.clusters)
    peers = [{"matchLabels": {**a.pod_labels, NS_LABEL: a.namespace},
              "matchExpressions": [{"key": CLUSTER_LABEL, "operator": "In", "values": members}]}
             for a in reached_by(lab, g.name)]
    ingress = [{"fromEndpoints": peers, "toPorts": [{"ports": [{"port": str(PORT), "protocol": "TCP"}]}]}] \
        if peers else [{}]
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": POLICY_PREFIX + g.name, "namespace": g.namespace, "labels": dict(MANAGED)},
            "spec": {"description": f"{g.name}: only {', '.join(a.name for a in reached_by(lab, g.name)) or 'nobody'}"
                                    f" (mesh.applications of the lab file)",
                     "endpointSelector": {"matchLabels": {"app": g.name}}, "ingress": ingress}}


def policies(wl, lab) -> list[dict[str, Any]]:
    """The access policies of the lab file's services (none when it declares no applications, or for the suite's
    own probe services)."""
    if wl.owned or lab.mesh is None or not lab.mesh.applications:
        return []
    return [access_policy(lab, g) for g in wl.services]


def manifests(wl, lab, cluster: str) -> list[dict[str, Any]]:
    """Everything a workload (labsim/provisioners/mesh/workload.py) puts into one member cluster, in apply order."""
    cname = lab.cluster(cluster).cilium_name
    apps = {a.namespace for a in lab.mesh.applications} if lab.mesh and not wl.owned else set()
    out = [namespace(ns) for ns in sorted(set(wl.namespaces()) | apps)]
    out += policies(wl, lab)      # before the backends: they never serve a moment without their policy
    for g in wl.services:
        out.append(echo_deployment(g.name, g.namespace, int(g.replicas.get(cluster, 0)), cname))
        out.append(global_service(g.name, g.namespace, g.affinity, g.shared))
    if wl.canary is not None:
        c = wl.canary
        out.append(entry_service(c.name, c.namespace))
        out.append(envoy_config(c.name, c.namespace, dict(c.weights)))
    return out


def url(name: str, ns: str) -> str:
    return f"http://{name}.{ns}.svc.cluster.local:{PORT}/"
