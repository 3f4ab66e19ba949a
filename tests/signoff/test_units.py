"""Unit tests of the renderers and of the layering rule."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from labsim.signoff.charts import timeline_svg, transitions
from labsim.signoff.topology import topology_svg

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


def test_topology_of_the_aggrik8s_lab():
    lab = yaml.safe_load(AGGRIK8S.read_text())
    svg = topology_svg(lab)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for d in lab["routeros"]["devices"]:
        assert f'data-name="{d["identity"]}"' in svg
        assert d["model"] in svg
    for n in lab["proxmox"]["nodes"]:
        assert f'data-name="{n["name"]}"' in svg
    for h in lab["hosts"]:
        assert f'data-name="{h["name"]}"' in svg
    for c in lab["clusters"]:
        assert f'data-name="{c["name"]}"' in svg
    for v in lab["vlans"]:
        assert f'data-vlan="{v["name"]}"' in svg and v["subnet"] in svg
    # four parallel LACP cables between each RB5009 and the CRS328 are drawn as one bundle
    assert svg.count("rb5009-01:ether5 ↔ crs328-01:ether17") == 1
    assert svg.count('class="cable bundle"') == 2 and "×4" in svg
    assert "ClusterMesh: talos-east ↔ talos-west" in svg
    assert "piCluster ↔" not in svg  # not a mesh member yet
    assert "http" not in svg


def test_topology_without_a_lab():
    assert topology_svg(None) is None
    assert topology_svg({"lab": {"name": "x"}}) is None
    svg = topology_svg({"routeros": {"devices": [{"identity": "sw1"}]}, "cables": [["sw1:e1", "nas:eth0"]]})
    assert 'data-name="nas"' in svg and "(cable endpoint)" in svg


def test_failover_and_health_timelines():
    pts = [{"t": 0, "cluster": "east", "ok": True}, {"t": 12, "cluster": "east", "ok": False},
           {"t": 40, "cluster": "east", "ok": True}, {"t": 0, "cluster": "west", "ok": True}]
    svg = timeline_svg("failover", "failover", pts, svg_id="x")
    assert svg.count('class="seg"') == 4 and 'data-state="down"' in svg and 'id="x"' in svg
    assert transitions(pts, "failover") == ["t=0s east: ok", "t=0s west: ok", "t=12s east: ok → down",
                                            "t=40s east: down → ok"]
    health = [{"t": 0, "status": "HEALTH_OK"}, {"t": 30, "status": "HEALTH_WARN", "checks": ["OSD_DOWN"]}]
    svg = timeline_svg("ceph", "health", health)
    assert "#f59e0b" in svg and "HEALTH_WARN" in svg
    assert transitions(health, "health")[-1] == "t=30s health: HEALTH_OK → HEALTH_WARN (OSD_DOWN)"
    assert "empty" in timeline_svg("x", "health", [])


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
