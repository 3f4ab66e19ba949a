"""The pytest side of targets: options, tag rules, the network guard and the fixtures steps use.

Steps ask the `target` fixture for what they need (a RouterOS connection per device, the clock,
`wait_for`), so one step runs unchanged against the simulated lab and a real one.
"""
from __future__ import annotations

import pytest

from labsim.steps import guard
from labsim.steps.markers import MARKERS, SKIPS

_TRANSCRIPT = pytest.StashKey()
_STEPS = pytest.StashKey[list]()


def steps_after(request) -> list[str]:
    """The texts of the running scenario's steps after the one running now: for a step that reads something only a
    later step needs."""
    from labsim.steps.checkpoints import _INDEX
    return request.node.stash.get(_STEPS, [])[request.node.stash.get(_INDEX, -1) + 1:]
PROBES_REFUSED = ("@probes: traffic checks run probe pods in the lab's clusters: refused against a real lab without "
                  "--allow-probes")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("lab", "lab targets")
    # Without --lab, labsim.plugin chooses the lab file (labsim/labfile.py: LABSIM_LAB, ini labsim_lab, lab.yaml).
    g.addoption("--lab", default=None, help="lab file (default: $LABSIM_LAB, ini option labsim_lab, lab.yaml "
                                            "here, else the built-in example lab aggrik8s)")
    g.addoption("--target", default="sim", choices=("sim", "lab", "kind"),
                help="sim: an embedded simulated lab (default); lab: the real endpoints in the lab file; "
                     "kind: the simulated lab with the mesh's clusters in kind (make kind-verify)")
    g.addoption("--kind-dir", default="kind", metavar="DIR",
                help="with --target kind: where `python -m labsim.provisioners.kind` wrote the kubeconfigs")
    g.addoption("--sim-seed", type=int, default=0, help="seed of the simulated lab's randomness")
    g.addoption("--apply", action="store_true", default=False,
                help="against a real lab: allow provisioning (writes); verification is read-only otherwise")
    g.addoption("--allow-destructive", action="store_true", default=False,
                help="against a real lab: allow @destructive fault drills")
    g.addoption("--allow-probes", action="store_true", default=False,
                help="against a real lab: allow @probes traffic checks, which run probe Jobs in the members (each "
                     "scenario removes its probe Jobs and the probe namespace it created when it ends)")
    g.addoption("--sim-checkpoints", action="store_true", default=True, dest="sim_checkpoints",
                help="sim only (the default): a Given that builds part of the lab leaves a checkpoint, and a later "
                     "scenario beginning with the same steps starts from a restore of it (labsim/steps/checkpoints.py)")
    g.addoption("--no-sim-checkpoints", action="store_false", dest="sim_checkpoints",
                help="build every scenario's simulated lab from nothing")
    g.addoption("--sim-break", default=None, metavar="NAME",
                help="sim only: break the simulated lab right after the fabric (for a VM breakage: the VMs) "
                     "is provisioned (see labsim/steps/breakages.py); proves that the features fail on a broken lab")
    g.addoption("--sim-break-at", default=None, metavar="STEP",
                help="with --sim-break: strike right before the first step of this text instead, <x> standing for "
                     "any subject (to show a later Then step failing)")
    g.addoption("--sim-then-log", default=None, metavar="FILE",
                help="sim only (or --target lab with --loopback-only: nothing real reachable): a failing Then step "
                     "does not end its scenario; every failing Then step is written to FILE as a JSON line "
                     "(labsim/steps/keep_going.py)")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    # a session run inside another (pytester's inline runs) must not take the outer session's guard away with it
    if config.getoption("--target") != "lab" and not guard.installed():
        guard.install()
        config.add_cleanup(guard.uninstall)
    # never against a lab that may be real: after a failed Then a drill's next When must not run there
    contained = config.getoption("--target") == "sim" or (config.getoption("--target") == "lab"
                                                          and config.getoption("--loopback-only"))
    if config.getoption("--sim-then-log") and contained:
        from labsim.steps import keep_going
        keep_going.install(config, config.getoption("--sim-then-log"))


_CHECKPOINTS_AT_START = pytest.StashKey[dict]()


