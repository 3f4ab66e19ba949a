"""Check a sign-off bundle: checksums (modified, missing, extra files) and, when present, the SSH signature.

A signature checked against the bundle's own ``allowed_signers`` proves only that the files are as they were
when whoever holds that key signed them (integrity). It does not prove *who* signed: anyone can re-sign an
altered bundle with a key of their own and ship that key inside. To prove identity, pin the key you trust
with ``--allowed-signers FILE`` (lines of ``principal namespaces="labsim-signoff" ssh-ed25519 AAAA...``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import ALLOWED, NAMESPACE, PUBKEY, SIG, SUMS, bundle_files, sha256_file

LINE_RE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


@dataclass
class Result:
    ok: bool = True
    modified: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: int = 0
    signature: str = "absent"  # absent | good | bad
    principal: str | None = None

    def lines(self) -> list[str]:
        out = [f"MODIFIED: {p}" for p in self.modified]
        out += [f"MISSING: {p}" for p in self.missing]
        out += [f"EXTRA: {p}" for p in self.extra]
        out += [f"PROBLEM: {p}" for p in self.problems]
        out += [f"NOTE: {n}" for n in self.notes]
        return out


def _safe_rel(rel: str) -> bool:
    parts = rel.split("/")
    return not (rel.startswith("/") or ".." in parts or "\\" in rel or rel == "")


def verify(bundle: Path, allowed_signers: Path | None = None) -> Result:
    res = Result()
    bundle = Path(bundle)
    if not bundle.is_dir():
        res.ok = False
        res.problems.append(f"{bundle} is not a directory")
        return res
    sums = bundle / SUMS
    if not sums.is_file():
        res.ok = False
        res.missing.append(SUMS)
        return res
    listed: dict[str, str] = {}
    for n, line in enumerate(sums.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        m = LINE_RE.match(line)
        if not m or not _safe_rel(m.group(2)):
            res.problems.append(f"{SUMS} line {n} is malformed: {line[:120]!r}")
            continue
        listed[m.group(2)] = m.group(1).lower()
    for rel, digest in sorted(listed.items()):
        p = bundle / rel
        if not p.is_file():
            res.missing.append(rel)
            continue
        res.checked += 1
        if sha256_file(p) != digest:
            res.modified.append(rel)
    present = bundle_files(bundle)
    res.extra = [p for p in present if p not in listed]
    # ---- signature
    sig = bundle / SIG
    own = bundle / ALLOWED
    bundle_names_key = own.is_file() or (bundle / PUBKEY).is_file() or ALLOWED in listed or PUBKEY in listed
    if sig.is_file():
        trust = allowed_signers if allowed_signers is not None else (own if own.is_file() else None)
        if trust is None:
            res.signature = "bad"
            res.problems.append(f"{SIG} present but no allowed signers file ({ALLOWED} missing; "
                                "pass --allowed-signers FILE)")
        else:
            ok, principal, msg = check_signature(sums, sig, trust)
            res.principal = principal
            if ok:
                res.signature = "good"
                if allowed_signers is None:
                    res.notes.append(f"signature good for {principal} against the bundle's own {ALLOWED}: this "
                                     "proves integrity, not identity (pin a trusted key with --allowed-signers)")
                else:
                    res.notes.append(f"signature good for {principal} against pinned {allowed_signers}")
            else:
                res.signature = "bad"
                res.problems.append(f"{SIG}: {msg}")
    else:
        if allowed_signers is not None:
            res.problems.append(f"{SIG} missing: the bundle is not signed, but --allowed-signers requires it")
        elif bundle_names_key:
            res.missing.append(SIG)
            res.problems.append(f"{SIG} missing although the bundle carries a signing key")
        else:
            res.notes.append("bundle is not signed (checksums only)")
    res.ok = not (res.modified or res.missing or res.extra or res.problems)
    return res


def check_signature(sums: Path, sig: Path, allowed: Path) -> tuple[bool, str | None, str]:
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        return False, None, "ssh-keygen not found: cannot check the signature"
    fp = subprocess.run([keygen, "-Y", "find-principals", "-s", str(sig), "-f", str(allowed)],
                        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
    principals = [p.strip() for p in fp.stdout.splitlines() if p.strip()]
    if fp.returncode != 0 or not principals:
        err = (fp.stderr.strip() or "no principal").splitlines()[-1]
        return False, None, f"signed by a key not in {allowed} ({err})"
    principal = principals[0]
    with open(sums, "rb") as f:
        r = subprocess.run([keygen, "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", NAMESPACE,
                            "-s", str(sig)], stdin=f, capture_output=True, text=True, timeout=60, check=False)
    if r.returncode != 0:
        err = (r.stderr.strip() or r.stdout.strip() or "verification failed").splitlines()[-1]
        return False, principal, f"signature does not verify {SUMS}: {err}"
    return True, principal, "good"
