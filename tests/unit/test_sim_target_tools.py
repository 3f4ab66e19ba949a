"""The environment the simulated target gives the command-line tools: the fake ones first on PATH, and the real Go
ones (kubectl) without their garbage collector unless this machine's environment chose a setting
(labsim/steps/targets.py: GO_TOOLS)."""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.steps.targets import GO_TOOLS, SimTarget

LAB = Path(__file__).resolve().parents[2] / "labs" / "example.yaml"


@pytest.fixture
def target():
    t = SimTarget(LAB)
    yield t
    t.close()


def test_go_tools_run_without_their_collector_against_a_simulated_lab(target, monkeypatch):
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    env = target.tool_env()
    assert {k: env[k] for k in GO_TOOLS} == {"GOGC": "off", "GOMEMLIMIT": "512MiB"}
    assert str(Path(env["PATH"].split(":")[0])).endswith("fakes/bin")


def test_a_setting_from_this_machine_wins(target, monkeypatch):
    monkeypatch.setenv("GOGC", "100")
    assert target.tool_env()["GOGC"] == "100"



def test_the_fake_tools_go_straight_to_the_labs_zygote(target):
    """The simulated target's tools hand talosctl, helm and cilium to the lab's zygote (labsim/fakes/tools/handoff.py);
    the real kubectl still runs as a subprocess."""
    from labsim.fakes.tools import handoff

    tools = target.tools()
    assert tools.spawn is handoff.run and tools.env == target.tool_env()
    target.sim.zygote.wait_listening()
    assert handoff.run(["talosctl", "version", "--client", "--short"], tools.env) is not None
    ran = tools.run(["talosctl", "version", "--client", "--short"])
    assert ran.rc == 0 and "Talos v1." in ran.stdout
    assert handoff.run(["kubectl", "version", "--client"], tools.env) is None
