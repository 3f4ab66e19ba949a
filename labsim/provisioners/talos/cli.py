"""Running the command-line tools (`talosctl`, `helm`) as subprocesses, with a transcript for evidence.

The environment comes from the target: the real PATH against a real lab, the fake tools' PATH and the
control API against the simulator. Lab code does not know which: it runs `talosctl ...` either way.
"""
from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

Spawn = Callable[[list[str], Mapping[str, str], "Path | None", float], "subprocess.CompletedProcess | None"]
DEFAULT_TIMEOUT = 3600.0   # real seconds: a `health --wait-timeout 20m` against a real lab may take that long


@dataclass
class Ran:
    argv: list[str]
    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


class ToolError(RuntimeError):
    def __init__(self, ran: Ran):
        self.ran = ran
        last = ran.stderr.strip() or ran.stdout.strip()
        super().__init__(f"`{shlex.join(ran.argv)}` exited {ran.rc}: {last}")


@dataclass
class Tools:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)   # holds secrets
    cwd: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    transcript: list[str] = field(default_factory=list)
    # how the target starts a tool itself, when it has a way of its own (the simulator hands its fake tools straight
    # to their fork server); None, or None back from it: a subprocess
    spawn: Spawn | None = field(default=None, repr=False)

    def run(self, argv: list[str], *, check: bool = True) -> Ran:
        try:
            p = self.spawn(argv, self.env, self.cwd, self.timeout) if self.spawn else None
            if p is None:
                p = subprocess.run(argv, env=dict(self.env), cwd=self.cwd, capture_output=True, text=True,
                                   timeout=self.timeout, check=False)
        except FileNotFoundError:
            raise ToolError(Ran(argv, 127, "", f"{argv[0]}: command not found")) from None
        ran = Ran(argv, p.returncode, p.stdout, p.stderr)
        self.transcript.append(f"$ {shlex.join(argv)}  # exit {ran.rc}\n{ran.output}".rstrip())
        if check and ran.rc != 0:
            raise ToolError(ran)
        return ran
