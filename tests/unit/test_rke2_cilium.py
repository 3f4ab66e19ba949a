"""Cilium on the simulated RKE2 cluster, installed the RKE2 way (labsim/fakes/rke2_cilium.py): the rke2-cilium
HelmChartConfig holds the lab file's values, helm-controller installs the cilium chart from it and again whenever it
is edited, and the cluster is a mesh member whose nodes follow their hosts' rke2 units."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from labsim.fakes.cilium.members import rke2_members
from labsim.fakes.clock import VirtualClock
from labsim.fakes.hosts.machine import Machine, Unit
from labsim.fakes.rke2 import Rke2Face
from labsim.fakes.rke2_cilium import NAME, NS
from labsim.fakes.tools import helm_release

LAB = yaml.safe_load((Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml").read_text())


def _raw(**over) -> dict:
    raw = copy.deepcopy(LAB)
    pi = next(c for c in raw["clusters"] if c["distribution"] == "rke2")
    pi.update(over)
    return raw


def _face(raw, machines=None) -> tuple[Rke2Face, VirtualClock]:
    clock = VirtualClock()
    face = Rke2Face(raw, machines or {}, clock, None, "/nonexistent")
    return face, clock


@pytest.fixture(scope="module")
def built():
    face, clock = _face(_raw())
    clock.sleep(60)
    return face, clock, face.clusters["piCluster"]


def test_helmchartconfig_holds_the_lab_files_values(built):
    _, _, kube = built
    cfg = kube.get("helmchartconfigs", NAME, NS)
    values = yaml.safe_load(cfg["spec"]["valuesContent"])
    assert values == {"cluster": {"name": "picluster", "id": 3}, "kubeProxyReplacement": True,
                      "k8sServiceHost": "127.0.0.1", "k8sServicePort": 6443}
    assert kube.get("helmcharts", NAME, NS)["spec"]["chart"] == NAME


def test_the_chart_is_installed_from_it_and_agents_run_on_every_node(built):
    _, _, kube = built
    cm = kube.get("configmaps", "cilium-config", NS)["data"]
    assert (cm["cluster-name"], cm["cluster-id"], cm["kube-proxy-replacement"]) == ("picluster", "3", "true")
    ds = kube.get("daemonsets", "cilium", NS)
    env = {e["name"]: e.get("value") for c in ds["spec"]["template"]["spec"]["containers"] for e in c.get("env") or []}
    assert (env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"]) == ("127.0.0.1", "6443")
    pods = kube.list("pods", NS, labels="k8s-app=cilium")
    assert sorted(p["spec"]["nodeName"] for p in pods if p["status"].get("phase") == "Running") == \
        ["pi-master-01", "pi-master-02", "pi-master-03", "pi-worker-01", "pi-worker-02"]


def test_an_edited_helmchartconfig_is_installed_keeping_the_ca():
    face, clock = _face(_raw())
    kube = face.clusters["piCluster"]
    clock.sleep(10)
    ca = kube.get("secrets", "cilium-ca", NS)["data"]["ca.crt"]
    with clock.lock:
        cfg = kube.get("helmchartconfigs", NAME, NS)
        values = yaml.safe_load(cfg["spec"]["valuesContent"])
        values["clustermesh"] = {"useAPIServer": True, "apiserver": {"service": {"type": "NodePort",
                                                                                 "nodePort": 30003}}}
        cfg["spec"]["valuesContent"] = yaml.safe_dump(values)
        kube.update("helmchartconfigs", cfg, NS)
    clock.sleep(10)
    svc = kube.get("services", "clustermesh-apiserver", NS)
    assert svc["spec"]["ports"][0]["nodePort"] == 30003
    assert kube.get("secrets", "cilium-ca", NS)["data"]["ca.crt"] == ca
    assert face.cilium.revision["piCluster"] == 2
    releases = {s["metadata"]["name"]: helm_release.decode(s["data"]["release"])
                for s in kube.list("secrets", NS, labels="owner=helm,name=rke2-cilium")}
    assert {n: r["info"]["status"] for n, r in releases.items()} == {
        "sh.helm.release.v1.rke2-cilium.v1": "superseded", "sh.helm.release.v1.rke2-cilium.v2": "deployed"}
    assert releases["sh.helm.release.v1.rke2-cilium.v2"]["config"]["clustermesh"]["useAPIServer"] is True


def test_unreadable_values_install_nothing_new():
    face, clock = _face(_raw())
    kube = face.clusters["piCluster"]
    clock.sleep(10)
    with clock.lock:
        cfg = kube.get("helmchartconfigs", NAME, NS)
        cfg["spec"]["valuesContent"] = "cluster: [unclosed"
        kube.update("helmchartconfigs", cfg, NS)
    clock.sleep(10)
    assert face.cilium.revision["piCluster"] == 1
    assert kube.get("configmaps", "cilium-config", NS)["data"]["cluster-id"] == "3"


def test_a_cluster_without_cilium_gets_none():
    face, clock = _face(_raw(cni="canal"))
    clock.sleep(10)
    assert face.cilium.clusters == {}
    assert face.clusters["piCluster"].try_get("daemonsets", "cilium", NS) is None
    assert rke2_members(lambda: face)() == []


def test_the_member_follows_its_hosts_rke2_units():
    machines = {n: Machine(n, "rke2-server" if "master" in n else "rke2-agent",
                           units={("rke2-server" if "master" in n else "rke2-agent"): Unit()})
                for n in ("pi-master-01", "pi-master-02", "pi-master-03", "pi-worker-01", "pi-worker-02")}
    face, _ = _face(_raw(), machines)
    member = rke2_members(lambda: face)()[0]
    assert member.name == "piCluster" and member.api_up()
    assert member.hosts()["pi-worker-01"].address == "192.168.10.101"
    machines["pi-worker-01"].units["rke2-agent"].active = False
    assert not member.hosts()["pi-worker-01"].up and member.hosts()["pi-worker-02"].up
    for n in ("pi-master-01", "pi-master-02", "pi-master-03"):
        machines[n].units["rke2-server"].active = False
    assert not member.api_up()
