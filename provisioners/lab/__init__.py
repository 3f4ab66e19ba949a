"""The lab file: typed models (`model`), loading (`load`), secret references (`secrets`), the RouterOS
hardware catalog (`hardware`) and the intent checks (`checks`).

The names below are imported lazily, so importing `provisioners.lab.model` (as the fabric code does)
does not pull in the checks, which themselves use the fabric code.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CHECKS": "provisioners.lab.checks", "Finding": "provisioners.lab.checks_core",
    "run_checks": "provisioners.lab.checks", "LabFileError": "provisioners.lab.load",
    "load_lab": "provisioners.lab.load", "parse_lab": "provisioners.lab.load", "Lab": "provisioners.lab.model",
    "lab_json_schema": "provisioners.lab.model", "SecretError": "provisioners.lab.secrets",
    "SecretRef": "provisioners.lab.secrets", "resolve": "provisioners.lab.secrets",
}
__all__ = ["CHECKS", "Finding", "Lab", "LabFileError", "SecretError", "SecretRef", "lab_json_schema", "load_lab",
           "parse_lab", "resolve", "run_checks"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'provisioners.lab' has no attribute {name!r}")
