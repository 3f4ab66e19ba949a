"""A fork server for the fake command-line tools, so each run costs a fork instead of a Python start-up.

A real `talosctl` or `helm` starts in milliseconds; a fake one would spend ~0.2 s importing its Python modules,
and a provisioning run calls them some eighty times. The zygote imports them once; each tool run is still its
own process, with the caller's argv, environment, working directory and standard streams, and its exit code:

    launcher (labsim/fakes/bin/<tool>)  --unix socket: marshal {tool, argv, env, cwd} + fds 0,1,2-->  zygote  --fork-->  main(argv)
    launcher exits with the code the child exited with

`LABSIM_ZYGOTE` names the socket (labsim/fakes/tools/launch.py is the launchers' side); without it, or when nothing
listens, the launchers run the tool themselves.
The zygote forks from its one main thread; the simulated labs of a process share one (`Zygote.shared()`), and
`Zygote.start()` / `.stop()` manage any other. Requests are
read without blocking, several at a time (a selector): a connection that sends nothing, or half a request, delays
no other tool and is dropped after `REQUEST_TIMEOUT`.
"""
from __future__ import annotations

import atexit
import contextlib
import importlib
import marshal
import os
import selectors
import signal
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

from labsim.fakes.tools.launch import at

TOOLS = {"talosctl": "labsim.fakes.tools.talosctl", "helm": "labsim.fakes.tools.helm", "cilium": "labsim.fakes.tools.cilium"}
HEADER = 4
MAX = 16 * 1024 * 1024
REQUEST_TIMEOUT = 10.0     # a launcher sends its whole request at once: anything slower is not one
MAX_PENDING = 64           # requests being read at once


class _Pending:
    """A request being read: its bytes and the caller's stdio descriptors (SCM_RIGHTS, with the first bytes)."""

    def __init__(self, conn: socket.socket):
        self.conn = conn
        self.buf = b""
        self.fds: list[int] = []
        self.deadline = time.monotonic() + REQUEST_TIMEOUT

    def drop(self) -> None:
        for fd in self.fds:      # the caller's stdio: kept open here, its subprocess.run would wait forever
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.conn.close()

    def read(self) -> dict | None:
        """Read what has arrived; the request once complete, None while incomplete. Raises on a bad one."""
        data, fds, _, _ = socket.recv_fds(self.conn, 65536, 3)
        self.fds += fds
        if len(self.fds) > 3:
            raise ValueError("more descriptors than stdin, stdout and stderr")
        if not data:
            raise ConnectionError("launcher went away")
        self.buf += data
        if len(self.buf) < HEADER:
            return None
        size = int.from_bytes(self.buf[:HEADER], "big")
        if size > MAX:
            raise ValueError("request too large")
        if len(self.buf) < HEADER + size:
            return None
        req = marshal.loads(self.buf[HEADER:HEADER + size])   # a launcher of this checkout (launch.py)
        if not isinstance(req, dict) or req.get("tool") not in TOOLS or len(self.fds) != 3:
            raise ValueError("not a launcher's request")
        return req


def _child(req: dict, fds: list[int]) -> None:
    for i, fd in enumerate(fds[:3]):
        os.dup2(fd, i)
    # nothing else of the zygote's: other runs' sockets held here would keep their launchers waiting
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    sys.argv = list(req["argv"])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    rc = 1
    try:
        rc = importlib.import_module(TOOLS[req["tool"]]).main(sys.argv[1:]) or 0
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - a crash of the tool, as its own process would print it
        import traceback
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(rc)


def _reap(conn: socket.socket, pid: int) -> None:
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    try:
        conn.sendall(f"{code if code >= 0 else 128 - code}\n".encode())
    except OSError:
        pass
    conn.close()


