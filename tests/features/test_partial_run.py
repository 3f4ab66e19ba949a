"""`-k` over the features, and a run of one feature file, are PARTIAL with the list of what was not run (the suite
is every feature file of features/, labsim/plugin.py pytest_signoff_suite)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_bdd.parser import FeatureParser

ROOT = Path(__file__).resolve().parents[2]


def _templates() -> int:
    return sum(len(FeatureParser(str(ROOT / "features"), p.name).parse().scenarios)
               for p in (ROOT / "features").glob("*.feature"))


def test_one_feature_file_with_k_is_partial_and_lists_the_rest(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pytest", "features/fabric.feature", "-q", "-p", "no:cacheprovider",
                           "-k", "dhcp", "--signoff", str(tmp_path), "--signoff-strict"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Sign-off: PARTIAL — " in proc.stdout.strip().splitlines()[-1]
    bundle = next(p for p in tmp_path.iterdir() if p.is_dir())
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["verdict"] == "PARTIAL"
    why = {n["why"] for n in m["not_run"]}
    assert why == {"deselected (-k 'dhcp')", "not collected (the run named other files)"}
    ran = [s for s in m["scenarios"] if s["kind"] == "scenario"]
    assert ran and all("dhcp" in s["nodeid"].lower() for s in ran)
    # every scenario template of the other feature files is listed, by its feature's name
    other = [n for n in m["not_run"] if n["why"].startswith("not collected")]
    assert len(other) == _templates() - len(FeatureParser(str(ROOT / "features"), "fabric.feature").parse().scenarios)
    md = (bundle / "summary.md").read_text()
    assert "## Not run in this run" in md and "## Reasons for PARTIAL" in md
