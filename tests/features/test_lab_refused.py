"""A run on a lab file that is wrong, or with a --sim-break nobody defined, is refused once, before any scenario.

pytest stops right after collection with exit status 2 and one message (the field path and the offending value,
or the names that do exist), no scenario runs, and with --signoff the bundle is REJECTED with that reason.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "labs" / "invalid"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def refused(proc: subprocess.CompletedProcess, *texts: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out[-3000:]
    assert out.count("labsim: ") == 1, out[-3000:]                      # one message, not one per scenario
    summary = [ln for ln in out.splitlines() if ln.strip() and not ln.startswith("Sign-off:")][-1]
    assert summary.startswith("no tests ran"), out[-3000:]                 # not one scenario passed, failed or erred
    for text in texts:
        assert text in out, f"{text!r} not in:\n{out[-3000:]}"
    return out


@pytest.mark.parametrize("lab,texts", [
    (INVALID / "vlan-id-out-of-range.yaml", ["cannot be used (1 error)", "vlans[VLAN100].id: VLAN100 has VLAN id 4095"]),
    (INVALID / "schema-wrong-type.yaml", ["cannot be used (1 error)"]),
    (INVALID / "schema-yaml-syntax.yaml", ["cannot be used", "YAML syntax error"]),
    (INVALID / "no-such-lab.yaml", ["cannot be read", "cannot read the lab file: No such file or directory"]),
    (INVALID / "mesh-max-connected-differs.yaml",
     ["cannot be used (1 error)", "clusters[west].cilium.max_connected_clusters: west's Cilium runs with "
                                  "max_connected_clusters 511, the mesh's is 255"]),
], ids=["intent-error", "schema-error", "yaml-syntax", "unreadable", "mesh-max-connected-differs"])
def test_a_wrong_lab_file_stops_the_run_with_one_message(lab, texts):
    refused(run(f"--lab={lab}"), f"labsim: the lab file {lab}", *texts)


def test_the_message_names_the_field_path_and_the_value():
    lab = INVALID / "schema-wrong-type.yaml"
    expect = lab.read_text().splitlines()[0].split(":", 2)[2].strip()     # "# expect: <check>: <path>: <message>"
    assert expect == "vlans[VLAN100].id: expected a whole number, got the text 'hundred'"
    refused(run(f"--lab={lab}"), expect)


def test_an_unknown_sim_break_lists_the_breakages_there_are():
    refused(run("--sim-break=cable-cut-by-a-rabbit"), "--sim-break cable-cut-by-a-rabbit: no such breakage",
            "the breakages are", "trunk-vlan-removed", "vm-stopped", "talos-worker-powered-off")


def test_with_signoff_the_bundle_is_rejected_with_that_reason(tmp_path):
    lab = INVALID / "vlan-id-out-of-range.yaml"
    refused(run(f"--lab={lab}", "--signoff", str(tmp_path), "--signoff-strict"))
    (bundle,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    summary = (bundle / "summary.md").read_text()
    assert "# Lab sign-off: REJECTED" in summary
    assert "vlans[VLAN100].id: VLAN100 has VLAN id 4095" in summary
    assert "Scenarios: 0 total" in summary
