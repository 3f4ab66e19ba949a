"""Secret redaction: the one rule every byte written into a bundle goes through.

Secret values come from the lab file's secret references (``env:NAME`` / ``file:PATH``, resolved now),
from ``pytest_signoff_secrets`` hook implementations, and a few well-known credential patterns
(``password=...``, ``Authorization: ...``, ``PVEAPIToken=...``, ``PVEAuthCookie=...``, ``token: ...``).
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

import yaml

from labsim import yamlbounds

REDACTED = "[REDACTED]"
MIN_SECRET_LEN = 4  # shorter values would shred ordinary text; such secrets are not secrets
REF_RE = re.compile(r"^(env|file):(.+)$")

_NOT_DONE = r"(?![\s\"'\\]*\[REDACTED\])"
# a value: JSON-escaped quoted (\"...\"), quoted, or bare
_V = r"(\\\"(?:[^\"\\\r\n]|\\[^\"])*\\\"|\"[^\"\r\n]*\"|'[^'\r\n]*'|[^\s\"'&,;}\]<\\]+)"


def _keep_quotes(m: re.Match[str]) -> str:
    value = m.group(2)
    if value.startswith('\\"') and value.endswith('\\"') and len(value) >= 4:
        return m.group(1) + '\\"' + REDACTED + '\\"'
    if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
        return m.group(1) + value[0] + REDACTED + value[0]
    return m.group(1) + REDACTED


_PREFIXES: list[str] = []


def _p(prefix: str, value: str = _V) -> re.Pattern[str]:
    _PREFIXES.append(prefix)
    return re.compile(r"(?i)(" + prefix + r")" + _NOT_DONE + value)


PATTERNS: list[re.Pattern[str]] = [
    # Authorization: Bearer abc / "Authorization": "PVEAPIToken=..."  (the whole value)
    _p(r"\bauthorization[\"']?\s*[:=]\s*", r"(\"[^\"\r\n]*\"|'[^'\r\n]*'|[^\r\n,}<]+)"),
    _p(r"\bPVEAPIToken\s*=\s*", r"([^\s\"';,&}\]<]+)"),
    _p(r"\bPVEAuthCookie\s*=\s*", r"([^\s\"';,&}\]<]+)"),
    _p(r"\bCSRFPreventionToken[\"']?\s*[:=]\s*"),
    # password=..., password: ..., "password": "...", passwd=, token_secret: ..., secret=...
    _p(r"\b(?:password|passwd|passphrase|secret|token_secret|api_key|apikey)[\"']?\s*[:=]\s*"),
    # token: ..., token=..., "token": "..."  (not token_id / tokens)
    _p(r"\b(?:token|bearer_token|access_token|refresh_token|id_token)[\"']?\s*[:=]\s*"),
    _p(r"\bBearer\s+", r"([A-Za-z0-9._~+/=-]{8,})"),
]


# Any pattern's prefix, in one pass: a text without one (most log lines) skips the patterns.
ANY_PREFIX = re.compile(r"(?i)" + "|".join(f"(?:{p})" for p in _PREFIXES))

SENSITIVE_KEY = re.compile(
    r"(?i)^(password|passwd|passphrase|secret|token|token_secret|client_secret|api_key|apikey|authorization|"
    r"cookie|set-cookie|pveauthcookie|csrfpreventiontoken|ticket|private_key|bearer_token|access_token|"
    r"refresh_token|id_token)$")


def secret_refs(lab_data: object) -> list[tuple[str, str]]:
    """Every ``env:NAME`` / ``file:PATH`` string anywhere in a raw lab document."""
    found: list[tuple[str, str]] = []

    def walk(v: object) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            m = REF_RE.match(v.strip())
            if m:
                found.append((m.group(1), m.group(2).strip()))

    walk(lab_data)
    return found


def resolve_refs(refs: Iterable[tuple[str, str]], base_dir: Path | None = None) -> list[str]:
    """Current values of secret references; missing ones are ignored."""
    values: list[str] = []
    for kind, name in refs:
        if kind == "env":
            v = os.environ.get(name)
            if v:
                values.append(v)
        else:
            p = Path(os.path.expanduser(name))
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            try:
                if p.is_file() and p.stat().st_size <= 1 << 20:
                    content = p.read_text(encoding="utf-8", errors="replace")
                    values.append(content)
                    values.append(content.strip())
                    # lines of a key file (PEM/OpenSSH bodies) on their own
                    values.extend(line.strip() for line in content.splitlines() if len(line.strip()) >= 16)
            except OSError:
                pass
    return values


def lab_secret_refs(lab_path: Path | None) -> list[tuple[str, str]]:
    """The lab file's secret references (read once per run: the references do not change, their values may)."""
    if lab_path is None:
        return []
    try:
        data = yamlbounds.load_file(lab_path)   # aliases within a budget: the walk below follows them
    except (OSError, UnicodeDecodeError, yaml.YAMLError, yamlbounds.YamlLimitError):
        return []
    return secret_refs(data)


