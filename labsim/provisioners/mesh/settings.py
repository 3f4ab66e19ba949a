"""Each member's Cilium settings for the mesh, and the shared CA.

Settings are Helm values of the `cilium` release (the Talos provisioner installed it, labsim/provisioners/talos/cilium.py):
cluster.name/id, clustermesh.maxConnectedClusters, clustermesh.cacheTTL, the clustermesh-apiserver Service, and
envoyConfig.enabled for the canary's CiliumEnvoyConfig. They are upgraded with --reuse-values, so what `cilium
clustermesh connect` wrote (clustermesh.config) stays; nothing is written when the release already has them.

CA: as the owners do by hand, the source cluster's `cilium-ca` Secret is copied into every other member; the
next render of their chart (which reuses an existing cilium-ca) then issues the clustermesh-apiserver
certificates from it, so the upgrade is forced when the CA changed. An RKE2 member's chart is rendered by RKE2's
helm-controller, and only when its HelmChartConfig's values change: its values carry the fingerprint of the CA its
certificates were issued from (`clustermesh.apiserver.podAnnotations`, which also rolls the clustermesh-apiserver
pods onto the new certificates), so a shared CA changes the values and the certificates are issued again.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.talos.cilium import NAMESPACE, RELEASE, REPO
from labsim.provisioners.vocabulary import wait_for

# RKE2 installs Cilium itself: its packaged chart `rke2-cilium`, whose values the owner sets in the HelmChartConfig of
# the same name; RKE2's helm-controller installs every change (docs.rke2.io, networking/basic_network_options).
RKE2_RELEASE = "rke2-cilium"
CA_ANNOTATION = "mesh.labsim.dev/cilium-ca-sha256"     # the CA an RKE2 member's certificates are issued from
RKE2_TIMEOUT, RKE2_INTERVAL = 300.0, 5.0


def wanted(lab, cluster: str) -> dict[str, Any]:
    c, mesh = lab.cluster(cluster), lab.mesh
    svc: dict[str, Any] = {"type": c.cilium.clustermesh_service_type}
    if c.cilium.clustermesh_node_port:
        svc["nodePort"] = c.cilium.clustermesh_node_port
    return {"cluster": {"name": c.cilium_name, "id": c.cilium.cluster_id},
            "clustermesh": {"useAPIServer": True, "maxConnectedClusters": mesh.max_connected_clusters,
                            "cacheTTL": mesh.cache_ttl, "apiserver": {"service": svc}},
            "envoyConfig": {"enabled": True}} | ({} if mesh.policy_default_local_cluster is None else {
                "clustermesh": {"useAPIServer": True, "maxConnectedClusters": mesh.max_connected_clusters,
                                "cacheTTL": mesh.cache_ttl, "apiserver": {"service": svc},
                                "policyDefaultLocalCluster": mesh.policy_default_local_cluster}})


def subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(subset(v, have.get(k)) for k, v in want.items())
    return want == have


def deployed(ctx: MeshContext, cluster: str) -> tuple[str | None, dict[str, Any]]:
    """(chart version, user values) of the cilium release (read once per run until something writes it)."""
    if cluster not in ctx.releases:
        ctx.releases[cluster] = _read(ctx, cluster)
    return ctx.releases[cluster]


def _read(ctx: MeshContext, cluster: str) -> tuple[str | None, dict[str, Any]]:
    r = ctx.helm(cluster, "list", "-n", NAMESPACE, "-o", "json", check=False)
    rel = next((x for x in json.loads(r.stdout or "[]") if x["name"] in (RELEASE, RKE2_RELEASE)), None) \
        if r.rc == 0 else None
    if rel is None or rel.get("status") != "deployed":
        return None, {}
    got = ctx.helm(cluster, "get", "values", rel["name"], "-n", NAMESPACE, "-o", "json")
    return rel["chart"].removeprefix(f"{rel['name']}-").removeprefix("cilium-"), json.loads(got.stdout or "null") or {}


def ca_differs(lab, ctx: MeshContext) -> list[str]:
    """The members whose cilium-ca is not the CA source's (none when the lab file names no source)."""
    source = lab.mesh.ca.source if lab.mesh.ca else None
    if not source:
        return []
    src = ctx.kube(source).get("Secret", "cilium-ca", NAMESPACE)
    if src is None:
        raise RuntimeError(f"{source} has no cilium-ca Secret to share (is Cilium installed there?)")
    return [c for c in lab.mesh.clusters if c != source
            and ((ctx.kube(c).get("Secret", "cilium-ca", NAMESPACE) or {}).get("data") != src.get("data"))]


def share_ca(lab, ctx: MeshContext) -> list[str]:
    """Copy the source cluster's cilium-ca to the other members whose CA differs: the clusters changed."""
    differ = ca_differs(lab, ctx)
    if not differ:
        return []
    src = ctx.kube(lab.mesh.ca.source).get("Secret", "cilium-ca", NAMESPACE)
    changed = []
    for cluster in differ:
        kube = ctx.kube(cluster)
        cur = kube.get("Secret", "cilium-ca", NAMESPACE)
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "data": src["data"],
                "metadata": {"name": "cilium-ca", "namespace": NAMESPACE,
                             "labels": (cur or {}).get("metadata", {}).get("labels") or {},
                             "annotations": (cur or {}).get("metadata", {}).get("annotations") or {}}}
        kube.apply(body)
        changed.append(cluster)
    return changed


