"""`--allow-probes` (issue 13): traffic checks that need a probe pod (failover, canary split, policy) run against a
real lab only with it; without it they are declared deviations, never passes. With it, each scenario's probe Jobs,
and the probe namespace it created for them, are removed when it ends, passed or failed.

The real-lab side is shown on a stand-in lab target: the stand-in clusters of test_kind_target.py (Kubernetes with
Cilium and the mesh joined, served over HTTPS) handed out under the name "lab", as a built lab is found.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh.workload import Client, first_two
from labsim.steps import mesh_steps, talos_steps
from labsim.steps.harness import PROBES_REFUSED
from tests.features.test_kind_target import LAB, Evidence, StandInKind, kind  # noqa: F401  (the stand-in clusters)

ROOT = Path(__file__).resolve().parents[2]
# the steps that start a probe Job (labsim/steps/mesh_steps.py start_probe)
PROBE_STEP = re.compile(r"\d+ requests go from |a probe of \d+ requests runs from "
                        r"|\d+ requests from \S+ to \".*\" all fail|cilium connectivity test from ")


class StandInLab(StandInKind):
    """A real lab as the steps see it (`--target lab`), its clusters found built: probe pods only when allowed."""

    name = "lab"

    def __init__(self, kind_target: StandInKind, workdir: Path, *, allow_probes: bool):
        super().__init__(LAB, kind_target.kind_dir, kind_target.env, kind_target.clock, workdir)
        self.probes_allowed = allow_probes


def _scenarios(feature: Path):
    """(tags, scenario name, steps) of every scenario of a feature file."""
    tags, out = set(), []
    for line in feature.read_text().splitlines():
        text = line.strip()
        if text.startswith("@"):
            tags |= {t.lstrip("@") for t in text.split()}
        elif m := re.match(r"Scenario(?: Outline)?: (.+)", text):
            out.append((tags, m[1], []))
            tags = set()
        elif out and re.match(r"(Given|When|Then|And|But) ", text):
            out[-1][2].append(text)
    return out


def test_every_scenario_that_starts_a_probe_is_tagged_probes():
    found = []
    for feature in sorted((ROOT / "features").glob("*.feature")):
        for tags, name, steps in _scenarios(feature):
            if any(PROBE_STEP.search(s) for s in steps):
                found.append(name)
                assert "probes" in tags, f"{feature.name}: {name!r} starts probe pods but is not tagged @probes"
    assert len(found) >= 10, found      # the mesh failover and policy drills, and cilium connectivity test


def test_without_allow_probes_a_real_lab_run_declares_them_deviations_and_passes_none(tmp_path):
    """Every gate but --allow-probes open (--apply, the confirmed drills): the @probes scenarios are skipped with the
    reason, listed by the sign-off as a declared deviation, and none is reported passed."""
    so = tmp_path / "so"
    proc = subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "-rs",
                           "-m", "probes", "--target", "lab", "--no-preflight", "--apply", "--allow-destructive",
                           "--confirm-lab", "aggrik8s", "--signoff", str(so)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "passed" not in proc.stdout.splitlines()[-1], proc.stdout[-3000:]
    assert PROBES_REFUSED in proc.stdout, proc.stdout[-3000:]
    bundle = next(p for p in so.iterdir() if p.is_dir())
    m = json.loads((bundle / "manifest.json").read_text())
    outcomes = {s["outcome"] for s in m["scenarios"]}
    assert outcomes == {"skipped"}, m["scenarios"]
    assert len(m["scenarios"]) >= 10
    assert "--allow-probes" in json.dumps(m), "the sign-off does not say what the skipped probes needed"
    assert m["verdict"] != "ACCEPTED" or all("--allow-probes" in json.dumps(s) for s in m["scenarios"])


def _run(target, lab):
    talos = talos_steps.TalosRun(lab=lab, tools=target.tools())
    gen = mesh_steps.mesh.__wrapped__(target)       # the fixture itself: its teardown is what pytest runs
    mesh = next(gen)
    mesh.lab = lab
    return talos, mesh_steps.mesh_built(target, talos, mesh, Evidence()), gen


def _no_apps(tmp_path: Path):
    """The lab file without applications: a probe then runs as a plain pod, in the suite's probe namespace."""
    data = yaml.safe_load(LAB.read_text())
    data["mesh"]["applications"] = []
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return load_lab(tmp_path / "lab.yaml")


