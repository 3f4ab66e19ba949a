"""Waivers (InSpec's rules): justified, expiring; run: false skips; expired ones count as not there."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
import yaml

from labsim.signoff.waivers import WaiverError, load_waivers

from .conftest import LAB_FEATURE, bundle_of, run_signoff, write_suite

FUTURE = (dt.date.today() + dt.timedelta(days=365)).isoformat()
PAST = (dt.date.today() - dt.timedelta(days=1)).isoformat()

# only the scenarios that fail or skip in LAB_FEATURE need accounting for
FEATURES = {"lab.feature": LAB_FEATURE}


def waivers_file(pytester: pytest.Pytester, text: str) -> str:
    (pytester.path / "waivers.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return "--waivers=waivers.yaml"


def test_valid_waivers_accept_a_failing_run(pytester):
    write_suite(pytester, FEATURES)
    opt = waivers_file(pytester, f"""\
        - scenario: "Fabric: Bond is up"
          justification: "LACP partner replaced next week (CHG-1234)"
          expires: {FUTURE}
        - scenario: "Half written"
          justification: "step lands with the Ceph work"
          expires: {FUTURE}
        - tag: "@lab_only"
          justification: "no hardware in CI"
          expires: {FUTURE}
        """)
    out = run_signoff(pytester, opt)
    m = out.manifest
    assert m["verdict"] == "ACCEPTED", m["reasons"]
    sc = out.scenarios
    assert sc["Fabric: Bond is up"]["status"] == "waived-failed"
    assert sc["Fabric: Half written"]["status"] == "waived-failed"
    assert sc["Fabric: Real hardware"]["status"] == "waived"
    assert sc["Fabric: Bond is up"]["waiver"]["justification"] == "LACP partner replaced next week (CHG-1234)"
    assert m["counts"]["scenarios"]["waived-failed"] == 2 and m["counts"]["scenarios"]["waived"] == 1
    md = out.text("summary.md")
    assert "## Waived failures" in md and "LACP partner replaced next week (CHG-1234)" in md
    assert "- scenario 'Fabric: Bond is up', expires " + FUTURE in md
    assert "  - Fabric: Bond is up: waived-failed" in md
    assert "- tag @lab_only, expires" in md
    # the waiver file is copied into the bundle as applied
    assert yaml.safe_load(out.text("waivers.yaml"))[0]["scenario"] == "Fabric: Bond is up"
    assert bundle_of(out.lines[-1]) == out.bundle
    # the pytest outcome is unchanged: the failures still fail the pytest run
    assert out.result.ret == pytest.ExitCode.TESTS_FAILED


def test_expired_waiver_counts_as_not_there(pytester):
    write_suite(pytester, FEATURES)
    opt = waivers_file(pytester, f"""\
        - scenario: "Fabric: Bond is up"
          justification: "was going to be fixed"
          expires: {PAST}
        - tag: lab_only
          justification: "no hardware in CI"
          expires: {FUTURE}
        - scenario: "Half written"
          justification: "later"
          expires: {FUTURE}
        """)
    out = run_signoff(pytester, opt)
    m = out.manifest
    assert m["verdict"] == "REJECTED"
    assert out.scenarios["Fabric: Bond is up"]["status"] == "failed"
    assert m["reasons"] == [("scenario failed: Fabric: Bond is up at step 'Then it breaks': AssertionError: "
                            "the bond is down")]
    md = out.text("summary.md")
    expired = md.split("## Expired waivers (not applied)")[1].split("##")[0]
    assert f"scenario 'Fabric: Bond is up', expired {PAST}: was going to be fixed" in expired
    assert "would have applied to: Fabric: Bond is up" in expired
    assert [w["expired"] for w in m["waivers"]] == [True, False, False]


def test_waiver_expiring_today_still_applies(pytester):
    write_suite(pytester, {"lab.feature": "Feature: F\n  Scenario: S\n    Then it breaks\n"})
    today = dt.datetime.now(dt.UTC).date().isoformat()
    opt = waivers_file(pytester, f'- scenario: "S"\n  justification: "j"\n  expires: {today}\n')
    out = run_signoff(pytester, opt)
    assert out.manifest["verdict"] == "ACCEPTED"


def test_run_false_skips_the_scenario_and_counts_it_waived(pytester):
    feature = "Feature: Drills\n  Scenario: Pull the cable\n    When I touch the hardware\n\n" \
              "  Scenario: Harmless\n    When it works\n"
    write_suite(pytester, {"drills.feature": feature})
    opt = waivers_file(pytester, f"""\
        - scenario: "Drills: Pull the cable"
          justification: "the lab is shared this week"
          expires: {FUTURE}
          run: false
        """)
    out = run_signoff(pytester, opt)
    out.result.assert_outcomes(passed=1, skipped=1)  # the step that raises never ran
    rec = out.scenarios["Drills: Pull the cable"]
    assert rec["status"] == "waived"
    assert [s["status"] for s in rec["steps"]] == ["not run"]
    assert "the lab is shared this week" in rec["skip_reason"]
    assert out.manifest["verdict"] == "ACCEPTED", out.manifest["reasons"]
    assert out.manifest["counts"]["scenarios"]["waived"] == 1


def test_expired_run_false_waiver_does_not_skip(pytester):
    feature = "Feature: Drills\n  Scenario: Pull the cable\n    When I touch the hardware\n"
    write_suite(pytester, {"drills.feature": feature})
    opt = waivers_file(pytester, f"""\
        - scenario: "Pull the cable"
          justification: "old"
          expires: {PAST}
          run: false
        """)
    out = run_signoff(pytester, opt)
    out.result.assert_outcomes(failed=1)
    assert out.scenarios["Drills: Pull the cable"]["status"] == "failed"
    assert out.manifest["verdict"] == "REJECTED"


def test_no_waivers_file_gives_an_empty_list(pytester):
    write_suite(pytester, {"f.feature": "Feature: F\n  Scenario: S\n    When it works\n"})
    out = run_signoff(pytester)
    assert yaml.safe_load(out.text("waivers.yaml")) == []


MALFORMED = [
    ("- scenario: [unclosed\n  justification: x\n", 2, "not valid YAML"),
    (f"- scenario: S\n  justification: j\n  expires: {FUTURE}\n  owner: me\n", 4, "unknown key 'owner'"),
    (f"- scenario: S\n  expires: {FUTURE}\n", 1, "missing 'justification'"),
    (f"- scenario: S\n  justification: ''\n  expires: {FUTURE}\n", 2, "'justification' must be a non-empty text"),
    (f"- scenario: S\n  justification:\n  expires: {FUTURE}\n", 2, "'justification' must be a non-empty text"),
    ("- scenario: S\n  justification: j\n", 1, "missing 'expires'"),
    (f"- scenario: A\n  justification: j\n  expires: {FUTURE}\n- tag: x\n  justification: j\n  expires: 2025-13-01\n",
     6, "not a real date"),
    ("- scenario: S\n  justification: j\n  expires: next week\n", 3, "must be a date YYYY-MM-DD"),
    (f"- justification: j\n  expires: {FUTURE}\n", 1, "exactly one of 'scenario' or 'tag'"),
    (f"- scenario: S\n  tag: t\n  justification: j\n  expires: {FUTURE}\n", 1, "exactly one of"),
    (f"- scenario: S\n  justification: j\n  expires: {FUTURE}\n  run: maybe\n", 4, "'run' must be true or false"),
    ("scenario: S\n", 1, "a YAML list of waivers"),
]


@pytest.mark.parametrize(("text", "line", "message"), MALFORMED)
def test_malformed_waiver_file_names_file_and_line(text, line, message, tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(text)
    with pytest.raises(WaiverError) as ei:
        load_waivers(p)
    assert ei.value.line == line
    assert str(ei.value).startswith(f"{p}:{line}: ")
    assert message in str(ei.value)


def test_malformed_waiver_file_stops_the_run_before_any_test(pytester):
    write_suite(pytester, FEATURES)
    opt = waivers_file(pytester, f"""\
        - scenario: "Fabric: Bond is up"
          justification: "fine"
          expires: {FUTURE}
          approved_by: nobody
        """)
    out = run_signoff(pytester, opt)
    assert out.result.ret == pytest.ExitCode.USAGE_ERROR
    err = out.result.stderr.str()
    assert "waivers.yaml:4: unknown key 'approved_by'" in err
    assert "passed" not in out.result.stdout.str() and "failed" not in out.result.stdout.str()
    assert not (pytester.path / "out").exists()


def test_missing_waiver_file_is_a_usage_error(pytester):
    write_suite(pytester, FEATURES)
    out = run_signoff(pytester, "--waivers=nope.yaml")
    assert out.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "nope.yaml" in out.result.stderr.str()


def test_empty_waiver_file_is_allowed(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text("# nothing waived\n")
    assert load_waivers(p)[0] == []
    p.write_text("[]\n")
    assert load_waivers(p)[0] == []


def test_waiver_fields_are_parsed(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(f'- tag: "@flaky"\n  justification: " upstream bug "\n  expires: {FUTURE}\n  run: false\n')
    [w] = load_waivers(p)[0]
    assert (w.tag, w.scenario, w.justification, w.expires.isoformat(), w.run, w.line) == (
        "flaky", None, "upstream bug", FUTURE, False, 1)
    assert w.matches(["X: y"], {"flaky"}) and not w.matches(["X: y"], {"other"})
