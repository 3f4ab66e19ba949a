"""The lab file: typed models (`model`), loading (`load`), secret references (`secrets`), the RouterOS
hardware catalog (`hardware`) and the intent checks (`checks`).

The names below are imported lazily, so importing `labsim.provisioners.lab.model` (as the fabric code does)
does not pull in the checks, which themselves use the fabric code.
"""
from __future__ import annotations

import importlib
from typing import Any

# The lab file's model first, whichever of its modules is imported: model.py builds `Lab` from model_cloud.py's
# types, which are built on model.py's own.
from labsim.provisioners.lab import model as _model  # noqa: F401,E402

_EXPORTS = {
    "CHECKS": "labsim.provisioners.lab.checks", "Finding": "labsim.provisioners.lab.checks_core",
    "run_checks": "labsim.provisioners.lab.checks", "LabFileError": "labsim.provisioners.lab.load",
    "load_lab": "labsim.provisioners.lab.load", "parse_lab": "labsim.provisioners.lab.load", "Lab": "labsim.provisioners.lab.model",
    "lab_json_schema": "labsim.provisioners.lab.model", "SecretError": "labsim.provisioners.lab.secrets",
    "SecretRef": "labsim.provisioners.lab.secrets", "resolve": "labsim.provisioners.lab.secrets",
}
__all__ = ["CHECKS", "Finding", "Lab", "LabFileError", "SecretError", "SecretRef", "lab_json_schema", "load_lab",
           "parse_lab", "resolve", "run_checks"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'labsim.provisioners.lab' has no attribute {name!r}")
