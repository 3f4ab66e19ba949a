"""The registry of named ways to break a simulated lab (`--sim-break NAME`), and where each strikes.

Breakages exist to prove the features: under each, the Then steps it names must fail with their expected message
(tests/features/test_broken_*.py, test_every_then_step.py). A breakage acts on the lab as an engineer or the physical
world would: a cable, a hand edit through the device's own API (RouterOS, Proxmox, Kubernetes, helm, talosctl, the
Ceph toolbox), a powered-off VM, a disk with data on it, a device that refuses changes, a lab file edited by hand.
It never swaps our provisioner code, the loaded lab model or the simulator's own rules. Its subjects come from the
lab file (the struck step's arguments, or the selectors of labsim/steps/subjects.py), never the example lab's names.

Each entry declares its name, the step it strikes after (or before) and what it does, together:

    @breakage("vm-stopped", after="the VMs are provisioned")
    def vm_stopped(target, at): ...

`after` / `before` are step texts in which `<x>` stands for a subject (`the Talos cluster "<x>" is provisioned`);
a breakage strikes once per scenario, at the first step that matches, and `at.args` holds that step's arguments.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Strike:
    """Where a breakage strikes: the arguments of the step (its subjects) and the scenario's pytest request."""
    args: dict[str, str] = field(default_factory=dict)
    request: Any = None


@dataclass(frozen=True)
class Breakage:
    name: str
    act: Callable[[Any, Strike], None]
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()


BREAKAGES: dict[str, Breakage] = {}


def breakage(name: str, after: str | tuple[str, ...] = (), before: str | tuple[str, ...] = ()):
    def register(act: Callable[[Any, Strike], None]) -> Callable[[Any, Strike], None]:
        if name in BREAKAGES:
            raise ValueError(f"breakage {name!r} registered twice")
        BREAKAGES[name] = Breakage(name, act, (after,) if isinstance(after, str) else tuple(after),
                                   (before,) if isinstance(before, str) else tuple(before))
        return act
    return register


def matches(template: str, text: str) -> bool:
    """Whether a step text matches a template in which `<x>` stands for a subject."""
    parts = re.split(r"<[^<>]+>", template)
    return re.fullmatch("(?:.+?)".join(re.escape(p) for p in parts), text) is not None


def strikes_after(name: str, step: str) -> bool:
    return any(matches(t, step) for t in BREAKAGES[name].after)


def strikes_before(name: str, step: str) -> bool:
    return any(matches(t, step) for t in BREAKAGES[name].before)
