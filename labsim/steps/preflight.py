"""pytest plugin for runs against a real lab (`--target lab`, and `--target kind`'s clusters): the preflight, the destructive-drill
confirmation, declared deviations for what a read-only run skips, and `--loopback-only`.

- Preflight (after collection, before the first scenario): the endpoints, secrets and tools the selected
  scenarios need (labsim/provisioners/preflight.py). Anything missing is printed as one grouped list and the run
  stops with exit status 2 before any scenario; with `--signoff` the bundle is still written, REJECTED,
  its reason the preflight's list, so a failed attempt on the lab leaves a record.
- `@destructive` drills run only with `--allow-destructive` AND `--confirm-lab NAME` equal to the lab
  file's `lab.name` (CI has no stdin, so there is no prompt): a drill aimed at the wrong lab stops here.
- Read-only runs skip `@writes` (and unconfirmed `@destructive`) scenarios: declared deviations, so a
  clean read-only lab-verify can be ACCEPTED.
- `--loopback-only`: the network guard stays on even with `--target lab` (CI's served-lab run: a lab
  file whose every endpoint is on 127.0.0.1 must never reach anything else).
"""
from __future__ import annotations

import pytest

from labsim.steps import guard


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("lab")
    g.addoption("--confirm-lab", default=None, metavar="NAME",
                help="against a real lab: with --allow-destructive, the lab file's lab.name, confirming the "
                     "fault drills are aimed at this lab")
    g.addoption("--preflight-timeout", type=float, default=3.0, metavar="SECONDS",
                help="against a real lab: how long each endpoint may take to answer the preflight (default 3)")
    g.addoption("--no-preflight", action="store_true", default=False,
                help="against a real lab: skip the preflight (not recommended)")
    g.addoption("--loopback-only", action="store_true", default=False,
                help="keep the network guard on with --target lab: nothing outside 127.0.0.0/8 may be contacted")


def _lab(config: pytest.Config):
    """The run's lab file, loaded once (None when it is refused: labsim/steps/lab_run.py stops the run then)."""
    from labsim.steps.lab_run import lab_of

    return lab_of(config)


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--target") == "lab" and config.getoption("--loopback-only") and not guard.installed():
        guard.install("--loopback-only is set;")
        config.add_cleanup(guard.uninstall)


def _confirm_reason(config: pytest.Config, lab_name: str) -> str | None:
    if not config.getoption("--allow-destructive"):
        return None   # the harness already refuses these
    given = config.getoption("--confirm-lab")
    if given == lab_name:
        return None
    got = f" (got --confirm-lab {given!r})" if given else ""
    return (f"@destructive: fault drills against lab {lab_name!r} need --allow-destructive and "
            f"--confirm-lab {lab_name}{got}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--target") != "lab" or _lab(config) is None:
        return
    reason = _confirm_reason(config, _lab(config).lab.name)
    if reason:
        for item in items:
            if item.get_closest_marker("destructive"):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(optionalhook=True)
def pytest_signoff_deviations(config: pytest.Config) -> dict[str, str]:
    if config.getoption("--target") != "lab" or _lab(config) is None:
        return {}
    out = {}
    if not config.getoption("--apply"):
        out["writes"] = "read-only run against the real lab: provisioning needs --apply (make lab-apply)"
    name = _lab(config).lab.name
    if not config.getoption("--allow-destructive") or _confirm_reason(config, name):
        out["destructive"] = f"fault drills need --allow-destructive --confirm-lab {name}"
    if not config.getoption("--allow-probes"):
        out["probes"] = "traffic checks run probe pods in the lab's clusters: they need --allow-probes"
    return out


