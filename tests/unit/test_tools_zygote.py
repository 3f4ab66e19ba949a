"""The fake tools' fork server: each run is still its own process with the caller's argv, environment, working
directory, streams and exit code; runs overlap; without a zygote the launcher runs the tool itself."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from labsim.fakes.tools.zygote import Zygote

ROOT = Path(__file__).resolve().parents[2]


def launcher(tool: str, *argv: str) -> list[str]:
    code = (f"import sys; sys.argv = {[tool, *argv]!r}; from labsim.fakes.tools.launch import launch; launch({tool!r}); "
            "print('not handed over'); sys.exit(9)")
    return [sys.executable, "-c", code]


def run(z, cmd, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **z.env(), **kw.pop("env", {})}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, check=False, **kw)


def test_a_run_gets_argv_stdout_and_exit_code(zygote):
    r = run(zygote, launcher("cilium", "version", "--client"))
    assert r.returncode == 0 and r.stdout.startswith("cilium-cli: v") and "not handed over" not in r.stdout
    r = run(zygote, launcher("cilium", "clustermesh", "enable"), env={"KUBECONFIG": "/nonexistent"})
    assert r.returncode == 1 and r.stderr.startswith("Error: ")


def test_a_run_gets_the_callers_environment_and_directory(zygote, tmp_path):
    home = tmp_path / "helm"
    r = run(zygote, launcher("helm", "repo", "add", "cilium", "https://helm.cilium.io/"),
            env={"HELM_CONFIG_HOME": str(home)}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (home / "repositories.yaml").exists()
    assert r.stdout.strip() == '"cilium" has been added to your repositories'


def test_runs_overlap(zygote):
    results = []

    def one():
        results.append(run(zygote, launcher("cilium", "version", "--client")).returncode)
    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [0] * 6


def test_a_zygote_deep_in_a_long_tmpdir_still_serves(tmp_path, monkeypatch):
    """A socket path longer than sockaddr_un holds (108 bytes) is bound and reached through its folder: a served lab's
    run folder inside a test's tmp_path or a CI workspace went past it, and the tools ran without their zygote."""
    deep = tmp_path / ("a-long-folder-name-" * 6)
    deep.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(deep))
    z = Zygote().start()
    try:
        assert len(z.path.encode()) > 108
        z.wait_listening()
        assert Path(z.path).is_socket() and Path(z.path).parent.parent == deep
        r = run(z, launcher("cilium", "version", "--client"))
        assert r.returncode == 0 and r.stdout.startswith("cilium-cli: v") and "not handed over" not in r.stdout, r
    finally:
        z.stop()
    assert list(deep.iterdir()) == []


def test_without_a_zygote_the_launcher_runs_the_tool_itself(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LABSIM_ZYGOTE": str(tmp_path / "nobody.sock")}
    r = subprocess.run(launcher("cilium", "version"), env=env, capture_output=True, text=True, timeout=30,
                       check=False)
    assert r.returncode == 9 and "not handed over" in r.stdout


def test_a_refused_run_says_why_and_fails(zygote):
    r = run(zygote, launcher("kubectl", "version"))      # not one of the zygote's tools
    assert r.returncode == 1 and "not handed over" not in r.stdout
    assert r.stderr.startswith("kubectl: the simulated lab's tool server (") and "restart the simulated lab" in r.stderr


def test_a_refused_request_gives_the_callers_streams_back(zygote):
    """A request the zygote refuses (here: not a launcher's) must not keep the caller's stdout open, or the caller's
    `subprocess.run` would wait for EOF forever."""
    import marshal
    import socket

    r, w = os.pipe()
    body = marshal.dumps(["not", "a", "dict"])
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(zygote.path)
        socket.send_fds(s, [len(body).to_bytes(4, "big") + body], [w])
        os.close(w)
        s.settimeout(10)
        assert s.recv(1) == b""          # refused: the zygote hung up
    os.set_blocking(r, True)
    done = threading.Event()
    threading.Thread(target=lambda: (os.read(r, 1), done.set()), daemon=True).start()
    assert done.wait(10), "the zygote kept the caller's stream open"
    os.close(r)


def test_a_launcher_imports_nothing_but_builtins():
    """Each tool run starts a launcher (`python -S`): labsim's package imports must cost it nothing (reading the
    installed version in labsim/__init__.py took 50 ms, typing 9 ms, of a 16 ms run)."""
    heavy = ("typing", "importlib.metadata", "re", "json", "socket", "yaml", "enum")
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); import labsim.fakes.tools.launch; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert r.stdout.strip() == "[]", r.stdout
