"""`python -m labsim.signoff verify`: checksums name every modified, missing or extra file; SSH signatures."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from labsim.signoff.bundle import bundle_files

from .conftest import PASSING_FEATURE, run_signoff, signoff_cli, write_suite

needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen (openssh-client) not installed")


@pytest.fixture
def bundle(pytester):
    feature = PASSING_FEATURE + "\n  Scenario: With evidence\n    Then evidence is attached\n"
    write_suite(pytester, {"mesh.feature": feature},
                extra_steps='\n@then("evidence is attached")\ndef ev(evidence):\n    evidence.attach("t", "x")\n')
    out = run_signoff(pytester, "--deviation", "lab_only=hw")
    assert out.bundle is not None
    return out.bundle


def make_key(tmp_path, name="signer"):
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True,
                   stdin=subprocess.DEVNULL)
    return key


def test_sha256sums_covers_every_file(bundle):
    sums = (bundle / "SHA256SUMS").read_text().splitlines()
    listed = [line.split("  ", 1)[1] for line in sums]
    assert listed == sorted(listed)
    assert set(listed) == set(bundle_files(bundle))
    assert {"summary.md", "report.html", "junit.xml", "cucumber.json", "manifest.json", "waivers.yaml"} <= set(listed)
    assert "SHA256SUMS" not in listed
    # the standard tool agrees
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=bundle, check=True)


def test_intact_bundle_verifies(bundle):
    r = signoff_cli("verify", bundle)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1].startswith(f"VERIFIED: {bundle}")
    assert "NOTE: bundle is not signed (checksums only)" in r.stdout


@pytest.mark.parametrize("victim", ["summary.md", "report.html", "manifest.json", "waivers.yaml", "junit.xml",
                                    "cucumber.json"])
def test_modified_file_is_named(bundle, victim):
    p = bundle / victim
    p.write_bytes(p.read_bytes() + b" ")
    r = signoff_cli("verify", bundle)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [f"MODIFIED: {victim}", "NOTE: bundle is not signed (checksums only)",
                                     f"FAILED: {bundle}"]


def test_deleted_file_is_named(bundle):
    evid = next(p for p in bundle_files(bundle) if p.startswith("evidence/"))
    (bundle / evid).unlink()
    r = signoff_cli("verify", bundle)
    assert r.returncode == 1
    assert f"MISSING: {evid}" in r.stdout.splitlines()


def test_added_file_is_named(bundle):
    (bundle / "evidence" / "sneaky.txt").write_text("all green, trust me")
    r = signoff_cli("verify", bundle)
    assert r.returncode == 1
    assert "EXTRA: evidence/sneaky.txt" in r.stdout.splitlines()


def test_several_changes_are_all_named(bundle):
    (bundle / "summary.md").write_text("# Lab sign-off: ACCEPTED\n")
    (bundle / "junit.xml").unlink()
    (bundle / "extra.md").write_text("x")
    r = signoff_cli("verify", bundle)
    lines = r.stdout.splitlines()
    assert r.returncode == 1
    assert {"MODIFIED: summary.md", "MISSING: junit.xml", "EXTRA: extra.md"} <= set(lines)


def test_missing_checksum_list_fails(bundle):
    (bundle / "SHA256SUMS").unlink()
    r = signoff_cli("verify", bundle)
    assert r.returncode == 1 and "MISSING: SHA256SUMS" in r.stdout


def test_checksum_list_escaping_the_bundle_is_refused(bundle):
    sums = bundle / "SHA256SUMS"
    sums.write_text(sums.read_text() + "0" * 64 + "  ../outside.txt\n")
    r = signoff_cli("verify", bundle)
    assert r.returncode == 1 and "is malformed" in r.stdout


def test_not_a_bundle(tmp_path):
    r = signoff_cli("verify", tmp_path / "nope")
    assert r.returncode == 1 and "is not a directory" in r.stdout


@needs_keygen
def test_signed_bundle_verifies_and_fails_after_tampering(pytester, tmp_path):
    key = make_key(tmp_path)
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    out = run_signoff(pytester, "--deviation", "lab_only=hw", f"--signing-key={key}")
    b = out.bundle
    for name in ("SHA256SUMS.sig", "allowed_signers", "signing_key.pub"):
        assert (b / name).is_file(), name
    listed = [line.split("  ", 1)[1] for line in (b / "SHA256SUMS").read_text().splitlines()]
    assert "allowed_signers" in listed and "signing_key.pub" in listed and "SHA256SUMS.sig" not in listed
    assert (b / "SHA256SUMS.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    # verifies against the bundle's own key (integrity only) ...
    r = signoff_cli("verify", b)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "proves integrity, not identity" in r.stdout
    assert "signature good" in r.stdout
    # ... and against a pinned trusted key (identity)
    pinned = tmp_path / "trusted_signers"
    pub = (tmp_path / "signer.pub").read_text().split()
    pinned.write_text(f'ops@lab namespaces="labsim-signoff" {pub[0]} {pub[1]}\n')
    r = signoff_cli("verify", b, "--allowed-signers", pinned)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "signature good for ops@lab against pinned" in r.stdout
    # a different trusted key: the bundle's signature is not from it
    other = make_key(tmp_path, "other")
    opub = (tmp_path / "other.pub").read_text().split()
    pinned2 = tmp_path / "other_signers"
    pinned2.write_text(f'ops@lab namespaces="labsim-signoff" {opub[0]} {opub[1]}\n')
    r = signoff_cli("verify", b, "--allowed-signers", pinned2)
    assert r.returncode == 1 and "PROBLEM: SHA256SUMS.sig" in r.stdout
    assert other.exists()
    # tamper with a file: checksum mismatch
    (b / "summary.md").write_text("# Lab sign-off: ACCEPTED\n")
    r = signoff_cli("verify", b)
    assert r.returncode == 1 and "MODIFIED: summary.md" in r.stdout


@needs_keygen
def test_resigned_checksums_fail_the_signature(pytester, tmp_path):
    key = make_key(tmp_path)
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    b = run_signoff(pytester, "--deviation", "lab_only=hw", f"--signing-key={key}").bundle
    # an attacker edits a file and rewrites SHA256SUMS to match, but cannot re-sign with the key
    (b / "summary.md").write_text("# Lab sign-off: ACCEPTED\n")
    from labsim.signoff.bundle import write_sums

    write_sums(b)
    r = signoff_cli("verify", b)
    assert r.returncode == 1
    assert "PROBLEM: SHA256SUMS.sig: signature does not verify SHA256SUMS" in r.stdout


@needs_keygen
def test_removed_signature_is_detected(pytester, tmp_path):
    key = make_key(tmp_path)
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    b = run_signoff(pytester, "--deviation", "lab_only=hw", f"--signing-key={key}").bundle
    (b / "SHA256SUMS.sig").unlink()
    r = signoff_cli("verify", b)
    assert r.returncode == 1 and "MISSING: SHA256SUMS.sig" in r.stdout


def test_unsigned_bundle_fails_when_a_trusted_key_is_pinned(bundle, tmp_path):
    pinned = tmp_path / "trusted"
    pinned.write_text('ops@lab namespaces="labsim-signoff" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE\n')
    r = signoff_cli("verify", bundle, "--allowed-signers", pinned)
    assert r.returncode == 1 and "not signed" in r.stdout


def test_missing_signing_key_is_a_usage_error(pytester):
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    out = run_signoff(pytester, "--signing-key=/nonexistent/key")
    assert out.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--signing-key /nonexistent/key: no such file" in out.result.stderr.str()


@needs_keygen
def test_unusable_signing_key_stops_the_run_before_any_test(pytester, tmp_path):
    bad = tmp_path / "not-a-key"
    bad.write_text("this is not an ssh key\n")
    bad.chmod(0o600)
    write_suite(pytester, {"mesh.feature": PASSING_FEATURE})
    out = run_signoff(pytester, "--deviation", "lab_only=hw", f"--signing-key={bad}")
    assert out.result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--signing-key {bad}: cannot read the key" in out.result.stderr.str()
    assert not (pytester.path / "out").exists()


def test_a_failed_bundle_write_is_marked_incomplete(tmp_path):
    import datetime as dt

    from labsim.signoff.bundle import write_bundle
    from labsim.signoff.model import Attachment, Run, ScenarioRecord
    from labsim.signoff.redact import Redactor

    run = Run(run_id="20250101T000000.000Z-abcdef", started=dt.datetime.now(dt.UTC))
    rec = ScenarioRecord(nodeid="t.py::t", kind="test", name="t", feature="tests", feature_file="t.py")
    rec.attachments.append(Attachment(name="x", path="../escape.txt", media_type="text/plain", data=b"x"))
    run.records[rec.nodeid] = rec
    with pytest.raises(ValueError, match="refusing to write outside the bundle"):
        write_bundle(run, tmp_path, Redactor(), rootpath=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["20250101T000000.000Z-abcdef.incomplete"]
