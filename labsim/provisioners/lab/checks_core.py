"""Findings and the check registry shared by the lab file loader and the intent checks."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One named condition that does not hold, with where (lab-file path) and the offending values."""

    check: str
    severity: Severity
    path: str
    message: str
    values: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.severity}  {self.check}  {self.path}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its name, severity, the system it belongs to and what it asks."""

    name: str
    severity: Severity
    system: str
    question: str


@dataclass(frozen=True)
class Hit:
    """What a check producer yields: a finding without its severity (the registry supplies it)."""

    check: str
    path: str
    message: str
    values: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


# name -> spec; producers are functions (context) -> hits, each hit naming a registered check.
REGISTRY: dict[str, CheckSpec] = {}
PRODUCERS: list[Callable[[Any], Iterable[Hit]]] = []


def register(name: str, severity: Severity, system: str, question: str) -> None:
    if name in REGISTRY and REGISTRY[name] != CheckSpec(name, severity, system, question):
        raise ValueError(f"check {name!r} registered twice with different specs")
    REGISTRY[name] = CheckSpec(name, severity, system, question)


def producer(*checks: tuple[str, Severity, str]) -> Callable[[Callable[[Any], Iterable[Hit]]], Callable[[Any], Iterable[Hit]]]:
    """Decorator: registers the checks (name, severity, question) a producer function may yield."""

    def wrap(func: Callable[[Any], Iterable[Hit]]) -> Callable[[Any], Iterable[Hit]]:
        system = func.__module__.rsplit("_", 1)[-1]
        for name, severity, question in checks:
            register(name, severity, system, question)
        func.checks = tuple(c[0] for c in checks)  # type: ignore[attr-defined]
        PRODUCERS.append(func)
        return func

    return wrap


def to_finding(hit: Hit) -> Finding:
    spec = REGISTRY[hit.check]
    return Finding(hit.check, spec.severity, hit.path, hit.message, dict(hit.values))
