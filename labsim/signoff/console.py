"""The console of a sign-off run: each scenario's name and result as it finishes, a line per setup phase with its
elapsed time, and (in plugin.py) the verdict line naming report.html and summary.md.

    labsim 0.1.0 · lab labs/aggrik8s.yaml (aggrik8s, from --lab) · target sim · seed 0
    setup: start-up: Python, pytest, labsim's plugin and step definitions  3.5 s
    setup: collection: 52 scenarios to run from 7 feature files  107 ms

    Feature: The VLAN fabric carries, serves and routes every lab VLAN  (features/fabric.feature)
      Every VLAN exists on every device with its address ✓ passed  1.2 s
      Each cluster VLAN is carried from its DHCP device to the hosts that need it ✗ FAILED  3.2 s
          at Then each cluster VLAN is carried hop by hop from its DHCP device to the hosts that need it
          AssertionError: 1 of 7 failed:
          FAIL vlan-carried [VLAN1500 from rb5009-01 for cluster talos-east (VMs on pve)]: to pve:enp1s0f0: ...
    sign-off: bundle written  764 ms

It works beside pytest's own terminal reporter (which still prints the header, the failures and the summary):
the reporter's per-test letters, file names and percentages are turned off, these lines take their place.
On when the run writes a sign-off bundle (`--signoff`) and is not quiet; `--console=pytest` keeps pytest's dots,
`--console=scenarios` asks for these lines in any run.
"""
from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from .model import first_line

if TYPE_CHECKING:
    from .model import ScenarioRecord
    from .plugin import Collector

def since_process_start() -> float | None:
    """Seconds since this process started (Linux: /proc), for the start-up phase line; None elsewhere."""
    try:
        import os

        start_ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None
MARKS = {"passed": "✓", "failed": "✗", "skipped": "-", "error": "✗"}
SHOWN_LINES = 4   # of a failure's message, under its scenario line


def wanted(config: pytest.Config) -> bool:
    mode = config.getoption("console", default="auto") or "auto"
    if mode == "pytest" or hasattr(config, "workerinput"):   # an xdist worker has no console: its controller
        return False
    if mode == "scenarios":
        return True
    return bool(config.getoption("signoff", default=None)) and config.get_verbosity() >= 0