def lab_secret_values(lab_path: Path | None) -> list[str]:
    return resolve_refs(lab_secret_refs(lab_path), base_dir=None if lab_path is None else lab_path.parent)


class Redactor:
    """Replaces known secret values (and their escaped forms) and credential patterns with [REDACTED]."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._variants: list[str] = []

    def add(self, values: Iterable[object]) -> None:
        changed = False
        for v in values:
            if not isinstance(v, str):
                continue
            if len(v.strip()) < MIN_SECRET_LEN or v in self._secrets:
                continue
            self._secrets.add(v)
            changed = True
        if changed:
            variants: set[str] = set()
            for s in self._secrets:
                for form in (
                    s,
                    s.strip(),
                    json.dumps(s)[1:-1],
                    json.dumps(s, ensure_ascii=False)[1:-1],
                    html.escape(s, quote=True),
                    html.escape(s, quote=False),
                    html.escape(s, quote=True).replace("&#x27;", "&apos;"),
                    quote(s, safe=""),
                    quote_plus(s, safe=""),
                ):
                    if len(form.strip()) >= MIN_SECRET_LEN:
                        variants.add(form)
            # longest first, so a secret containing another is replaced whole
            self._variants = sorted(variants, key=len, reverse=True)

    @property
    def secrets(self) -> set[str]:
        return set(self._secrets)

    def text(self, s: str) -> str:
        for v in self._variants:
            if v in s:
                s = s.replace(v, REDACTED)
        if ANY_PREFIX.search(s):
            for rx in PATTERNS:
                s = rx.sub(_keep_quotes, s)
        return s

    def data(self, b: bytes) -> bytes:
        """Binary data: exact secret values (UTF-8) only; no pattern rewriting."""
        for v in self._variants:
            vb = v.encode("utf-8")
            if vb in b:
                b = b.replace(vb, REDACTED.encode())
        return b

    def obj(self, o: object) -> object:
        """Redact every string inside a JSON-like structure; values under credential-like keys entirely."""
        if isinstance(o, str):
            return self.text(o)
        if isinstance(o, dict):
            out = {}
            for k, v in o.items():
                key = self.text(k) if isinstance(k, str) else k
                if isinstance(k, str) and SENSITIVE_KEY.match(k) and isinstance(v, (str, int, float)) \
                        and not isinstance(v, bool) and str(v) and not REF_RE.match(str(v)):
                    out[key] = REDACTED
                else:
                    out[key] = self.obj(v)
            return out
        if isinstance(o, (list, tuple)):
            return [self.obj(v) for v in o]
        return o


class LogRedaction:
    """The secret filter for logs: every record of every logger (librouteros, paramiko, urllib3, kubernetes,
    proxmoxer, ours, and any created later) is redacted with a `Redactor` when it is made, so no handler,
    pytest's captured log and live log included, ever sees a secret value or a credential pattern.

    A filter on named loggers would miss records of their child loggers (`urllib3.connectionpool`), which
    pass only their own and their handlers' filters; the record factory sees every record once.
    """

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._previous: Callable[..., logging.LogRecord] | None = None

    def install(self) -> None:
        if self._previous is not None:
            return
        previous = self._previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            return self.filter(previous(*args, **kwargs))

        self._factory = factory
        logging.setLogRecordFactory(factory)

    def uninstall(self) -> None:
        if self._previous is None:
            return
        if logging.getLogRecordFactory() is self._factory:
            logging.setLogRecordFactory(self._previous)
        self._previous = None

    def filter(self, record: logging.LogRecord) -> logging.LogRecord:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call: logging reports it when a handler formats it
            return record
        clean = self.redactor.text(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:   # formatters use exc_text when it is set
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return record
