"""--signoff-strict: a REJECTED verdict fails the run even when no test failed (an unaccounted skip)."""
from __future__ import annotations

from .conftest import PASSING_FEATURE, run_signoff, write_suite

FEATURES = {"mesh.feature": PASSING_FEATURE}


def test_unaccounted_skip_passes_pytest_but_is_rejected(pytester):
    write_suite(pytester, FEATURES)
    out = run_signoff(pytester)
    assert out.result.ret == 0
    assert out.result.outlines[-1].startswith("Sign-off: REJECTED")


def test_strict_turns_a_rejected_verdict_into_a_failed_run(pytester):
    write_suite(pytester, FEATURES)
    out = run_signoff(pytester, "--signoff-strict")
    assert out.result.ret == 1
    assert out.result.outlines[-1].startswith("Sign-off: REJECTED")


def test_strict_accepts_when_every_skip_is_a_declared_deviation(pytester):
    write_suite(pytester, FEATURES)
    out = run_signoff(pytester, "--signoff-strict", "--deviation", "lab_only=needs real hardware")
    assert out.result.ret == 0
    assert out.result.outlines[-1].startswith("Sign-off: ACCEPTED")
