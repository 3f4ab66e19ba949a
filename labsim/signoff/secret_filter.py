"""The run's secret filter: no secret value reaches a log record, a captured output or a test report.

A failed scenario's report carries what pytest captured (stdout, stderr, the log records: librouteros logs every
API word it sends, `=password=` included) and the traceback; pytest prints it, writes it to JUnit XML, and an
xdist worker ships it to the controller. In every pytest process (workers too):

- `LogRedaction` (labsim/signoff/redact.py) redacts each log record when it is made, before any handler;
- each test and collection report is redacted before anyone reads it: the captured sections, the traceback;
- the values come from the lab file's secret references (`env:` / `file:`, resolved again before each test
  phase: the simulated lab plants its invented values in the environment as a fixture starts it) and the
  `pytest_signoff_secrets` hook; credential patterns (`password=...`, `Authorization: ...`) need no value.
"""
from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest
import yaml

from labsim import yamlbounds

from .redact import LogRedaction, Redactor, resolve_refs, secret_refs

_KEY = pytest.StashKey["SecretFilter"]()


class SecretFilter:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.redactor = Redactor()
        self.logs = LogRedaction(self.redactor)
        self._refs: list[tuple[str, str]] | None = None
        self._base: Path | None = None

    def _lab_refs(self) -> list[tuple[str, str]]:
        if self._refs is None:   # read once: the references do not change during a run, their values may
            self._refs = []
            try:
                value = self.config.getoption("--lab", default=None)
            except (ValueError, AttributeError):
                value = None
            if value:
                path = Path(os.fspath(value)).expanduser()
                if not path.is_absolute():
                    path = self.config.invocation_params.dir / path
                self._base = path.parent
                try:
                    self._refs = secret_refs(yamlbounds.load_file(path))
                except (OSError, ValueError, UnicodeDecodeError, yaml.YAMLError):
                    pass   # an unreadable, unparsable or refused lab file has no references: the run refuses it
        return self._refs

    def refresh(self) -> None:
        self.redactor.add(resolve_refs(self._lab_refs(), base_dir=self._base))
        for values in self.config.hook.pytest_signoff_secrets(config=self.config):
            if values:
                self.redactor.add(str(v) for v in values if v is not None)

    def report(self, report: pytest.BaseReport) -> None:
        report.sections = [(title, self.redactor.text(text)) for title, text in report.sections]
        if report.longrepr is not None:
            text = str(report.longrepr)
            clean = self.redactor.text(text)
            if clean != text:
                report.longrepr = clean

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        self.refresh()   # the target fixture has started the simulated lab: its secrets are known now
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        self.refresh()
        self.report(report)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) \
            -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        self.report(report)
        return report


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    secret_filter = SecretFilter(config)
    secret_filter.refresh()
    secret_filter.logs.install()
    config.stash[_KEY] = secret_filter
    config.pluginmanager.register(secret_filter, "labsim-secret-filter")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    secret_filter = config.stash.get(_KEY, None)
    if secret_filter is not None:
        secret_filter.logs.uninstall()
