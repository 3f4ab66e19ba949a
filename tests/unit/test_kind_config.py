"""The kind tier's generated configs: one kind cluster per mesh member as Cilium's ClusterMesh CI builds
them, CIDRs and Cilium identity from the lab file, and the refusal where Docker or kind is missing."""
from __future__ import annotations

import subprocess
from ipaddress import IPv4Network
from itertools import combinations
from pathlib import Path

import pytest
import yaml

from labsim.provisioners.kind.__main__ import main, missing_prerequisites
from labsim.provisioners.kind.config import cilium_values, kind_config, mesh_clusters, problems
from labsim.provisioners.lab.load import load_lab

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab():
    return load_lab(ROOT / "labs/aggrik8s.yaml")


def test_one_kind_cluster_per_mesh_member_without_default_cni(lab):
    assert mesh_clusters(lab) == ["talos-east", "talos-west"]
    cfg = kind_config(lab, "talos-east")
    assert cfg["kind"] == "Cluster" and cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4" and cfg["name"] == "talos-east"
    assert [n["role"] for n in cfg["nodes"]] == ["control-plane", "worker", "worker"]
    assert "taints: []" in cfg["nodes"][0]["kubeadmConfigPatches"][0]
    assert cfg["networking"] == {"disableDefaultCNI": True, "ipFamily": "ipv4", "podSubnet": "10.244.0.0/16",
                                 "serviceSubnet": "10.96.0.0/12", "kubeProxyMode": "none"}


def test_cidrs_are_the_labs_and_distinct(lab):
    nets = {n: kind_config(lab, n)["networking"] for n in mesh_clusters(lab)}
    assert nets["talos-west"]["podSubnet"] == str(lab.cluster("talos-west").pod_subnet)
    for a, b in combinations(nets.values(), 2):
        for key in ("podSubnet", "serviceSubnet"):
            assert not IPv4Network(a[key]).overlaps(IPv4Network(b[key]))
    assert problems(lab) == []


def test_cilium_values_carry_the_clusters_identity_and_clustermesh(lab):
    v = cilium_values(lab, "talos-west")
    assert v["cluster"] == {"name": "talos-west", "id": 2}
    assert v["kubeProxyReplacement"] is True and v["k8sServiceHost"] == "talos-west-control-plane"
    assert v["clustermesh"] == {"useAPIServer": True, "maxConnectedClusters": 255,
                                "apiserver": {"service": {"type": "NodePort", "nodePort": 30002}}}
    assert cilium_values(lab, "talos-east")["clustermesh"]["apiserver"]["service"]["nodePort"] == 30001


def test_a_shared_pod_cidr_or_cluster_id_is_refused(tmp_path):
    raw = yaml.safe_load((ROOT / "labs/aggrik8s.yaml").read_text())
    west = next(c for c in raw["clusters"] if c["name"] == "talos-west")
    west["pod_subnet"], west["cilium"]["cluster_id"] = "10.244.0.0/16", 1
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(raw))
    found = problems(load_lab(tmp_path / "x.yaml"))
    assert any("share pod_subnet" in p for p in found) and any("same Cilium cluster id 1" in p for p in found)


def test_dry_run_writes_configs(tmp_path):
    assert main(["verify", str(ROOT / "labs/aggrik8s.yaml"), "--workdir", str(tmp_path), "--dry-run"]) == 0
    assert yaml.safe_load((tmp_path / "kind-talos-west.yaml").read_text())["name"] == "talos-west"
    assert yaml.safe_load((tmp_path / "cilium-talos-east.yaml").read_text())["cluster"]["id"] == 1


def test_without_a_docker_engine_it_stops_with_one_line():
    def which(tool):
        return f"/usr/bin/{tool}"

    def run(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n")

    why = missing_prerequisites(which, run)
    assert why == ("the kind tier needs a running Docker engine: docker info failed "
                   "(Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)")
    assert missing_prerequisites(lambda t: None if t == "kind" else f"/x/{t}",
                                 lambda cmd, **kw: subprocess.CompletedProcess(cmd, 0, "27.0", "")) == \
        "the kind tier needs kind on PATH"


def test_make_kind_verify_refuses_here_when_docker_has_no_engine(tmp_path):
    if missing_prerequisites() is None:
        pytest.skip("Docker and kind are available here: the kind tier would really run")
    proc = subprocess.run(["make", "-s", "-o", ".venv/.installed-stamp", "kind-verify"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("kind tier")]
    assert len(lines) == 1 and lines[0].startswith("kind tier not run: the kind tier needs")
