"""Every fabric scenario fails on a lab broken the way it describes (that it passes on a healthy one is `features/`).

Each case runs the real feature (pytest-bdd, the real provisioner, librouteros against the fakes) in a pytest
session of its own (in this process: `run_pytest`) with `--sim-break NAME`, which breaks the simulated lab right
after it is provisioned, and asserts that exactly the scenario in question fails, at the step and with the message
expected.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]

TRUNK = "A VLAN removed from a trunk by hand is found, traced and repaired"
ADDRESS = "An address changed by hand is found and repaired"
INVALID = "An invalid lab file is refused before any device is contacted"
CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    ("Every VLAN exists on every device with its address", "vlan-interface-removed", "no VLAN interface VLAN1500",
     "every VLAN has its interface and address on every device"),
    ("Each VLAN is carried from its DHCP device to the machines that need it", "trunk-vlan-removed",
     "stops at crs328-01 sfp-sfpplus3",
     "<vlans> are carried hop by hop from their DHCP device to the machines that need them"),
    ("Each VLAN is carried from its DHCP device to the machines that need it", "proxmox-cable-pulled",
     "stops at"),
    ("Each VLAN with DHCP has exactly one DHCP server with its pool inside its subnet", "second-dhcp-server",
     "2 DHCP servers serve VLAN 1500", "<vlans> each have exactly one DHCP server with its pool inside its subnet"),
    ("Each VLAN with DHCP has exactly one DHCP server with its pool inside its subnet", "pool-outside-subnet",
     "is outside 192.168.15.0/24"),
    ("The VLANs <pair> of two mesh members are routed to each other", "gateway-route-lost",
     "has no active route to 192.168.20.0/24", 'traffic is routed between "<pair.a>" and "<pair.b>"'),
    ("The VLANs <pair> of two mesh members are routed to each other", "forward-drop", "drops 192.168.15.0/24"),
    ("The devices' whole configuration matches the lab file", "access-port-pvid-changed", "pvid is 2000, want 1500",
     "every device's configuration matches the lab file"),
    ("A second apply changes nothing", "access-port-pvid-changed", "the second plan is not empty",
     "no device accepted any change"),
    (TRUNK, "device-refuses-repairs", "failure: configuration is locked"),
    (ADDRESS, "device-refuses-repairs", "failure: configuration is locked"),
    (TRUNK, "hand-edit-undone", "no difference reported for bridge VLAN 1500 on crs328-01",
     'verification reports that "<trunk.device>" no longer tags "<trunk.port>" for VLAN <trunk.vid>', None,
     (('the trace of "<trunk.vlan>" to "<trunk.target>" stops at "<trunk.hop>"', "VLAN1500 still reaches pve:enp1s0f0"),
      ('only "<trunk.device>" was changed by the repair', "the repair changed [], expected only ['crs328-01']"))),
    (TRUNK, "trunk-vlan-removed", "bridge VLAN 1500: tagged is", "the fabric verifies clean", "the fabric verifies clean"),
    (TRUNK, "access-port-pvid-changed", "the repair changed ['crs328-01', 'rb5009-01']",
     'only "<trunk.device>" was changed by the repair',
     "the fabric is applied"),
    (ADDRESS, "hand-edit-undone", "address is 192.168.20.254/24, want 192.168.20.3/24' among []",
     'verification reports that "<gateway.device>" has "<gateway.new>" on "<gateway.vlan>" instead of "<gateway.have>"',
     None, (('only "<gateway.device>" was changed by the repair', "the repair changed [], expected only ['rb5009-02']"),)),
    (ADDRESS, "trunk-vlan-removed", "bridge VLAN 1500: tagged is", "the fabric verifies clean", "the fabric verifies clean"),
    (ADDRESS, "access-port-pvid-changed", "the repair changed ['rb5009-01', 'rb5009-02']",
     'only "<gateway.device>" was changed by the repair',
     "the fabric is applied"),
    (INVALID, "invalid-copy-put-right", "the invalid lab file was accepted",
     "the run is refused before any device is contacted", None,
     (('the refusal names check "pool-outside-subnet" at "<vlan.path>"', "the invalid lab file was accepted"),)),
]


class Case(NamedTuple):
    scenario: str
    breakage: str
    expected: str
    step: str | None = None
    at: str | None = None
    also: tuple[tuple[str, str], ...] = ()     # further (Then step, expected text) the same run shows failing


def cases(table) -> list:
    """A test module's CASES as pytest params, each named for its breakage (and its step)."""
    return [pytest.param(Case(*c), id=f"{c[1]}-{i}") for i, c in enumerate(table)]


