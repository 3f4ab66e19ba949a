"""Intent checks: questions about a lab file, asked before anything touches a device.

Each check is registered by name with its severity and the question it asks (`REGISTRY`); the
producers live in `checks_<system>.py`. `run_checks(lab)` runs them all and returns `Finding`s that name
the field path in lab-file terms and the offending values. Errors block provisioning; warnings do not.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from labsim.provisioners.lab import checks_clusters, checks_fabric, checks_network, checks_proxmox, checks_secrets  # noqa: F401  (registration)
from labsim.provisioners.lab import checks_cloud, checks_tools  # noqa: F401  (registration)
from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import PRODUCERS, REGISTRY, CheckSpec, Finding, to_finding
from labsim.provisioners.lab.hardware import RouterOSModel, load_models
from labsim.provisioners.lab.load import LabFileError, load_lab
from labsim.provisioners.lab.model import Lab

__all__ = ["CHECKS", "CheckSpec", "Finding", "check_command", "errors", "run_checks"]

CHECKS: dict[str, CheckSpec] = REGISTRY


def run_checks(lab: Lab, models: dict[str, RouterOSModel] | None = None) -> list[Finding]:
    """Every finding of every registered check, errors first, in a stable order. When the lab was loaded from
    a file, each finding's values carry the `line` its path is written on."""
    ctx = Context(lab, models if models is not None else load_models())
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for produce in PRODUCERS:
        for hit in produce(ctx):
            key = (hit.check, hit.path, hit.message)
            if key not in seen:
                seen.add(key)
                finding = to_finding(hit)
                line = lab.line_of(hit.path)
                if line is not None and "line" not in finding.values:
                    finding.values["line"] = line  # where to look in the lab file (JSON output, editors)
                findings.append(finding)
    order = {"error": 0, "warning": 1}
    return sorted(findings, key=lambda f: order[f.severity])


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_command(path: str | Path, out: TextIO | None = None, fmt: str = "text") -> int:
    """`python -m labsim.provisioners check LABFILE`: 0 clean (warnings allowed), 1 errors, 2 unreadable/invalid file."""
    out = out or sys.stdout
    try:
        lab = load_lab(path)
    except LabFileError as exc:
        if fmt == "json":
            json.dump({"lab": str(path), "loaded": False, "findings": [f.as_dict() for f in exc.findings]}, out, indent=2)
            out.write("\n")
        else:
            for f in exc.findings:
                out.write(f"{f}\n")
            out.write(f"{path}: cannot be loaded: {_count(len(exc.findings), 'error')}\n")
        return 2
    findings = run_checks(lab)
    errs = [f for f in findings if f.severity == "error"]
    warns = [f for f in findings if f.severity == "warning"]
    if fmt == "json":
        json.dump({"lab": str(path), "loaded": True, "findings": [_jsonable(f.as_dict()) for f in findings]}, out, indent=2)
        out.write("\n")
    else:
        for f in errs + warns:
            out.write(f"{f}\n")
        out.write(f"{path}: {_count(len(errs), 'error')}, {_count(len(warns), 'warning')} "
                  f"({len(CHECKS)} checks)\n")
    return 1 if errs else 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
