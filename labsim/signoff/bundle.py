"""Write the sign-off bundle: every file goes through :class:`BundleWriter`, the one place secrets are redacted.

Layout of ``DIR/<run-id>/``::

    summary.md  report.html  junit.xml  cucumber.json  manifest.json  waivers.yaml
    evidence/<scenario-slug>/<n>-<name>.<ext>
    SHA256SUMS                      sha256sum format, every file except itself and the signature
    SHA256SUMS.sig                  with --signing-key: ssh-keygen -Y sign -n labsim-signoff
    signing_key.pub  allowed_signers
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata as md
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .model import Run, rfc3339
from .redact import Redactor

NAMESPACE = "labsim-signoff"
SUMS = "SHA256SUMS"
SIG = "SHA256SUMS.sig"
ALLOWED = "allowed_signers"
PUBKEY = "signing_key.pub"
LIBRARIES = ("pytest", "pytest-bdd", "librouteros", "proxmoxer", "kubernetes", "pydantic", "PyYAML", "cryptography")


class BundleWriter:
    """The choke point: redacts, then writes. Text goes through value + pattern redaction, JSON is redacted as
    a structure before it is serialised, binary data loses exact secret values."""

    def __init__(self, root: Path, redactor: Redactor) -> None:
        self.root = root
        self.redactor = redactor
        self.written: list[str] = []

    def _path(self, rel: str) -> Path:
        rel = rel.replace("\\", "/")
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"refusing to write outside the bundle: {rel}")
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def text(self, rel: str, text: str) -> None:
        self._path(rel).write_text(self.redactor.text(text), encoding="utf-8", newline="\n")
        self.written.append(rel)

    def json(self, rel: str, obj: object) -> None:
        data = json.dumps(self.redactor.obj(obj), indent=2, ensure_ascii=False, default=str) + "\n"
        # values only (patterns were applied per string above; they must not see JSON escapes)
        for v in self.redactor._variants:
            data = data.replace(v, "[REDACTED]")
        self._path(rel).write_text(data, encoding="utf-8", newline="\n")
        self.written.append(rel)

    def data(self, rel: str, data: bytes, is_text: bool, compress: bool = False) -> None:
        if is_text:
            out = self.redactor.text(data.decode("utf-8", errors="replace")).encode("utf-8")
        else:
            out = self.redactor.data(data)
        if compress:  # redacted first; mtime 0 so the same evidence gives the same bytes (and checksum)
            out = gzip.compress(out, compresslevel=6, mtime=0)
        self._path(rel).write_bytes(out)
        self.written.append(rel)

    def copy_file(self, rel: str, src: Path) -> None:
        """Copy a produced file (public key) through the redactor as text."""
        self.text(rel, src.read_text(encoding="utf-8"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def bundle_files(root: Path) -> list[str]:
    """Every regular file in the bundle (POSIX relative paths), except the checksum list and its signature."""
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            rel = (Path(dirpath) / f).relative_to(root).as_posix()
            if rel not in (SUMS, SIG):
                out.append(rel)
    return sorted(out)


def write_sums(root: Path) -> str:
    lines = [f"{sha256_file(root / rel)}  {rel}" for rel in bundle_files(root)]
    text = "\n".join(lines) + "\n"
    (root / SUMS).write_text(text, encoding="utf-8", newline="\n")
    return text


def git_info(cwd: Path) -> dict | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        inside = subprocess.run([git, "rev-parse", "--is-inside-work-tree"], cwd=cwd, capture_output=True,
                                text=True, timeout=20, check=False)
        if inside.returncode != 0 or inside.stdout.strip() != "true":
            return None
        head = subprocess.run([git, "rev-parse", "--verify", "-q", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=20, check=False)
        status = subprocess.run([git, "status", "--porcelain", "--untracked-files=normal"], cwd=cwd,
                                capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip() if head.returncode == 0 and head.stdout.strip() else None
    return {"commit": commit, "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


def versions() -> dict:
    out: dict = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def build_manifest(run: Run, rootpath: Path, git: dict | None, invocation: list[str]) -> dict:
    from .render import counts_line, lab_time_line, steps_line

    features: dict[str, str] = {}
    for r in run.scenarios:
        if r.feature_abs and r.feature_file not in features:
            try:
                features[r.feature_file] = sha256_file(Path(r.feature_abs))
            except OSError:
                features[r.feature_file] = None
    lab_rel = None
    if run.lab_path:
        try:
            lab_rel = Path(run.lab_path).resolve().relative_to(rootpath.resolve()).as_posix()
        except ValueError:
            lab_rel = run.lab_path
    return {
        "format": "labsim-signoff/1",
        "run_id": run.run_id,
        "verdict": run.verdict,
        "reasons": run.reasons,
        "not_run": [{"scenario": name, "why": why} for name, why in run.unselected],
        "git": git,
        "lab": {"path": lab_rel, "name": run.lab_name, "sha256": run.lab_sha256},
        "features": [{"path": p, "sha256": h} for p, h in sorted(features.items())],
        "target": run.target,
        "sim_seed": run.sim_seed,
        "operator": run.operator,
        "started": rfc3339(run.started),
        "finished": rfc3339(run.finished),
        "versions": versions(),
        "tools": {"ssh-keygen": "present" if shutil.which("ssh-keygen") else None},
        "lab_versions": dict(sorted(run.lab_versions.items())),
        "counts": {"scenarios": run.counts(), "steps": run.step_counts(), "tests": run.counts("test")},
        "summary": {"scenarios": counts_line(run), "steps": steps_line(run), "lab_time": lab_time_line(run)},
        "lab_time": _lab_time(run),
        "deviations": run.deviations,
        "waivers": [dict(w.as_dict(), expired=w.expired(run.today), applied_to=list(w.matched))
                    for w in run.waivers],
        "invocation": invocation,
        "platform": {"system": platform.system(), "machine": platform.machine(), "python": sys.version.split()[0]},
        "scenarios": [r.to_dict() for r in run.records.values()],
    }


def _lab_time(run: Run) -> dict:
    seconds, n, clock = run.lab_time()
    return {"seconds": round(seconds, 3), "scenarios": n, "clock": clock}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def _principal(operator: str) -> str:
    p = re.sub(r"[^A-Za-z0-9._@+-]", "_", operator or "signoff") or "signoff"
    return p if "@" in p else f"{p}@{NAMESPACE}"


def public_key(key: Path) -> str:
    """``type base64`` of the public half of an ssh private key (from KEY.pub, else ``ssh-keygen -y``)."""
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        raise RuntimeError("ssh-keygen is not installed (openssh-client)")
    pub = Path(str(key) + ".pub")
    if pub.is_file():
        text = pub.read_text(encoding="utf-8").strip()
    else:
        r = subprocess.run([keygen, "-y", "-f", str(key)], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           timeout=30, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"cannot read the key: {_last_line(r.stderr)}")
        text = r.stdout.strip()
    fields = text.split()
    if len(fields) < 2:
        raise RuntimeError(f"unexpected public key format for {key}")
    return f"{fields[0]} {fields[1]}"


def write_signer(key: Path, operator: str, writer: BundleWriter) -> None:
    """Write the public key and allowed_signers (both covered by SHA256SUMS); sign_sums signs afterwards."""
    keytext = public_key(key)
    writer.text(PUBKEY, keytext + f" {_principal(operator)}\n")
    writer.text(ALLOWED, f'{_principal(operator)} namespaces="{NAMESPACE}" {keytext}\n')


def sign_sums(root: Path, key: Path) -> None:
    keygen = shutil.which("ssh-keygen") or "ssh-keygen"
    sig = root / SIG
    if sig.exists():
        sig.unlink()
    r = subprocess.run([keygen, "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(root / SUMS)],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60, check=False)
    if r.returncode != 0 or not sig.is_file():
        raise RuntimeError(f"ssh-keygen -Y sign failed: {_last_line(r.stderr)}")


def write_bundle(run: Run, outdir: Path, redactor: Redactor, rootpath: Path, signing_key: Path | None = None,
                 invocation: list[str] | None = None) -> Path:
    root = Path(outdir) / run.run_id
    if root.exists():
        raise FileExistsError(f"bundle directory already exists: {root}")
    root.mkdir(parents=True)
    try:
        _write(run, root, redactor, rootpath, signing_key, invocation)
    except BaseException:
        # never leave a half-written directory that looks like a bundle
        shutil.rmtree(root.with_name(root.name + ".incomplete"), ignore_errors=True)
        root.rename(root.with_name(root.name + ".incomplete"))
        raise
    return root


def _write(run: Run, root: Path, redactor: Redactor, rootpath: Path, signing_key: Path | None,
           invocation: list[str] | None) -> None:
    from .html_report import render_html
    from .render import cucumber_json, junit_xml, summary_md

    w = BundleWriter(root, redactor)
    manifest = build_manifest(run, rootpath, run.git, invocation or [])
    # evidence first: files the report links to
    for rec in run.records.values():
        for att in rec.attachments:
            w.data(att.path, att.data, att.is_text, compress=att.compressed)
        if rec.topology is not None and rec.topology_path:
            w.json(rec.topology_path, rec.topology)
        for tl in rec.timelines:
            if tl.path:
                w.json(tl.path, {"name": tl.name, "kind": tl.kind, "scenario": rec.full_name, "points": tl.points})
    waivers_text = run.waivers_text if run.waivers_text is not None else "[]\n"
    w.text("waivers.yaml", waivers_text if waivers_text.strip() else "[]\n")
    w.json("manifest.json", manifest)
    w.json("cucumber.json", cucumber_json(run))
    w.text("junit.xml", junit_xml(run))
    w.text("summary.md", summary_md(run, manifest))
    w.text("report.html", render_html(run, manifest))
    if signing_key is not None:
        write_signer(signing_key, run.operator, w)
    write_sums(root)
    if signing_key is not None:
        sign_sums(root, signing_key)
