"""A run is about one lab file: loaded once, refused once when it is wrong, and every scenario bound to it.

- The lab file (`--lab`) is loaded and checked once per run (`lab_of`). An unreadable, unparsable or invalid lab
  file (schema errors, or intent checks that report errors), and a `--sim-break` name that does not exist, stop the
  run right after collection with one message and exit status 2, before any scenario (`refuse_run`); the
  sign-off records that reason, so its verdict is REJECTED.
- Each feature file's scenarios are bound to the lab when the feature is collected (`bind`): Examples that name lab
  subjects in words become the lab's own names (labsim/steps/subjects.py), and a scenario whose subject this lab
  does not have is skipped with "not in this lab: <what the lab file lacks>", tagged `@not_in_lab`, which the
  sign-off counts as a declared deviation.
"""
from __future__ import annotations

import itertools
import types
from dataclasses import dataclass
from typing import Any, NoReturn

import pytest

from labsim.steps.subjects import SELECTORS, TAG_NEEDS

TAG = "not_in_lab"
DEVIATION = "the lab file has no such part (each skipped scenario says which: \"not in this lab: ...\")"
_LAB = pytest.StashKey[tuple[Any, str | None]]()
_MISSING = pytest.StashKey[dict[str, int]]()


# --- the lab file, once per run --------------------------------------------------------------------------------------
def lab_of(config: pytest.Config):
    """The run's lab file as a `Lab`, or None when it is refused (`refusal(config)` says why)."""
    if _LAB not in config.stash:
        config.stash[_LAB] = _load(str(config.getoption("--lab")))
    return config.stash[_LAB][0]


def refusal(config: pytest.Config) -> str | None:
    """Why this run cannot go ahead: the lab file is wrong, or `--sim-break` names no breakage; else None."""
    lab_of(config)
    reason = config.stash[_LAB][1]
    if reason is not None:
        return reason
    name = config.getoption("--sim-break")
    if name:
        from labsim.messages import usage_error
        from labsim.steps.breakages import BREAKAGES
        if name not in BREAKAGES:
            return usage_error("--sim-break", name, "no such breakage", choices=BREAKAGES,
                               hint="the breakages are " + ", ".join(sorted(BREAKAGES)))
    return None


def _load(path: str) -> tuple[Any, str | None]:
    """The lab file, or why it is refused: a file that cannot be read or parsed, or whose intent checks report an
    error (worded as labsim words every problem: labsim/messages.py)."""
    from labsim.messages import lab_file_error
    from labsim.provisioners.lab import LabFileError, load_lab, run_checks

    try:
        lab = load_lab(path)
    except LabFileError as exc:
        return None, lab_file_error(exc, path=path)
    errors = [f for f in run_checks(lab) if f.severity == "error"]
    if errors:
        return None, lab_file_error(LabFileError(path, errors), path=path)
    return lab, None


def refuse_run(session: pytest.Session, reason: str, message: str | None = None) -> NoReturn:
    """Stop the run before any scenario, with one message (`message`, else `reason`) and exit status 2; the
    sign-off records `reason` as why the run stopped, so the bundle's verdict is REJECTED with it."""
    session.shouldstop = reason
    pytest.exit(message or reason, returncode=pytest.ExitCode.INTERRUPTED)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = refusal(config)
    if reason is not None:
        items.clear()
        refuse_run(session, reason)


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """xdist's controller collects nothing, its workers do: it refuses the run itself, at the point a single process
    would, before any worker stops (xdist restarts a worker that stops, again and again)."""
    config = session.config
    if config.pluginmanager.has_plugin("dsession") and not hasattr(config, "workerinput"):
        reason = refusal(config)
        if reason is not None:
            refuse_run(session, reason)


@pytest.hookimpl(optionalhook=True)
def pytest_signoff_deviations(config: pytest.Config) -> dict[str, str]:
    missing = config.stash.get(_MISSING, {})
    if not missing:
        return {}
    return {TAG: f"{DEVIATION}; this lab lacks: " + "; ".join(sorted(missing))}


