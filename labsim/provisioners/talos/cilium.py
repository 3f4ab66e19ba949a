"""Cilium as the CNI, installed with helm like the Talos guide and the Aggrik8s owners do it.

Values (siderolabs/docs deploying-cilium.mdx; aggrik8s-lab.md): IPAM from Kubernetes, kube-proxy replacement
as the lab file says (`cilium.kube_proxy_replacement`, by default when the cluster runs without kube-proxy), the API server through KubePrism (localhost:7445), the agent's
capabilities without SYS_MODULE (Talos forbids loading modules), cgroup v2 as Talos mounts it, the mesh
identity (cluster.name / cluster.id) and the clustermesh-apiserver Service the lab file asks for.
A second run that finds the release at the same chart version holding every one of these values changes nothing;
an upgrade keeps the values others set on the release (`--reuse-values`), such as the mesh provisioner's.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from labsim.provisioners.talos.context import TalosContext

REPO = ("cilium", "https://helm.cilium.io/")
RELEASE, NAMESPACE = "cilium", "kube-system"
AGENT_CAPS = ["CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_ADMIN", "SYS_RESOURCE", "DAC_OVERRIDE",
              "FOWNER", "SETGID", "SETUID"]
CLEAN_STATE_CAPS = ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"]
KUBEPRISM = ("localhost", 7445)
OPERATOR_REPLICAS = 2          # aggrik8s-lab.md: operator.replicas=2
L2_ANNOUNCEMENTS = True        # aggrik8s-lab.md: l2announcements.enabled=true


def values(lab, cluster: str) -> dict[str, Any]:
    c = lab.cluster(cluster)
    cil = c.cilium
    v: dict[str, Any] = {
        "ipam": {"mode": "kubernetes"},
        "kubeProxyReplacement": c.replaces_kube_proxy,
        "k8sServiceHost": KUBEPRISM[0], "k8sServicePort": KUBEPRISM[1],
        "securityContext": {"capabilities": {"ciliumAgent": AGENT_CAPS, "cleanCiliumState": CLEAN_STATE_CAPS}},
        "cgroup": {"autoMount": {"enabled": False}, "hostRoot": "/sys/fs/cgroup"},
        "cluster": {"name": c.cilium_name, "id": cil.cluster_id},
        "operator": {"replicas": OPERATOR_REPLICAS},
        "l2announcements": {"enabled": L2_ANNOUNCEMENTS},
    }
    mesh = lab.mesh
    if mesh is not None and cluster in mesh.clusters:
        svc: dict[str, Any] = {"type": cil.clustermesh_service_type}
        if cil.clustermesh_node_port:
            svc["nodePort"] = cil.clustermesh_node_port
        v["clustermesh"] = {"useAPIServer": True, "maxConnectedClusters": mesh.max_connected_clusters,
                            "apiserver": {"service": svc}}
    if cil.encryption != "none":
        v["encryption"] = {"enabled": True, "type": cil.encryption}
    return v


def _helm(ctx: TalosContext, kubeconfig: Path, *args: str, check: bool = True):
    return ctx.tools.run(["helm", *args, "--kubeconfig", str(kubeconfig)], check=check)


def deployed(ctx: TalosContext, kubeconfig: Path) -> tuple[str | None, dict[str, Any] | None]:
    """(chart, user values) of the deployed release, or (None, None)."""
    r = _helm(ctx, kubeconfig, "list", "-n", NAMESPACE, "-o", "json", check=False)
    rel = next((x for x in json.loads(r.stdout or "[]") if x["name"] == RELEASE), None) if r.rc == 0 else None
    if rel is None or rel.get("status") != "deployed":
        return None, None
    got = _helm(ctx, kubeconfig, "get", "values", RELEASE, "-n", NAMESPACE, "-o", "json")
    return rel["chart"], json.loads(got.stdout or "null") or {}


def install(lab, cluster: str, ctx: TalosContext, kubeconfig: Path,
            overrides: dict[str, Any] | None = None) -> str | None:
    """Install or upgrade the release when it differs: returns "installed", "upgraded" or None (unchanged).

    The release may carry values this provisioner does not own (the mesh provisioner's and `cilium clustermesh`'s:
    clustermesh.config, cacheTTL, envoyConfig, ...). The Talos values are merged over them (`--reuse-values`),
    and a release that already holds every Talos value at this chart version is left alone."""
    version = str(lab.cluster(cluster).cilium.version)
    chart, want, change = _compare(lab, cluster, ctx, kubeconfig, overrides)
    if change is None:
        return None
    path = ctx.cluster_dir(cluster) / "cilium-values.yaml"
    path.write_text(yaml.safe_dump(want, sort_keys=False))
    args = ["upgrade", "--install", RELEASE, RELEASE, "--repo", REPO[1], "--version", version,
            "--namespace", NAMESPACE, "-f", str(path)]
    if chart is not None:
        args.append("--reuse-values")
    _helm(ctx, kubeconfig, *args)
    return "installed" if chart is None else "upgraded"


def change_for(lab, cluster: str, ctx: TalosContext, kubeconfig: Path) -> str | None:
    """What the cilium release needs: "installed", "upgraded" or None (it holds every Talos value already)."""
    return _compare(lab, cluster, ctx, kubeconfig, None)[2]


def _compare(lab, cluster: str, ctx: TalosContext, kubeconfig: Path,
             overrides: dict[str, Any] | None) -> tuple[str | None, dict[str, Any], str | None]:
    """(deployed chart, the values to install, "installed" | "upgraded" | None)."""
    version = str(lab.cluster(cluster).cilium.version)
    want = values(lab, cluster)
    if overrides:
        want = _merge(want, overrides)
    want = json.loads(json.dumps(want))
    chart, have = deployed(ctx, kubeconfig)
    if have is not None and have.get("encryption", {}).get("enabled") and "encryption" not in want:
        want["encryption"] = {"enabled": False}      # the lab file turned encryption off: say so, do not keep it
    if chart == f"cilium-{version}" and have is not None and _merge(have, want) == have:
        return chart, want, None
    return chart, want, "installed" if chart is None else "upgraded"


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
