"""Lab checkpoints in the features: a Given that builds part of the simulated lab (`@builds`: the fabric, the VMs, a
Talos cluster, the mesh's clusters, the mesh, Rook-Ceph) leaves a checkpoint of the lab as it stands after it, and a
later scenario that begins with the same steps (same lab file, seed and step texts) starts from a restore of that
checkpoint instead of building the same lab again (labsim/fakes/checkpoint.py copies the lab).

A restored scenario is the scenario a fresh lab would give: the steps the checkpoint covers still run through
pytest-bdd (hooks, breakages that strike after them), but give back what they gave when the checkpoint was taken:
the scenario's run records (fabric, vms, talos, mesh, ceph fixtures), the evidence they attached, the lab's clock
and the API transcript so far. Each restore is a copy of its own: a scenario that breaks its lab never reaches the
next one. Only the simulator takes checkpoints (`--sim-checkpoints`, on by default; `--no-sim-checkpoints` builds
every scenario's lab from nothing); never once a breakage has struck, never for a lab file that is a scenario's own
edited copy, never past a step a breakage strikes before.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import inspect
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from labsim.fakes.checkpoint import HOLDS, Checkpoint, Unrestorable

LOG = logging.getLogger("labsim.checkpoints")

# Steps that only read the lab file: they run again after a restore (cheap), and do not end a prefix.
NEUTRAL = frozenset({"the lab file passes its intent checks"})
KEEP = 12          # checkpoints kept per process (the least recently used goes first)
SKIP_ARGS = frozenset({"target", "evidence", "request", "clock", "wait_for"})

STORE: OrderedDict[tuple, Saved] = OrderedDict()
STATS = {"taken": 0, "restored": 0, "unrestorable": 0}

_INDEX = pytest.StashKey[int]()          # the step now running, counted from the scenario's first
_PLAN = pytest.StashKey["Plan"]()
_BUILDERS: set[Callable] = set()         # the @builds step functions (wrapped)


@dataclass
class Saved:
    """A checkpoint and what the steps it covers gave: evidence calls per step, the transcript lines."""

    checkpoint: Checkpoint
    steps: int                                       # how many of the scenario's first steps it covers
    evidence: dict[int, list[tuple[str, tuple, dict]]] = field(default_factory=dict)
    transcript: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """One scenario's use of checkpoints: its steps' keys, the restore it started from, what it recorded."""

    keys: list[tuple]                                # key after each step (None: no checkpoint can cover it)
    targets: list[str | None]                        # the fixture each step's return value becomes
    limit: int                                       # steps a checkpoint may cover (a breakage strikes before)
    restored: Saved | None = None
    fixtures: dict[str, Any] = field(default_factory=dict)   # restored run records, by fixture name
    records: dict[str, Any] = field(default_factory=dict)    # the run records the builders so far used or gave
    evidence: dict[int, list[tuple[str, tuple, dict]]] = field(default_factory=dict)
    enabled: bool = True


def enabled(config: pytest.Config) -> bool:
    return config.getoption("--target") == "sim" and config.getoption("sim_checkpoints")


def _lab_digest(labfile: str | Path) -> str:
    path = Path(labfile).resolve()
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    return hashlib.sha256(str(path).encode() + b"\0" + data).hexdigest()


def plan(request: pytest.FixtureRequest, scenario, strikes_before: Callable[[str], bool],
         strikes_after: Callable[[str], bool]) -> Plan:
    """Keys for the scenario's steps: the lab file, the seed and every step so far. A key exists only while every
    step so far is a builder or neutral; `limit`: a restore covers no step a breakage strikes before, nor any step
    after the one it strikes after (the steps after a strike build on the broken lab)."""
    cfg = request.config
    base = (_lab_digest(cfg.getoption("--lab")), cfg.getoption("--sim-seed"))
    keys: list[tuple] = []
    targets: list[str | None] = []
    prefix: list[tuple] = []
    eligible = True
    limit = len(scenario.steps)
    for i, step in enumerate(scenario.steps):
        if limit == len(scenario.steps):
            if strikes_before(step.name):
                limit = i
            elif strikes_after(step.name):
                limit = i + 1
        prefix.append((step.type, step.name, step.docstring or ""))
        keys.append((*base, tuple(prefix)) if eligible else None)
        ctx = _step_context(request, step)
        targets.append(ctx.target_fixture if ctx is not None else None)
        eligible = eligible and ctx is not None and (ctx.step_func in _BUILDERS or step.name in NEUTRAL)
        if not eligible:
            keys[-1] = None
    return Plan(keys=keys, targets=targets, limit=limit)


def _step_context(request, step):
    from pytest_bdd.scenario import get_step_function
    try:
        return get_step_function(request, step)
    except Exception:  # noqa: BLE001 - an undefined step: pytest-bdd reports it when it gets there
        return None


def best_restore(p: Plan) -> Saved | None:
    """The checkpoint that covers the most of the scenario's first steps (at most `limit`)."""
    for n in range(min(p.limit, len(p.keys)), 0, -1):
        key = p.keys[n - 1]
        if key is not None and key in STORE:
            STORE.move_to_end(key)
            return STORE[key]
    return None