def _probes_line(config: pytest.Config, items: list[pytest.Item]) -> str | None:
    """What the run does about @probes scenarios, for the preflight's report: how many run (their probe Jobs, and
    the probe namespace each creates, removed when it ends), or are skipped for want of --allow-probes."""
    probing = [i for i in items if i.get_closest_marker("probes")]
    if not probing:
        return None
    running = [i for i in probing if _will_run(i)]
    if not config.getoption("--allow-probes"):
        return (f"probes: {len(probing)} traffic scenario(s) need --allow-probes; skipped as declared deviations "
                "(no probe pod is started in the lab)")
    return (f"probes: allowed (--allow-probes) for {len(running)} scenario(s); each removes its probe Jobs and the "
            "probe namespace it created when it ends, passed or failed")


def _will_run(item: pytest.Item) -> bool:
    return item.get_closest_marker("skip") is None


def _built_here(config: pytest.Config, lab, tag_sets: list[set[str]]) -> set[str]:
    """The Talos clusters this run provisions: with --apply, when a selected @writes scenario builds clusters
    (the Talos, mesh, Ceph and cloud features all start from provisioned Talos clusters)."""
    from labsim.provisioners.lab.model import TalosCluster

    builders = {"talos", "mesh", "ceph", "cloud", "failover", "backup"}
    if not config.getoption("--apply") or not any("writes" in t and t & builders for t in tag_sets):
        return set()
    return {c.name for c in lab.clusters if isinstance(c, TalosCluster)}


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.getoption("--target") == "kind" and not config.option.collectonly:
        _kind_preflight(session)
        return
    if config.getoption("--target") != "lab" or config.getoption("--no-preflight") or config.option.collectonly:
        return
    from labsim.provisioners.preflight import run_preflight, systems_for
    from labsim.provisioners.tools import subprocess_runner

    lab = _lab(config)
    if lab is None:
        return
    running = [item for item in session.items if _will_run(item)]
    tag_sets = [{m.name for m in item.iter_markers()} for item in running]
    systems = systems_for(tag_sets)
    report = run_preflight(lab, systems, run_tool=subprocess_runner(),
                           timeout=config.getoption("--preflight-timeout"), building=_built_here(config, lab, tag_sets))
    tr = config.pluginmanager.get_plugin("terminalreporter")
    write = (lambda text, **kw: tr.write_line(text, **kw)) if tr is not None else (lambda text, **kw: print(text))
    if report.ok:
        write(report.summary(), green=True)
        if line := _probes_line(config, session.items):
            write(line)
        return
    for line in report.render().splitlines():
        write(line, red=True, bold=line.startswith("preflight"))
    from labsim.steps.lab_run import refuse_run

    refuse_run(session, report.reasons(),   # the sign-off records it as the reason the run was stopped
               f"preflight failed: {report.problems()} problem(s), listed above; no scenario was run")


def _kind_preflight(session: pytest.Session) -> None:
    """`--target kind`: every mesh member's kind cluster must be there (its kubeconfig in --kind-dir, its API
    answering) before a mesh or Ceph scenario runs; else the run stops here (exit 2, the sign-off REJECTED)."""
    config = session.config
    lab = _lab(config)
    if lab is None:
        return
    running = [item for item in session.items if _will_run(item)]
    if not any({m.name for m in item.iter_markers()} & {"mesh", "ceph", "talos"} for item in running):
        return
    from labsim.steps.kind_target import preflight_problems

    problems = preflight_problems(lab, config.getoption("--kind-dir"), config.getoption("--preflight-timeout"))
    tr = config.pluginmanager.get_plugin("terminalreporter")
    write = (lambda text, **kw: tr.write_line(text, **kw)) if tr is not None else (lambda text, **kw: print(text))
    if not problems:
        write(f"preflight of the kind clusters of lab {lab.lab.name!r}: every mesh member answers", green=True)
        return
    write(f"preflight of the kind clusters of lab {lab.lab.name!r}: {len(problems)} problem(s)", red=True, bold=True)
    for p in problems:
        write(f"  - {p}", red=True)
    from labsim.steps.lab_run import refuse_run

    refuse_run(session, "; ".join(problems), f"preflight failed: {len(problems)} kind cluster problem(s), listed above; "
                                  "no scenario was run")
