"""`python -m labsim.provisioners check|schema`: every invalid lab file in tests/labs/invalid is refused with
exactly the check and message its first line announces; every valid one passes (with the warnings its
header announces)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from labsim.provisioners.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
INVALID = sorted((ROOT / "tests" / "labs" / "invalid").glob("*.yaml"))
VALID = sorted((ROOT / "tests" / "labs" / "valid").glob("*.yaml"))
LOAD_CHECKS = {"yaml-syntax", "yaml-limit", "yaml-duplicate-key", "unknown-key", "missing-key", "wrong-type", "invalid-value",
               "file-unreadable", "not-a-lab-file"}


def _header(path: Path) -> tuple[list[tuple[str, str]], set[str]]:
    """(`# expect: check: text` pairs, `# also: check ...` names) from the leading comment block."""
    expects, also = [], set()
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect: "):
            check, _, text = line[len("# expect: "):].partition(": ")
            expects.append((check, text))
        elif line.startswith("# also: "):
            also |= set(line[len("# also: "):].split())
    return expects, also


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out + err


def test_there_are_enough_invalid_files() -> None:
    intent = [p for p in INVALID if _header(p)[0][0][0] not in LOAD_CHECKS]
    schema = [p for p in INVALID if _header(p)[0][0][0] in LOAD_CHECKS]
    assert len(intent) >= 25 and len(schema) >= 5
    assert {_header(p)[0][0][0] for p in schema} >= {"unknown-key", "wrong-type", "yaml-syntax", "missing-key"}


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_lab_is_refused_with_the_expected_finding(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (expects, also) = _header(path)
    assert len(expects) == 1, f"{path.name}: the first line must be '# expect: <check>: <message>'"
    check, text = expects[0]
    code, out = _run(["check", str(path)], capsys)
    assert "Traceback" not in out
    assert code == (2 if check in LOAD_CHECKS else 1), out
    lines = [ln for ln in out.splitlines() if ln.startswith(f"error  {check}  ")]
    assert any(text in ln for ln in lines), f"no 'error  {check}' line containing {text!r} in:\n{out}"
    errors = {ln.split()[1] for ln in out.splitlines() if ln.startswith("error  ")}
    assert errors == {check} | also, out
    assert out.splitlines()[-1].startswith(str(path))


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_lab_passes(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expects, _ = _header(path)
    code, out = _run(["check", str(path)], capsys)
    assert code == 0, out
    assert not any(ln.startswith("error") for ln in out.splitlines())
    for check, text in expects:
        assert any(ln.startswith(f"warning  {check}  ") and text in ln for ln in out.splitlines()), out
    assert sum(ln.startswith("warning") for ln in out.splitlines()) == len(expects), out


def test_the_real_labs_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["check", str(ROOT / "labs" / "aggrik8s.yaml")], capsys)
    assert code == 0 and ": 0 errors, 6 warnings (" in out.splitlines()[-1]
    code, out = _run(["check", str(ROOT / "labs" / "example.yaml")], capsys)
    assert code == 0 and "0 errors, 0 warnings" in out


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["check", str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "error  file-unreadable" in out and "cannot be loaded: 1 error" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    path = ROOT / "tests" / "labs" / "invalid" / "pool-outside-subnet.yaml"
    code, out = _run(["check", "--json", str(path)], capsys)
    data = json.loads(out)
    assert code == 1 and data["loaded"] is True
    assert [(f["check"], f["path"]) for f in data["findings"]] == [("pool-outside-subnet", "vlans[VLAN100].dhcp.pool[0]")]


def test_schema_and_checks_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["schema"], capsys)
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "Lab" and "vlans" in schema["properties"]
    code, out = _run(["checks"], capsys)
    assert code == 0 and "pool-outside-subnet" in out


def test_module_entry_point_runs() -> None:
    """The real `python -m labsim.provisioners` wiring, once, in a subprocess (no traceback, right exit codes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = ROOT / "tests" / "labs" / "invalid" / "schema-yaml-syntax.yaml"
    proc = subprocess.run([sys.executable, "-m", "labsim.provisioners", "check", str(bad)], cwd=ROOT, env=env, check=False,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    assert "error  yaml-syntax  line 23:" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "labsim.provisioners", "--help"], cwd=ROOT, env=env, check=False,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "check" in proc.stdout and "schema" in proc.stdout


@pytest.mark.parametrize("labfile", sorted((ROOT / "labs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_lab_file_passes_its_checks(labfile, capsys):
    code, out = _run(["check", str(labfile)], capsys)
    assert code == 0, out
    assert " 0 errors" in out