# --- the step decorator -------------------------------------------------------------------------------------------
def builds(fn: Callable) -> Callable:
    """Mark a Given that builds part of the lab: after it, a checkpoint; in a restored scenario, its replay."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    wants_request = "request" in sig.parameters
    if not wants_request:
        params.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD))

    @functools.wraps(fn)
    def step(*args: Any, **kwargs: Any) -> Any:
        if "request" not in kwargs:      # called by another step, not by pytest-bdd
            return fn(*args, **kwargs)
        request = kwargs["request"] if wants_request else kwargs.pop("request")
        p: Plan | None = request.node.stash.get(_PLAN, None)
        index = request.node.stash.get(_INDEX, 0)
        if p is not None and p.restored is not None and index < p.restored.steps:
            return _replay(p, index, kwargs)
        evidence = kwargs.get("evidence")
        calls: list[tuple[str, tuple, dict]] = []
        if evidence is not None and p is not None:
            kwargs["evidence"] = _Recording(evidence, calls)
        value = fn(*args, **kwargs)
        if p is not None:
            p.evidence[index] = calls
            _note(p, index, kwargs, value)
            _offer(request, p, index, kwargs)
        return value

    step.__signature__ = sig.replace(parameters=params)   # type: ignore[attr-defined]
    _BUILDERS.add(step)
    return step


class _Recording:
    """The evidence API, each call also noted (to give the same evidence again after a restore)."""

    def __init__(self, evidence: Any, calls: list) -> None:
        self._evidence, self._calls = evidence, calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._evidence, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kw: Any) -> Any:
            self._calls.append((name, copy.deepcopy(args), copy.deepcopy(kw)))
            return attr(*args, **kw)
        return call


def _run_records(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in SKIP_ARGS and dataclasses.is_dataclass(v)
            and not isinstance(v, type)}


def _note(p: Plan, index: int, kwargs: dict[str, Any], value: Any) -> None:
    """The run records a builder used and gave: a later checkpoint keeps all of them (a scenario restored past
    several builders gets each one's)."""
    p.records.update(_run_records(kwargs))
    name = p.targets[index] if index < len(p.targets) else None
    if name:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            p.records[name] = value
        else:
            p.enabled = False      # a return value a restore could not give back the same


def _offer(request, p: Plan, index: int, kwargs: dict[str, Any]) -> None:
    """After a builder ran for real: keep a checkpoint of the lab as it stands, unless one exists or must not."""
    from labsim.steps import harness
    key = p.keys[index] if index < len(p.keys) else None
    if key is None or key in STORE or index >= p.limit or not p.enabled or harness.struck(request):
        return
    target = kwargs.get("target") or request.getfixturevalue("target")
    if not hasattr(target, "checkpoint"):
        return
    transcript = harness.transcript_lines(request)
    try:
        cp = target.checkpoint(dict(p.records))
    except Exception as exc:  # noqa: BLE001 - a lab that cannot be copied is built afresh each time
        LOG.warning("no lab checkpoint after %r: %s", key[-1][-1][1], exc)
        p.enabled = False
        return
    if cp is None:
        p.enabled = False
        return
    earlier = p.restored.evidence if p.restored is not None else {}
    STORE[key] = Saved(cp, index + 1, {**earlier, **p.evidence}, transcript)
    HOLDS.keep(cp)
    STATS["taken"] += 1
    while len(STORE) > KEEP:
        HOLDS.drop(STORE.popitem(last=False)[1].checkpoint)


def _replay(p: Plan, index: int, kwargs: dict[str, Any]) -> Any:
    """A builder the restored checkpoint covers: the evidence it attached, the run records it left."""
    saved = p.restored
    assert saved is not None
    evidence = kwargs.get("evidence")
    if evidence is not None:
        for name, args, kw in saved.evidence.get(index, []):
            getattr(evidence, name)(*copy.deepcopy(args), **copy.deepcopy(kw))
    result = None
    for name, value in kwargs.items():
        if name in p.fixtures and dataclasses.is_dataclass(value):
            value.__dict__.update(p.fixtures[name].__dict__)   # the fixture object stays the one pytest holds
    name = p.targets[index]
    if name in p.fixtures:
        result = kwargs.get(name) if name in kwargs else p.fixtures[name]
    _note(p, index, kwargs, result)
    return result


def restore_for(request: pytest.FixtureRequest, make_fresh: Callable[[], Any], restore: Callable[[Checkpoint], Any]):
    """The target for a scenario: restored from the checkpoint that covers most of its first steps, else fresh."""
    p: Plan | None = request.node.stash.get(_PLAN, None)
    saved = best_restore(p) if p is not None and p.enabled else None
    if saved is None:
        return make_fresh()
    try:
        target, records = restore(saved.checkpoint)
    except Unrestorable as exc:
        STATS["unrestorable"] += 1
        LOG.warning("lab checkpoint not restored, building afresh: %s", exc)
        return make_fresh()
    STATS["restored"] += 1
    p.restored, p.fixtures = saved, records
    from labsim.steps import harness
    harness.transcript_prepend(request, saved.transcript)
    return target
