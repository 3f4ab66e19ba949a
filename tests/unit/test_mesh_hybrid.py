"""The mesh provisioner end to end on a hybrid three-member mesh: two clusters with Cilium installed by helm (as the
Talos provisioner leaves them) and the piCluster, RKE2 with its own rke2-cilium (labsim/fakes/rke2_cilium.py), all
served over HTTPS and provisioned through the fake `helm` and `cilium` on PATH as the feature does it.

The RKE2 member is joined the RKE2 way: its mesh settings and its remotes go into the rke2-cilium HelmChartConfig
(helm-controller installs them), the other side's remotes into its helm release values."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from labsim.fakes.cilium.direct import Spec
from labsim.fakes.cilium.members import Rke2Member
from labsim.fakes.rke2 import Rke2Face
from labsim.fakes.talos.face import BIN
from labsim.fakes.tools.zygote import Zygote
from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh import run as M
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.talos.cli import Tools
from tests.unit.mesh_world import ServedMesh, probe, scale

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"
SPECS = [Spec("talos-east", 1, node_port=30001), Spec("talos-west", 2, node_port=30002)]
MEMBERS = ["talos-east", "talos-west", "piCluster"]


def hybrid_lab(tmp: Path):
    data = yaml.safe_load(LAB.read_text())
    data["mesh"]["clusters"] = MEMBERS
    for g in data["mesh"]["global_services"]:
        g["replicas"] = {c: 1 for c in MEMBERS}
    path = tmp / "hybrid.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_lab(path), data


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hybrid")
    lab, raw = hybrid_lab(tmp)
    sm = ServedMesh(tmp / "lab", SPECS, shared_ca=False)
    (tmp / "rke2").mkdir()
    face = Rke2Face(raw, {}, sm.clock, sm.ca, tmp / "rke2").start()
    sm.dm.members["piCluster"] = Rke2Member(face, "piCluster")     # the mesh world sees it as it sees the others
    sm.clock.sleep(60)
    zygote = Zygote().start()
    try:
        doc = yaml.safe_load(sm.kubeconfig.read_text())
        kubeconfigs = {}
        for cluster in SPECS:
            path = tmp / f"{cluster.name}.kubeconfig"
            path.write_text(yaml.safe_dump({**doc, "current-context": sm.context(cluster.name)}, sort_keys=False))
            kubeconfigs[cluster.name] = path
        kubeconfigs["piCluster"] = Path(face.endpoints()["piCluster"]["kubeconfig"])
        env = {**sm.env, **zygote.env(), "LABSIM_PYTHON": sys.executable,
               "PATH": f"{BIN}:{Path(sys.executable).parent}:/usr/bin:/bin"}
        env.pop("KUBECONFIG", None)
        ctx = MeshContext(Tools(env=env), sm.clock, tmp / "mesh", kubeconfigs)
        first = M.provision(lab, ctx)
        yield sm, lab, ctx, first
    finally:
        zygote.stop()
        face.stop()
        sm.stop()


def test_the_rke2_member_is_joined_through_its_helmchartconfig(built):
    _sm, lab, ctx, first = built
    assert "piCluster: cilium mesh settings written to the rke2-cilium HelmChartConfig" in first.changes
    assert {"talos-east <=> piCluster: connected", "talos-west <=> piCluster: connected",
            "talos-east <=> talos-west: connected"} <= set(first.changes)
    cfg = ctx.kube("piCluster").get("HelmChartConfig", "rke2-cilium", "kube-system")
    values = yaml.safe_load(cfg["spec"]["valuesContent"])
    assert sorted(e["name"] for e in values["clustermesh"]["config"]["clusters"]) == ["talos-east", "talos-west"]
    assert values["kubeProxyReplacement"] is True and values["cluster"] == {"name": "picluster", "id": 3}


def test_every_member_reports_every_node_connected_and_a_second_run_writes_nothing(built):
    _sm, lab, ctx, _ = built
    results = M.verify(lab, ctx)
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    writes = {c: len(ctx.kube(c).writes) for c in lab.mesh.clusters}
    again = M.provision(lab, ctx)
    assert again.changes == [] and {c: len(ctx.kube(c).writes) for c in lab.mesh.clusters} == writes


def test_a_global_service_answers_from_all_three_and_losing_one_shifts_to_the_two_others(built):
    sm, lab, _ctx, _ = built
    app = next(a for a in lab.mesh.applications if "echo" in a.reaches)
    _, res = probe(sm.dm, "talos-east", "echo", 300, ns=app.namespace, pod_labels=app.pod_labels)
    assert not res.failed and set(res.counts()) == {"talos-east", "talos-west", "picluster"}, res.counts()
    scale(sm.dm, "piCluster", "echo", 0)
    sm.clock.sleep(30)
    _, res = probe(sm.dm, "talos-east", "echo", 300, ns=app.namespace, pod_labels=app.pod_labels)
    assert not res.failed and set(res.counts()) == {"talos-east", "talos-west"}, res.counts()
