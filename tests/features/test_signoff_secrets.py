"""End to end: a real feature run with planted secrets leaves no trace of them in its sign-off bundle.

The simulated lab takes ROUTEROS_PASSWORD and PVE_TOKEN_SECRET from the environment when they are set,
so the planted values really are the devices' passwords; the API transcript evidence carries every
login word, so the redaction is exercised, not assumed.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLANTED = {"ROUTEROS_PASSWORD": "planted-routeros-Secret-4711", "PVE_TOKEN_SECRET": "planted-pve-token-0815"}


def _content(path: Path) -> bytes:
    """What a reader of the bundle gets: compressed evidence (transcripts, *.gz) unpacked."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def test_no_planted_secret_anywhere_in_the_bundle(tmp_path):
    env = {**os.environ, **PLANTED}
    proc = subprocess.run([sys.executable, "-m", "pytest", "features/", "-q",
                           "-p", "no:cacheprovider", "-m", "fabric", "-k", "second_apply or refused", "--signoff", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    (bundle,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    files = [p for p in bundle.rglob("*") if p.is_file()]
    transcripts = [p for p in files if "api-transcript" in p.name]
    assert transcripts, "the run attached no API transcript"
    assert b"=password=[REDACTED]" in _content(transcripts[0])
    for path in files:
        data = _content(path)
        for name, value in PLANTED.items():
            assert value.encode() not in data, f"{name}'s value appears in {path.relative_to(bundle)}"