def ensure_repo(ctx: MeshContext) -> None:
    """The chart repository, once per run (helm's repositories.yaml is one file for every cluster)."""
    ctx.tools.run(["helm", "repo", "add", *REPO])


def apply(lab, ctx: MeshContext, cluster: str, *, force: bool = False) -> str | None:
    """Upgrade the release with the mesh settings when they differ (or `force`: re-issue certificates)."""
    version, have = deployed(ctx, cluster)
    if version is None:
        raise RuntimeError(f"{cluster} has no deployed cilium release: provision the Talos cluster first")
    want = wanted(lab, cluster)
    if lab.cluster(cluster).distribution == "rke2":
        fingerprint = ca_fingerprint(ctx, cluster)
        if fingerprint:
            want = _merge(want, {"clustermesh": {"apiserver": {"podAnnotations": {CA_ANNOTATION: fingerprint}}}})
        return _apply_rke2(ctx, cluster, want)
    if subset(want, have) and not force:
        return None
    path = Path(ctx.workdir) / f"{cluster}-mesh-values.yaml"
    path.write_text(yaml.safe_dump(want, sort_keys=False))
    ctx.releases.pop(cluster, None)
    ctx.helm(cluster, "upgrade", RELEASE, "cilium/cilium", "--version", version, "--namespace", NAMESPACE,
             "--reuse-values", "-f", str(path))
    return "re-rendered with the shared CA" if subset(want, have) else "mesh settings upgraded"


def ca_fingerprint(ctx: MeshContext, cluster: str) -> str | None:
    """The first 16 hex digits of sha256 over the member's cilium-ca certificate (never its key): which CA it has."""
    data = (ctx.kube(cluster).get("Secret", "cilium-ca", NAMESPACE) or {}).get("data") or {}
    return hashlib.sha256(data["ca.crt"].encode()).hexdigest()[:16] if data.get("ca.crt") else None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _apply_rke2(ctx: MeshContext, cluster: str, want: dict[str, Any]) -> str | None:
    """The RKE2 way: the mesh settings merged into the `rke2-cilium` HelmChartConfig (a `helm upgrade` would be
    undone by helm-controller at its next install), then wait until helm-controller has installed them.
    `want` carries the fingerprint of the member's cilium-ca (`apply`): a CA shared since the last install changes
    the values, so helm-controller renders the chart again and issues the certificates from it."""
    kube = ctx.kube(cluster)
    cfg = kube.get("HelmChartConfig", RKE2_RELEASE, NAMESPACE)
    current = fastyaml.load(((cfg or {}).get("spec") or {}).get("valuesContent") or "") or {}
    if subset(want, current):
        return None
    kube.apply({"apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig",
                "metadata": {"name": RKE2_RELEASE, "namespace": NAMESPACE},
                "spec": {"valuesContent": yaml.safe_dump(_merge(current, want), sort_keys=False)}})
    ctx.releases.pop(cluster, None)

    def installed() -> bool:
        return subset(want, _read(ctx, cluster)[1])
    wait_for(installed, RKE2_TIMEOUT, RKE2_INTERVAL, ctx.clock,
             what=f"RKE2's helm-controller to install the mesh settings of {cluster}")
    return "mesh settings written to the rke2-cilium HelmChartConfig"


def add_remote(lab, ctx: MeshContext, cluster: str, name: str, ips: list[str], port: int) -> None:
    """`name` (a remote's Cilium name) at `ips`:`port` in the cluster's clustermesh.config.clusters, as `cilium
    clustermesh connect` writes it (a list before chart 1.20, a map after), keeping the other entries."""
    version, have = deployed(ctx, cluster)
    if version is None:
        raise RuntimeError(f"{cluster} has no deployed cilium release")
    raw = ((have.get("clustermesh") or {}).get("config") or {}).get("clusters") or []
    entries = [dict(e) for e in raw if e.get("name") != name] if isinstance(raw, list) else \
        [{"name": k, **v} for k, v in raw.items() if k != name]
    entries.append({"name": name, "ips": ips, "port": port})
    if tuple(int(x) for x in version.split(".")[:2]) >= (1, 20):      # the chart's map form from 1.20 on
        entries = {e["name"]: {k: v for k, v in e.items() if k != "name"} for e in entries}
    want = {"clustermesh": {"config": {"enabled": True, "clusters": entries}}}
    if lab.cluster(cluster).distribution == "rke2":
        _apply_rke2(ctx, cluster, want)
        return
    path = Path(ctx.workdir) / f"{cluster}-mesh-remotes.yaml"
    path.write_text(yaml.safe_dump(want, sort_keys=False))
    ctx.releases.pop(cluster, None)
    ctx.helm(cluster, "upgrade", RELEASE, "cilium/cilium", "--version", version, "--namespace", NAMESPACE,
             "--reuse-values", "-f", str(path))
