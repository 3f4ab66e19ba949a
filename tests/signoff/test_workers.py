"""A run spread over pytest-xdist workers writes the bundle a single process writes: every worker's records,
evidence, timelines and lab time, merged in collection order, the same verdict, waivers and failure texts; and no
secret a worker's lab planted reaches the bundle or the console."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, bundle_of, run_signoff, write_suite

# Eight scenarios of two feature files (so both workers get some: --dist loadfile), on a lab whose trunk loses a
# VLAN right after the fabric is provisioned: some pass, some fail in each file.
PICK = ("every_vlan_exists or carried or whole_configuration or second_apply or an_address_changed "
        "or planned_sizing or holds_a_lease")
FABRIC = "The VLAN fabric carries, serves and routes every lab VLAN"
PROXMOX = "The cluster VMs run on Proxmox VE, sized as planned, each with a lease on its cluster VLAN"
WAIVERS = f"""\
- scenario: "{FABRIC}: The devices' whole configuration matches the lab file"
  justification: known drift, ticket 12
  expires: 2999-01-01
- scenario: "{PROXMOX}: A second apply of the VMs changes nothing"
  justification: not this week
  expires: 2999-01-01
  run: false
"""


def _verify(tmp: Path, workers: int) -> tuple[subprocess.CompletedProcess, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}   # not the outer run's xdist worker
    out = subprocess.run(
        [sys.executable, "-m", "labsim.cli", "verify", "--lab", "labs/aggrik8s.yaml", "--workers", str(workers),
         "--signoff", str(tmp / f"w{workers}"), "--waivers", str(tmp / "waivers.yaml"),
         "-m", "fabric or proxmox", "-k", PICK, "--sim-break", "trunk-vlan-removed"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=env, stdin=subprocess.DEVNULL, check=False)
    lines = out.stdout.splitlines()
    assert lines and lines[-1].startswith("Sign-off: "), out.stdout[-3000:] + out.stderr[-3000:]
    return out, bundle_of(lines[-1], REPO)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """One single-process run and one on two workers of the same scenarios: every comparison below reads them."""
    tmp = tmp_path_factory.mktemp("workers")
    (tmp / "waivers.yaml").write_text(WAIVERS)
    return _verify(tmp, 1), _verify(tmp, 2)


_TMP = re.compile(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/(popen-gw\d+/)?")


def _evidence_text(path: Path) -> str:
    """An evidence file less what differs between any two runs: the pytest temporary folder, Proxmox's ctime."""
    data = path.read_bytes()
    text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", errors="replace")
    return re.sub(r"ctime=\d+", "ctime=T", _TMP.sub("TMP/", text))


def _manifest(bundle: Path) -> dict:
    m = json.loads((bundle / "manifest.json").read_text())
    for key in ("run_id", "started", "finished", "invocation"):
        m.pop(key)
    for s in m["scenarios"]:
        s.pop("duration")
        for step in s["steps"]:
            step.pop("duration")
        for a in s["attachments"]:
            a.pop("size")   # a temporary folder's name is in some evidence: its size follows it
    return m


def _summary(bundle: Path) -> list[str]:
    """summary.md less its times: the start, the end, the run id, each scenario's wall time (its lab time stays)."""
    times = re.compile(r"^\| (Started|Finished) \(UTC\) |^\| Run id ")
    wall = re.compile(r"(\| (?:virtual|wall) \| )[^|]+ \|$")
    return [wall.sub(r"\1WALL |", line) for line in (bundle / "summary.md").read_text().splitlines()
            if not times.match(line)]


def test_the_workers_bundle_is_the_single_process_bundle(pair):
    (one, b1), (two, b2) = pair
    assert "on 2 workers" in two.stdout and "on 2 workers" not in one.stdout   # it really ran in two processes
    m1, m2 = _manifest(b1), _manifest(b2)
    assert [s["nodeid"] for s in m2["scenarios"]] == [s["nodeid"] for s in m1["scenarios"]]   # collection order
    assert {s["feature_file"] for s in m1["scenarios"]} == {"features/fabric.feature", "features/proxmox.feature"}
    for s1, s2 in zip(m1["scenarios"], m2["scenarios"]):
        assert s2 == s1, s1["title"]
    assert m2 == m1
    assert _summary(b2) == _summary(b1)
    files = sorted(p.relative_to(b1).as_posix() for p in b1.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b2).as_posix() for p in b2.rglob("*") if p.is_file())
    evidence = [f for f in files if f.startswith("evidence/")]
    assert len(evidence) > 40 and any(f.endswith(".gz") for f in evidence)   # transcripts and observations
    for f in evidence:
        assert _evidence_text(b2 / f) == _evidence_text(b1 / f), f
    # lab time, versions, waivers: the totals a single process reports
    assert m1["lab_time"]["scenarios"] == 7 and m1["lab_time"]["seconds"] > 60
    assert m1["lab_versions"] and m1["waivers"][0]["applied_to"] and m1["waivers"][1]["applied_to"]
    assert m1["counts"]["scenarios"]["waived-failed"] == 1 and m1["counts"]["scenarios"]["waived"] == 1


