"""pytest plugin: collects every scenario, step, result and piece of evidence, and writes the sign-off bundle.

Register with ``pytest_plugins = ["labsim.signoff.plugin"]`` (or ``-p labsim.signoff.plugin``).

Options: ``--signoff DIR``, ``--waivers FILE``, ``--signing-key PATH``, ``--deviation TAG=REASON`` (repeatable).
Fixture: ``evidence`` (see :class:`labsim.signoff.evidence.Evidence`).
Hooks for other plugins: ``pytest_signoff_deviations(config)``, ``pytest_signoff_secrets(config)``.
Reads, when another plugin declares them: ``--lab``, ``--target``, ``--sim-seed``.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import secrets as _secrets
import time
import traceback
from collections.abc import Generator
from pathlib import Path

import pytest
import yaml

from labsim import yamlbounds

from . import hookspecs
from .evidence import Evidence
from .model import (
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    UNDEFINED,
    Run,
    ScenarioRecord,
    StepRecord,
    first_line,
    slugify,
    utc_now,
)
from .redact import Redactor, lab_secret_refs, resolve_refs
from .workers import ATTR, is_controller, is_worker, record_from_wire, record_to_wire
from .waivers import WaiverError, load_waivers

try:  # pytest-bdd internals: the scenario template behind a collected test function
    from pytest_bdd.scenario import scenario_wrapper_template_registry as _bdd_registry
except Exception:  # noqa: BLE001 - pytest-bdd missing or changed
    _bdd_registry = None

collector_key = pytest.StashKey["Collector"]()
DETAILS_LIMIT = 20_000
BUILTIN_MARKS = {"parametrize", "usefixtures", "filterwarnings", "skip", "skipif", "xfail"}


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("signoff", "acceptance sign-off bundle")
    g.addoption("--signoff", metavar="DIR", default=None,
                help="write the sign-off bundle to DIR/<run-id>/ (summary, HTML report, JUnit, Cucumber JSON, "
                     "manifest, evidence, checksums)")
    g.addoption("--waivers", metavar="FILE", default=None,
                help="waivers YAML: [{scenario|tag, justification, expires: YYYY-MM-DD, run: true|false}]")
    g.addoption("--signing-key", metavar="PATH", default=None,
                help="ssh private key: sign SHA256SUMS with `ssh-keygen -Y sign -n labsim-signoff`")
    g.addoption("--deviation", metavar="TAG=REASON", action="append", default=[],
                help="declared deviation: skips of scenarios tagged TAG are accounted for (repeatable)")
    g.addoption("--signoff-strict", action="store_true", default=False,
                help="exit non-zero when the verdict is REJECTED, even if no test failed "
                     "(for example an unaccounted skip); used by make verify and make lab-verify")
    g.addoption("--console", choices=("auto", "scenarios", "pytest"), default="auto",
                help="scenarios: a line per scenario with its result as it finishes, and the setup phases with "
                     "their time; pytest: pytest's dots; auto (default): scenarios when --signoff is given")


def _opt(config: pytest.Config, name: str):
    try:
        return config.getoption(name, default=None)
    except (ValueError, AttributeError):
        return None


def _resolve_path(config: pytest.Config, value) -> Path | None:
    if value in (None, ""):
        return None
    try:
        p = Path(os.fspath(value)).expanduser()
    except TypeError:
        p = Path(str(value)).expanduser()
    if p.is_absolute():
        return p
    for base in (config.invocation_params.dir, config.rootpath):
        if (base / p).exists():
            return base / p
    return config.invocation_params.dir / p


def _operator() -> str:
    op = os.environ.get("SIGNOFF_OPERATOR")
    if op:
        return op
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "unknown"


def _new_run_id(t) -> str:
    """UTC start time to the millisecond, then 6 random hex digits: sorts by start time, never collides."""
    return t.strftime("%Y%m%dT%H%M%S") + f".{t.microsecond // 1000:03d}Z-" + _secrets.token_hex(3)


@pytest.hookimpl(trylast=True)  # after pytest's terminal reporter exists (the console lines sit beside it)
def pytest_configure(config: pytest.Config) -> None:
    # An xdist worker keeps its scenarios' records too (waivers and deviations included) and ships them to the
    # controller, which writes the bundle (labsim/signoff/workers.py).
    worker = is_worker(config)
    if worker and not (config.getoption("signoff") or config.getoption("signoff_strict")):
        return   # nobody reads the verdict (make test): no records to ship
    started = utc_now()
    run = Run(run_id=_new_run_id(started), started=started, operator=_operator())
    # deviations from the command line
    for spec in config.getoption("deviation") or []:
        tag, sep, reason = str(spec).partition("=")
        tag = tag.strip().lstrip("@")
        if not sep or not tag or not reason.strip():
            raise pytest.UsageError(f"--deviation {spec!r}: expected TAG=REASON (a reason is required)")
        run.deviations[tag] = reason.strip()
    # waivers: a malformed file stops the run before any test
    wpath = config.getoption("waivers")
    if wpath:
        p = _resolve_path(config, wpath)
        try:
            run.waivers, run.waivers_text = load_waivers(p)
        except WaiverError as exc:
            raise pytest.UsageError(f"malformed waiver file: {exc}") from None
        run.waivers_path = str(p)
    key = config.getoption("signing_key")
    if key and not worker:   # the controller signs
        kp = _resolve_path(config, key)
        if kp is None or not kp.is_file():
            raise pytest.UsageError(f"--signing-key {key}: no such file")
        from .bundle import public_key

        try:  # find out now, not after an hour of lab tests, that the key cannot sign
            public_key(kp)
        except RuntimeError as exc:
            raise pytest.UsageError(f"--signing-key {key}: {exc}") from None
    collector = Collector(config, run)
    config.stash[collector_key] = collector
    config.pluginmanager.register(collector, "signoff-collector")
    if worker:
        return
    from .console import ScenarioLines, wanted

    if config.pluginmanager.get_plugin("terminalreporter") is not None and wanted(config):
        collector.console = ScenarioLines(config, collector)
        config.pluginmanager.register(collector.console, "signoff-console")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(collector_key, None)
    if collector is None:
        return
    config.pluginmanager.unregister(collector)
    if collector.console is not None:
        config.pluginmanager.unregister(collector.console)
    if collector.bundle_path is not None:
        from .render import closing_line

        line = verdict_line(collector.run.verdict, collector.rel_display(collector.bundle_path))
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            v = collector.run.verdict
            if closing_line(collector.run):
                tr.write_line(closing_line(collector.run))
            tr.write_line(line, green=v == "ACCEPTED", yellow=v == "PARTIAL", red=v == "REJECTED", bold=True)
        else:
            print(*filter(None, (closing_line(collector.run), line)), sep="\n", flush=True)
    elif collector.bundle_error is not None:
        tr = config.pluginmanager.get_plugin("terminalreporter")
        msg = f"Sign-off: NOT WRITTEN — {collector.bundle_error}"
        if tr is not None:
            tr.write_line(msg, red=True, bold=True)
        else:
            print(msg, flush=True)


def verdict_line(verdict: str, bundle: str) -> str:
    """The run's last line: the verdict, the bundle, and the two files a person opens first."""
    return f"Sign-off: {verdict} — {bundle.rstrip('/')}/ (report.html, summary.md)"


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Attach evidence, findings, timelines and lab versions to the running scenario's sign-off record."""
    collector: Collector | None = request.config.stash.get(collector_key, None)
    if collector is None:  # an xdist worker of a run without a bundle: keep the API, drop the data
        collector = Collector(request.config, Run(run_id="detached", started=utc_now()))
    return Evidence(collector, collector.record_for(request.node))


