"""Every fabric scenario passes on a healthy simulated lab and fails on a lab broken the way it describes.

Each case runs the real feature (pytest-bdd, the real provisioner, librouteros against the fakes) in a
subprocess with `--sim-break NAME`, which breaks the simulated lab right after it is provisioned, and
asserts that exactly the scenario in question fails, at the step and with the message expected.
"""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    # (scenario name, breakage, text the failure must contain)
    ("Every VLAN exists on every device with its address", "vlan-interface-removed", "no VLAN interface VLAN1500"),
    ("Each VLAN is carried from its DHCP device to the machines that need it", "trunk-vlan-removed",
     "stops at crs328-01 sfp-sfpplus3"),
    ("Each VLAN is carried from its DHCP device to the machines that need it", "proxmox-cable-pulled",
     "stops at"),
    ("Each VLAN with DHCP has exactly one DHCP server with its pool inside its subnet", "second-dhcp-server",
     "2 DHCP servers serve VLAN 1500"),
    ("Each VLAN with DHCP has exactly one DHCP server with its pool inside its subnet", "pool-outside-subnet",
     "is outside 192.168.15.0/24"),
    ("The VLANs <pair> of two mesh members are routed to each other", "gateway-route-lost",
     "has no active route to 192.168.20.0/24"),
    ("The VLANs <pair> of two mesh members are routed to each other", "forward-drop", "drops 192.168.15.0/24"),
    ("The devices' whole configuration matches the lab file", "access-port-pvid-changed", "pvid is 2000, want 1500"),
    ("A second apply changes nothing", "access-port-pvid-changed", "the second plan is not empty"),
    ("A VLAN removed from a trunk by hand is found, traced and repaired", "device-refuses-repairs",
     "failure: configuration is locked"),
    ("An address changed by hand is found and repaired", "device-refuses-repairs",
     "failure: configuration is locked"),
    ("An invalid lab file is refused before any device is contacted", "intent-checks-skipped",
     "the invalid lab file was accepted"),
]


def run_feature(tmp_path: Path, scenario: str, breakage: str | None, lab: str | None = None) -> dict[str, str | None]:
    junit = tmp_path / "junit.xml"
    cmd = [sys.executable, "-m", "pytest", "features/", "-q",
           "-p", "no:cacheprovider", "-k", _k(scenario), f"--junitxml={junit}"]
    if lab:
        cmd.append(f"--lab={lab}")
    if breakage:
        cmd.append(f"--sim-break={breakage}")
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    results: dict[str, str | None] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        results[case.get("name", "")] = None if failure is None else (failure.get("message", "") + (failure.text or ""))
    return results


def _k(scenario: str) -> str:
    # the test name pytest-bdd gives a scenario (its own function; -k matches on it)
    from pytest_bdd.scenario import make_python_name
    return "test_" + make_python_name(scenario)


def ran(names: set[str], scenario: str) -> bool:
    """A scenario (or a row of a scenario outline, bound to the lab file's subjects) is among the junit test names."""
    return any(n == _k(scenario) or n.startswith(_k(scenario) + "[") for n in names)


def scenario_names(feature: Path) -> list[str]:
    """The names of a feature file's scenarios and scenario outlines, in order."""
    return re.findall(r"^\s*Scenario(?: Outline)?: (.+?)\s*$", feature.read_text(), re.MULTILINE)


def assert_scenario_fails(tmp_path: Path, scenario: str, breakage: str, expected: str, lab: str | None = None) -> None:
    """The scenario ran and failed on the lab broken by `breakage`, with `expected` in its failure."""
    results = run_feature(tmp_path, scenario, breakage, lab)
    assert results, f"no test matched scenario {scenario!r}"
    failures = [msg for msg in results.values() if msg]
    assert failures, f"{scenario!r} passed although the lab was broken by {breakage}"
    assert any(expected in msg for msg in failures), f"expected {expected!r} in the failure:\n{failures[0][:2000]}"


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[f"{b}-{i}" for i, (_, b, _) in enumerate(CASES)])
def test_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected)


def test_every_scenario_passes_on_a_healthy_lab(tmp_path):
    """The same fabric scenarios pass when nothing is broken (and every case names a real scenario)."""
    junit = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "features/", "-m", "fabric",
                           "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    names = {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")}
    for scenario, _, _ in CASES:
        assert ran(names, scenario), f"{scenario!r} is not a scenario of features/fabric.feature"