def test_a_failure_on_a_worker_reads_as_in_one_process(pair):
    (one, b1), (two, b2) = pair
    assert one.returncode == two.returncode == 1
    m1, m2 = _manifest(b1), _manifest(b2)
    assert m1["verdict"] == m2["verdict"] == "REJECTED"
    assert m2["reasons"] == m1["reasons"] and len(m1["reasons"]) == 4, m1["reasons"]
    failed = {s["title"]: s["failure"] for s in m1["scenarios"] if s["status"] == "failed"}
    assert failed == {s["title"]: s["failure"] for s in m2["scenarios"] if s["status"] == "failed"}
    assert "stops at crs328-01 sfp-sfpplus3" in "".join(f["message"] for f in failed.values())
    # both features failed somewhere: the two workers' failures came back
    assert {s["feature"] for s in m2["scenarios"] if s["status"] == "failed"} == {FABRIC, PROXMOX}
    # the console's closing lines
    for out in (one, two):
        closing, verdict = out.stdout.splitlines()[-2:]
        assert re.match(r"7 scenarios, \d+ min \d\d s of lab time in ", closing), closing
        assert verdict.startswith("Sign-off: REJECTED — ")
    assert one.stdout.splitlines()[-2].split(" in ")[0] == two.stdout.splitlines()[-2].split(" in ")[0]
    assert "FAILED" in two.stdout and "at Then VLAN1, VLAN10, VLAN1500 and VLAN2000 are carried" in two.stdout


# Secrets only a worker knows: its step puts one in the environment (as a simulated lab plants its invented
# credentials), the lab file references it; the controller, and this test's process, never have it. One per scenario:
# a worker that finished first must not have told the controller the other worker's secret.
PLANTED = {"saw": "w0rker-only-s3cret-9f8e7d", "fails": "w0rker-only-s3cret-1a2b3c"}
SECRET_LAB = ("lab: {name: workerlab}\nrouteros:\n  defaults: {username: admin, password: env:WORKER_SAW}\n"
              "proxmox: {credentials: {user: root@pam, token_id: ci, token_secret: env:WORKER_FAILS}}\n")
SECRET_FEATURE = """\
Feature: Workers
  Scenario: The worker attaches what it saw
    When the worker logs in with saw

  Scenario: The worker fails quoting it
    When the worker logs in with fails
    Then the password fails is refused
"""
SECRET_STEPS = f'''
import os
from pytest_bdd import when, then, parsers, scenarios

scenarios("workers.feature")
PLANTED = {PLANTED!r}

@when(parsers.parse("the worker logs in with {{which}}"))
def logs_in(evidence, which):
    secret = os.environ["WORKER_" + which.upper()] = PLANTED[which]
    evidence.attach("session", f"login admin {{secret}} ok")
    evidence.finding("login", True, f"logged in as admin/{{secret}}", {{"seen": secret}})
    evidence.timeline("sessions", [{{"t": 0, "who": secret}}])

@then(parsers.parse("the password {{which}} is refused"))
def refused(which):
    assert False, f"login refused for {{PLANTED[which]}}"
'''


