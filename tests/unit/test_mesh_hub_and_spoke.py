"""The mesh provisioner end to end on a hub-and-spoke lab file: three clusters (talos-east the hub, talos-west and
piCluster the spokes) served over HTTPS, provisioned through the fake `helm` and `cilium` on PATH exactly as the
feature does it, then verified and provisioned again.

What hub and spoke means in Cilium: each spoke is connected to the hub only (`cilium clustermesh connect` from the
hub to each spoke), so a spoke's agents know the hub's global services and not the other spoke's.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from labsim.fakes.cilium.direct import Spec
from labsim.fakes.talos.face import BIN
from labsim.fakes.tools.zygote import Zygote
from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh import connect as C
from labsim.provisioners.mesh import run as M
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.talos.cli import Tools
from tests.unit.mesh_world import ServedMesh, probe

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"
# the lab file's Cilium names, ids and NodePorts (piCluster's Cilium name is `picluster`)
SPECS = [Spec("talos-east", 1, node_port=30001), Spec("talos-west", 2, node_port=30002),
         Spec("picluster", 3, node_port=30003)]
MEMBERS = {"talos-east": "talos-east", "talos-west": "talos-west", "piCluster": "picluster"}


def hub_and_spoke_lab(tmp: Path):
    data = yaml.safe_load(LAB.read_text())
    data["mesh"].update(clusters=list(MEMBERS), topology="hub-and-spoke", hub="talos-east")
    for g in data["mesh"]["global_services"]:
        if g["name"] == "echo":
            g["replicas"] = {"talos-east": 1, "talos-west": 1, "piCluster": 1}
    path = tmp / "hub-and-spoke.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_lab(path)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hub")
    sm = ServedMesh(tmp / "lab", SPECS, shared_ca=False)      # each cluster with its own CA: the provisioner shares
    zygote = Zygote().start()
    try:
        doc = yaml.safe_load(sm.kubeconfig.read_text())
        kubeconfigs = {}
        for cluster, name in MEMBERS.items():
            path = tmp / f"{cluster}.kubeconfig"
            path.write_text(yaml.safe_dump({**doc, "current-context": sm.context(name)}, sort_keys=False))
            kubeconfigs[cluster] = path
        env = {**sm.env, **zygote.env(), "LABSIM_PYTHON": sys.executable,
               "PATH": f"{BIN}:{Path(sys.executable).parent}:/usr/bin:/bin"}
        env.pop("KUBECONFIG", None)
        lab = hub_and_spoke_lab(tmp)
        ctx = MeshContext(Tools(env=env), sm.clock, tmp / "mesh", kubeconfigs)
        first = M.provision(lab, ctx)
        yield sm, lab, ctx, first
    finally:
        zygote.stop()
        sm.stop()


def test_the_hub_connects_to_each_spoke_and_the_spokes_not_to_each_other(built):
    _sm, lab, ctx, first = built
    assert C.pairs(lab) == [("talos-east", "talos-west"), ("talos-east", "piCluster")]
    assert "talos-east <=> talos-west: connected" in first.changes
    assert "talos-east <=> piCluster: connected" in first.changes
    assert not any("talos-west <=> piCluster" in c for c in first.changes)
    assert [c for c in first.changes if "cilium-ca copied" in c] == [
        "talos-west: cilium-ca copied from talos-east", "piCluster: cilium-ca copied from talos-east"]
    configured = {}
    for cluster in lab.mesh.clusters:
        _, values = M.settings.deployed(ctx, cluster)
        configured[cluster] = sorted(C._entries(values))
    assert configured == {"talos-east": ["picluster", "talos-west"], "talos-west": ["talos-east"],
                          "piCluster": ["talos-east"]}


def test_every_member_reports_its_nodes_connected_to_the_clusters_it_should_see(built):
    _sm, lab, ctx, _ = built
    writes, ran_before = {c: len(ctx.kube(c).writes) for c in lab.mesh.clusters}, len(ctx.tools.transcript)
    results = M.verify(lab, ctx)
    assert all(r.ok for r in results), [str(r) for r in results if not r.ok]
    ran = [entry.split("\n")[0] for entry in ctx.tools.transcript[ran_before:]]     # verification is read-only
    assert {c: len(ctx.kube(c).writes) for c in lab.mesh.clusters} == writes
    assert ran and all(r.split()[1:4] == ["cilium", "--context", r.split()[3]] and "status" in r for r in ran), ran
    st = C.status(ctx, "piCluster")
    assert "  - talos-east: 3/3 configured, 3/3 connected" in st.text and "talos-west:" not in st.text


def test_a_spoke_reaches_the_hubs_backends_and_never_the_other_spokes(built):
    sm, lab, _ctx, _ = built
    # as the lab file's application that reaches echo (its access policy denies any other pod)
    app = next(a for a in lab.mesh.applications if "echo" in a.reaches)
    _, res = probe(sm.dm, "picluster", "echo", 300, ns=app.namespace, pod_labels=app.pod_labels)
    assert not res.failed and set(res.counts()) == {"picluster", "talos-east"}, res.counts()
    _, res = probe(sm.dm, "talos-east", "echo", 300, ns=app.namespace, pod_labels=app.pod_labels)
    assert not res.failed and set(res.counts()) == {"picluster", "talos-east", "talos-west"}, res.counts()


def test_a_second_run_writes_nothing(built):
    _sm, lab, ctx, _ = built
    revisions = {c: ctx.helm(c, "list", "-n", "kube-system", "-o", "json").stdout for c in lab.mesh.clusters}
    writes = {c: len(ctx.kube(c).writes) for c in lab.mesh.clusters}
    ran_before = len(ctx.tools.transcript)
    again = M.provision(lab, ctx)
    assert again.changes == []
    assert {c: len(ctx.kube(c).writes) for c in lab.mesh.clusters} == writes
    assert {c: ctx.helm(c, "list", "-n", "kube-system", "-o", "json").stdout for c in lab.mesh.clusters} == revisions
    ran = [entry.split("  # ")[0] for entry in ctx.tools.transcript[ran_before:]]
    assert ran and not [r for r in ran if any(w in r.split() for w in ("upgrade", "connect", "enable"))], ran
