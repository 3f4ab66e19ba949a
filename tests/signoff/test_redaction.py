"""No secret ever reaches a bundle: values behind the lab file's env:/file: references, hook-registered secrets
and well-known credential patterns are redacted in every file written."""

from __future__ import annotations

import base64
import gzip
import html
import json

import pytest

from labsim.signoff.redact import REDACTED, Redactor, secret_refs

from .conftest import run_signoff, write_suite

ROS = 'R0s-p&ss"w<rd>!'  # special characters: must not survive JSON, HTML or XML escaping either
PVE = "a1b2c3d4-e5f6-7788-99aa-bbccddeeff00"
KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
HOOKED = "hook-registered-s3cret"
PATTERN_VALUES = ["hunter2-pattern", "cookie-PVE-root-XYZ", "eyJhbGciOiJSUzI1NiJ9.payload", "bearer-abcdefgh123",
                  "apitoken-uuid-0000"]

LAB = """\
lab: {name: secretlab}
routeros:
  defaults: {username: admin, password: env:ROS_TEST_PASSWORD}
  devices:
    - {identity: sw1, model: CRS305}
proxmox:
  credentials: {user: root@pam, token_id: ci, token_secret: "env:PVE_TEST_TOKEN"}
  nodes: [{name: pve}]
hosts:
  - {name: pi1, ssh: {user: pi, key: file:keys/pi.key}}
  - {name: pi2, ssh: {user: pi, key: env:UNSET_SECRET_VARIABLE}}
cables:
  - [sw1:ether1, pve:eno1]
"""

FEATURE = """\
Feature: Secrets
  Scenario: Transcripts are kept
    When the API is used

  Scenario: A failure quotes the password
    When the login fails

  Scenario: A skip quotes the token
    When the token is missing
"""

STEPS = '''
import os
import pytest
from pytest_bdd import when, scenarios

scenarios("secrets.feature")
ROS = os.environ["ROS_TEST_PASSWORD"]
PVE = os.environ["PVE_TEST_TOKEN"]
KEY = open("keys/pi.key").read()

@when("the API is used")
def api(evidence):
    evidence.attach("transcript", f"/login name=admin password={ROS}\\n!done\\nssh key:\\n{KEY}")
    evidence.attach("observed", {"user": "root@pam", "secret_blob": PVE, "nested": [{"pw": ROS}],
                                 "password": "not-a-known-secret-value", "token_id": "ci"})
    evidence.attach("raw bytes", ("bin" + PVE).encode(), media_type="application/octet-stream")
    evidence.attach("http", "GET /api2/json/nodes\\nAuthorization: PVEAPIToken=root@pam!ci=apitoken-uuid-0000\\n"
                            "Cookie: PVEAuthCookie=cookie-PVE-root-XYZ; other=1\\n"
                            "password=hunter2-pattern\\ntoken: eyJhbGciOiJSUzI1NiJ9.payload\\n"
                            "Authorization: Bearer bearer-abcdefgh123\\n"
                            "hooked: hook-registered-s3cret\\n")
    evidence.finding("login", True, f"logged in with {ROS}", {"token": PVE})
    evidence.timeline("tl", [{"t": 0, "cluster": PVE, "ok": True}], kind="failover")
    evidence.lab_version("RouterOS sw1", "7.16.2 " + ROS)

@when("the login fails")
def login_fails():
    assert ROS == "something else", f"login refused for password {ROS} with token {PVE}"

@when("the token is missing")
def token_missing():
    pytest.skip(f"token {PVE} not accepted")
'''

HOOK = f'''
def pytest_signoff_secrets(config):
    return ["{HOOKED}"]
'''


@pytest.fixture
def secret_bundle(pytester, monkeypatch):
    monkeypatch.setenv("ROS_TEST_PASSWORD", ROS)
    monkeypatch.setenv("PVE_TEST_TOKEN", PVE)
    monkeypatch.delenv("UNSET_SECRET_VARIABLE", raising=False)
    (pytester.path / "keys").mkdir()
    (pytester.path / "keys" / "pi.key").write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n" + KEY_BODY + "\n-----END OPENSSH PRIVATE KEY-----\n")
    (pytester.path / "lab.yaml").write_text(LAB)
    write_suite(pytester, {"secrets.feature": FEATURE}, steps=STEPS, conftest_extra=HOOK)
    out = run_signoff(pytester, "--lab=lab.yaml", "--waivers=w.yaml", *_waiver(pytester))
    assert out.bundle is not None, "\n".join(out.lines[-40:])
    return out


