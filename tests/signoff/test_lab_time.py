"""The lab time a run covers: measured per scenario by the target fixture (the lab's clock), summed in summary.md,
manifest.json and the console's line before the verdict."""

from __future__ import annotations

import pytest

from labsim.signoff.render import span_text

from .conftest import REPO, PASSING_FEATURE, STEPS, run_signoff, write_suite

# Two scenarios that cover 2 h 41 min of lab time between them: 9,000 s and 660 s.
TIMED_STEPS = STEPS.replace('''@when("it works")
def it_works():
    pass''', '''@when("it works")
def it_works(evidence, request):
    evidence.lab_time(9000.0 if "see_each_other" in request.node.name else 660.0, CLOCK)''')

TWO = {"mesh.feature": PASSING_FEATURE.replace("  @lab_only", "  Scenario: Lab is quiet\n    When it works\n"
                                                                "    Then all is well\n\n  @lab_only")}


@pytest.mark.parametrize(("clock", "words"), [("virtual", "virtual time on the simulated lab's clock"),
                                              ("wall", "a real lab: its lab time is wall time")])
def test_lab_time_is_summed_in_summary_manifest_and_console(pytester, clock, words):
    write_suite(pytester, TWO, steps=f"CLOCK = {clock!r}\n" + TIMED_STEPS)
    out = run_signoff(pytester)
    summary, manifest = out.text("summary.md"), out.manifest
    assert f"- Lab time: 2 h 41 min over 2 scenarios ({words})" in summary
    assert "| Mesh: Clusters see each other | 2 h 30 min | " + clock + " |" in summary
    assert "| Mesh: Lab is quiet | 11 min 00 s | " + clock + " |" in summary
    assert manifest["lab_time"] == {"seconds": 9660.0, "scenarios": 2, "clock": clock}
    assert manifest["summary"]["lab_time"].startswith("2 h 41 min over 2 scenarios")
    assert out.scenarios["Mesh: Clusters see each other"]["lab_time"] == {"seconds": 9000.0, "clock": clock}
    assert out.scenarios["Mesh: Real hardware"]["lab_time"] is None   # skipped: it used no lab
    closing = out.lines[-2]
    assert closing.startswith("2 scenarios, 2 h 41 min of lab time in "), out.lines[-5:]
    assert closing.endswith(" (a real lab: lab time is wall time)") == (clock == "wall")
    assert out.lines[-1].startswith("Sign-off: ")   # the verdict stays the last line


def test_a_run_without_a_lab_says_none_was_measured(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    out = run_signoff(pytester)
    assert "- Lab time: none measured (no scenario used a lab)" in out.text("summary.md")
    assert out.manifest["lab_time"] == {"seconds": 0, "scenarios": 0, "clock": None}
    assert out.lines[-2].startswith("1 scenario, no lab time measured in ")


def test_the_target_fixture_hands_the_simulated_labs_virtual_time_to_the_signoff(pytester):
    """The real harness: a test that waits 10 virtual minutes on a simulated lab covers at least that lab time,
    taken from the lab's own clock (the test takes about a second of wall time)."""
    pytester.makepyfile(test_wait='''
def test_waits(target, clock):
    clock.sleep(600)
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-n", "0",
                                "--lab", str(REPO / "labs" / "one-node.yaml"), "--signoff", "out")
    import json
    from .conftest import bundle_of

    manifest = json.loads((bundle_of(result.outlines[-1]) / "manifest.json").read_text())
    (rec,) = manifest["scenarios"]
    assert rec["lab_time"]["clock"] == "virtual" and 600 <= rec["lab_time"]["seconds"] < 700, rec["lab_time"]
    assert manifest["lab_time"]["scenarios"] == 1


@pytest.mark.parametrize(("seconds", "text"), [(0.42, "0.4 s"), (12.4, "12 s"), (245, "4 min 05 s"),
                                               (9660, "2 h 41 min"), (3599.6, "1 h 00 min")])
def test_spans_read_as_a_person_says_them(seconds, text):
    assert span_text(seconds) == text