def _dur(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


class ScenarioLines:
    """Registered as a plugin next to pytest's terminal reporter (see `wanted`)."""

    def __init__(self, config: pytest.Config, collector: Collector) -> None:
        self.config = config
        self.collector = collector
        self.tr = config.pluginmanager.get_plugin("terminalreporter")
        self.feature: str | None = None
        self.started: dict[str, float] = {}
        self.outcome: dict[str, str] = {}
        self.t_session = time.perf_counter()
        self.t_collected: float | None = None
        # pytest's own per-test output (file names, letters, percentages) gives way to these lines
        self.tr.showfspath = False
        self.tr._show_progress_info = False  # noqa: SLF001 - no public switch; harmless if the attribute goes

    @property
    def parallel(self) -> bool:
        """xdist: scenarios finish on several workers at once; each line is written whole when its scenario ends."""
        return self.config.pluginmanager.has_plugin("dsession")

    # ---- setup phases --------------------------------------------------------------------------------------
    def phase(self, what: str, seconds: float) -> None:
        self.tr.ensure_newline()
        self.tr.write_line(f"setup: {what}  {_dur(seconds)}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.t_session = time.perf_counter()
        run = self.collector.run
        from labsim import __version__

        where = [f"labsim {__version__}"]
        if run.lab_path:
            lab = self.collector.rel_display(run.lab_path)
            how = getattr(self.config, "_labsim_lab_source", None)
            where.append(f"lab {lab} ({run.lab_name or 'unnamed'}" + (f", from {how})" if how else ")"))
        if run.target:
            where.append(f"target {run.target}")
        if run.sim_seed is not None and run.target in (None, "sim", "kind"):
            where.append(f"seed {run.sim_seed}")
        self.tr.write_line(" · ".join(where))
        started = since_process_start()
        if started is not None:
            self.phase("start-up: Python, pytest, labsim's plugin and step definitions", started)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        recs = [self.collector.run.records.get(i.nodeid) for i in session.items]
        scenarios = [r for r in recs if r is not None and r.kind == "scenario"]
        self.collected({r.feature_file for r in scenarios}, len(scenarios), len(session.items) - len(scenarios))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        """xdist: the workers collect (each the same items); the first to finish stands for them all."""
        if self.t_collected is not None:
            return
        workers = f" on {len(self.config.getoption('tx') or [])} workers"
        files = [i.split("::", 1)[0] for i in ids]
        if all(f.endswith(".feature") for f in files):
            self.collected(set(files), len(files), 0, workers)
        else:   # scenarios bound in test modules (pytest-bdd's scenarios()): the records come with the results
            self.t_collected = time.perf_counter()
            self.phase(f"collection: {len(ids)} item{'s' if len(ids) != 1 else ''} to run{workers}",
                       self.t_collected - self.t_session)

    def collected(self, files: set[str], scenarios: int, tests: int, where: str = "") -> None:
        self.t_collected = time.perf_counter()
        what = f"{scenarios} scenario{'s' if scenarios != 1 else ''} to run from {len(files)} " \
               f"feature file{'s' if len(files) != 1 else ''}" + (f" and {tests} test{'s' if tests != 1 else ''}"
                                                                   if tests else "") + where
        self.phase("collection: " + what, self.t_collected - self.t_session)

    # ---- scenarios -----------------------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport,
                                 config: pytest.Config) -> Generator[None, tuple, tuple[str, str, str]]:
        category, letter, word = yield
        return category, "", ""  # the category still counts in pytest's summary; the letter is ours to print

    def pytest_runtest_logstart(self, nodeid: str, location: tuple) -> None:
        rec = self.collector.run.records.get(nodeid)
        self.started[nodeid] = time.perf_counter()
        self.outcome[nodeid] = "passed"
        if rec is None:
            return
        if not self.parallel:   # the record of a scenario on a worker comes with its end
            self.scenario_start(rec)

    def scenario_start(self, rec: ScenarioRecord) -> None:
        header = f"{rec.feature_keyword}: {rec.feature}" if rec.kind == "scenario" else "Tests"
        if header != self.feature:
            self.feature = header
            self.tr.ensure_newline()
            self.tr.write_line("")
            self.tr.write(header, bold=True)
            self.tr.write_line(f"  ({rec.feature_file})" if rec.kind == "scenario" else "")
        self.tr.write(f"  {rec.title} ", flush=True)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.outcome[report.nodeid] = "failed" if report.when == "call" else "error"
        elif report.skipped and self.outcome.get(report.nodeid) == "passed":
            self.outcome[report.nodeid] = "skipped"

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple) -> None:
        rec = self.collector.run.records.get(nodeid)
        outcome = self.outcome.pop(nodeid, "passed")
        took = time.perf_counter() - self.started.pop(nodeid, time.perf_counter())
        if rec is None:
            self.tr.write_line(f"  {nodeid} {outcome}")
            return
        if self.parallel:   # workers finish scenarios of several features in turn: each line names its feature
            where = rec.feature_file.rsplit("/", 1)[-1] + ": " if rec.kind == "scenario" else ""
            self.tr.write(f"  {where}{rec.title} ")
        colour = {"passed": {"green": True}, "skipped": {"yellow": True}}.get(outcome, {"red": True})
        self.tr.write(f"{MARKS[outcome]} {outcome.upper() if outcome != 'passed' else 'passed'}", **colour)
        self.tr.write_line(f"  {_dur(took)}")
        if outcome == "skipped" and rec.skip_reason:
            self.tr.write_line(f"      {self.collector.redactor.text(first_line(rec.skip_reason, 160))}")
        elif outcome in ("failed", "error"):
            if rec.failure_step:
                self.tr.write_line(f"      at {rec.failure_step}", red=True)
            # the message's first lines (which VLAN, which hop; the report has it whole), and, as in the bundle,
            # no secret the lab file references
            lines = [ln.strip() for ln in (rec.failure_message or "").splitlines() if ln.strip()]
            for ln in lines[:SHOWN_LINES]:
                self.tr.write_line(f"      {self.collector.redactor.text(first_line(ln, 200))}", red=True)
            if len(lines) > SHOWN_LINES:
                self.tr.write_line(f"      … {len(lines) - SHOWN_LINES} more line(s) in report.html", red=True)

    # ---- the end -------------------------------------------------------------------------------------------
    def bundle_written(self, seconds: float) -> None:
        self.tr.ensure_newline()
        self.tr.write_line(f"sign-off: bundle written  {_dur(seconds)}")
