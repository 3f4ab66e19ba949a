"""Secret references in lab files: `env:NAME` or `file:PATH`, never the secret itself.

A lab file names where a secret lives; the value is read only when a client connects, with
`resolve(ref)`. Errors name the reference, never the value. A field that holds a secret but is given a
plain string loads as an `InlineSecret` (whose text is never printed) and is reported by the
`secret-inline` check.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

SCHEMES = ("env", "file")
# Keys whose values are secrets wherever they appear (also used to redact load errors).
SECRET_KEYS = frozenset({"password", "token_secret", "key", "token", "secret", "private_key", "passphrase"})


class SecretError(LookupError):
    """A secret reference that cannot be resolved. The message names the reference, not a value."""


@dataclass(frozen=True)
class SecretRef:
    scheme: Literal["env", "file"]
    target: str  # the environment variable name or the file path as written

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """`env:NAME` or `file:PATH`; raises ValueError (without echoing `text`) otherwise."""
        scheme, sep, target = str(text).partition(":")
        if not sep or scheme not in SCHEMES or not target.strip():
            raise ValueError("not a secret reference: write env:NAME or file:PATH")
        if scheme == "env" and ("=" in target or "\0" in target or target != target.strip()):
            raise ValueError("not a secret reference: env:NAME needs a plain variable name")
        return cls(scheme, target)  # type: ignore[arg-type]

    @staticmethod
    def looks_like_reference(text: str) -> bool:
        try:
            SecretRef.parse(text)
            return True
        except ValueError:
            return False

    @property
    def path(self) -> Path | None:
        """For `file:` references the expanded path (`~` resolved), else None."""
        return Path(os.path.expanduser(self.target)) if self.scheme == "file" else None

    def __str__(self) -> str:
        return f"{self.scheme}:{self.target}"


class InlineSecret:
    """A secret written into the lab file itself. Kept only so the check can report it; never printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def __len__(self) -> int:
        return len(self._value)

    def redacted(self) -> str:
        return redacted(self._value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return self.redacted()

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InlineSecret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("InlineSecret", self._value))


def redacted(value: object) -> str:
    n = len(str(value))
    return f"<redacted, {n} character{'s' if n != 1 else ''}>"


def resolve(ref: SecretRef | str, environ: Mapping[str, str] | None = None) -> str:
    """The secret's value. `file:` contents lose one trailing newline. Raises SecretError naming the ref."""
    if isinstance(ref, InlineSecret):
        raise SecretError("the lab file holds this secret inline; write env:NAME or file:PATH instead")
    if isinstance(ref, str):
        try:
            ref = SecretRef.parse(ref)
        except ValueError as exc:
            raise SecretError(str(exc)) from None
    env = os.environ if environ is None else environ
    if ref.scheme == "env":
        if ref.target not in env:
            raise SecretError(f"secret {ref} is not available: environment variable {ref.target} is not set")
        return env[ref.target]
    home = env.get("HOME") if environ is not None else None
    target = ref.target
    if target.startswith("~") and home and (target == "~" or target.startswith("~/")):
        path = Path(home + target[1:])
    else:
        path = Path(os.path.expanduser(target))
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SecretError(f"secret {ref} is not available: {path} does not exist") from None
    except IsADirectoryError:
        raise SecretError(f"secret {ref} is not available: {path} is a directory") from None
    except PermissionError:
        raise SecretError(f"secret {ref} is not available: {path} is not readable") from None
    except OSError as exc:
        raise SecretError(f"secret {ref} is not available: {path}: {exc.strerror}") from None
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")
