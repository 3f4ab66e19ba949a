"""The command-line tools a lab needs on the operator's workstation, and how each reports its version.

Used twice: by the preflight of `make lab-verify` (a subprocess per tool, before any scenario) and by
the workstation host checks (the same commands through testinfra's `local` backend). The version
commands are each tool's own client-only form, so none of them contacts a cluster.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

# tool -> the command that prints its client version (no cluster contacted)
VERSION_COMMANDS: dict[str, list[str]] = {
    "talosctl": ["talosctl", "version", "--client", "--short"],
    "helm": ["helm", "version", "--short"],
    "cilium": ["cilium", "version", "--client"],   # the cilium-cli's own version (first line)
    "kubectl": ["kubectl", "version", "--client"],
    "kind": ["kind", "version"],
    "docker": ["docker", "version", "--format", "{{.Client.Version}}"],
}

# Which tools scenarios of a system need, when the lab file pins none (`tools:` empty or silent).
SYSTEM_TOOLS: dict[str, tuple[str, ...]] = {
    "talos": ("talosctl", "kubectl"),
    "mesh": ("cilium", "kubectl"),
    "ceph": ("helm", "kubectl"),
}

_VERSION = re.compile(r"v?(\d+(?:\.\d+){1,2})")


@dataclass(frozen=True)
class ToolCheck:
    tool: str
    expected: str | None   # the lab file's spec, None: any version
    found: str | None      # the version the tool reported, None: not on PATH or no version printed
    ok: bool
    message: str


def parse_version(text: str) -> str | None:
    """The first dotted version in a tool's output (`Client Version: v1.34.1` -> `1.34.1`)."""
    m = _VERSION.search(text or "")
    return m.group(1) if m else None


def _tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def matches(spec: str | None, found: str) -> bool:
    """`1.11.3` exactly, `1.11` any 1.11.x, `>=1.33` at least; None accepts any version."""
    if spec is None:
        return True
    spec = spec.strip().lstrip("v")
    if spec.startswith(">="):
        want = _tuple(spec[2:].strip().lstrip("v"))
        have = _tuple(found)
        return have + (0,) * (len(want) - len(have)) >= want
    want = _tuple(spec)
    return _tuple(found)[: len(want)] == want


Runner = Callable[[list[str]], tuple[int, str]]


def subprocess_runner(path: str | None = None, timeout: float = 10.0) -> Runner:
    """Run a version command on this machine (PATH from `path` when given)."""
    def run(cmd: list[str]) -> tuple[int, str]:
        exe = shutil.which(cmd[0], path=path)
        if exe is None:
            return 127, ""
        try:
            p = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 126, str(exc)
        return p.returncode, p.stdout + p.stderr
    return run


def check_tool(tool: str, expected: str | None, run: Runner) -> ToolCheck:
    rc, out = run(VERSION_COMMANDS[tool])
    if rc == 127:
        return ToolCheck(tool, expected, None, False, f"{tool} is not on PATH")
    found = parse_version(out)
    if found is None:
        first = (out.strip().splitlines() or [f"exit status {rc}"])[0]
        return ToolCheck(tool, expected, None, False, f"{tool} printed no version ({first[:120]})")
    if not matches(expected, found):
        return ToolCheck(tool, expected, found, False, f"{tool} is {found}, the lab file expects {expected}")
    want = f" (expected {expected})" if expected else ""
    return ToolCheck(tool, expected, found, True, f"{tool} {found}{want}")


def needed_tools(pinned: dict[str, str | None], systems: set[str]) -> dict[str, str | None]:
    """Tools to check: every tool the lab file pins when the workstation itself is checked (`tools` in
    systems), else the pinned or default tools of the systems the run touches."""
    if "tools" in systems:
        return dict(pinned)
    out: dict[str, str | None] = {}
    for system in sorted(systems):
        for tool in SYSTEM_TOOLS.get(system, ()):
            out[tool] = pinned.get(tool)
    return out
