"""`--target kind` talks to kind clusters only (issue 13).

- Without the kind clusters the preflight refuses the run before any scenario: exit 2, the sign-off REJECTED with
  the reason (what `pytest features/ -m mesh --target kind --kind-dir <an empty folder>` used to pass).
- No Docker engine here, so the kind tier's code path is shown with a stand-in kind target: clusters that are only
  Kubernetes with Cilium (labsim/fakes/cilium/direct.py, served over HTTPS, the mesh provisioned on them the way
  `make kind-verify` does), handed out as one kubeconfig per member in a kind folder and a tool environment. The
  mesh, Ceph and Talos steps are run against it, and every kubeconfig and tool they use is the one it handed out.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labsim.fakes.cilium.direct import Spec
from labsim.fakes.talos.face import BIN
from labsim.fakes.tools.zygote import Zygote
from labsim.provisioners.kind.config import kind_name
from labsim.provisioners.mesh import run as M
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.talos.cli import Tools
from labsim.steps import ceph_steps, mesh_steps, talos_steps
from labsim.steps.targets import Target
from tests.unit.mesh_world import ServedMesh

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "aggrik8s.yaml"


def test_kind_without_its_clusters_is_refused_before_any_scenario(tmp_path):
    empty = tmp_path / "kind"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "-m", "mesh",
                           "--target", "kind", "--kind-dir", str(empty), "--signoff", str(tmp_path / "so")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "passed" not in proc.stdout.splitlines()[-2]
    assert f"no kubeconfig at {empty}/" in proc.stdout
    bundle = next(p for p in (tmp_path / "so").iterdir() if p.is_dir())
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["verdict"] == "REJECTED" and m["target"] == "kind"
    assert any("no kubeconfig at" in r for r in m["reasons"]), m["reasons"]
    assert not [s for s in m["scenarios"] if s["outcome"] in ("passed", "failed")]


class StandInKind(Target):
    """A kind target without Docker: hands out the stand-in clusters' kubeconfigs and tools, and records what the
    steps asked it for."""

    name = "kind"
    clusters_given = True

    def __init__(self, labfile, kind_dir: Path, env: dict[str, str], clock, workdir: Path):
        super().__init__(labfile)
        self.kind_dir, self.env, self.clock, self.workdir = kind_dir, env, clock, workdir
        self.asked: list[str] = []

    def cluster_kubeconfig(self, cluster: str) -> Path:
        self.asked.append(cluster)
        return self.kind_dir / f"{kind_name(self.lab, cluster)}.kubeconfig"

    def tool_env(self) -> dict[str, str]:
        return dict(self.env)


class Evidence:
    def __init__(self):
        self.attached: dict[str, object] = {}

    def attach(self, name, data, media_type=None):
        self.attached[name] = data

    def finding(self, *a, **kw):
        pass

    def timeline(self, *a, **kw):
        pass

    def lab_version(self, *a, **kw):
        pass


@pytest.fixture(scope="module")
def kind(tmp_path_factory):
    from labsim.provisioners.lab import load_lab

    tmp = tmp_path_factory.mktemp("kind-standin")
    lab = load_lab(LAB)
    members = list(lab.mesh.clusters)
    specs = [Spec(lab.cluster(c).cilium_name, lab.cluster(c).cilium.cluster_id,
                  node_port=lab.cluster(c).cilium.clustermesh_node_port) for c in members]
    sm = ServedMesh(tmp / "clusters", specs, shared_ca=False)
    zygote = Zygote().start()
    try:
        doc = yaml.safe_load(sm.kubeconfig.read_text())
        kind_dir = tmp / "kind"
        kind_dir.mkdir()
        for c in members:   # one kubeconfig per member, named as kind's (labsim/provisioners/kind)
            (kind_dir / f"{kind_name(lab, c)}.kubeconfig").write_text(
                yaml.safe_dump({**doc, "current-context": sm.context(lab.cluster(c).cilium_name)}, sort_keys=False))
        env = {**sm.env, **zygote.env(), "LABSIM_PYTHON": sys.executable,
               "PATH": f"{BIN}:{Path(sys.executable).parent}:/usr/bin:/bin"}
        env.pop("KUBECONFIG", None)
        # the mesh joined on the stand-in clusters, as make kind-verify does before the features run
        built = MeshContext(Tools(env=env), sm.clock, tmp / "built",
                            {c: kind_dir / f"{kind_name(lab, c)}.kubeconfig" for c in members})
        M.provision(lab, built)
        yield StandInKind(LAB, kind_dir, env, sm.clock, tmp / "work")
    finally:
        zygote.stop()
        sm.stop()


def test_mesh_steps_use_the_kubeconfigs_and_tools_the_kind_target_hands_out(kind):
    talos = talos_steps.TalosRun(lab=kind.lab, tools=Tools(env=kind.tool_env()))
    mesh = mesh_steps.MeshRun(lab=kind.lab)
    ev = Evidence()
    kind.asked.clear()
    mesh = mesh_steps.mesh_built(kind, talos, mesh, ev)
    assert "used as found" in ev.attached["mesh-clusters"]
    mesh_steps.all_connected(kind, talos, mesh, ev)
    mesh_steps.services_present(kind, talos, mesh, ev)
    mesh_steps.agents_as_planned(kind, talos, mesh, ev)
    mesh_steps.apiservers_available(kind, talos, mesh, ev)
    members = list(kind.lab.mesh.clusters)
    assert sorted(set(kind.asked)) == sorted(members)
    assert mesh.ctx.kubeconfigs == {c: kind.kind_dir / f"{kind_name(kind.lab, c)}.kubeconfig" for c in members}
    # the target's tools, not the simulator's; KUBECONFIG is the mesh context's merge of the handed-out kubeconfigs
    env = dict(mesh.ctx.tools.env)
    assert Path(env.pop("KUBECONFIG")).parent == Path(kind.workdir) / "mesh"
    assert env == kind.tool_env()
    assert not (Path(kind.workdir) / "talos").exists() or not any((Path(kind.workdir) / "talos").rglob("kubeconfig"))


def test_talos_and_ceph_steps_take_the_kind_kubeconfig(kind):
    talos = talos_steps.TalosRun(lab=kind.lab, tools=Tools(env=kind.tool_env()))
    cluster = kind.lab.mesh.clusters[0]
    ev = Evidence()
    talos_steps.cluster_provisioned(kind, talos, ev, cluster)
    assert "used as found" in ev.attached[f"talos-{cluster}"]
    want = kind.kind_dir / f"{kind_name(kind.lab, cluster)}.kubeconfig"
    assert talos_steps.kubeconfig(kind, talos, cluster) == want
    assert talos_steps._kube(kind, talos, cluster).nodes()        # the stand-in cluster's nodes answer
    ceph = ceph_steps.CephRun(tools=Tools(env=kind.tool_env()), t0=0.0)
    assert ceph_steps.access(kind, ceph, cluster).kubeconfig == str(want)
