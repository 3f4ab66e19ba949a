"""Secret references: parsing, resolving, and errors that name the reference but never the value."""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.provisioners.lab.secrets import InlineSecret, SecretError, SecretRef, redacted, resolve


def test_parse() -> None:
    assert SecretRef.parse("env:ROUTEROS_PASSWORD") == SecretRef("env", "ROUTEROS_PASSWORD")
    assert SecretRef.parse("file:~/.ssh/id") == SecretRef("file", "~/.ssh/id")
    assert str(SecretRef("env", "X")) == "env:X"
    for bad in ("hunter2", "env:", "vault:x", "env:A=B", ""):
        with pytest.raises(ValueError) as info:
            SecretRef.parse(bad)
        assert bad not in str(info.value) or bad in ("env:", "")


def test_resolve_env() -> None:
    assert resolve(SecretRef("env", "PW"), environ={"PW": "s3cret"}) == "s3cret"
    assert resolve("env:PW", environ={"PW": ""}) == ""
    with pytest.raises(SecretError, match=r"secret env:PW is not available: environment variable PW is not set"):
        resolve("env:PW", environ={})


def test_resolve_file_expands_home_and_drops_one_newline(tmp_path: Path) -> None:
    (tmp_path / ".secrets").mkdir()
    (tmp_path / ".secrets" / "pve").write_text("tok\n")
    assert resolve("file:~/.secrets/pve", environ={"HOME": str(tmp_path)}) == "tok"
    assert resolve(f"file:{tmp_path}/.secrets/pve", environ={}) == "tok"
    assert SecretRef("file", str(tmp_path)).path == tmp_path
    with pytest.raises(SecretError) as info:
        resolve("file:~/.secrets/missing", environ={"HOME": str(tmp_path)})
    assert "secret file:~/.secrets/missing is not available" in str(info.value)
    assert "does not exist" in str(info.value)


def test_errors_never_contain_the_value(tmp_path: Path) -> None:
    with pytest.raises(SecretError) as info:
        resolve(InlineSecret("hunter2"))
    assert "hunter2" not in str(info.value)
    with pytest.raises(SecretError) as info:
        resolve("hunter2")
    assert "hunter2" not in str(info.value)


def test_inline_secret_is_redacted() -> None:
    s = InlineSecret("hunter2")
    assert repr(s) == str(s) == f"{s!s}" == "<redacted, 7 characters>" == redacted("hunter2")
    assert s.reveal() == "hunter2" and len(s) == 7
    assert redacted("x") == "<redacted, 1 character>"
