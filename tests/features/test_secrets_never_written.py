"""Issue 19 §3: no secret value reaches anything a run writes: stdout, stderr, captured and live logs, JUnit XML,
the sign-off bundle, the files left in the temporary folder.

A canary is planted in every secret reference of the lab file (`env:` in the environment, `file:` under a HOME of
the test's own) and the suite runs failing and passing scenarios with every log at DEBUG, shown live and for
passing tests too: on the simulated target (its devices take the planted values) and, the path a real lab takes,
with `--target lab` against a served lab whose secrets are the canaries. Before the secret filter,
librouteros's DEBUG record `'=password=...'` printed the RouterOS password in every failed scenario's report.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from labsim.fakes.inventory import load_inventory
from labsim.fakes.served_lab import secret_env
from tests.contract.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "aggrik8s.yaml"
VERBOSE = ["-p", "no:cacheprovider", "-rA", "--log-level=DEBUG", "-o", "log_cli=true", "-o", "log_cli_level=DEBUG",
           "-o", "junit_logging=all"]


@pytest.fixture
def planted(tmp_path):
    """Environment and canaries: one per secret reference of the lab file, every reference covered."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
    canaries = {}
    for i, ref in enumerate(load_inventory(LAB).secret_refs()):
        kind, _, name = ref.partition(":")
        value = f"canary{i}-{kind}-Zq8v{i}x"
        if kind == "env":
            env[name] = value
        else:
            path = Path(name.replace("~", str(home), 1))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{value}\n-----END OPENSSH PRIVATE KEY-----\n")
            path.chmod(0o600)
        canaries[ref] = value
    assert {r.split(":")[0] for r in canaries} == {"env", "file"}
    return env, canaries, tmp_path


def _written(tmp_path: Path, procs, skip=()) -> dict[str, bytes]:
    out = {}
    for i, proc in enumerate(procs):
        out[f"run {i} stdout"], out[f"run {i} stderr"] = proc.stdout.encode(), proc.stderr.encode()
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.is_symlink() and "home" not in path.relative_to(tmp_path).parts[:1] \
                and path not in skip:
            out[str(path.relative_to(tmp_path))] = path.read_bytes()
    return out


def _assert_clean(written: dict[str, bytes], canaries: dict[str, str]) -> None:
    assert len(written) > 4
    for ref, value in canaries.items():
        for form in {value, quote(value, safe="")}:
            leaks = [where for where, data in written.items() if form.encode() in data]
            assert not leaks, f"the value of {ref} appears in {leaks}"


def _pytest(args, env, cwd=ROOT, timeout=600):
    return subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", *VERBOSE, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_simulated_runs_failing_and_passing_write_no_secret(planted):
    env, canaries, tmp_path = planted
    failing = _pytest(["-k", "second_apply or whole_configuration or refused", "--sim-break=access-port-pvid-changed",
                       f"--junitxml={tmp_path / 'fail.xml'}", "--signoff", str(tmp_path / "bundles")], env)
    passing = _pytest(["-m", "fabric", "-k", "second_apply or refused", f"--junitxml={tmp_path / 'pass.xml'}",
                       "--signoff", str(tmp_path / "bundles")], env)
    _assert_clean(_written(tmp_path, [failing, passing]), canaries)
    assert failing.returncode == 1 and " failed" in failing.stdout, failing.stdout[-3000:]
    assert passing.returncode == 0, passing.stdout[-3000:]
    # the runs did send the planted password (and it was logged, redacted), so the check had something to find
    assert "=password=[REDACTED]" in failing.stdout and "=password=[REDACTED]" in passing.stdout


def test_a_real_lab_run_against_a_served_lab_writes_no_secret(planted):
    env, canaries, tmp_path = planted
    served = tmp_path / "served"
    files = {k: served / f for k, f in (("endpoints", "endpoints.json"), ("lab", "lab.yaml"))}
    proc = subprocess.Popen([sys.executable, "-m", "labsim.fakes", "serve", str(LAB), "--endpoints-file",
                             str(files["endpoints"]), "--lab-out", str(files["lab"]), "--time-scale", "50"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: files["lab"].exists() or proc.poll() is not None, what="the served lab file")
        endpoints = json.loads(files["endpoints"].read_text())
        lab_env = {**env, **secret_env(yaml.safe_load(LAB.read_text()), endpoints)}
        # the served devices took the planted values: the run below logs in with the canaries
        assert lab_env["ROUTEROS_PASSWORD"] == canaries["env:ROUTEROS_PASSWORD"]
        # read-only, nothing provisioned yet: the fabric's checks fail; the refused lab file passes
        run = _pytest(["--target", "lab", "--loopback-only", "--lab", str(files["lab"]), "-m", "fabric",
                       f"--junitxml={tmp_path / 'lab.xml'}", "--signoff", str(tmp_path / "bundles")], lab_env)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    serve = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    # The endpoints file is the served lab's credentials by design (owner-only): what it holds is the point.
    _assert_clean(_written(tmp_path, [run, serve], skip={files["endpoints"]}), canaries)
    assert " failed" in run.stdout and " passed" in run.stdout, run.stdout[-3000:]
    assert "=password=[REDACTED]" in run.stdout
