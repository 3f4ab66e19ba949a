"""A fake tool run from Python code (the provisioners' `Tools.run`), handed to the tools' zygote directly: what the
tool's launcher (labsim/fakes/bin/<tool>) would do, without starting the launcher.

A launcher is a shell that execs a bare Python, which sends the zygote its argv, environment, folder and streams and
waits for the exit code: about 10 ms of CPU per run, twice what the forked tool itself takes for a short command,
and a provisioning run of the mesh calls the tools hundreds of times. Handed off, the run is the same: its own
process, forked by the zygote, with the argv, environment (PWD as the shell sets it, the locale as Python coerces
it), folder and standard input the launcher would have given it; its output comes back through pipes, as
`subprocess.run(capture_output=True, text=True)` gives it. Without a zygote listening, the caller runs the launcher.
"""
from __future__ import annotations

import locale
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from labsim.fakes.control import BIN
from labsim.fakes.tools.launch import connect, exit_code, refused, send
from labsim.fakes.tools.zygote import TOOLS


def fake_tool(argv0: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(tool, launcher path) when `argv0` on the environment's PATH is one of the fake tools' launchers."""
    exe = shutil.which(argv0, path=env.get("PATH", os.defpath))
    if exe is None:
        return None
    name = Path(exe).name
    if name not in TOOLS or Path(exe).resolve().parent != BIN:
        return None
    return name, exe


def run(argv: list[str], env: Mapping[str, str], cwd: str | os.PathLike | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess | None:
    """The run as `subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)` of the
    tool's launcher would give it; None when `argv[0]` is not a fake tool or no zygote listens (then run it so)."""
    path = env.get("LABSIM_ZYGOTE")
    tool = fake_tool(argv[0], env) if path else None
    if tool is None:
        return None
    try:
        conn = connect(path)
    except OSError:
        return None
    name, exe = tool
    folder = os.path.abspath(cwd) if cwd is not None else os.getcwd()
    seen = dict(env)
    seen["PWD"] = folder                                   # dash sets it for the Python it execs
    if _coerced(seen):                                     # PEP 538, as the launcher's Python does on start
        seen["LC_CTYPE"] = "C.UTF-8"
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        # the launcher's argv[0] is its path, as the shell found it on PATH
        send(conn, {"tool": name, "argv": [exe, *argv[1:]], "env": seen, "cwd": folder}, (0, out_w, err_w))
    except OSError:
        conn.close()
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        return None
    os.close(out_w)
    os.close(err_w)
    try:
        out, err = _read(out_r, err_r, argv, timeout)
    except BaseException:       # a timeout: the run goes on in its own process, as a killed launcher's would
        conn.close()
        raise
    code = exit_code(conn).strip()
    if not code:     # refused, as the launcher says it
        err += refused(name, path).encode()
    enc = locale.getpreferredencoding(False)
    return subprocess.CompletedProcess(argv, int(code or b"1"), _text(out, enc), _text(err, enc))


def _coerced(env: Mapping[str, str]) -> bool:
    """Whether Python coerces this environment's C locale to C.UTF-8 (PEP 538): no LC_ALL, no opt-out, and the
    LC_CTYPE the environment gives (LC_CTYPE, else LANG) is C or POSIX."""
    if env.get("LC_ALL") or env.get("PYTHONCOERCECLOCALE") == "0":
        return False
    return (env.get("LC_CTYPE") or env.get("LANG") or "C") in ("C", "POSIX")


def _read(out_r: int, err_r: int, argv: list[str], timeout: float | None) -> tuple[bytes, bytes]:
    """Both pipes to their end (the tool's process, and anything it left running, closed them)."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    deadline = None if timeout is None else time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            sel.register(fd, selectors.EVENT_READ)
        try:
            while sel.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout, b"".join(chunks[out_r]), b"".join(chunks[err_r]))
                for key, _ in sel.select(left):
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        sel.unregister(key.fd)
        finally:
            os.close(out_r)
            os.close(err_r)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])


def _text(data: bytes, encoding: str) -> str:
    """What text=True makes of a stream (subprocess._translate_newlines)."""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
