"""The fabric from end to end: check the lab file, plan from the devices, apply, verify.

    plan(lab, connect) -> Plan       apply(plan, connect) -> ApplyReport       verify(lab, connect) -> [Result]

`connect(identity)` is the only way in: the lab file is loaded and checked before it is called, so an
invalid lab file never reaches a device.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from labsim.provisioners.fabric import verify as fv
from labsim.provisioners.fabric.apply import ApplyReport
from labsim.provisioners.fabric.apply import apply as apply_changes
from labsim.provisioners.fabric.plan import Plan
from labsim.provisioners.fabric.plan import plan as plan_changes
from labsim.provisioners.lab import load_lab
from labsim.provisioners.lab.checks import run_checks
from labsim.provisioners.vocabulary import Result


class LabRefused(RuntimeError):
    def __init__(self, labfile: str, findings: list):
        self.findings = findings
        lines = "\n".join(f"  {f.check}  {f.path}: {f.message}" for f in findings)
        super().__init__(f"{labfile}: refused before contacting any device ({len(findings)} error(s)):\n{lines}")


def checked_lab(labfile: str | Path):
    """Load and check a lab file; refuse it (LabRefused) when any check reports an error."""
    from labsim.provisioners.lab.load import LabFileError

    try:
        lab = load_lab(labfile)
    except LabFileError as exc:
        raise LabRefused(str(labfile), list(exc.findings)) from exc
    errors = [f for f in run_checks(lab) if f.severity == "error"]
    if errors:
        raise LabRefused(str(labfile), errors)
    return lab


@dataclass
class Provisioned:
    plan: Plan
    report: ApplyReport


def _connections(lab, connect: Callable[[str], Any]) -> dict[str, Any]:
    return {d.identity: connect(d.identity) for d in lab.routeros.devices}


def plan(lab, connect: Callable[[str], Any]) -> Plan:
    return plan_changes(lab, _connections(lab, connect))


def apply(p: Plan, connect: Callable[[str], Any]) -> ApplyReport:
    return apply_changes(p, {dp.device: connect(dp.device) for dp in p.devices})


def verify(lab, connect: Callable[[str], Any]) -> list[Result]:
    return fv.verify(lab, _connections(lab, connect))


def provision(lab, connect: Callable[[str], Any]) -> Provisioned:
    connections = _connections(lab, connect)
    p = plan_changes(lab, connections)
    return Provisioned(p, apply_changes(p, connections))


def provision_file(labfile: str | Path, connect: Callable[[str], Any]) -> Provisioned:
    return provision(checked_lab(labfile), connect)


def refusal_results(refused: LabRefused | None, contacted: list[str], check: str, path: str) -> list[Result]:
    """An invalid lab file was refused before any device was contacted, naming `check` at `path`."""
    if refused is None:
        return [Result("lab-refused", path, False, "the invalid lab file was accepted")]
    found = [(f.check, f.path) for f in refused.findings]
    return [Result("lab-refused", path, True, str(refused).splitlines()[0]),
            Result("no-device-contacted", path, not contacted,
                   "no device was contacted" if not contacted else f"devices were contacted: {contacted}"),
            Result("refusal-names", path, (check, path) in found,
                   f"the refusal names {check} at {path}" if (check, path) in found
                   else f"expected {check} at {path}; the refusal lists {found}")]