def _waiver(pytester):
    (pytester.path / "w.yaml").write_text(f'- scenario: "A skip quotes the token"\n  justification: "token {PVE}"\n'
                                          '  expires: 2999-01-01\n')
    return ()


def forms(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], html.escape(secret), html.escape(secret, quote=False),
            base64.b64encode(secret.encode()).decode()}


def test_no_secret_anywhere_in_the_bundle(secret_bundle):
    out = secret_bundle
    files = sorted(p for p in out.bundle.rglob("*") if p.is_file())
    assert len(files) >= 10
    secrets = [ROS, PVE, KEY_BODY, HOOKED, *PATTERN_VALUES]
    for p in files:
        data = p.read_bytes()
        if p.suffix == ".gz":   # compressed evidence (transcripts): what a reader gets once it is unpacked
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace")
        for s in secrets:
            for f in forms(s):
                assert f.encode() not in data, f"{f!r} found in {p.relative_to(out.bundle)}"
        # embedded attachments (cucumber.json) are redacted before they are encoded
        if p.name == "cucumber.json":
            for feat in json.loads(text):
                for el in feat["elements"]:
                    for st in el["steps"]:
                        for emb in st.get("embeddings", []):
                            raw = base64.b64decode(emb["data"])
                            assert not any(s.encode() in raw for s in secrets)
    # the run itself still reports what happened, with the values replaced
    sc = out.scenarios
    assert "[REDACTED]" in sc["Secrets: A failure quotes the password"]["failure"]["message"]
    assert sc["Secrets: A skip quotes the token"]["skip_reason"] == "token [REDACTED] not accepted"
    ev = out.bundle / "evidence" / "secrets-transcripts-are-kept"
    transcript = gzip.decompress((ev / "1-transcript.txt.gz").read_bytes()).decode()
    assert "/login name=admin password=[REDACTED]" in transcript
    observed = json.loads((ev / "2-observed.json").read_text())
    assert observed == {"user": "root@pam", "secret_blob": REDACTED, "nested": [{"pw": REDACTED}],
                        "password": REDACTED, "token_id": "ci"}
    assert (ev / "3-raw-bytes.bin").read_bytes() == b"bin[REDACTED]"
    http = (ev / "4-http.txt").read_text()
    assert "Authorization: [REDACTED]" in http
    assert "PVEAuthCookie=[REDACTED]; other=1" in http
    assert "token: [REDACTED]" in http and "password=[REDACTED]" in http
    # every JSON file is still valid JSON after redaction
    for p in files:
        if p.suffix == ".json":
            json.loads(p.read_text())
    # the lab file's references themselves are not secrets and the lab name is kept
    assert out.manifest["lab"]["name"] == "secretlab"


def test_redactor_unit():
    r = Redactor()
    r.add(["s3cr3t-value", "abc", None, 42])  # short and non-string values are ignored
    assert r.secrets == {"s3cr3t-value"}
    assert r.text("x s3cr3t-value y abc") == "x [REDACTED] y abc"
    assert r.text('{"k": "s3cr3t-value"}') == '{"k": "[REDACTED]"}'
    assert r.text("password: 'pw 1' next") == "password: '[REDACTED]' next"
    assert r.text("PVEAPIToken=root@pam!ci=1234") == "PVEAPIToken=[REDACTED]"
    assert r.text("tokens: 5, token_id: ci") == "tokens: 5, token_id: ci"
    once = r.text("password=abc Authorization: Basic Zm9v")
    assert once == r.text(once) == "password=[REDACTED] Authorization: [REDACTED]"
    assert r.data(b"\x00s3cr3t-value\xff") == b"\x00[REDACTED]\xff"
    assert r.obj({"password": "x1", "list": ["s3cr3t-value"], "n": 1, "ok": True}) == {
        "password": REDACTED, "list": [REDACTED], "n": 1, "ok": True}


def test_secret_refs_are_found_anywhere():
    doc = {"a": {"b": ["env:ONE", {"c": "file:~/k"}]}, "d": "envy:no", "e": "env:TWO "}
    assert secret_refs(doc) == [("env", "ONE"), ("file", "~/k"), ("env", "TWO")]
