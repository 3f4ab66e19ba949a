"""The plugin records every feature, scenario and step with its result, from pytest and pytest-bdd hooks."""

from __future__ import annotations

import gzip
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from .conftest import PASSING_FEATURE, STEPS, bundle_of, run_signoff, write_suite


def test_every_scenario_and_step_is_recorded(suite):
    out = run_signoff(suite)
    out.result.assert_outcomes(passed=3, failed=3, skipped=1)
    sc = out.scenarios
    assert set(sc) == {
        "Fabric: Trunks carry every VLAN", "Fabric: Bond is up", "Fabric: Real hardware", "Fabric: Half written",
        "Fabric: Ping talos-east", "Fabric: Ping talos-west", "Bare: Not written at all",
    }

    def steps(name):
        return [(s["keyword"], s["name"], s["status"]) for s in sc[name]["steps"]]

    assert steps("Fabric: Trunks carry every VLAN") == [
        ("Given", "a lab", "passed"), ("When", "it works", "passed"), ("Then", "all is well", "passed")]
    assert sc["Fabric: Trunks carry every VLAN"]["steps"][0]["background"] is True
    # a failing step, with the failure (step and message)
    assert steps("Fabric: Bond is up")[-1] == ("Then", "it breaks", "failed")
    bond = sc["Fabric: Bond is up"]
    assert bond["status"] == "failed"
    assert bond["failure"]["step"] == "Then it breaks"
    assert "the bond is down" in bond["failure"]["message"]
    # skipped at collection: all steps present, none run, with the reason
    hw = sc["Fabric: Real hardware"]
    assert hw["status"] == "skipped" and hw["skip_reason"] == "@lab_only: needs real hardware"
    assert [s["status"] for s in hw["steps"]] == ["not run"] * 3
    assert "lab_only" in hw["tags"] and "fabric" in hw["tags"]
    # undefined step after passing ones
    assert steps("Fabric: Half written") == [
        ("Given", "a lab", "passed"), ("When", "it works", "passed"), ("Then", "nobody wrote this step", "undefined")]
    # first step undefined: the rest not run
    assert steps("Bare: Not written at all") == [
        ("Given", "nobody wrote this either", "undefined"), ("Then", "all is well", "not run")]
    assert sc["Bare: Not written at all"]["status"] == "failed"
    # outline: one record per example, rendered
    east = sc["Fabric: Ping talos-east"]
    assert east["example"] == {"cluster": "talos-east"}
    assert steps("Fabric: Ping talos-east")[1] == ("When", "I ping talos-east", "passed")
    # durations are measured
    assert all(s["duration"] >= 0 for s in east["steps"])
    assert out.manifest["counts"]["steps"]["undefined"] == 2


def test_plain_tests_are_recorded_outside_features(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE},
                extra_steps="\n\ndef test_plain_check():\n    pass\n\ndef test_plain_fail():\n    assert False, 'nope'\n")
    out = run_signoff(pytester, "--deviation", "lab_only=needs real hardware")
    plain = {s["name"]: s for s in out.manifest["scenarios"] if s["kind"] == "test"}
    assert set(plain) == {"test_plain_check", "test_plain_fail"}
    assert plain["test_plain_check"]["feature"] == "tests"
    assert plain["test_plain_fail"]["status"] == "failed"
    assert out.manifest["verdict"] == "REJECTED"
    assert any("test failed" in r and "test_plain_fail" in r for r in out.manifest["reasons"])
    summary = out.text("summary.md")
    assert "Tests (outside features): 2 total: 1 passed, 1 failed" in summary


