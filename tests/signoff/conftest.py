"""Shared helpers for the sign-off tests: pytester runs of small generated feature suites."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"


def pytest_configure(config: pytest.Config) -> None:
    # pytester runs the plugin on generated suites; pytest_plugins only works in the root conftest
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


# A conftest for the generated suites: the options the lead's harness declares, and the sim's skip rule.
SUITE_CONFTEST = '''
import pytest

def pytest_addoption(parser):
    parser.addoption("--lab", default=None)
    parser.addoption("--target", default="sim")
    parser.addoption("--sim-seed", type=int, default=0)

def pytest_configure(config):
    for m in ("lab_only", "fabric", "slow", "flaky", "mesh"):
        config.addinivalue_line("markers", f"{m}: test marker")

def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("lab_only") and config.getoption("--target") == "sim":
            item.add_marker(pytest.mark.skip(reason="@lab_only: needs real hardware"))
'''

LAB_FEATURE = """\
@fabric
Feature: Fabric
  The switches carry every VLAN.

  Background:
    Given a lab

  Scenario: Trunks carry every VLAN
    When it works
    Then all is well

  Scenario: Bond is up
    When it works
    Then it breaks

  @lab_only
  Scenario: Real hardware
    When I touch the hardware
    Then all is well

  Scenario: Half written
    When it works
    Then nobody wrote this step

  Scenario Outline: Ping <cluster>
    When I ping <cluster>
    Then it answers

    Examples:
      | cluster    |
      | talos-east |
      | talos-west |
"""

BARE_FEATURE = """\
Feature: Bare
  Scenario: Not written at all
    Given nobody wrote this either
    Then all is well
"""

STEPS = '''
import os
import pytest
from pytest_bdd import given, when, then, parsers, scenarios

scenarios(*FEATURES)

@given("a lab")
def a_lab(evidence):
    evidence.lab_version("RouterOS sw1", "7.16.2")

@when("it works")
def it_works():
    pass

@then("all is well")
def all_is_well():
    pass

@then("it breaks")
def it_breaks():
    assert 1 == 2, "the bond is down"

@when(parsers.parse("I ping {cluster}"))
def ping(cluster, evidence):
    evidence.attach(f"ping {cluster}", f"64 bytes from {cluster}: icmp_seq=1")

@then("it answers")
def it_answers():
    pass

@when("I touch the hardware")
def touch_hardware():
    raise RuntimeError("a skipped scenario must not run")
'''

PASSING_FEATURE = """\
Feature: Mesh
  Scenario: Clusters see each other
    When it works
    Then all is well

  @lab_only
  Scenario: Real hardware
    When I touch the hardware
    Then all is well
"""


@dataclass
class Outcome:
    result: pytest.RunResult
    bundle: Path | None

    @property
    def lines(self) -> list[str]:
        return self.result.outlines

    def text(self, name: str) -> str:
        assert self.bundle is not None, "\n".join(self.lines[-30:])
        return (self.bundle / name).read_text(encoding="utf-8")

    def json(self, name: str):
        return json.loads(self.text(name))

    @property
    def manifest(self) -> dict:
        return self.json("manifest.json")

    @property
    def scenarios(self) -> dict[str, dict]:
        """manifest scenarios by "<feature>: <name>"."""
        return {f"{s['feature']}: {s['name']}": s for s in self.manifest["scenarios"]}


def write_suite(pytester: pytest.Pytester, features: dict[str, str] | None = None, steps: str = STEPS,
                extra_steps: str = "", conftest_extra: str = "") -> None:
    features = features if features is not None else {"lab.feature": LAB_FEATURE, "bare.feature": BARE_FEATURE}
    for name, text in features.items():
        (pytester.path / name).write_text(text, encoding="utf-8")
    pytester.makeconftest(SUITE_CONFTEST + conftest_extra)
    header = f"FEATURES = {sorted(features)!r}\n"
    pytester.makepyfile(test_suite=header + steps + extra_steps)


def run_signoff(pytester: pytest.Pytester, *args: str, signoff: bool = True) -> Outcome:
    # the generated suites bring their own options and steps: the installed labsim plugin stays out (-p no:labsim)
    argv = ["-p", "no:labsim", "-p", "labsim.signoff.plugin", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-W", "ignore::pytest.PytestUnknownMarkWarning"]
    if signoff:
        argv += ["--signoff", "out"]
    result = pytester.runpytest(*argv, *args)
    bundle = None
    last = result.outlines[-1] if result.outlines else ""
    if signoff and last.startswith(("Sign-off: ACCEPTED — ", "Sign-off: PARTIAL — ", "Sign-off: REJECTED — ")):
        bundle = bundle_of(last)
        assert bundle.is_dir(), last
    return Outcome(result, bundle)


def bundle_of(line: str, cwd: Path | None = None) -> Path:
    """The bundle a verdict line names: `Sign-off: ACCEPTED — <bundle>/ (report.html, summary.md)`, relative to
    where that run was started (`cwd`, default this process's)."""
    assert line.endswith("/ (report.html, summary.md)"), line
    path = Path(line.split(" — ", 1)[1].rsplit("/ (", 1)[0])
    return ((cwd or Path.cwd()) / path).resolve()


def signoff_cli(*args: str | os.PathLike) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "labsim.signoff", *map(str, args)], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=120, check=False)


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    write_suite(pytester)
    return pytester
