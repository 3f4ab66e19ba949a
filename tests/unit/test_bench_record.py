"""`make bench`'s record: every figure as a ratio against its goal, the fastest of several runs counted, and the
whole written as JSON for a trend (tests/bench/__main__.py; the timings themselves are make bench's, not ours)."""
from __future__ import annotations

import json
import types

import pytest

import tests.bench.__main__ as bench


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(bench, "FIGURES", [])
    monkeypatch.setattr(bench, "ROWS", {})


def test_a_figure_is_a_ratio_against_its_goal():
    assert bench.figure("proxmox", "1800 VMs", 18.0, 60.0) is True
    assert bench.figure("proxmox", "1800 / 600 VMs, CPU time", 4.4, 4.0, "x") is False
    assert [(f["ratio"], f["met"]) for f in bench.FIGURES] == [(0.3, True), (1.1, False)]


def test_the_fastest_of_several_runs_counts(monkeypatch):
    walls = iter([3.0, 2.0, 2.5])
    monkeypatch.setattr(bench.subprocess, "run", lambda cmd, **kw: types.SimpleNamespace(
        stdout=f'noise\n{{"vms": {cmd[-1]}, "total_s": {next(walls)}}}\n'))
    row = bench.measure("tests.bench.proxmox", 600, runs=3)
    assert row == {"vms": 600, "total_s": 2.0, "runs_total_s": [3.0, 2.0, 2.5]}
    assert bench.ROWS == {"proxmox": [row]}


def test_the_record_is_json_with_every_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "_git_commit", lambda: "abc123")
    bench.figure("labload", "3000 VLANs loaded", 0.8, 2.0, basis="best of 3")
    path = bench.write_record(tmp_path / "reports" / "bench-2026-12-06.json")
    record = json.loads(path.read_text())
    assert record["format"] == "labsim-bench/1" and record["git"] == "abc123" and record["met"] is True
    assert record["figures"] == [{"bench": "labload", "figure": "3000 VLANs loaded", "value": 0.8, "goal": 2.0,
                                  "unit": "s", "ratio": 0.4, "met": True, "basis": "best of 3"}]
    assert record["machine"]["cpus"] >= 1


def test_an_unknown_benchmark_is_refused(capsys):
    assert bench.main(["nosuch"]) == 2
    assert "unknown benchmark(s) nosuch; known: labload, fabric, proxmox" in capsys.readouterr().err
