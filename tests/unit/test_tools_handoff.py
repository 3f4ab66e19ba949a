"""A fake tool run handed straight to the zygote (labsim/fakes/tools/handoff.py, what `Tools.run` does in the
simulator) gives what the tool's launcher gives: the same exit code, stdout and stderr, the caller's environment and
folder; anything that is not a fake tool, or a lab without a listening zygote, is left to the launcher."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from labsim.fakes.tools import handoff
from labsim.fakes.tools.zygote import Zygote
from labsim.provisioners.talos.cli import Tools

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "labsim" / "fakes" / "bin"


def env_of(z: Zygote | None, **more: str) -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "LABSIM_PYTHON": sys.executable, **more}
    return {**env, **z.env()} if z else env


def launched(argv, env, cwd=None):
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("argv", [
    ["cilium", "version", "--client"],
    ["talosctl", "version", "--client", "--short"],
    ["helm", "version"],
    ["cilium", "clustermesh", "enable"],              # exits 1 with the CLI's error on stderr
    ["talosctl", "no-such-command"],
    ["helm", "env"],                                  # prints the HELM_* environment it was given
])
def test_a_handed_off_run_is_the_launchers_run(zygote, tmp_path, argv):
    env = env_of(zygote, KUBECONFIG=str(tmp_path / "none"), HELM_CONFIG_HOME=str(tmp_path / "helm"))
    direct = handoff.run(argv, env, tmp_path, 60)
    assert direct is not None, "not handed off"
    via = launched(argv, env, tmp_path)
    assert (direct.returncode, direct.stdout, direct.stderr) == (via.returncode, via.stdout, via.stderr)
    assert direct.args == argv


def test_the_run_gets_the_callers_folder_and_environment(zygote, tmp_path):
    home = tmp_path / "helm-home"
    r = handoff.run(["helm", "repo", "add", "cilium", "https://helm.cilium.io/"], env_of(zygote, HELM_CONFIG_HOME=str(home)),
                    tmp_path, 60)
    assert r is not None and r.returncode == 0, r
    assert r.stdout.strip() == '"cilium" has been added to your repositories'
    assert (home / "repositories.yaml").exists()


def test_what_is_not_a_fake_tool_or_has_no_zygote_is_left_to_the_launcher(zygote, tmp_path):
    assert handoff.run(["true"], env_of(zygote), tmp_path, 10) is None
    assert handoff.run(["kubectl", "version", "--client"], env_of(zygote), tmp_path, 10) is None
    assert handoff.run(["cilium", "version", "--client"], env_of(None), tmp_path, 10) is None
    gone = env_of(None, LABSIM_ZYGOTE=str(tmp_path / "no-such.sock"))
    assert handoff.run(["cilium", "version", "--client"], gone, tmp_path, 10) is None
    # and Tools.run then runs the launcher itself
    ran = Tools(env=gone, cwd=tmp_path, spawn=handoff.run).run(["cilium", "version", "--client"])
    assert ran.rc == 0 and ran.stdout.startswith("cilium-cli: v")


def test_tools_run_hands_off_and_keeps_its_transcript(zygote, tmp_path):
    calls = []
    real = handoff.run
    spawn = lambda *a: calls.append(a[0]) or real(*a)   # noqa: E731
    tools = Tools(env=env_of(zygote), cwd=tmp_path, spawn=spawn)
    ran = tools.run(["talosctl", "version", "--client", "--short"])
    assert calls == [["talosctl", "version", "--client", "--short"]]
    assert ran.rc == 0 and ran.stdout == "Client:\nTalos v1.11.3\n"
    assert tools.transcript[-1] == "$ talosctl version --client --short  # exit 0\nClient:\nTalos v1.11.3"


@pytest.mark.parametrize("env, coerced", [
    ({}, True), ({"LANG": "C"}, True), ({"LC_CTYPE": "POSIX", "LANG": "en_US.UTF-8"}, True),
    ({"LANG": "C.UTF-8"}, False), ({"LC_ALL": "C"}, False), ({"PYTHONCOERCECLOCALE": "0"}, False),
])
def test_the_locale_is_coerced_as_the_launchers_python_does(env, coerced, tmp_path):
    """PEP 538, checked against the interpreter itself: what LC_CTYPE a bare `python -S` started in `env` sees."""
    seen = subprocess.run([sys.executable, "-S", "-c", "import os; print(os.environ.get('LC_CTYPE', ''))"],
                          env={**env, "PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True)
    assert (seen.stdout.strip() == "C.UTF-8" and env.get("LC_CTYPE") != "C.UTF-8") == coerced
    assert handoff._coerced(env) == coerced