class Collector:
    """Per-session state, registered as a plugin so pytest and pytest-bdd call its hooks."""

    def __init__(self, config: pytest.Config, run: Run) -> None:
        self.config = config
        self.run = run
        self.redactor = Redactor()
        self.bundle_path: Path | None = None
        self.bundle_error: str | None = None
        self._executing: dict[str, object] = {}  # nodeid -> the pytest-bdd Scenario being executed
        self._current: dict[str, int] = {}  # nodeid -> index of the step being executed
        self._slugs: set[str] = set()
        self._run_false: set[str] = set()
        self.console = None  # the ScenarioLines reporter, when the console shows scenario lines
        self._deselected: list[pytest.Item] = []
        self._suite_seen: set[tuple[str, str]] = set()  # (feature file, scenario template) collected or deselected
        self._secret_refs: list[tuple[str, str]] | None = None
        self.worker = is_worker(config)
        self._versions: dict[str, dict[str, str]] = {}   # nodeid -> the lab versions that scenario reported
        self._shipped: set[str] = set()                 # worker: records sent to the controller
        # controller (xdist): what the workers send (labsim/signoff/workers.py)
        self._order: list[str] | None = None            # the collected node ids, in collection order
        self._received: dict[str, ScenarioRecord] = {}
        self._orphans: dict[str, list[pytest.TestReport]] = {}   # reports that came without a record (a crash)
        self._from_workers: dict | None = None           # the first worker's collection-wide state

    @property
    def controller(self) -> bool:
        return is_controller(self.config)

    def rel_display(self, path: str | os.PathLike) -> str:
        """A path as a person types it: relative to where pytest was started when it is below it."""
        p = Path(path)
        try:
            return p.resolve().relative_to(self.config.invocation_params.dir.resolve()).as_posix()
        except ValueError:
            return str(p)

    # ---- context -------------------------------------------------------------------------------------------
    def _context(self) -> None:
        config, run = self.config, self.run
        if config.getoption("signoff") and not self.worker:
            from .bundle import git_info

            run.git = git_info(Path.cwd())
        target = _opt(config, "--target")
        run.target = None if target is None else str(target)
        seed = _opt(config, "--sim-seed")
        run.sim_seed = seed if isinstance(seed, (int, float, str, type(None))) else str(seed)
        lab = _resolve_path(config, _opt(config, "--lab"))
        if lab is not None:
            run.lab_path = str(lab)
            try:
                raw = lab.read_bytes()
                run.lab_sha256 = hashlib.sha256(raw).hexdigest()
                run.lab_data = yamlbounds.safe_load(raw.decode("utf-8"))   # a "billion laughs" file: None
                if isinstance(run.lab_data, dict) and isinstance(run.lab_data.get("lab"), dict):
                    name = run.lab_data["lab"].get("name")
                    run.lab_name = None if name is None else str(name)
            except (OSError, UnicodeDecodeError, yaml.YAMLError, yamlbounds.YamlLimitError):
                run.lab_data = None

    def refresh_secrets(self) -> None:
        lab = Path(self.run.lab_path) if self.run.lab_path else None
        if self._secret_refs is None:
            self._secret_refs = lab_secret_refs(lab)
        self.redactor.add(resolve_refs(self._secret_refs, base_dir=None if lab is None else lab.parent))
        try:
            for values in self.config.hook.pytest_signoff_secrets(config=self.config):
                if values:
                    self.redactor.add(str(v) for v in values if v is not None)
        except Exception as exc:  # a broken hook must not leak secrets: fail loudly
            raise pytest.UsageError(f"pytest_signoff_secrets failed: {exc}") from exc

    def collect_deviations(self) -> None:
        merged: dict[str, str] = {}
        for d in self.config.hook.pytest_signoff_deviations(config=self.config) or []:
            if d:
                merged.update({str(k).lstrip("@"): str(v) for k, v in dict(d).items()})
        merged.update(self.run.deviations)
        self.run.deviations = merged

    # ---- records -------------------------------------------------------------------------------------------
    def _unique_slug(self, base: str) -> str:
        slug, i = base, 2
        while slug in self._slugs:
            slug = f"{base}-{i}"
            i += 1
        self._slugs.add(slug)
        return slug

    def _rel(self, path: str | os.PathLike) -> str:
        p = Path(path)
        try:
            return p.resolve().relative_to(self.config.rootpath.resolve()).as_posix()
        except ValueError:
            return p.as_posix()

    def make_record(self, item: pytest.Item) -> ScenarioRecord:
        template = None
        if _bdd_registry is not None:
            obj = getattr(item, "obj", None)
            if obj is not None:
                try:
                    template = _bdd_registry.get(obj)
                except TypeError:
                    template = None
        if template is None:
            path = self._rel(item.path) if getattr(item, "path", None) else item.nodeid.split("::")[0]
            markers = sorted({m.name for m in item.iter_markers()} - BUILTIN_MARKS)
            rec = ScenarioRecord(nodeid=item.nodeid, kind="test", name=item.name, feature="tests",
                                 feature_file=path, keyword="Test", tags=markers,
                                 line=(item.location[1] or 0) + 1 if item.location else 0)
            rec.slug = self._unique_slug("tests-" + slugify(item.nodeid.replace("::", "-"), 90))
            return rec
        example = None
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            example = callspec.params.get("_pytest_bdd_example")
        scenario = template.render(example or {})
        feature = template.feature
        background_lines = set()
        if feature.background:
            background_lines |= {s.line_number for s in feature.background.steps}
        if template.rule is not None and template.rule.background is not None:
            background_lines |= {s.line_number for s in template.rule.background.steps}
        tags = set(template.tags) | set(feature.tags)
        tags |= {m.name for m in item.iter_markers()} - BUILTIN_MARKS   # tags plugins add at collection (@not_in_lab)
        if template.rule is not None:
            tags |= set(template.rule.tags)
        if example:
            for ex in template.examples:
                if any(dict(zip(ex.example_params, row)) == example for row in ex.examples):
                    tags |= set(ex.tags)
        feature_name = feature.name or Path(feature.filename).stem
        rec = ScenarioRecord(
            nodeid=item.nodeid, kind="scenario", name=scenario.name, template_name=template.name,
            feature=feature_name, feature_file=self._rel(feature.filename), feature_abs=feature.filename,
            feature_line=feature.line_number, feature_keyword=feature.keyword or "Feature",
            feature_description=feature.description or "", feature_tags=sorted(feature.tags),
            keyword=template.keyword or "Scenario", line=template.line_number,
            description=template.description or "", rule=template.rule.name if template.rule else None,
            tags=sorted(tags), example=dict(example) if example else None,
            steps=[StepRecord(keyword=s.keyword, name=s.name, type=s.type, line=s.line_number,
                              background=s.line_number in background_lines) for s in scenario.steps],
        )
        base = slugify(feature_name, 30) + "-" + slugify(scenario.name, 50)
        if example and scenario.name == template.name:
            base += "-" + slugify("-".join(str(v) for v in example.values()), 30)
        rec.slug = self._unique_slug(base)
        return rec

    def record_for(self, item: pytest.Item) -> ScenarioRecord:
        rec = self.run.records.get(item.nodeid)
        if rec is None:
            rec = self.make_record(item)
            self.run.records[item.nodeid] = rec
        return rec

    def lab_version(self, rec: ScenarioRecord, component: str, version: str) -> None:
        self.run.lab_versions[component] = version
        self._versions.setdefault(rec.nodeid, {})[component] = version

    def current_step(self, rec: ScenarioRecord) -> str | None:
        idx = self._current.get(rec.nodeid)
        if idx is None or idx >= len(rec.steps):
            return None
        s = rec.steps[idx]
        return f"{s.keyword} {s.name}"

    # ---- pytest hooks --------------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._context()
        self.refresh_secrets()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.refresh_secrets()   # the target fixture has started the simulated lab: its secrets are known now

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.run.collection_errors.append((report.nodeid or "?", self.redactor.text(report.longreprtext or "")))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list) -> None:
        self.run.records = {}
        for item in items:
            rec = self.record_for(item)
            # waivers with run: false skip the scenario (expired ones do not)
            for w in self.run.active_waivers:
                if not w.run and w.matches(rec.names, set(rec.tags)):
                    item.add_marker(pytest.mark.skip(
                        reason=f"waived (run: false) until {w.expires.isoformat()}: {w.justification}"))
                    rec.waived_by_run_false = True
                    break

    def pytest_deselected(self, items: list) -> None:
        self._deselected.extend(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.refresh_secrets()
        self.note_unselected()

    def note_unselected(self) -> None:
        """What of the suite this run will not run: each deselected item, and every scenario of a suite feature
        file that was not collected at all (the verdict is PARTIAL at best; the reports list them)."""
        run = self.run
        run.selection = selection_text(self.config)
        how = f"deselected ({run.selection})" if run.selection else "deselected"
        seen: set[str] = set()
        unselected: list[tuple[str, str]] = []
        for item in self._deselected:
            if item.nodeid in run.records or item.nodeid in seen:
                continue
            seen.add(item.nodeid)
            rec = self.make_record(item)
            unselected.append((rec.full_title if rec.kind == "scenario" else rec.nodeid, how))
            if rec.feature_abs:
                self._suite_seen.add((str(Path(rec.feature_abs).resolve()), rec.template_name or rec.name))
        for rec in run.records.values():
            if rec.feature_abs:
                self._suite_seen.add((str(Path(rec.feature_abs).resolve()), rec.template_name or rec.name))
        collected = sorted({path for path, _ in self._suite_seen})
        suite: set[str] = set()
        for files in self.config.hook.pytest_signoff_suite(config=self.config, collected=collected) or []:
            suite |= {str(Path(f).resolve()) for f in files or []}
        for path in sorted(suite):
            for name, feature in _scenario_names(path):
                if (path, name) not in self._suite_seen:
                    unselected.append((f"{feature}: {name}", "not collected (the run named other files)"))
        run.unselected = unselected

    @pytest.hookimpl(optionalhook=True)
    def pytest_bdd_before_scenario(self, request, feature, scenario) -> None:
        rec = self.record_for(request.node)
        rec.started = True
        self._executing[rec.nodeid] = scenario
        if len(rec.steps) != len(scenario.steps):  # should not happen; trust what actually runs
            rec.steps = [StepRecord(keyword=s.keyword, name=s.name, type=s.type, line=s.line_number)
                         for s in scenario.steps]

    def _step_index(self, request, scenario, step) -> tuple[ScenarioRecord, int | None]:
        rec = self.record_for(request.node)
        steps = getattr(self._executing.get(rec.nodeid), "steps", None) or scenario.steps
        for i, s in enumerate(steps):
            if s is step:
                return rec, i
        for i, s in enumerate(rec.steps):  # fallback: by line number
            if s.line == step.line_number and s.status == NOT_RUN:
                return rec, i
        return rec, None

    @pytest.hookimpl(optionalhook=True)
    def pytest_bdd_before_step(self, request, feature, scenario, step, step_func) -> None:
        rec, i = self._step_index(request, scenario, step)
        if i is not None:
            rec.steps[i].started = time.perf_counter()
            self._current[rec.nodeid] = i

    def _finish_step(self, rec: ScenarioRecord, i: int | None, status: str, error: str | None = None) -> None:
        if i is None:
            return
        s = rec.steps[i]
        s.status = status
        if s.started is not None:
            s.duration = time.perf_counter() - s.started
        s.error = error

    @pytest.hookimpl(optionalhook=True)
    def pytest_bdd_after_step(self, request, feature, scenario, step, step_func, step_func_args) -> None:
        rec, i = self._step_index(request, scenario, step)
        self._finish_step(rec, i, PASSED)

    @pytest.hookimpl(optionalhook=True)
    def pytest_bdd_step_error(self, request, feature, scenario, step, step_func, step_func_args, exception) -> None:
        rec, i = self._step_index(request, scenario, step)
        msg = _exc_message(exception)
        if isinstance(exception, pytest.xfail.Exception):
            self._finish_step(rec, i, SKIPPED, msg)
            return
        self._finish_step(rec, i, FAILED, msg)
        if rec.failure_step is None:
            rec.failure_step = f"{step.keyword} {step.name}"
            rec.failure_message = msg

    @pytest.hookimpl(optionalhook=True)
    def pytest_bdd_step_func_lookup_error(self, request, feature, scenario, step, exception) -> None:
        rec, i = self._step_index(request, scenario, step)
        msg = _exc_message(exception)
        if i is not None:
            rec.steps[i].status = UNDEFINED
            rec.steps[i].error = msg
        if rec.failure_step is None:
            rec.failure_step = f"{step.keyword} {step.name}"
            rec.failure_message = f"undefined step: {step.keyword} {step.name} (no step definition matches)"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Generator[None, object, object]:
        report = yield
        if getattr(report, "failed", False) and call.excinfo is not None:
            rec = self.run.records.get(item.nodeid)
            if rec is not None and rec.failure_traceback is None:
                rec.failure_traceback = self.redactor.text(trimmed_traceback(call.excinfo.value, self.config.rootpath))
        return report

    @pytest.hookimpl(tryfirst=True)   # a worker: before xdist serialises the report for the controller
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.controller:
            self._receive(report)
            return
        rec = self.run.records.get(report.nodeid)
        if rec is None:
            return
        self.apply_report(rec, report)
        if self.worker and report.when == "teardown":   # the item's last report: its record is complete
            self.refresh_secrets()
            setattr(report, ATTR, record_to_wire(rec, self.redactor, self._versions.get(rec.nodeid)))
            self._shipped.add(rec.nodeid)

    def apply_report(self, rec: ScenarioRecord, report: pytest.TestReport) -> None:
        """One of the item's reports (setup, call, teardown), as pytest made it, into its record."""
        rec.duration += float(getattr(report, "duration", 0.0) or 0.0)
        if report.when == "call":
            self._current.pop(rec.nodeid, None)
        if report.passed:
            if report.when == "call" and rec.outcome is None:
                rec.outcome = PASSED  # (an xpass too)
            return
        if report.skipped:
            if rec.outcome == FAILED:
                return
            rec.outcome = SKIPPED
            rec.phase = report.when
            if hasattr(report, "wasxfail"):
                rec.skip_reason = "xfail" + (f": {report.wasxfail}" if report.wasxfail else "")
            else:
                rec.skip_reason = _skip_reason(report)
            return
        # failed
        rec.outcome = FAILED
        if rec.phase is None or report.when != "teardown" or rec.failure_message is None:
            rec.phase = report.when
        crash = getattr(report.longrepr, "reprcrash", None)
        crash_msg = getattr(crash, "message", None)
        # a text report as it is: longreprtext would put xdist's worker line first ("[gw1] linux -- Python ...")
        text = report.longrepr if isinstance(report.longrepr, str) else report.longreprtext
        if rec.failure_message is None:
            rec.failure_message = crash_msg or first_line(text) or f"failed in {report.when}"
            if report.when in ("setup", "teardown"):   # not xdist's "???" of a worker that crashed
                rec.failure_message = f"error in {report.when}: {rec.failure_message}"
        details = text or ""
        if len(details) > DETAILS_LIMIT:
            details = details[:DETAILS_LIMIT] + "\n… (truncated)"
        rec.failure_details = (rec.failure_details + "\n\n" + details) if rec.failure_details else details

    # ---- xdist: the worker's side and the controller's ----------------------------------------------------------
    def _receive(self, report: pytest.TestReport) -> None:
        wire = getattr(report, ATTR, None)
        if wire is not None:
            rec, versions = record_from_wire(wire)
            self._received[rec.nodeid] = rec
            self._versions[rec.nodeid] = versions
            self.run.records[rec.nodeid] = rec    # the console's line for it reads it now
        elif report.nodeid not in self._received:
            self._orphans.setdefault(report.nodeid, []).append(report)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        if self._order is None:
            self._order = list(ids)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: object, error: object) -> None:
        state = (getattr(node, "workeroutput", None) or {}).get(ATTR)
        if not state:
            return
        self.redactor.add(state["secrets"])     # the final pass over the bundle knows every worker's secrets
        if self._from_workers is None:
            self._from_workers = state

    def ship_state(self) -> dict:
        """A worker's collection-wide state, at its end (labsim/signoff/workers.py)."""
        self.refresh_secrets()
        self.collect_deviations()
        run = self.run
        return {
            "order": list(run.records),
            "records": {n: record_to_wire(r, self.redactor, self._versions.get(n))
                        for n, r in run.records.items() if n not in self._shipped},
            "unselected": [list(u) for u in run.unselected], "selection": run.selection,
            "deviations": dict(run.deviations),
            "interrupted": run.interrupted,
            "secrets": sorted(self.redactor.secrets),
        }

    def merge_workers(self) -> None:
        """The controller's run: every record in collection order, as a single process would have it."""
        state = self._from_workers or {}
        run = self.run
        order = self._order or list(state.get("order", [])) or list(self._received)
        skeletons = state.get("records", {})
        records: dict[str, ScenarioRecord] = {}
        run.lab_versions = {}
        for nodeid in order:
            rec = self._received.get(nodeid)
            if rec is None:
                wire = skeletons.get(nodeid)
                if wire is None:   # no worker finished to say what it is: the node id is all there is
                    path, _, name = nodeid.partition("::")
                    rec = ScenarioRecord(nodeid=nodeid, kind="scenario" if path.endswith(".feature") else "test",
                                         name=name, feature=Path(path).stem, feature_file=path,
                                         slug=self._unique_slug(slugify(nodeid, 90)))
                else:
                    rec, versions = record_from_wire(wire)
                    self._versions[nodeid] = versions
                for report in self._orphans.get(nodeid, []):
                    self.apply_report(rec, report)
            records[nodeid] = rec
            run.lab_versions.update(self._versions.get(nodeid, {}))
        run.records = records
        if state:
            run.unselected = [tuple(u) for u in state["unselected"]]
            run.selection = state["selection"]

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        run = self.run
        run.finished = utc_now()
        run.exitstatus = int(exitstatus)
        if session.shouldstop:
            run.interrupted = str(session.shouldstop)
        elif session.shouldfail:
            run.interrupted = str(session.shouldfail)
        elif self.controller and self._from_workers and self._from_workers.get("interrupted"):
            run.interrupted = self._from_workers["interrupted"]   # a worker stopped the run (pytest.exit): why
        elif int(exitstatus) == int(pytest.ExitCode.INTERRUPTED):
            run.interrupted = "interrupted"
        if self.worker:   # the controller judges and writes; this worker's part goes with xdist's last event
            self.config.workeroutput[ATTR] = self.ship_state()
            return
        if self.controller:
            self.merge_workers()
        for rec in run.records.values():
            _finalize_steps(rec)
        if self.controller and self._from_workers is not None:
            run.deviations = dict(self._from_workers["deviations"])   # theirs: they bound the features to the lab
        else:
            self.collect_deviations()
        from .model import judge

        judge(run)
        if self.config.getoption("signoff_strict") and run.verdict == "REJECTED" \
                and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # REJECTED must fail the make target
        outdir = self.config.getoption("signoff")
        if not outdir:
            return
        try:
            self.refresh_secrets()
            from .bundle import write_bundle

            root = _resolve_path(self.config, outdir)
            key = self.config.getoption("signing_key")
            t0 = time.perf_counter()
            self.bundle_path = write_bundle(run, root, self.redactor, rootpath=self.config.rootpath,
                                            signing_key=_resolve_path(self.config, key) if key else None,
                                            invocation=list(self.config.invocation_params.args))
            if self.console is not None:
                self.console.bundle_written(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - report it; the tests keep their own outcome
            self.bundle_error = f"{type(exc).__name__}: {exc}"
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            import traceback

            traceback.print_exc()


def selection_text(config: pytest.Config) -> str:
    """The options by which this run chose a part of the suite, as typed (for the PARTIAL reason)."""
    parts = []
    if getattr(config.option, "keyword", ""):
        parts.append(f"-k {config.option.keyword!r}")
    if getattr(config.option, "markexpr", ""):
        parts.append(f"-m {config.option.markexpr!r}")
    if getattr(config.option, "deselect", None):
        parts.append("--deselect " + " ".join(config.option.deselect))
    if getattr(config.option, "lf", False):
        parts.append("--lf")
    return ", ".join(parts)


def _scenario_names(path: str) -> list[tuple[str, str]]:
    """(scenario template name, feature name) of every scenario in one feature file; none when it does not parse
    (pytest reports that file's collection error itself when it is collected)."""
    try:
        from pytest_bdd.parser import FeatureParser

        p = Path(path)
        feature = FeatureParser(str(p.parent), p.name).parse()
    except Exception:  # noqa: BLE001 - unparsable or pytest-bdd missing: nothing to list
        return []
    name = feature.name or p.stem
    return [(t.name, name) for t in feature.scenarios.values()]


def _finalize_steps(rec: ScenarioRecord) -> None:
    """Steps begun but never finished take the scenario's outcome; the rest stay 'not run'."""
    for s in rec.steps:
        if s.status == NOT_RUN and s.started is not None:
            s.status = SKIPPED if rec.outcome == SKIPPED else FAILED
            if rec.outcome == FAILED and rec.failure_step is None:
                rec.failure_step = f"{s.keyword} {s.name}"


PACKAGE_DIR = Path(__file__).resolve().parents[1]   # labsim/, wherever it is installed


def trimmed_traceback(exc: BaseException, rootpath: Path) -> str:
    """The failure's frames in project code only (labsim's package and the user's own files below rootdir, not
    pytest, pluggy, pytest-bdd or other installed packages), innermost last, as `path:line in function`."""
    root = rootpath.resolve()
    lines: list[str] = []
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(PACKAGE_DIR):
            shown = "labsim/" + path.relative_to(PACKAGE_DIR).as_posix()
        elif path.is_relative_to(root) and "site-packages" not in path.parts:
            shown = path.relative_to(root).as_posix()
        else:
            continue
        lines.append(f"{shown}:{frame.lineno} in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    return "\n".join(lines)


def assertion_text(exc: BaseException) -> str:
    """An assertion's own message, without the `assert ...` introspection pytest appends to it."""
    text = str(exc)
    if isinstance(exc, AssertionError) and "\nassert " in text:
        text = text.split("\nassert ", 1)[0]
    return text


def _exc_message(exc: BaseException) -> str:
    if isinstance(exc, (pytest.fail.Exception, pytest.xfail.Exception)):
        text = getattr(exc, "msg", None) or str(exc)
    else:
        text = assertion_text(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _skip_reason(report: pytest.TestReport) -> str:
    lr = report.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        msg = str(lr[2])
    else:
        msg = str(lr or "")
    msg = msg.removeprefix("Skipped: ")
    return msg.strip() or "skipped"
