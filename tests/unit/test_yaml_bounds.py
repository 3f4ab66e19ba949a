"""Issue 19 §2: a 519-byte "billion laughs" lab file made `python -m labsim.provisioners check` grow to 6 GB and
die with MemoryError (the line-number pass followed the aliases). Every reader of a lab file now refuses it,
and documents over the size and depth limits, with one clear message (labsim/yamlbounds.py)."""
from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labsim import yamlbounds
from labsim.fakes.inventory import InventoryError, load_inventory
from labsim.provisioners.lab.load import LabFileError, load_lab, parse_lab
from labsim.signoff.redact import lab_secret_values

ROOT = Path(__file__).resolve().parents[2]
BOMB = ROOT / "tests" / "labs" / "invalid" / "schema-yaml-alias-bomb.yaml"


def _limited(gib: float = 1.0):
    def limit() -> None:   # a regression must fail this test, not take the machine down with it
        resource.setrlimit(resource.RLIMIT_AS, (int(gib * 2**30), int(gib * 2**30)))
    return limit


@pytest.mark.parametrize("argv", [
    ["-m", "labsim.provisioners", "check"],
    ["-m", "labsim.fakes", "serve", "--endpoints-file", "/dev/null"],
], ids=["check", "serve"])
def test_billion_laughs_is_refused_quickly_in_bounded_memory(argv):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, *argv, str(BOMB)], capture_output=True, text=True, timeout=60,
                          preexec_fn=_limited(), cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "aliases expand the document beyond 10000 nodes" in out and "Traceback" not in out
    assert time.monotonic() - started < 30


def test_every_reader_refuses_it():
    with pytest.raises(LabFileError) as exc:
        load_lab(BOMB)
    assert [f.check for f in exc.value.findings] == ["yaml-limit"]
    assert exc.value.findings[0].values["line"] == 8
    with pytest.raises(InventoryError, match="refused: aliases expand"):
        load_inventory(BOMB)
    assert lab_secret_values(BOMB) == []


@pytest.mark.parametrize("text, message", [
    ("lab: " + "[" * 100 + "]" * 100, "collections nested more than 64 deep"),
    ("lab: " + "{a: " * 70 + "1" + "}" * 70, "collections nested more than 64 deep"),
    ("lab: &x {name: a, self: *x}", "refers to a collection that contains it"),
])
def test_deep_and_recursive_documents_are_refused(text, message):
    with pytest.raises(LabFileError, match=message):
        parse_lab(text)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("w") as fh:
        fh.write("lab: {name: big}\nnotes: |\n")
        fh.write(("  " + "x" * 1000 + "\n") * (yamlbounds.MAX_BYTES // 1000 + 1))
    with pytest.raises(LabFileError, match="lab files are limited to 4194304 bytes"):
        load_lab(big)
    with pytest.raises(InventoryError, match="lab files are limited"):
        load_inventory(big)


def test_anchors_and_merge_keys_within_the_budget_still_load():
    text = "defaults: &d {version: 7.16.2, login: plain}\n" + "".join(
        f"dev{i}: {{<<: *d, name: r{i}}}\n" for i in range(200))
    yamlbounds.check(text)
    assert yamlbounds.safe_load(text)["dev199"]["version"] == "7.16.2"