def pytest_sessionstart(session: pytest.Session) -> None:
    from labsim.steps import checkpoints
    session.config.stash[_CHECKPOINTS_AT_START] = dict(checkpoints.STATS)


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    """How much building the lab checkpoints saved (labsim/steps/checkpoints.py), when they were used."""
    from labsim.steps import checkpoints
    start = config.stash.get(_CHECKPOINTS_AT_START, {})
    n = {k: v - start.get(k, 0) for k, v in checkpoints.STATS.items()}
    if any(n.values()):
        terminalreporter.write_line(
            f"lab checkpoints: {n['taken']} taken, {n['restored']} scenarios started from one"
            + (f", {n['unrestorable']} built afresh instead (a port or folder of the checkpoint was taken)"
               if n["unrestorable"] else ""))


def pytest_report_header(config: pytest.Config) -> str | None:
    if not guard.installed():
        return None
    how = "a network namespace with loopback only" if guard.isolated() else "the in-process guard only (no namespace)"
    return f"network: kept on 127.0.0.0/8 by {how}"


@pytest.hookimpl(optionalhook=True)
def pytest_signoff_deviations(config: pytest.Config) -> dict[str, str]:
    """Skips by tag on this target are declared deviations, not silent gaps (read by the sign-off)."""
    target = config.getoption("--target")
    return {tag: reason for (tag, t), reason in SKIPS.items() if t == target}


def pytest_bdd_before_scenario(request, feature, scenario):
    from labsim.steps.transcripts import Transcript

    request.node.stash[_TRANSCRIPT] = Transcript().start()
    request.node.stash[_STEPS] = [step.name for step in scenario.steps]
    from labsim.steps import checkpoints
    if checkpoints.enabled(request.config):
        brk, at = request.config.getoption("--sim-break"), request.config.getoption("--sim-break-at")
        before = (lambda name: bool(brk) and (_strikes("at", at, name) if at else _strikes("before", brk, name)))
        after = (lambda name: bool(brk) and not at and _strikes("after", brk, name))
        request.node.stash[checkpoints._PLAN] = checkpoints.plan(request, scenario, before, after)


def pytest_bdd_before_step(request, feature, scenario, step, step_func):
    from labsim.steps.checkpoints import _INDEX
    request.node.stash[_INDEX] = request.node.stash.get(_INDEX, -1) + 1


def transcript_lines(request) -> list[str]:
    """The scenario's API transcript so far (kept with a lab checkpoint)."""
    transcript = request.node.stash.get(_TRANSCRIPT, None)
    return list(transcript.lines) if transcript is not None else []


def transcript_prepend(request, lines: list[str]) -> None:
    """A restored scenario's transcript begins with what the steps the checkpoint covers sent and received."""
    transcript = request.node.stash.get(_TRANSCRIPT, None)
    if transcript is not None:
        transcript.lines[:0] = lines


def struck(request) -> bool:
    """A breakage has struck this scenario's lab (no checkpoint of it is kept)."""
    return request.node.stash.get(_STRUCK, False)


def pytest_bdd_after_scenario(request, feature, scenario):
    transcript = request.node.stash.get(_TRANSCRIPT, None)
    if transcript is not None:
        text = transcript.stop()
        if text:
            request.getfixturevalue("evidence").attach("api-transcript", text, "text/plain")


_STRUCK = pytest.StashKey[bool]()


def _strike(request, step_func_args) -> None:
    """Break the lab (`--sim-break NAME`) once per scenario, with the struck step's arguments (its subjects)."""
    from labsim.steps.breakages import BREAKAGES, Strike

    if request.node.stash.get(_STRUCK, False):
        return
    request.node.stash[_STRUCK] = True
    args = {k: v for k, v in step_func_args.items() if isinstance(v, str)}
    BREAKAGES[request.config.getoption("--sim-break")].act(request.getfixturevalue("target"), Strike(args, request))


def pytest_bdd_before_step_call(request, feature, scenario, step, step_func, step_func_args):
    name, at = request.config.getoption("--sim-break"), request.config.getoption("--sim-break-at")
    if name and (_strikes("at", at, step.name) if at else _strikes("before", name, step.name)):
        _strike(request, step_func_args)