# Lab file edits an engineer might make by hand, for scenarios about the lab file itself (@intent): the feature runs
# on the edited copy (`--lab`), as `labsim verify` would on that engineer's file.
LAB_EDITS = {
    "lab:picluster-cluster-id-reused": ("cluster_id: 3, cluster_name: picluster", "cluster_id: 2, cluster_name: picluster"),
    "lab:picluster-keeps-kube-proxy": ("kube_proxy: false\n    hosts:", "kube_proxy: true\n    hosts:"),
    "lab:picluster-cilium-two-minors-behind": ("cilium: {version: 1.18.5, cluster_id: 3,",
                                               "cilium: {version: 1.16.9, cluster_id: 3,"),
}


# The operator's workstation (@lab_only: never run in the simulator) checked on a stand-in: the run targets the lab
# (`--target lab`, no preflight, the network guard on: the scenario contacts no device) with PATH holding only a
# folder of the tools the lab file pins (the project's own talosctl, helm and cilium where it ships one, this machine's
# own otherwise), less what the breakage takes away. The lab file's `env:` secrets get placeholders, never used.
WORKSTATION_BREAKAGES = {"workstation:first-pinned-tool-missing"}


def _workstation(tmp_path: Path, breakage: str, lab: str | None) -> tuple[list[str], dict[str, str]]:
    import os
    import shutil

    from labsim.provisioners.lab.load import load_lab
    labfile = Path(lab) if lab else ROOT / "labs" / "aggrik8s.yaml"
    pinned = list(load_lab(labfile).tools)
    assert pinned, f"{breakage}: {labfile} pins no tool"
    missing = {pinned[0]} if breakage == "workstation:first-pinned-tool-missing" else set()
    bin_dir = tmp_path / "workstation-bin"
    bin_dir.mkdir()
    for tool in pinned:
        ours = ROOT / "labsim" / "fakes" / "bin" / tool
        found = ours if ours.exists() else shutil.which(tool)
        if tool not in missing and found:
            (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir), "LABSIM_PYTHON": sys.executable}
    env.update({name: "stand-in, never used" for name in re.findall(r"env:([A-Z][A-Z0-9_]*)", labfile.read_text())})
    return ["--target", "lab", "--no-preflight", "--loopback-only"], env


def run_pytest(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> tuple[int, str]:
    """pytest on the features, as `python -m pytest ARGS` in the repository would run it: in this process, where
    the lab checkpoints the runs before it left are restored rather than built again and no interpreter starts
    (labsim/steps/checkpoints.py), or in a subprocess when the run needs an environment of its own. The exit code
    and what the run printed."""
    if env is not None:
        proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        return proc.returncode, proc.stdout
    import contextlib
    import io

    out = io.StringIO()
    # no:unraisableexception: its two gc.collect() per session took 0.35 s of each run (the outer session's hook
    # still records what a nested run leaves unraisable)
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out):
        code = pytest.main([*args, "-p", "no:xdist", "-p", "no:unraisableexception"])
    return int(code), out.getvalue()


def run_feature(tmp_path: Path, scenario: str, breakage: str | None, at: str | None = None,
                then_log: Path | None = None, lab: str | None = None) -> dict[str, str | None]:
    junit = tmp_path / "junit.xml"
    cmd = [*feature_files(scenario), "-q", "-p", "no:cacheprovider", "-k", _k(scenario), f"--junitxml={junit}"]
    if lab:
        cmd.append(f"--lab={lab}")
    env = None
    if breakage in WORKSTATION_BREAKAGES:
        more, env = _workstation(tmp_path, breakage, lab)
        cmd += more
    elif breakage in LAB_EDITS:
        old, new = LAB_EDITS[breakage]
        text = (ROOT / "labs" / "aggrik8s.yaml").read_text()
        assert old in text, f"{breakage}: {old!r} is not in labs/aggrik8s.yaml"
        (tmp_path / "lab.yaml").write_text(text.replace(old, new))
        cmd.append(f"--lab={tmp_path / 'lab.yaml'}")
    elif breakage:
        cmd.append(f"--sim-break={breakage}")
        if at:
            cmd.append(f"--sim-break-at={at}")
    if then_log:
        cmd.append(f"--sim-then-log={then_log}")
    run_pytest(cmd, env=env)
    results: dict[str, str | None] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        results[case.get("name", "")] = None if failure is None else (failure.get("message", "") + (failure.text or ""))
    return results


