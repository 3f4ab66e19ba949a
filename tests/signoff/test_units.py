"""Unit tests of the renderers and of the layering rule."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from labsim.signoff.plots import Colours, chart, transitions
from labsim.signoff.topology import topology_for

from .conftest import REPO, signoff_cli

AGGRIK8S = REPO / "labs" / "aggrik8s.yaml"


def test_signoff_imports_no_lab_layer():
    """ARCHITECTURE.md: signoff is imported by conftest.py alone and never imports labsim/provisioners/fakes/steps."""
    forbidden = {"labsim.provisioners", "labsim.fakes", "labsim.steps"}
    paths = sorted((REPO / "labsim" / "signoff").glob("*.py"))
    assert len(paths) > 5, "the signoff package was not found"
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                assert ".".join(n.split(".")[:2]) not in forbidden, f"{path.name} imports {n}"


def _svg(svg) -> str:
    from labsim.signoff.html_report import environment

    return environment().from_string('{% from "svg.html.j2" import draw %}{{ draw(svg) }}').render(svg=svg)


def test_topology_of_the_aggrik8s_lab_file():
    """Without an observation the lab file's topology is drawn, and says it is the intended one."""
    lab = yaml.safe_load(AGGRIK8S.read_text())
    topo = topology_for([], lab, Colours())
    assert topo.source == "lab file" and topo.breaks == []
    svg = _svg(topo.svg)
    assert svg.startswith("<svg") and "</svg>" in svg
    for d in lab["routeros"]["devices"]:
        assert f'data-name="{d["identity"]}"' in svg
        assert d["model"] in svg
    for n in lab["proxmox"]["nodes"] + lab["hosts"] + lab["clusters"]:
        assert f'data-name="{n["name"]}"' in svg
    # four parallel LACP cables between each RB5009 and the CRS328 are drawn as one line
    assert svg.count('data-cables="4"') == 2
    assert "rb5009-01:ether5 ↔ crs328-01:ether17" in svg
    assert "ClusterMesh: talos-east ↔ talos-west" in svg
    assert "piCluster ↔" not in svg  # not a mesh member yet
    assert "http" not in svg


def test_topology_marks_the_hop_where_a_vlan_stops():
    topo = {"format": "labsim-topology/1", "source": "observed",
            "nodes": [{"name": "sw1", "kind": "routeros", "detail": "CRS305-1G-4S+IN"},
                      {"name": "pve", "kind": "proxmox", "detail": "Proxmox VE"}],
            "links": [{"a": "sw1", "a_port": "sfp1", "b": "pve", "b_port": "nic0",
                       "ends": {"sw1": {"port": "sfp1", "tagged": [20], "untagged": [1], "up": True,
                                        "intended": {"tagged": [10, 20], "untagged": [1]}}},
                       "differences": ["sw1 sfp1: VLAN 10 not tagged (the lab file has it tagged)"],
                       "broken": ["VLAN10 from sw1 for cluster c: sw1 sfp1: VLAN 10 not in the tagged list"]}],
            "breaks": [{"vlan": "VLAN10", "node": "sw1", "port": "sfp1", "reason": "not in the list", "link": 0}],
            "vlans": [], "clusters": [{"name": "c", "vlan": "VLAN10", "runs_on": ["pve"]}], "mesh": []}

    class Rec:
        status, full_title, topology = "failed", "Fabric: carried", topo

    shown = topology_for([Rec()], None, Colours(["c"]))
    assert shown.source == "observed" and shown.scenario == "Fabric: carried"
    svg = _svg(shown.svg)
    assert svg.count('class="link broken"') == 1 and 'data-a-port="sfp1"' in svg
    assert "sfp1: T 20 · U 1" in svg and "✗ VLAN10 stops here" in svg
    assert shown.differences == ["sw1 sfp1: VLAN 10 not tagged (the lab file has it tagged)"]
    topo["nodes"][1]["detail"] = "<script>alert(1)</script>"   # data from a lab is text, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _svg(topology_for([Rec()], None, Colours()).svg)


def test_topology_without_a_lab():
    assert topology_for([], None, Colours()) is None
    assert topology_for([], {"lab": {"name": "x"}}, Colours()) is None
    topo = topology_for([], {"routeros": {"devices": [{"identity": "sw1"}]}, "cables": [["sw1:e1", "nas:eth0"]]},
                        Colours())
    assert 'data-name="sw1"' in _svg(topo.svg)


def test_charts_keep_one_colour_per_cluster():
    colours = Colours(["talos-east", "talos-west"])
    split = [{"t": t, "name": n, "share": s, "low": s - 0.05, "high": s + 0.05, "n": 100 * (t + 1), "target": g,
              "tolerance": 0.05} for t in range(3) for n, s, g in (("talos-east", 0.26, 0.25), ("talos-west", 0.74, 0.75))]
    svg = _svg(chart("s", "canary", "split", split, colours))
    assert svg.count('class="band"') == 2 and svg.count('class="target"') == 2 and svg.count('class="share"') == 2
    answers = [{"t": 0, "lane": "l", "state": "talos-east", "counts": {"talos-east": 10}},
               {"t": 1, "lane": "l", "state": "talos-west+failed", "counts": {"talos-west": 6, "failed": 4}}]
    svg2 = _svg(chart("a", "failover", "failover", answers, colours))
    assert svg2.count('class="answers"') == 3
    for name in ("talos-east", "talos-west"):
        col = colours.of(name)
        assert f'stroke="{col}"' in svg and f'stroke="{col}"' in svg2, name
    assert 'stroke="#dc2626"' in svg2   # no answer: red, never a cluster colour


def test_health_lanes_and_transitions():
    health = [{"t": 0, "cluster": "talos-east", "status": "HEALTH_OK"},
              {"t": 30, "cluster": "talos-east", "status": "HEALTH_WARN", "checks": ["OSD_DOWN"]}]
    svg = _svg(chart("h", "ceph", "health", health, Colours(["talos-east"])))
    assert "#f59e0b" in svg and 'data-state="HEALTH_WARN"' in svg
    assert transitions(health, "health")[-1] == "t=30 s talos-east: HEALTH_OK → HEALTH_WARN (OSD_DOWN)"


def test_cli_help_documents_trust():
    r = signoff_cli("verify", "--help")
    assert r.returncode == 0
    assert "integrity" in r.stdout and "identity" in r.stdout and "--allowed-signers" in r.stdout
    assert signoff_cli().returncode == 2


def test_package_does_not_need_the_lab_packages():
    src = "\n".join(p.read_text() for p in (REPO / "labsim" / "signoff").glob("*.py"))
    assert "def pytest_configure" in src
    for mod in ("librouteros", "proxmoxer", "kubernetes"):
        assert f"import {mod}" not in src
    assert Path(REPO / "labsim" / "signoff" / "__init__.py").exists()


def test_an_outline_title_shows_the_lab_subject_not_the_values_derived_from_it():
    from labsim.signoff.model import ScenarioRecord
    rec = ScenarioRecord(nodeid="n", kind="scenario", name="Routed", feature="Fabric", feature_file="f.feature",
                         template_name="Routed",
                         example={"pair": "alpha and bravo", "pair.a": "alpha", "pair.a id": "11", "speed": "1G",
                                  "orphan.x": "kept"})
    assert rec.title == "Routed (pair=alpha and bravo, speed=1G, orphan.x=kept)"