def pytest_bdd_after_step(request, feature, scenario, step, step_func, step_func_args):
    name = request.config.getoption("--sim-break")
    if name and not request.config.getoption("--sim-break-at") and _strikes("after", name, step.name):
        _strike(request, step_func_args)


def _strikes(when: str, name: str, step: str) -> bool:
    from labsim.steps import breakages as B
    if when == "at":                 # --sim-break-at: a step text in which <x> stands for a subject
        return B.matches(name, step)
    return (B.strikes_after if when == "after" else B.strikes_before)(name, step)


def skip_reason(config: pytest.Config, tags: set[str]) -> str | None:
    target = config.getoption("--target")
    for tag in sorted(tags):
        if (tag, target) in SKIPS:
            return f"@{tag}: {SKIPS[(tag, target)]}"
    if target == "lab":
        if "destructive" in tags and not config.getoption("--allow-destructive"):
            return "@destructive: fault drill refused against a real lab without --allow-destructive"
        if "writes" in tags and not config.getoption("--apply"):
            return "@writes: provisioning refused against a real lab without --apply (verification is read-only)"
        if "probes" in tags and not config.getoption("--allow-probes"):
            return PROBES_REFUSED
    return None


def sim_only_reason(item: pytest.Item) -> str | None:
    """Why a @sim_only scenario cannot run against a real lab, as its feature says in a comment right above its tags:
    `# sim_only: <why>` (tests/unit/test_sim_only_reasons.py requires one on every @sim_only scenario)."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry as registry

    template = registry.get(getattr(item, "obj", None)) if getattr(item, "obj", None) is not None else None
    if template is None:
        return None
    return sim_only_comment(template.feature.filename, template.line_number)


def sim_only_comment(path: str, line: int) -> str | None:
    """The `# sim_only: ...` comment above the tag lines of the scenario at `line` of a feature file."""
    from pathlib import Path

    lines = Path(path).read_text().splitlines()
    n = line - 2
    while n >= 0 and lines[n].strip().startswith("@"):
        n -= 1
    text = lines[n].strip() if n >= 0 else ""
    return text.split(":", 1)[1].strip() if text.startswith("# sim_only:") else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reason = skip_reason(config, {m.name for m in item.iter_markers()})
        if reason and reason.startswith("@sim_only") and (why := sim_only_reason(item)):
            reason = f"@sim_only: {why}"
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def target(request: pytest.FixtureRequest):
    """The lab a scenario runs against: a fresh simulated lab per scenario, or the real one."""
    from labsim.steps.targets import LabTarget, SimTarget

    cfg = request.config
    if cfg.getoption("--target") == "lab":
        t = LabTarget(cfg.getoption("--lab"), apply=cfg.getoption("--apply"),
                      allow_probes=cfg.getoption("--allow-probes"))
    elif cfg.getoption("--target") == "kind":
        from labsim.steps.kind_target import KindTarget

        t = KindTarget(cfg.getoption("--lab"), seed=cfg.getoption("--sim-seed"), kind_dir=cfg.getoption("--kind-dir"))
    else:
        from labsim.steps import checkpoints
        t = checkpoints.restore_for(request, lambda: SimTarget(cfg.getoption("--lab"), seed=cfg.getoption("--sim-seed")),
                                    SimTarget.restored)
    evidence = _evidence(request)
    yield t
    if evidence is not None:   # the lab time this scenario covered, for the sign-off's totals
        evidence.lab_time(t.lab_seconds(), t.lab_clock)
    t.close()


def _evidence(request: pytest.FixtureRequest):
    """The sign-off's `evidence` fixture, or None when the sign-off plugin is not loaded (`-p no:...`)."""
    try:
        return request.getfixturevalue("evidence")
    except pytest.FixtureLookupError:
        return None


@pytest.fixture
def clock(target):
    return target.clock


@pytest.fixture
def wait_for(clock):
    """`wait_for(condition, timeout, interval)` on the target's clock (virtual time in sim)."""
    from labsim.provisioners.vocabulary import wait_for as _wait_for

    def waiter(condition, timeout: float, interval: float = 1.0, what: str = "condition"):
        return _wait_for(condition, timeout, interval, clock, what)
    return waiter