def test_cucumber_json_has_skipped_and_undefined_scenarios(suite):
    out = run_signoff(suite)
    features = out.json("cucumber.json")
    assert {f["name"] for f in features} == {"Fabric", "Bare"}
    fabric = next(f for f in features if f["name"] == "Fabric")
    assert fabric["uri"] == "lab.feature"
    assert fabric["tags"] == [{"name": "@fabric", "line": 1}]
    els = {e["name"]: e for e in fabric["elements"]}
    assert len(fabric["elements"]) == 6
    hw = els["Real hardware"]
    assert {t["name"] for t in hw["tags"]} == {"@fabric", "@lab_only"}
    assert [s["result"]["status"] for s in hw["steps"]] == ["skipped"] * 3
    half = els["Half written"]
    assert [s["result"]["status"] for s in half["steps"]] == ["passed", "passed", "undefined"]
    bond = els["Bond is up"]
    assert bond["steps"][-1]["result"]["status"] == "failed"
    assert "the bond is down" in bond["steps"][-1]["result"]["error_message"]
    assert all(isinstance(s["result"]["duration"], int) for s in bond["steps"])
    assert els["Ping talos-east"]["keyword"] == "Scenario Outline"
    assert els["Ping talos-east"]["id"] != els["Ping talos-west"]["id"]
    bare = next(f for f in features if f["name"] == "Bare")
    assert [s["result"]["status"] for s in bare["elements"][0]["steps"]] == ["undefined", "skipped"]
    # the attachment is embedded in its step
    emb = els["Ping talos-east"]["steps"][1]["embeddings"][0]
    assert emb["mime_type"] == "text/plain"


def test_junit_xml_is_valid_with_failures_and_skips(suite):
    out = run_signoff(suite)
    root = ET.fromstring(out.text("junit.xml"))
    assert root.tag == "testsuites"
    assert root.get("tests") == "7" and root.get("failures") == "3" and root.get("skipped") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert len(cases) == 7
    assert cases["Bond is up"].find("failure") is not None
    assert "the bond is down" in cases["Bond is up"].find("failure").get("message")
    assert cases["Bond is up"].get("classname") == "lab.feature"
    skipped = cases["Real hardware"].find("skipped")
    assert skipped is not None and "needs real hardware" in skipped.get("message")
    assert cases["Not written at all"].find("failure").get("type") == "UndefinedStep"
    assert "PASSED" in cases["Trunks carry every VLAN"].find("system-out").text
    for suite_el in root.iter("testsuite"):
        assert int(suite_el.get("tests")) == len(suite_el.findall("testcase"))


def test_summary_lists_failures_counts_and_context(suite):
    out = run_signoff(suite, "--target", "sim", "--sim-seed", "42")
    md = out.text("summary.md")
    assert md.startswith("# Lab sign-off: REJECTED")
    assert "| Target | sim |" in md
    assert "| Simulator seed | 42 |" in md
    assert "Scenarios: 7 total: 3 passed, 3 failed, 1 skipped, 0 waived" in md
    assert "Steps: 20 total: 13 passed, 1 failed, 0 skipped, 2 undefined, 4 not run" in md
    assert "**Fabric** › **Bond is up**" in md
    assert "Step: `Then it breaks`" in md and "the bond is down" in md
    assert "Step: `Given nobody wrote this either`" in md
    assert "## Reasons for REJECTED" in md
    assert "unaccounted skip: Fabric: Real hardware" in md
    assert "RouterOS sw1: 7.16.2" in md
    assert re.search(r"\| Operator \| \S+ \|", md)


def test_verdict_accepted_when_every_skip_is_a_declared_deviation(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    rejected = run_signoff(pytester)
    assert rejected.manifest["verdict"] == "REJECTED"
    assert any(r.startswith("unaccounted skip: Mesh: Real hardware") for r in rejected.manifest["reasons"])
    out = run_signoff(pytester, "--deviation", "lab_only=needs real hardware")
    m = out.manifest
    assert m["verdict"] == "ACCEPTED", m["reasons"]
    assert m["reasons"] == []
    assert m["deviations"] == {"lab_only": "needs real hardware"}
    assert out.scenarios["Mesh: Real hardware"]["deviation"] == {"tag": "lab_only", "reason": "needs real hardware"}
    md = out.text("summary.md")
    assert "- @lab_only: needs real hardware — accounts for 1 skipped scenario(s)" in md
    assert bundle_of(out.lines[-1]) == out.bundle


def test_deviation_declared_by_a_hook(pytester):
    hook = '''
def pytest_signoff_deviations(config):
    return {"@lab_only": "declared by the harness"}
'''
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE}, conftest_extra=hook)
    out = run_signoff(pytester)
    assert out.manifest["verdict"] == "ACCEPTED", out.manifest["reasons"]
    assert out.manifest["deviations"] == {"lab_only": "declared by the harness"}


