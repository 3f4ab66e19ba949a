"""Discovery and OpenAPI, generated from the registry (so CRDs appear as soon as they are created).

- `/version`; legacy discovery `/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>` (APIVersions,
  APIGroupList, APIGroup, APIResourceList with subresources as `pods/status`, `deployments/scale`);
- aggregated discovery (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`, what
  kubectl >= 1.30 asks first; staging/src/k8s.io/api/apidiscovery/v2/types.go);
- OpenAPI v2 and v3 are generated in openapi.py.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.resources import SUBRESOURCES, ResourceType

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
BUILD = {"gitCommit": "93248f9ae092f571eb870b7664c534bfc7d00f03", "gitTreeState": "clean",
         "buildDate": "2025-09-09T19:44:50Z", "goVersion": "go1.24.6", "compiler": "gc", "platform": "linux/amd64"}


def version(cluster: KubeCluster) -> dict[str, Any]:
    major, minor = cluster.version.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
            "gitVersion": cluster.version, **BUILD}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _resource_entry(t: ResourceType) -> dict[str, Any]:
    e: dict[str, Any] = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced, "kind": t.kind,
                         "verbs": list(t.verbs)}
    if t.short_names:
        e["shortNames"] = list(t.short_names)
    if t.categories:
        e["categories"] = list(t.categories)
    e["storageVersionHash"] = _hash(f"{t.group}/{t.version}/{t.kind}")[:11] + "="
    return e


def _sub_entries(t: ResourceType) -> list[dict[str, Any]]:
    out = []
    for sub in t.subresources:
        g, v, kind, verbs = SUBRESOURCES[sub]
        e: dict[str, Any] = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced,
                             "kind": kind or t.kind, "verbs": list(verbs)}
        if g or (v and v != t.version):
            e["group"], e["version"] = g, v
        out.append(e)
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(cluster: KubeCluster, group: str) -> dict[str, Any]:
    versions = cluster.registry.groups().get(group, [])
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list(cluster: KubeCluster) -> dict[str, Any]:
    groups = [g for g in cluster.registry.groups() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(cluster, g) for g in groups]}


def api_group(cluster: KubeCluster, group: str) -> dict[str, Any] | None:
    if group not in cluster.registry.groups() or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(cluster, group)}


def resource_list(cluster: KubeCluster, group: str, version: str) -> dict[str, Any] | None:
    types = cluster.registry.in_group_version(group, version)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for t in types:
        resources.append(_resource_entry(t))
        resources.extend(_sub_entries(t))
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources}


def aggregated(cluster: KubeCluster, legacy: bool) -> dict[str, Any]:
    """APIGroupDiscoveryList for `/api` (legacy=True: the core group) or `/apis` (every named group)."""
    items = []
    for group, versions in cluster.registry.groups().items():
        if bool(group) == legacy:
            continue
        vlist = []
        for v in versions:
            res = []
            for t in cluster.registry.in_group_version(group, v):
                e: dict[str, Any] = {"resource": t.plural,
                                     "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
                                     "scope": "Namespaced" if t.namespaced else "Cluster",
                                     "singularResource": t.singular, "verbs": list(t.verbs)}
                if t.short_names:
                    e["shortNames"] = list(t.short_names)
                if t.categories:
                    e["categories"] = list(t.categories)
                subs = []
                for sub in t.subresources:
                    g, sv, kind, verbs = SUBRESOURCES[sub]
                    subs.append({"subresource": sub,
                                 "responseKind": {"group": g if (g or sv) else t.group, "version": sv or t.version,
                                                  "kind": kind or t.kind},
                                 "verbs": list(verbs)})
                if subs:
                    e["subresources"] = subs
                res.append(e)
            vlist.append({"version": v, "resources": res, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": vlist})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
