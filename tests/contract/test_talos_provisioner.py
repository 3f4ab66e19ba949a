"""The Talos provisioner's Cilium step against the fake helm, with the release's values changed by others since.

The mesh provisioner (labsim/provisioners/mesh/settings.py) and `cilium clustermesh enable` upgrade the same `cilium`
release with --reuse-values: cluster mesh settings the Talos values do not carry (clustermesh.config,
clustermesh.cacheTTL, envoyConfig, the clustermesh-apiserver's TLS). Re-running Talos provisioning must keep them:
no write at all when the release already holds every Talos value, and an upgrade that merges over them when a
Talos value changed.
"""
from __future__ import annotations

import json
import os

import pytest
import yaml

from labsim.provisioners.talos import run as T
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.talos.context import TalosContext
from tests.unit.talos_world import TalosLab

CLUSTER = "talos-east"
MESH_VALUES = {"clustermesh": {"cacheTTL": "15m"}, "envoyConfig": {"enabled": True}}   # what the mesh step sets


@pytest.fixture(scope="module")
def talos(tmp_path_factory):
    lab = TalosLab()
    work = tmp_path_factory.mktemp("talos")
    env = {**os.environ, **lab.sim.talos.tool_env(), "HELM_CONFIG_HOME": str(work / "helm")}
    tools = Tools(env=env, cwd=work)
    ctx = TalosContext(tools, lab.clock, lab.prox, work)
    first = T.provision(lab.lab, CLUSTER, ctx)
    assert first.cilium == "installed" and first.bootstrapped
    yield lab, ctx
    lab.stop()


def _helm(ctx: TalosContext, *args: str):
    return ctx.tools.run(["helm", *args, "--kubeconfig", str(ctx.cluster_dir(CLUSTER) / "kubeconfig")])


def _release(ctx: TalosContext) -> tuple[str, dict]:
    rel = next(r for r in json.loads(_helm(ctx, "list", "-n", "kube-system", "-o", "json").stdout)
               if r["name"] == "cilium")
    values = json.loads(_helm(ctx, "get", "values", "cilium", "-n", "kube-system", "-o", "json").stdout)
    return rel["revision"], values


def test_a_rerun_after_the_mesh_settings_keeps_them_and_writes_nothing(talos, tmp_path):
    lab, ctx = talos
    kubeconfig = str(ctx.cluster_dir(CLUSTER) / "kubeconfig")
    enable = ctx.tools.run(["cilium", "--kubeconfig", kubeconfig, "clustermesh", "enable", "--service-type",
                            "NodePort"])
    assert enable.rc == 0
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(MESH_VALUES))
    _helm(ctx, "upgrade", "cilium", "cilium", "--repo", "https://helm.cilium.io/", "--version", "1.18.5",
          "--namespace", "kube-system", "--reuse-values", "-f", str(tmp_path / "mesh.yaml"))
    revision, meshed = _release(ctx)
    assert meshed["clustermesh"]["config"]["enabled"] is True and meshed["clustermesh"]["cacheTTL"] == "15m"

    ctx.tools.transcript.clear()
    again = T.provision(lab.lab, CLUSTER, ctx)
    assert again.changes == [], again.changes
    writes = [line for line in ctx.tools.transcript if line.startswith(("$ helm upgrade", "$ helm install",
                                                                         "$ talosctl apply-config",
                                                                         "$ talosctl bootstrap"))]
    assert writes == []
    assert _release(ctx) == (revision, meshed)


def test_a_changed_talos_value_is_merged_over_the_mesh_settings(talos):
    lab, ctx = talos
    _, before = _release(ctx)
    assert before["envoyConfig"] == {"enabled": True}        # the previous test's mesh settings
    report = T.provision(lab.lab, CLUSTER, ctx, cilium_overrides={"operator": {"replicas": 1}})
    assert report.cilium == "upgraded"
    _, after = _release(ctx)
    assert after["operator"] == {"replicas": 1}
    assert after == {**before, "operator": {"replicas": 1}}   # everything else, the mesh's included, kept
    assert lab.kube().get("deployments", "cilium-operator", "kube-system")["spec"]["replicas"] == 1
    assert T.provision(lab.lab, CLUSTER, ctx, cilium_overrides={"operator": {"replicas": 1}}).changes == []


def test_verify_names_a_cordoned_node_and_cilium_settings_the_lab_file_does_not_make(talos):
    """Last: it leaves talos-east broken. The release is upgraded with SYS_MODULE added to the agent's
    capabilities and a worker is cordoned; verification names both."""
    from labsim.provisioners.talos.cilium import AGENT_CAPS
    from labsim.provisioners.talos.kube import Kube
    lab, ctx = talos
    results = {(r.check, r.subject): r for r in T.verify(lab.lab, CLUSTER, ctx, wait="1m")}
    assert results[("cilium-settings", CLUSTER)].ok, results[("cilium-settings", CLUSTER)]
    assert results[("k8s-node-schedulable", f"{CLUSTER} wrk-e-1")].ok
    Kube(ctx.cluster_dir(CLUSTER) / "kubeconfig").core.patch_node("wrk-e-1", {"spec": {"unschedulable": True}})
    T.provision(lab.lab, CLUSTER, ctx, wait_ready=False,
                cilium_overrides={"securityContext": {"capabilities": {"ciliumAgent": AGENT_CAPS + ["SYS_MODULE"]}}})
    results = {(r.check, r.subject): r for r in T.verify(lab.lab, CLUSTER, ctx, wait="1m")}
    cordoned = results[("k8s-node-schedulable", f"{CLUSTER} wrk-e-1")]
    assert not cordoned.ok and cordoned.message == "cordoned (spec.unschedulable)"
    settings = results[("cilium-settings", CLUSTER)]
    assert not settings.ok and "extra ['SYS_MODULE']" in settings.message
