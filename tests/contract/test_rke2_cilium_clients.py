"""The piCluster's Cilium, installed the RKE2 way, through an engineer's own tools: the real `kubectl` reads and edits
the `rke2-cilium` HelmChartConfig, helm-controller installs the edit, and `helm list` / `helm get values` (the fake
helm, as the mesh provisioner reads Talos releases) show the release it left."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube.testing import find_kubectl
from labsim.fakes.pki import CA
from labsim.fakes.rke2 import Rke2Face
from labsim.fakes.talos.face import BIN

pytestmark = pytest.mark.skipif(find_kubectl() is None, reason="kubectl is not installed on this machine")
LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    d = tmp_path_factory.mktemp("rke2-cilium")
    clock = VirtualClock()
    face = Rke2Face(yaml.safe_load(LAB.read_text()), {}, clock, CA.generate(directory=d / "ca"), d).start()
    clock.sleep(60)
    env = dict(os.environ, LABSIM_PYTHON=sys.executable, HOME=str(d), KUBECACHEDIR=str(d / "kubectl-cache"))
    env.pop("KUBECONFIG", None)
    kubeconfig = face.endpoints()["piCluster"]["kubeconfig"]

    def run(*argv: str) -> subprocess.CompletedProcess:
        exe = find_kubectl() if argv[0] == "kubectl" else str(BIN / argv[0])
        return subprocess.run([exe, *argv[1:], "--kubeconfig", kubeconfig], env=env, capture_output=True,
                              text=True, timeout=120)
    try:
        yield clock, run, env, kubeconfig, d
    finally:
        face.stop()


def test_kubectl_reads_the_helmchartconfig_and_helm_lists_the_release(served):
    _, run, *_ = served
    r = run("kubectl", "-n", "kube-system", "get", "helmchartconfig", "rke2-cilium",
            "-o", "jsonpath={.spec.valuesContent}")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load(r.stdout) == {"cluster": {"name": "picluster", "id": 3}, "kubeProxyReplacement": True,
                                        "k8sServiceHost": "127.0.0.1", "k8sServicePort": 6443}
    r = run("helm", "list", "-n", "kube-system", "-o", "json")
    assert r.returncode == 0, r.stderr
    (rel,) = json.loads(r.stdout)
    assert (rel["name"], rel["status"], rel["revision"], rel["chart"]) == \
        ("rke2-cilium", "deployed", "1", "rke2-cilium-1.18.5")
    r = run("kubectl", "-n", "kube-system", "get", "configmap", "cilium-config", "-o", "jsonpath={.data.cluster-id}")
    assert (r.returncode, r.stdout) == (0, "3"), r.stderr


def test_a_helmchartconfig_edited_with_kubectl_is_installed_by_helm_controller(served):
    clock, run, *_ = served
    values = {"cluster": {"name": "picluster", "id": 3}, "kubeProxyReplacement": True,
              "k8sServiceHost": "127.0.0.1", "k8sServicePort": 6443,
              "clustermesh": {"useAPIServer": True, "apiserver": {"service": {"type": "NodePort",
                                                                             "nodePort": 30003}}}}
    r = run("kubectl", "-n", "kube-system", "patch", "helmchartconfig", "rke2-cilium", "--type", "merge",
            "-p", json.dumps({"spec": {"valuesContent": yaml.safe_dump(values)}}))
    assert r.returncode == 0, r.stderr
    clock.sleep(10)
    r = run("kubectl", "-n", "kube-system", "get", "service", "clustermesh-apiserver",
            "-o", "jsonpath={.spec.type} {.spec.ports[0].nodePort}")
    assert (r.returncode, r.stdout) == (0, "NodePort 30003"), r.stderr
    r = run("helm", "get", "values", "rke2-cilium", "-n", "kube-system", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["clustermesh"]["useAPIServer"] is True
    r = run("helm", "history", "rke2-cilium", "-n", "kube-system", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert [(h["revision"], h["status"]) for h in json.loads(r.stdout)] == [(1, "superseded"), (2, "deployed")]


def test_the_mesh_settings_go_into_the_helmchartconfig_and_a_second_run_writes_nothing(served):
    """The mesh provisioner's settings step on an RKE2 member (labsim/provisioners/mesh/settings.py): the RKE2 way,
    through the HelmChartConfig, waiting for helm-controller's install."""
    from labsim.provisioners.lab import load_lab
    from labsim.provisioners.mesh import settings
    from labsim.provisioners.mesh.context import MeshContext
    from labsim.provisioners.talos.cli import Tools
    clock, run, env, kubeconfig, d = served
    lab = load_lab(LAB)
    tools = Tools(env={**env, "PATH": f"{BIN}:{Path(sys.executable).parent}:/usr/bin:/bin"})
    ctx = MeshContext(tools, clock, d / "mesh", {"piCluster": Path(kubeconfig)})
    assert settings.apply(lab, ctx, "piCluster") == "mesh settings written to the rke2-cilium HelmChartConfig"
    r = run("kubectl", "-n", "kube-system", "get", "configmap", "cilium-config",
            "-o", "jsonpath={.data.cluster-name} {.data.cluster-id} {.data.max-connected-clusters}")
    assert (r.returncode, r.stdout) == (0, "picluster 3 255"), r.stderr
    version, values = settings.deployed(ctx, "piCluster")
    assert version == "1.18.5" and settings.subset(settings.wanted(lab, "piCluster"), values)
    assert values["kubeProxyReplacement"] is True          # what rke2-ansible wrote stays
    writes = len(ctx.kube("piCluster").writes)
    assert settings.apply(lab, ctx, "piCluster") is None and len(ctx.kube("piCluster").writes) == writes
