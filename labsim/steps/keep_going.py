"""`--sim-then-log FILE`: in a run that proves the features (`--sim-break`), a failing Then step does not end its
scenario. Its failure is written to FILE (one JSON object per line: feature file, line, scenario, step, message) and the scenario goes
on to its next step, so one broken lab shows *every* Then step it makes fail, not only the first
(tests/features/test_every_then_step.py). The scenario still fails at its end, naming every Then step that failed.

pytest-bdd runs a scenario's steps one after another and stops at the first exception; this wraps its step runner
for the run (only with the option: a sign-off run never keeps going).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

_FAILED = pytest.StashKey[list]()


def install(config: pytest.Config, log: str) -> None:
    import importlib

    S = importlib.import_module("pytest_bdd.scenario")   # the module (the package exports a function of that name)

    run_step, run_scenario = S._execute_step_function, S._execute_scenario
    path = Path(log)

    def execute_step(request, scenario, step, context):
        try:
            return run_step(request, scenario, step, context)
        except Exception as exc:  # an assertion or any error of a check: recorded, and the scenario goes on
            if step.type != "then":
                raise
            message = str(exc)
            with path.open("a") as f:
                f.write(json.dumps({"feature": Path(scenario.feature.filename).name, "line": step.line_number,
                                    "scenario": scenario.name, "step": step.name, "message": message}) + "\n")
            request.node.stash.setdefault(_FAILED, []).append(f"{step.keyword} {step.name}: {message}")
            return None

    def execute_scenario(feature, scenario, request):
        run_scenario(feature, scenario, request)
        failed = request.node.stash.get(_FAILED, [])
        if failed:
            raise AssertionError(f"{len(failed)} Then step(s) failed:\n" + "\n".join(failed))

    S._execute_step_function, S._execute_scenario = execute_step, execute_scenario

    def restore() -> None:
        S._execute_step_function, S._execute_scenario = run_step, run_scenario
    config.add_cleanup(restore)