# --- binding a feature's scenarios to the lab ----------------------------------------------------------------------------
@dataclass
class Row:
    context: dict[str, str]
    missing: str | None = None      # what the lab file lacks for this row (it is then skipped)


def expand(context: dict[str, str], params: list[str], lab) -> list[Row]:
    """One Examples row, its lab-subject cells resolved: one Row per combination of `each` subjects, or a single
    Row marked missing. Literal cells may use the subjects' placeholders (`<pair.b> has the Cilium id 1`)."""
    from pytest_bdd.parser import render_string

    chosen: dict[str, list] = {}
    for col in params:
        sel = SELECTORS.get(context[col])
        if sel is None:
            continue
        found = sel.resolve(lab)
        if not found:
            return [Row(dict(context), sel.needs)]
        chosen[col] = found
    rows = []
    for combo in itertools.product(*chosen.values()):
        ctx: dict[str, str] = {}
        for col, subject in zip(chosen, combo):
            ctx[col] = subject.name
            ctx.update({f"{col}.{k}": v for k, v in subject.attrs.items()})
        for col in params:
            if col not in chosen:
                ctx[col] = render_string(context[col], ctx)
        rows.append(Row(ctx))
    return rows


def _skip_marks(missing: str) -> list[pytest.MarkDecorator]:
    return [getattr(pytest.mark, TAG), pytest.mark.skip(reason=f"not in this lab: {missing}")]


def bind(module: types.ModuleType, config: pytest.Config) -> None:
    """Bind every scenario function pytest-bdd's `scenarios()` put into `module` to the run's lab."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry as registry

    lab = lab_of(config)
    if lab is None:
        return      # refused: the run stops after collection (pytest_collection_modifyitems above)
    missing = config.stash.setdefault(_MISSING, {})
    for name, fn in list(vars(module).items()):
        template = registry.get(fn) if callable(fn) else None
        if template is None:
            continue
        tags = set(template.tags) | set(template.feature.tags)
        lacking = next((need for tag, (need, has) in TAG_NEEDS.items() if tag in tags and not has(lab)), None)
        marks = list(getattr(fn, "pytestmark", []))
        param = next((m for m in marks if m.name == "parametrize" and m.args[0] == "_pytest_bdd_example"), None)
        if param is None:
            _check_placeholders(template, {}, name)
            if lacking:
                for mark in _skip_marks(lacking):
                    fn = mark(fn)
                missing[lacking] = missing.get(lacking, 0) + 1
                setattr(module, name, fn)
            continue
        params = _example_params(template)
        values = []
        for ps in param.args[1]:
            for row in expand(dict(ps.values[0]), params, lab):
                why = lacking or row.missing
                if why is None:
                    _check_placeholders(template, row.context, name)
                else:
                    missing[why] = missing.get(why, 0) + 1
                values.append(pytest.param(row.context, id="-".join(str(row.context[c]) for c in params),
                                           marks=[*ps.marks, *(_skip_marks(why) if why else [])]))
        fn.pytestmark = [m for m in marks if m is not param] + [
            pytest.mark.parametrize("_pytest_bdd_example", values).mark]


def _example_params(template) -> list[str]:
    params: list[str] = []
    for ex in template.examples:
        params += [p for p in ex.example_params if p not in params]
    return params


def _check_placeholders(template, context: dict[str, str], name: str) -> None:
    """A `<placeholder>` left in a step after binding is a lab subject nobody provides (a typo in a feature)."""
    from pytest_bdd.parser import PARAM_RE

    scenario = template.render(context)
    for step in scenario.steps:
        texts = [step.name] + ([c.value for r in step.datatable.rows for c in r.cells] if step.datatable else [])
        for text in texts:
            left = [m for m in PARAM_RE.findall(text) if not m.strip().startswith("=") and m == m.strip()]
            if left:
                raise pytest.UsageError(
                    f"{template.feature.filename}: scenario {template.name!r} ({name}), step {step.name!r}: "
                    f"<{left[0]}> is not a column of its Examples nor an attribute of a lab subject "
                    f"(labsim/steps/subjects.py)")
