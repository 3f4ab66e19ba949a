"""Scenarios that start from a lab checkpoint (labsim/steps/checkpoints.py) each get a restore of their own: a
scenario that breaks its restored lab by hand never reaches the next one, and a restored scenario is checked as
strictly as a fresh one.

A feature of three scenarios on the example lab, each beginning with the fabric provisioned: the first builds the
fabric (and leaves the checkpoint), the second starts from a restore and removes a VLAN from a trunk by hand, the
third starts from a restore and must find every device as the lab file says. The same feature with
`--no-sim-checkpoints` gives the same outcomes, and the console says how many scenarios started from a checkpoint.
"""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FEATURE = """\
Feature: Scenarios started from a lab checkpoint

  Background:
    Given the lab file passes its intent checks
    And the fabric is provisioned

  Scenario: The fabric as built
    Then every device's configuration matches the lab file

  Scenario: A VLAN removed from a trunk by hand in a restored lab
    When an engineer removes "{vlan}" from trunk "{port}" on "{device}" by hand
    Then every device's configuration matches the lab file

  Scenario: The next restored lab is whole
    Then every device's configuration matches the lab file
    And the fabric verifies clean
"""


def _trunk() -> dict[str, str]:
    """A VLAN the lab file carries on a trunk port of a device (the first found)."""
    from labsim.provisioners.lab.load import load_lab
    lab = load_lab(ROOT / "labs" / "aggrik8s.yaml")
    for dev in lab.routeros.devices:
        for trunk in dev.trunks:
            if trunk.vlans:
                return {"vlan": trunk.vlans[0], "port": trunk.interface, "device": dev.identity}
    raise AssertionError("the lab file has no trunk carrying a VLAN")


def _run(tmp_path: Path, *more: str) -> tuple[dict[str, str | None], str]:
    feature = tmp_path / "checkpoints.feature"
    feature.write_text(FEATURE.format(**_trunk()))
    junit = tmp_path / f"junit{len(more)}.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", str(feature), "-q", "-p", "no:cacheprovider",
                           "--lab", str(ROOT / "labs" / "aggrik8s.yaml"), f"--junitxml={junit}", *more],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    results = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        results[case.get("name", "")] = None if failure is None else failure.get("message", "")
    return results, proc.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("checkpoints")
    return _run(tmp), _run(tmp, "--no-sim-checkpoints")


def test_a_scenario_that_breaks_its_restored_lab_does_not_reach_the_next(runs):
    (results, out), _ = runs
    assert "lab checkpoints: 1 taken, 2 scenarios started from one" in out, out[-2000:]
    assert results["test_the_fabric_as_built"] is None, results
    broken = results["test_a_vlan_removed_from_a_trunk_by_hand_in_a_restored_lab"]
    assert broken and "bridge VLAN" in broken, f"the hand edit in a restored lab was not found: {broken!r}"
    assert results["test_the_next_restored_lab_is_whole"] is None, results


def test_the_same_scenarios_without_checkpoints_end_the_same(runs):
    (with_cp, _), (without, out) = runs
    assert "lab checkpoints" not in out
    assert {k: v is None for k, v in with_cp.items()} == {k: v is None for k, v in without.items()}