def test_without_allow_probes_no_probe_pod_is_started(kind, tmp_path):  # noqa: F811
    target = StandInLab(kind, tmp_path / "work", allow_probes=False)
    lab = _no_apps(tmp_path)
    talos, mesh, gen = _run(target, lab)
    a, _ = first_two(lab)
    with pytest.raises(AssertionError, match="--allow-probes"):
        mesh_steps.requests(target, talos, mesh, Evidence(), 20, a, "echo")
    assert mesh_steps._ctx(target, talos, mesh).kube(a).get("Namespace", lab.mesh.probe.namespace) is None
    assert not mesh.probes
    with pytest.raises(StopIteration):
        next(gen)


def test_with_allow_probes_the_probe_namespace_comes_and_goes_even_when_it_fails(kind, tmp_path):  # noqa: F811
    target = StandInLab(kind, tmp_path / "work", allow_probes=True)
    lab = _no_apps(tmp_path)
    full = load_lab(LAB)
    talos, mesh, gen = _run(target, lab)
    a, b = first_two(lab)
    kube = mesh_steps._ctx(target, talos, mesh).kube(a)
    ns = lab.mesh.probe.namespace
    assert kube.get("Namespace", ns) is None
    ev = Evidence()
    mesh_steps.requests(target, talos, mesh, ev, 20, a, "echo")
    assert kube.get("Namespace", ns) is not None, "the probe did not get its own namespace"
    assert kube.get("Job", mesh.probes[0].name, ns) is not None
    # a probe that must run as an application goes where its identity is: its Job is removed, its namespace stays
    app = full.mesh.applications[0]
    as_app = Client(app.namespace, app.pod_labels, app.name)
    app_probe = mesh_steps.start_probe(target, talos, mesh, a, "echo", 10, as_app)
    assert app_probe.namespace == app.namespace
    # the scenario fails at a Then step (the probe was not answered by the other member only)...
    with pytest.raises(AssertionError):
        mesh_steps.all_answered_by(mesh, ev, b)
    # ...and its teardown still removes what the probes brought
    with pytest.raises(StopIteration):
        next(gen)
    gone = kube.get("Namespace", ns)
    assert gone is None or (gone.get("status") or {}).get("phase") == "Terminating", gone
    assert kube.get("Job", app_probe.name, app.namespace) is None
    assert kube.get("Namespace", app.namespace) is not None, "an application's namespace is never the probes' to remove"
    assert not kube.pods(app.namespace, f"probe={app_probe.name}") or all(
        p.metadata.deletion_timestamp for p in kube.pods(app.namespace, f"probe={app_probe.name}"))


def test_connectivity_test_namespaces_are_removed_with_the_probes(kind, tmp_path):  # noqa: F811
    """cilium-cli leaves its test namespaces (cilium-test-N) in both clusters: the scenario's teardown removes the
    ones this run created, whatever the test's verdict."""
    target = StandInLab(kind, tmp_path / "work", allow_probes=True)
    lab = load_lab(LAB)
    talos, mesh, gen = _run(target, lab)
    a, b = first_two(lab)
    try:
        mesh_steps.connectivity_test(target, talos, mesh, Evidence(), a, b)
    except AssertionError:
        pass                     # the verdict is not this test's concern
    created = list(mesh.probe_namespaces)
    assert {c for c, _ in created} == {a, b}, created
    with pytest.raises(StopIteration):
        next(gen)
    for c, ns in created:
        gone = mesh_steps._ctx(target, talos, mesh).kube(c).get("Namespace", ns)
        assert gone is None or (gone.get("status") or {}).get("phase") == "Terminating", (c, gone)
