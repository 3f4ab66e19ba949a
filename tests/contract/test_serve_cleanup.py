"""Issue 19 §8: a killed served lab left 0700 folders in the system temporary folder with 13 private keys,
kubeconfigs and an endpoints file with credentials. Now every secret file of a served lab lives in one folder
that `serve` removes (with the endpoints file) on every way out, and a new `serve` removes what a killed one
left."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SYS_TGKILL = 234     # x86_64: a signal to one thread of a process (os.kill picks any thread)


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_serve_left_running():
    yield
    while _STARTED:   # a failed test must not leave a served lab (and its zygote) behind
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)


def _serve(tmp: Path, endpoints: Path, lab: str = "labs/aggrik8s.yaml") -> subprocess.Popen:
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "labsim.fakes", "serve", lab, "--endpoints-file", str(endpoints)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _STARTED.append(proc)
    wait_for(lambda: endpoints.exists() or proc.poll() is not None, 60, "the endpoints file")
    assert endpoints.exists(), proc.stdout.read()
    return proc


def _secret_files(endpoints: dict) -> list[Path]:
    files = [ep["ca"] for ep in endpoints["proxmox"].values()]
    for ep in endpoints["hosts"].values():
        files += [ep["key_file"], ep["known_hosts"]]
    files += [ep["kubeconfig"] for ep in endpoints["kubernetes"].values()]
    files += [endpoints["tools"]["env"]["LABSIM_ZYGOTE"]]
    return [Path(f) for f in files if f]


@pytest.fixture
def tmp(tmp_path):
    d = tmp_path / "tmp"
    d.mkdir()
    return d


def test_every_secret_file_is_in_the_one_folder(tmp, tmp_path):
    endpoints = tmp_path / "endpoints.json"
    proc = _serve(tmp, endpoints)
    try:
        data = json.loads(endpoints.read_text())
        folder = Path(data["session"]["run_folder"])
        assert [p.name for p in tmp.iterdir()] == [folder.name]
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
        files = _secret_files(data)
        assert len(files) > 8 and all(folder in f.parents for f in files), files
        keys = [p for p in folder.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]
        assert len(keys) >= 5
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stopped_serve_leaves_nothing(tmp, tmp_path, sig):
    endpoints = tmp_path / "endpoints.json"
    proc = _serve(tmp, endpoints)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "simulated lab stopped" in out, out
    assert list(tmp.iterdir()) == [] and not endpoints.exists()


def test_a_stop_signal_received_by_any_thread_stops_the_lab(tmp, tmp_path):
    """The kernel may hand a process's signal to any of its threads. One of the lab's threads got the SIGTERM of a
    test's teardown under load, and the served lab never stopped: its main thread waited on a lock with no
    timeout, so Python never ran the handler. Here the signal goes to another thread on purpose (tgkill)."""
    endpoints = tmp_path / "endpoints.json"
    proc = _serve(tmp, endpoints)
    thread = max(int(t.name) for t in Path(f"/proc/{proc.pid}/task").iterdir())    # not the main thread
    assert thread != proc.pid
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(SYS_TGKILL, proc.pid, thread, signal.SIGTERM) == 0, ctypes.get_errno()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "simulated lab stopped" in out, out
    assert list(tmp.iterdir()) == [] and not endpoints.exists()


def test_a_new_serve_removes_what_a_killed_one_left(tmp, tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    proc = _serve(tmp, first)
    left = Path(json.loads(first.read_text())["session"]["run_folder"])
    proc.kill()
    proc.communicate(timeout=30)
    assert left.exists() and first.exists()           # SIGKILL: nothing could run
    again = _serve(tmp, second)
    try:
        assert not left.exists() and not first.exists()
        assert f"removed the files of a served lab that was killed: {left}" in _lines_so_far(again, second)
    finally:
        again.terminate()
        again.communicate(timeout=30)
    assert list(tmp.iterdir()) == []


def _lines_so_far(proc: subprocess.Popen, endpoints: Path) -> str:
    out = []
    while line := proc.stdout.readline():
        out.append(line)
        if "endpoints written to" in line:
            break
    return "".join(out)


def test_a_failed_start_leaves_nothing(tmp, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-m", "labsim.fakes", "serve", "labs/aggrik8s.yaml", "--endpoints-file",
                           str(blocker / "endpoints.json")], cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert list(tmp.iterdir()) == []
