"""The mesh provisioner's decisions from the lab file alone: which pairs connect, what each member's Helm
values must hold, the demo manifests, and the plan checks it reuses from labsim/provisioners/mesh_plan.py."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh import connect, demo, settings
from labsim.provisioners.mesh.kube import same
from labsim.provisioners.mesh.run import plan_checks
from labsim.provisioners.mesh.workload import first_two, workload

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"


def lab_with(tmp_path, edit) -> object:
    data = yaml.safe_load(LAB.read_text())
    edit(data)
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_lab(path)


def test_full_mesh_and_hub_and_spoke_pairs(tmp_path):
    lab = load_lab(LAB)
    assert connect.pairs(lab) == [("talos-east", "talos-west")]

    def three(d):
        d["mesh"]["clusters"] = ["talos-east", "talos-west", "piCluster"]
    assert connect.pairs(lab_with(tmp_path, three)) == [("talos-east", "talos-west"), ("talos-east", "piCluster"),
                                                        ("talos-west", "piCluster")]

    def hub(d):
        three(d)
        d["mesh"].update(topology="hub-and-spoke", hub="talos-west")
    assert connect.pairs(lab_with(tmp_path, hub)) == [("talos-west", "talos-east"), ("talos-west", "piCluster")]
    assert connect.remotes_of(lab_with(tmp_path, hub), "piCluster") == ["talos-west"]


def test_wanted_helm_values_follow_the_lab_file():
    lab = load_lab(LAB)
    assert settings.wanted(lab, "talos-west") == {
        "cluster": {"name": "talos-west", "id": 2},
        "clustermesh": {"useAPIServer": True, "maxConnectedClusters": 255, "cacheTTL": "0s",
                        "apiserver": {"service": {"type": "NodePort", "nodePort": 30002}}},
        "envoyConfig": {"enabled": True}}
    have = {**settings.wanted(lab, "talos-west"), "operator": {"replicas": 2},
            "clustermesh": {**settings.wanted(lab, "talos-west")["clustermesh"], "config": {"enabled": True}}}
    assert settings.subset(settings.wanted(lab, "talos-west"), have)
    assert not settings.subset(settings.wanted(lab, "talos-west"), {**have, "envoyConfig": {"enabled": False}})


def test_demo_manifests_per_cluster():
    lab = load_lab(LAB)
    objs = {(o["kind"], o["metadata"]["name"]): o for o in demo.manifests(workload(lab), lab, "talos-east")}
    assert objs[("Deployment", "echo")]["spec"]["replicas"] == 1
    assert objs[("Deployment", "echo-local")]["spec"]["replicas"] == 2
    args = objs[("Deployment", "echo")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["-listen=:8080", '-text={"cluster":"talos-east","pod":"$(POD_NAME)"}']
    assert objs[("Service", "echo-local")]["metadata"]["annotations"] == {
        "service.cilium.io/global": "true", "service.cilium.io/affinity": "local"}
    cec = objs[("CiliumEnvoyConfig", "echo-canary")]
    route = next(r for r in cec["spec"]["resources"] if r["@type"].endswith("RouteConfiguration"))
    assert route["virtual_hosts"][0]["routes"][0]["route"]["weighted_clusters"]["clusters"] == [
        {"name": "mesh-demo/echo-local", "weight": 25}, {"name": "mesh-demo/echo-remote", "weight": 75}]
    west = {(o["kind"], o["metadata"]["name"]): o for o in demo.manifests(workload(lab), lab, "talos-west")}
    assert west[("Deployment", "echo")]["spec"]["replicas"] == 3


def test_the_plan_checks_are_mesh_plans():
    assert all(r.ok for r in plan_checks(load_lab(LAB)))


def test_plan_checks_name_what_is_broken(tmp_path):
    def dup(d):
        next(c for c in d["clusters"] if c["name"] == "talos-west")["cilium"]["cluster_id"] = 1
    bad = [r.message for r in plan_checks(lab_with(tmp_path, dup)) if not r.ok]
    assert "cluster id 1 is also talos-east's" in bad

    def overlap(d):
        next(c for c in d["clusters"] if c["name"] == "talos-west")["pod_subnet"] = "10.244.128.0/17"
    bad = [r.message for r in plan_checks(lab_with(tmp_path, overlap)) if not r.ok]
    assert any(m.startswith("pod CIDR 10.244.128.0/17 overlaps talos-east") for m in bad)


def test_apply_compares_what_the_manifest_says_only():
    want = {"kind": "Service", "metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"ports": [{"port": 8080}]}}
    have = {"metadata": {"name": "a", "labels": {"x": "1"}, "uid": "u"},
            "spec": {"ports": [{"port": 8080, "protocol": "TCP"}], "clusterIP": "10.0.0.1"}, "status": {}}
    assert same(want, have)
    assert not same({**want, "spec": {"ports": [{"port": 80}]}}, have)


def test_a_lab_that_names_its_services_is_tested_with_them():
    wl = workload(load_lab(LAB))
    assert not wl.owned and [g.name for g in wl.services] == ["echo", "echo-local", "echo-remote"]
    assert wl.canary.name == "echo-canary" and wl.namespace_of("echo-canary") == "mesh-demo"


def test_a_lab_without_services_gets_the_suites_probe_services_with_its_ratios(tmp_path):
    data = yaml.safe_load(LAB.read_text())
    data["mesh"].pop("global_services")
    data["mesh"].pop("canary")
    data["mesh"]["probe"] = {"backends": {"first": 1, "second": 4}, "canary": {"local": 30, "remote": 70}}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    lab = load_lab(path)
    wl = workload(lab)
    assert wl.owned and wl.namespace == "labsim-mesh-probe" and wl.namespaces() == ["labsim-mesh-probe"]
    assert {g.name: (g.affinity, g.replicas) for g in wl.services} == {
        "labsim-echo": ("none", {"talos-east": 1, "talos-west": 4}),
        "labsim-echo-local": ("local", {"talos-east": 2, "talos-west": 2}),
        "labsim-echo-remote": ("remote", {"talos-east": 2, "talos-west": 2})}
    assert wl.canary.weights == {"labsim-echo-local": 30, "labsim-echo-remote": 70}
    assert (wl.share("labsim-echo", "talos-east", "talos-east", lab),
            wl.share("labsim-echo", "talos-west", "talos-east", lab)) == (20, 80)


def test_probe_ratios_that_do_not_add_up_are_refused(tmp_path):
    from labsim.provisioners.lab import LabFileError
    data = yaml.safe_load(LAB.read_text())
    data["mesh"]["probe"] = {"canary": {"local": 30, "remote": 60}}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(LabFileError, match="must add up to 100"):
        load_lab(path)


def test_the_first_two_members_of_a_hub_and_spoke_mesh_are_the_hub_and_the_first_spoke(tmp_path):
    data = yaml.safe_load(LAB.read_text())
    data["mesh"].update(topology="hub-and-spoke", hub="talos-west")
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data))
    assert first_two(load_lab(path)) == ("talos-west", "talos-east")


def test_a_planned_rke2_member_needs_the_members_kube_proxy_replacement_and_a_close_cilium(tmp_path):
    from labsim.provisioners.mesh_plan import mesh_plan
    lab = load_lab(LAB)
    ok = {r.check: r for r in mesh_plan(lab, "piCluster", 3)}
    assert ok["mesh-plan-kpr"].ok and ok["mesh-plan-cilium-version"].ok
    assert ok["mesh-plan-kpr"].message == "piCluster replaces kube-proxy, as talos-east, talos-west do"

    def hybrid(d):
        pi = next(c for c in d["clusters"] if c["name"] == "piCluster")
        pi["kube_proxy"] = True
        pi["cilium"]["version"] = "1.16.9"
    bad = {r.check: r.message for r in mesh_plan(lab_with(tmp_path, hybrid), "piCluster", 3) if not r.ok}
    assert bad == {"mesh-plan-kpr": "piCluster does not replace kube-proxy, talos-east, talos-west do",
                   "mesh-plan-cilium-version": "Cilium 1.16.9 on piCluster is more than one minor version from "
                                               "talos-east 1.18.5, talos-west 1.18.5"}