def feature_files(scenario: str) -> list[str]:
    """The feature files that have the scenario: a run collects only those (collecting every feature file was a
    third of a second of each case, for scenarios that were then deselected)."""
    found = [f"features/{f.name}" for f in sorted((ROOT / "features").glob("*.feature")) if scenario in scenario_names(f)]
    assert found, f"no feature file has a scenario {scenario!r}"
    return found


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


def then_steps() -> dict[tuple[str, str], tuple[str, int]]:
    """Every Then step (and each And / But after one) of every feature: (scenario, step text) -> (file, line)."""
    out: dict[tuple[str, str], tuple[str, int]] = {}
    for feature in sorted((ROOT / "features").glob("*.feature")):
        scenario, last = None, None
        for n, line in enumerate(feature.read_text().splitlines(), 1):
            text = line.strip()
            if m := re.match(r"(?:Scenario(?: Outline)?|Background):\s*(.*)", text):
                scenario, last = (m[1] if not text.startswith("Background") else None), None
            elif (m := re.match(r"(Given|When|Then|And|But) (.+)", text)) and scenario:
                last = m[1] if m[1] in ("Given", "When", "Then") else last
                if last == "Then":
                    out.setdefault((scenario, m[2]), (feature.name, n))
    return out


def step_line(scenario: str, step: str) -> tuple[str, int]:
    found = then_steps().get((scenario, step))
    assert found, f"no Then step {step!r} in scenario {scenario!r}"
    return found


def assert_scenario_fails(tmp_path: Path, scenario: str, breakage: str, expected: str, step: str | None = None,
                          at: str | None = None, also: tuple[tuple[str, str], ...] = (), lab: str | None = None) -> None:
    """The scenario ran and failed on the lab broken by `breakage`, with `expected` in its failure. With `step` (a
    Then step's text as the feature writes it, `<x>` for its subjects), the scenario's Then steps keep going after a
    failure (`--sim-then-log`) and that very step must be among those that failed, with `expected` in its message;
    `at` strikes right before that step of the scenario instead of where the breakage usually strikes; `lab` runs the
    feature on another lab file."""
    log = tmp_path / "then.jsonl" if step else None
    results = run_feature(tmp_path, scenario, breakage, at=at, then_log=log, lab=lab)
    assert results, f"no test matched scenario {scenario!r}"
    failures = [msg for msg in results.values() if msg]
    assert failures, f"{scenario!r} passed although the lab was broken by {breakage}"
    if step is None:
        assert any(expected in msg for msg in failures), f"expected {expected!r} in the failure:\n{failures[0][:2000]}"
        return
    failed = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for then, text in ((step, expected), *also):
        where = step_line(scenario, then)
        mine = [f["message"] for f in failed if (f["feature"], f["line"]) == where]
        assert mine, (f"Then {then!r} did not fail under {breakage}; the Then steps that failed: "
                      f"{[f['step'] for f in failed]}\n{failures[0][:2000]}")
        assert any(text in m for m in mine), f"expected {text!r} in the failure of Then {then!r}:\n{mine[0][:2000]}"


@pytest.mark.parametrize("case", cases(CASES))
def test_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


def collected(args: list[str]) -> set[str]:
    """The test names (`test_...[example]`) a run of the features with `args` collects, bound to the lab file."""
    code, out = run_pytest([*args, "--co", "-q", "-p", "no:cacheprovider"])
    assert code == 0, out[-3000:]
    return {line.split("::", 1)[1] for line in out.splitlines() if line.startswith("features/") and "::" in line}


def test_every_case_names_a_fabric_scenario():
    """Every case names a scenario of the fabric feature. That the scenarios pass on a healthy lab is `features/`
    itself, which make test and make verify run: running them again here repeated that work."""
    names = collected(["features/", "-m", "fabric"])
    for scenario, *_ in CASES:
        assert ran(names, scenario), f"{scenario!r} is not a scenario of features/fabric.feature"