def serve(path: str, parent: int | None = None) -> None:
    """`parent`: the lab's process; the zygote ends with it (given by `Zygote.start`, since the lab may already
    be gone when this process starts, and then its parent pid is no longer the lab's)."""
    imported = False        # on the first run: a lab that never runs a tool pays nothing but this process
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    at(path, srv.bind)
    srv.listen(64)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    parent = os.getppid() if parent is None else parent
    pending: dict[socket.socket, _Pending] = {}
    while True:
        now = time.monotonic()
        wait = min([1.0] + [max(0.0, p.deadline - now) for p in pending.values()])
        events = sel.select(wait)
        if os.getppid() != parent:      # the lab's process is gone: so are we
            return
        for key, _ in events:
            if key.data is None:
                while len(pending) < MAX_PENDING:
                    try:
                        conn, _ = srv.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    conn.setblocking(False)
                    pending[conn] = _Pending(conn)
                    sel.register(conn, selectors.EVENT_READ, pending[conn])
                continue
            p: _Pending = key.data
            try:
                req = p.read()
            except (BlockingIOError, InterruptedError):
                continue
            except (OSError, ValueError, EOFError, TypeError, ConnectionError):
                sel.unregister(p.conn)
                del pending[p.conn]
                p.drop()
                continue
            if req is None:
                continue
            sel.unregister(p.conn)
            del pending[p.conn]
            if not imported:
                for module in TOOLS.values():
                    warm = getattr(importlib.import_module(module), "warm", None)
                    if warm is not None:
                        warm()
                imported = True
            p.conn.setblocking(True)
            pid = os.fork()
            if pid == 0:
                srv.close()
                p.conn.close()
                _child(req, p.fds)
            for fd in p.fds:
                os.close(fd)
            threading.Thread(target=_reap, args=(p.conn, pid), daemon=True).start()
        now = time.monotonic()
        for conn, p in list(pending.items()):
            if p.deadline <= now:
                sel.unregister(conn)
                del pending[conn]
                p.drop()


class Zygote:
    """A zygote process. The simulated labs of one process share one (`shared()`): a request carries everything of
    its lab (argv, environment, folder, streams), and the zygote keeps nothing between runs, so a lab started after
    another pays neither a Python start-up nor the tools' imports again."""

    __checkpoint_keep__ = True      # a lab checkpoint keeps it by reference (labsim/fakes/checkpoint.py)
    _process: ClassVar[Zygote | None] = None

    def __init__(self, python: str = sys.executable):
        self.dir = tempfile.mkdtemp(prefix="labsim-zygote-")
        self.path = str(Path(self.dir) / "tools.sock")
        self.python = python
        self.proc: subprocess.Popen | None = None
        self.pid = os.getpid()

    @classmethod
    def shared(cls) -> Zygote:
        """This process's zygote, started on first use and again if it died; stopped when the process exits."""
        z = cls._process
        if z is None or z.pid != os.getpid():     # a forked process makes its own
            from labsim.fakes.checkpoint import PROCESS_DIRS

            z = cls._process = cls().start()
            PROCESS_DIRS.add(z.dir)
            atexit.register(z.stop)
        elif z.proc is None or z.proc.poll() is not None:
            Path(z.dir).mkdir(mode=0o700, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(z.path)     # a dead zygote's socket: the new one binds the same path
            z.start()
        return z

    def start(self) -> Zygote:
        root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        # not awaited: until it listens, the launchers simply run their tool themselves
        self.proc = subprocess.Popen([self.python, "-m", "labsim.fakes.tools.zygote", self.path, str(os.getpid())],
                                     env=env, cwd=root,
                                     stdin=subprocess.DEVNULL)
        return self

    def wait_listening(self, timeout: float = 10.0) -> None:
        """For tests: until the socket accepts."""
        import time
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    at(self.path, s.connect)
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("the tools' zygote does not listen")

    def env(self) -> dict[str, str]:
        return {"LABSIM_ZYGOTE": self.path}

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)   # the socket, if it was ever made, and the folder


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