def test_bad_deviation_option_is_a_usage_error(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    out = run_signoff(pytester, "--deviation", "lab_only")
    assert out.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "TAG=REASON" in out.result.stderr.str()


def test_nothing_checked_is_rejected(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    pass\n")
    out = run_signoff(pytester)
    assert out.manifest["verdict"] == "REJECTED"
    assert out.manifest["reasons"][0] == "nothing was checked: no scenarios were collected"
    assert out.lines[-1].startswith("Sign-off: REJECTED — ")


def test_all_scenarios_skipped_is_rejected_even_with_deviation(pytester):
    feature = "Feature: Hw\n  @lab_only\n  Scenario: Only hardware\n    When I touch the hardware\n"
    write_suite(pytester, {"hw.feature": feature})
    out = run_signoff(pytester, "--deviation", "lab_only=needs hardware")
    assert out.manifest["verdict"] == "REJECTED"
    assert out.manifest["reasons"] == ["nothing was checked: no scenario ran"]


def test_sign_off_line_is_last_and_names_the_bundle(suite):
    out = run_signoff(suite)
    assert out.lines[-1].startswith("Sign-off: REJECTED — ") and bundle_of(out.lines[-1]) == out.bundle
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}", out.bundle.name)
    assert out.bundle.parent == suite.path / "out"


def test_without_signoff_option_nothing_is_written(suite):
    out = run_signoff(suite, signoff=False)
    out.result.assert_outcomes(passed=3, failed=3, skipped=1)
    assert not (suite.path / "out").exists()
    assert not any(line.startswith("Sign-off:") for line in out.lines)


def test_step_skipping_itself_and_setup_errors(pytester):
    feature = """\
Feature: Odd
  Scenario: Skips midway
    When it works
    And it skips itself
    Then all is well

  Scenario: Fixture breaks
    When it needs a broken fixture
    Then all is well
"""
    extra = '''
@when("it skips itself")
def skips_itself():
    pytest.skip("no VLAN 30 on this lab")

@pytest.fixture
def broken():
    raise OSError("connection refused")

@when("it needs a broken fixture")
def needs_broken(broken):
    pass
'''
    write_suite(pytester, {"odd.feature": feature}, extra_steps=extra)
    out = run_signoff(pytester)
    sc = out.scenarios
    skips = sc["Odd: Skips midway"]
    assert [s["status"] for s in skips["steps"]] == ["passed", "skipped", "not run"]
    assert skips["status"] == "skipped" and skips["skip_reason"] == "no VLAN 30 on this lab"
    broken = sc["Odd: Fixture breaks"]
    assert broken["status"] == "failed"
    assert [s["status"] for s in broken["steps"]] == ["failed", "not run"]
    assert "connection refused" in broken["failure"]["message"]


def test_manifest_contents(pytester, tmp_path):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    lab = pytester.path / "lab.yaml"
    lab.write_text("lab: {name: tiny}\nrouteros: {devices: [{identity: sw1, model: CRS305}]}\n")
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=pytester.path, check=True)
    (pytester.path / ".gitignore").write_text("out/\n__pycache__/\n")
    subprocess.run(git + ["add", "-A"], cwd=pytester.path, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "suite"], cwd=pytester.path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pytester.path, capture_output=True, text=True,
                          check=True).stdout.strip()
    out = run_signoff(pytester, "--lab=lab.yaml", "--target=sim", "--deviation", "lab_only=hw")
    m = out.manifest
    assert m["run_id"] == out.bundle.name
    assert m["git"] == {"commit": head, "dirty": False}
    import hashlib

    assert m["lab"] == {"path": "lab.yaml", "name": "tiny",
                        "sha256": hashlib.sha256(lab.read_bytes()).hexdigest()}
    assert m["features"] == [{"path": "mesh.feature",
                              "sha256": hashlib.sha256((pytester.path / "mesh.feature").read_bytes()).hexdigest()}]
    assert m["target"] == "sim"
    assert m["operator"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["started"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["finished"])
    assert m["started"] <= m["finished"]
    v = m["versions"]
    assert v["python"] and v["pytest"] and v["pytest-bdd"]
    for lib in ("librouteros", "proxmoxer", "kubernetes", "pydantic"):
        assert lib in v  # a version string, or null when not installed
    # dirty flag
    (pytester.path / "mesh.feature").write_text(PASSING_FEATURE + "\n")
    out2 = run_signoff(pytester, "--lab=lab.yaml", "--deviation", "lab_only=hw")
    assert out2.manifest["git"] == {"commit": head, "dirty": True}


def test_manifest_without_git_and_operator_from_env(pytester, monkeypatch):
    monkeypatch.setenv("SIGNOFF_OPERATOR", "Ada Lovelace")
    monkeypatch.setenv("GIT_DIR", str(pytester.path / "no-such-git-dir"))
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    out = run_signoff(pytester)
    assert out.manifest["git"] is None
    assert out.manifest["operator"] == "Ada Lovelace"
    assert "| Operator | Ada Lovelace |" in out.text("summary.md")


def test_evidence_api_and_layout(pytester):
    feature = "Feature: Evidence\n  Scenario: Everything attached\n    When evidence is attached\n"
    extra = '''
@when("evidence is attached")
def attach_all(evidence):
    assert evidence.attach("api transcript", "/interface/vlan/print\\n!done") == \\
        "evidence/evidence-everything-attached/1-api-transcript.txt.gz"
    evidence.attach("observed vlans", {"vlans": [{"id": 10}, {"id": 1500}]})
    evidence.attach("diagram", b"\\x89PNG\\r\\n\\x1a\\nfake", media_type="image/png")
    evidence.attach("dump.yaml", "a: 1\\n")
    evidence.finding("every VLAN carried", True, "VLAN10, VLAN1500 on every trunk", {"missing": []})
    evidence.timeline("east fails over", [
        {"t": 0, "cluster": "talos-east", "ok": True},
        {"t": 12.0, "cluster": "talos-east", "ok": False},
        {"t": 40, "cluster": "talos-east", "ok": True},
        {"t": 0, "cluster": "talos-west", "ok": True}], kind="failover")
    evidence.timeline("ceph health", [
        {"t": 0, "status": "HEALTH_OK"},
        {"t": 30, "status": "HEALTH_WARN", "checks": ["OSD_DOWN", "PG_DEGRADED"]},
        {"t": 600, "status": "HEALTH_OK"}], kind="health")
    evidence.lab_version("RouterOS rb5009-01", "7.16.2")
'''
    write_suite(pytester, {"evidence.feature": feature}, extra_steps=extra)
    out = run_signoff(pytester)
    out.result.assert_outcomes(passed=1)
    ev = out.bundle / "evidence" / "evidence-everything-attached"
    assert sorted(p.name for p in ev.iterdir()) == [
        "1-api-transcript.txt.gz", "2-observed-vlans.json", "3-diagram.png", "4-dump.yaml", "5-east-fails-over.json",
        "6-ceph-health.json"]
    # transcripts are stored compressed (and linked, never inlined)
    assert gzip.decompress((ev / "1-api-transcript.txt.gz").read_bytes()) == b"/interface/vlan/print\n!done"
    import json

    assert json.loads((ev / "2-observed-vlans.json").read_text()) == {"vlans": [{"id": 10}, {"id": 1500}]}
    assert (ev / "3-diagram.png").read_bytes().startswith(b"\x89PNG")
    tl = json.loads((ev / "5-east-fails-over.json").read_text())
    assert tl["kind"] == "failover" and len(tl["points"]) == 4
    m = out.manifest
    assert m["lab_versions"] == {"RouterOS rb5009-01": "7.16.2"}
    rec = out.scenarios["Evidence: Everything attached"]
    assert rec["findings"] == [{"name": "every VLAN carried", "passed": True,
                                "message": "VLAN10, VLAN1500 on every trunk", "details": {"missing": []},
                                "step": "When evidence is attached"}]
    html = out.text("report.html")
    for p in ("1-api-transcript.txt.gz", "2-observed-vlans.json", "4-dump.yaml"):
        assert f'href="evidence/evidence-everything-attached/{p}"' in html
    assert "/interface/vlan/print" not in html and "a: 1" in html  # a transcript is linked, a small file inline
    assert 'src="data:image/png;base64,' in html
    assert html.count('<svg id="tl-') == 2 and 'data-kind="health"' in html
    assert "t=30 s health: HEALTH_OK → HEALTH_WARN (OSD_DOWN, PG_DEGRADED)" in html


def test_failed_finding_rejects_a_passing_scenario(pytester):
    feature = "Feature: F\n  Scenario: Quietly wrong\n    When a finding fails\n"
    extra = '''
@when("a finding fails")
def finding_fails(evidence):
    evidence.finding("ceph replicas", False, "size 3 but only 2 OSD hosts")
'''
    write_suite(pytester, {"f.feature": feature}, extra_steps=extra)
    out = run_signoff(pytester)
    assert out.manifest["verdict"] == "REJECTED"
    assert out.manifest["reasons"] == ["failed finding in F: Quietly wrong: ceph replicas: size 3 but only 2 OSD hosts"]


def test_collection_error_rejects(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    pytester.makepyfile(test_broken="import no_such_module_here\n")
    out = run_signoff(pytester, "--deviation", "lab_only=hw")
    assert out.manifest["verdict"] == "REJECTED"
    assert any(r.startswith("collection error in test_broken.py") for r in out.manifest["reasons"])


def test_steps_module_used_by_suites_is_plain(pytester):
    # the generated suites import nothing from signoff: steps only see the `evidence` fixture
    assert "signoff" not in STEPS.replace("evidence", "")


def test_stopped_run_lists_what_did_not_run(suite):
    out = run_signoff(suite, "-x")
    m = out.manifest
    not_run = [s for s in m["scenarios"] if s["status"] == "not run"]
    assert not_run, m["counts"]
    assert all(all(st["status"] == "not run" for st in s["steps"]) for s in not_run)
    assert any(r.startswith("scenario did not run: ") for r in m["reasons"])
    assert any(r.startswith("run interrupted: ") for r in m["reasons"])


def test_xfail_is_a_skip_that_needs_accounting(pytester):
    feature = "Feature: X\n  @known_bug\n  Scenario: Known bug\n    When it is a known bug\n"
    extra = '\n@when("it is a known bug")\ndef known_bug():\n    pytest.xfail("upstream bug 42")\n'
    write_suite(pytester, {"x.feature": feature}, extra_steps=extra)
    out = run_signoff(pytester)
    rec = out.scenarios["X: Known bug"]
    assert rec["status"] == "skipped" and rec["skip_reason"] == "xfail: upstream bug 42"
    assert [s["status"] for s in rec["steps"]] == ["skipped"]
    assert out.manifest["verdict"] == "REJECTED"
    accepted = run_signoff(pytester, "--deviation", "known_bug=tracked upstream as bug 42")
    assert accepted.manifest["reasons"] == ["nothing was checked: no scenario ran"]
