"""A run that did not run every scenario of the suite is PARTIAL, never ACCEPTED, and its reports list what was not
run: deselected by -k / -m, or in a feature file of the suite the run did not collect."""

from __future__ import annotations

import re

from .conftest import PASSING_FEATURE, bundle_of, run_signoff, write_suite

DEVIATION = ("--deviation", "lab_only=needs real hardware")

SECOND_FEATURE = """\
Feature: Storage
  Scenario: Disks are blank
    When it works
    Then all is well
"""

# the labsim plugin names the suite's feature files (labsim/plugin.py); here: every .feature in the folder
SUITE_HOOK = '''
from pathlib import Path

def pytest_signoff_suite(config, collected):
    return [str(p) for p in Path(str(config.rootpath)).glob("*.feature")]
'''


def test_a_full_run_is_accepted(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE, "storage.feature": SECOND_FEATURE},
                conftest_extra=SUITE_HOOK)
    out = run_signoff(pytester, *DEVIATION)
    assert out.manifest["verdict"] == "ACCEPTED", out.manifest["reasons"]
    assert out.manifest["not_run"] == []
    assert "Not run in this run" not in out.text("summary.md")


def test_k_run_is_partial_and_lists_what_was_not_run(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE, "storage.feature": SECOND_FEATURE},
                conftest_extra=SUITE_HOOK)
    out = run_signoff(pytester, *DEVIATION, "-k", "disks")
    m = out.manifest
    assert m["verdict"] == "PARTIAL", m["reasons"]
    assert out.result.ret == 0   # nothing failed: the tests pass, the sign-off says it looked at a part only
    assert out.lines[-1].startswith("Sign-off: PARTIAL — ") and bundle_of(out.lines[-1]) == out.bundle
    assert {(n["scenario"], n["why"]) for n in m["not_run"]} == {
        ("Mesh: Clusters see each other", "deselected (-k 'disks')"),
        ("Mesh: Real hardware", "deselected (-k 'disks')")}
    assert m["reasons"] == ["partial run (-k 'disks'): 2 of 3 scenarios of the suite were not run (listed under "
                            "\"Not run in this run\"); only a run of every scenario can be ACCEPTED"]
    md = out.text("summary.md")
    assert md.startswith("# Lab sign-off: PARTIAL")
    assert "## Reasons for PARTIAL" in md
    section = md.split("## Not run in this run", 1)[1].split("\n## ", 1)[0]
    assert "- Mesh: Clusters see each other: deselected (-k 'disks')" in section
    assert "- Mesh: Real hardware: deselected (-k 'disks')" in section
    html = out.text("report.html")
    assert 'class="verdict partial"' in html
    block = re.search(r'<section id="not-run">(.*?)</section>', html, re.S)
    assert block and "Mesh: Clusters see each other" in block.group(1) and "Mesh: Real hardware" in block.group(1)


def test_m_run_is_partial(pytester):
    feature = "@fabric\n" + SECOND_FEATURE
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE, "storage.feature": feature}, conftest_extra=SUITE_HOOK)
    out = run_signoff(pytester, *DEVIATION, "-m", "fabric")
    assert out.manifest["verdict"] == "PARTIAL"
    assert {n["why"] for n in out.manifest["not_run"]} == {"deselected (-m 'fabric')"}


def test_feature_files_not_collected_make_it_partial(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE, "storage.feature": SECOND_FEATURE},
                conftest_extra=SUITE_HOOK)
    # the generated test module binds both files: name only the storage scenario's test function
    out = run_signoff(pytester, *DEVIATION, "test_suite.py::test_disks_are_blank")
    m = out.manifest
    assert m["verdict"] == "PARTIAL", m["reasons"]
    assert {n["scenario"] for n in m["not_run"]} == {"Mesh: Clusters see each other", "Mesh: Real hardware"}
    assert {n["why"] for n in m["not_run"]} == {"not collected (the run named other files)"}


def test_a_failure_in_a_partial_run_is_rejected_and_still_lists_what_was_not_run(pytester):
    failing = SECOND_FEATURE.replace("Then all is well", "Then it breaks")
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE, "storage.feature": failing}, conftest_extra=SUITE_HOOK)
    out = run_signoff(pytester, *DEVIATION, "-k", "disks")
    assert out.manifest["verdict"] == "REJECTED"
    assert len(out.manifest["not_run"]) == 2
    assert "## Not run in this run" in out.text("summary.md")


def test_strict_exit_status_stays_zero_for_partial(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE, "storage.feature": SECOND_FEATURE},
                conftest_extra=SUITE_HOOK)
    out = run_signoff(pytester, *DEVIATION, "--signoff-strict", "-k", "disks")
    assert out.manifest["verdict"] == "PARTIAL" and out.result.ret == 0
