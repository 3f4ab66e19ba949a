"""The lab file JSON Schema is a committed, generated file (labsim/schema/lab.schema.json): the model and the file
must agree, `labsim schema` prints exactly the file, and every lab file we ship validates against it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from labsim.provisioners.lab.model import lab_json_schema
from labsim.resources import LAB_SCHEMA, LAB_SCHEMA_ID

REPO = Path(__file__).resolve().parents[2]
REGENERATE = "python -m labsim.provisioners schema > labsim/schema/lab.schema.json"


def test_committed_schema_is_the_generated_one() -> None:
    committed = LAB_SCHEMA.read_text(encoding="utf-8")
    generated = json.dumps(lab_json_schema(), indent=2) + "\n"
    assert committed == generated, f"labsim/schema/lab.schema.json is out of date with the lab file model: {REGENERATE}"


def test_schema_names_itself() -> None:
    schema = json.loads(LAB_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == LAB_SCHEMA_ID and schema["$schema"].endswith("/2020-12/schema")
    assert list(schema)[:2] == ["$schema", "$id"]   # where a reader looks first


def test_labsim_schema_prints_exactly_the_file() -> None:
    proc = subprocess.run([sys.executable, "-c", "import sys; from labsim.cli import main; sys.exit(main(['schema']))"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == LAB_SCHEMA.read_text(encoding="utf-8")


def _shell_env() -> dict[str, str]:
    """The environment of a person's shell: not that of the `make test` this may run under (a make inside make
    announces its directory on stdout, which a person's `make schema > x.json` never sees)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}


def test_make_schema_writes_valid_json(tmp_path: Path) -> None:
    """`make schema > x.json` is the schema alone: make must not echo its command into it. (`-o` keeps make from
    reinstalling .venv in the middle of a test run when pyproject.toml is newer than its stamp.)"""
    out = tmp_path / "x.json"
    with out.open("w") as f:
        proc = subprocess.run(["make", "-o", ".venv/.installed-stamp", "schema"], cwd=REPO, stdout=f,
                              stderr=subprocess.PIPE, text=True, timeout=600, check=False, env=_shell_env())
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == LAB_SCHEMA.read_text(encoding="utf-8")


@pytest.mark.parametrize("lab", sorted((REPO / "labs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_labs_validate_against_the_schema(lab: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(LAB_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(yaml.safe_load(lab.read_text())), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