def test_a_secret_planted_on_a_worker_reaches_neither_the_bundle_nor_the_console(pytester, monkeypatch):
    monkeypatch.delenv("WORKER_SAW", raising=False)
    monkeypatch.delenv("WORKER_FAILS", raising=False)
    (pytester.path / "lab.yaml").write_text(SECRET_LAB)
    write_suite(pytester, {"workers.feature": SECRET_FEATURE}, steps=SECRET_STEPS)
    out = run_signoff(pytester, "--lab=lab.yaml", "-p", "labsim.signoff.secret_filter", "-n", "2", "--dist", "load",
                      "--console=scenarios")
    assert out.bundle is not None, "\n".join(out.lines[-40:])
    assert "setup: collection: 2 items to run on 2 workers" in "\n".join(out.lines)
    assert out.manifest["verdict"] == "REJECTED"
    failed = out.scenarios["Workers: The worker fails quoting it"]
    assert failed["failure"]["message"] == "AssertionError: login refused for [REDACTED]"
    files = [p for p in out.bundle.rglob("*") if p.is_file()]
    assert any("evidence/" in p.as_posix() for p in files)
    for p in files:
        data = p.read_bytes()
        for secret in PLANTED.values():
            assert secret.encode() not in (gzip.decompress(data) if p.suffix == ".gz" else data), p
    for secret in PLANTED.values():   # the console's failure lines came from the worker's record, as it shipped it
        assert secret not in "\n".join(out.lines)
    assert "[REDACTED]" in (out.bundle / "summary.md").read_text()


CRASH_FEATURE = """\
Feature: Crash
  Scenario: Before
    When it works

  Scenario: The worker dies
    When the worker dies

  Scenario: After
    When it works
"""
CRASH_STEPS = '''
import os
from pytest_bdd import when, scenarios

scenarios("crash.feature")

@when("it works")
def works(evidence):
    evidence.attach("note", "fine")

@when("the worker dies")
def dies():
    os._exit(3)
'''


def test_a_worker_that_dies_fails_its_scenario_and_keeps_the_others(pytester):
    write_suite(pytester, {"crash.feature": CRASH_FEATURE}, steps=CRASH_STEPS)
    out = run_signoff(pytester, "-n", "2", "--dist", "load")
    assert out.bundle is not None, "\n".join(out.lines[-40:])
    assert [s["name"] for s in out.manifest["scenarios"]] == ["Before", "The worker dies", "After"]
    died = out.scenarios["Crash: The worker dies"]
    assert died["status"] == "failed" and re.fullmatch(
        r"worker 'gw\d' crashed while running 'test_suite.py::test_the_worker_dies'", died["failure"]["message"])
    for name in ("Before", "After"):
        rec = out.scenarios[f"Crash: {name}"]
        assert rec["status"] == "passed" and rec["attachments"][0]["path"].endswith("1-note.txt"), rec
    assert out.manifest["verdict"] == "REJECTED"


def test_workers_option():
    import argparse

    from labsim.cli import WORKERS_CAP, _parallel, workers

    assert 1 <= workers("auto") <= WORKERS_CAP and workers("3") == 3
    for bad in ("0", "-2", "many"):
        with pytest.raises(argparse.ArgumentTypeError):
            workers(bad)
    assert _parallel(1, []) == []                                   # one process: pytest as before
    assert _parallel(2, ["-k", "dhcp"]) == ["-n", "2", "--dist", "loadfile"]
    for own in (["-n", "4"], ["-n4"], ["--dist=load"], ["-p", "no:xdist"]):   # pytest's own options win
        assert _parallel(2, own) == [], own


def test_make_test_starts_two_workers_per_cpu_as_memory_allows(monkeypatch):
    from labsim import cli

    monkeypatch.setattr(cli, "usable_cpus", lambda: 2)
    monkeypatch.setattr(cli, "available_memory", lambda: 20 * cli.WORKER_MEMORY)
    assert cli.test_workers() == 4
    monkeypatch.setattr(cli, "available_memory", lambda: 3 * cli.WORKER_MEMORY + 1)
    assert cli.test_workers() == 3
    monkeypatch.setattr(cli, "available_memory", lambda: cli.WORKER_MEMORY // 2)
    assert cli.test_workers() == 1
    monkeypatch.setattr(cli, "available_memory", lambda: None)
    assert cli.test_workers() == 4


def test_a_refused_run_on_workers_is_refused_once_with_its_bundle(tmp_path):
    """The controller refuses a run it cannot make (here a --sim-break nobody defined) as a single process does:
    exit 2, one message, a REJECTED bundle with the reason; no worker stops and is restarted over and over."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    out = subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "-n", "2",
                          "--sim-break", "nope", "--signoff", str(tmp_path)], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=env, stdin=subprocess.DEVNULL, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 2, text[-3000:]
    assert text.count("--sim-break nope: no such breakage") == 1 and "crashed" not in text, text[-3000:]
    manifest = json.loads((bundle_of(out.stdout.splitlines()[-1], REPO) / "manifest.json").read_text())
    assert manifest["verdict"] == "REJECTED"
    assert any("no such breakage" in r for r in manifest["reasons"]), manifest["reasons"]
