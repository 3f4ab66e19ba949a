"""Lab checkpoints: a simulated lab, and what a scenario keeps beside it, copied at a quiet moment (between two
steps) and brought back to life later, as often as needed, each restore a lab of its own.

    cp = take((lab, other_state), dirs=[workdir])   # the lab keeps running; cp is a frozen copy
    ...                                             # the lab is stopped (its ports and files released)
    lab2, other2 = restore(cp)                      # a new copy, files back in place; then lab2.revive()

What is copied: every object the root reaches (the world, the clock and its timeline, every face's state, the
closures the world keeps as callbacks, with the objects they close over), frozen once as a pickle stream in memory
and thawed for each restore. What is not: live operating-system resources. Threads, sockets, selectors, open files
and child processes become None in the copy (the faces open new ones when revived: `SimulatedLab.revive`); locks and
conditions become new, free ones; classes, modules, code, TLS contexts and keys are shared (never changed once made),
and so is what a class marks `__checkpoint_keep__` (the process's tools' zygote).

A restored lab listens on the ports the checkpointed lab had and keeps its files at the same paths, so every URL,
kubeconfig, talosconfig and CA path the copy holds stays right without rewriting: a restore needs the lab it was
taken from to be stopped first (scenarios run one after another), and says why when it cannot (`Unrestorable`).
Between restores the ports are held (`HOLDS`), so that no other process takes them in the meantime.
"""
from __future__ import annotations

import contextlib
import copy
import io
import ipaddress
import os
import pickle
import re
import select
import selectors
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import types
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Iterable, Iterator

# Temporary folders the simulated lab and the provisioners create (CAs, kubeconfigs, SSH keys, the workdir) all
# start with this: a checkpoint keeps the ones its root names.
TEMP_PREFIX = "labsim-"


# Folders of what a process keeps for all its labs (the tools' zygote's socket): a lab names them, a checkpoint
# never copies them.
PROCESS_DIRS: set[str] = set()


class Unrestorable(Exception):
    """The checkpoint cannot come back here and now (its ports or folders are taken): build the lab afresh."""


@dataclass
class Checkpoint:
    """A root frozen as a pickle stream (what it shares with every copy kept aside), and the files of the temporary
    folders it names."""

    frozen: bytes
    shared: list[Any]                                                         # kept by reference, not copied
    files: dict[str, tuple[int, bytes | None]] = field(default_factory=dict)   # path -> (mode, bytes; None: a folder)
    dirs: list[str] = field(default_factory=list)                             # the top folders, in creation order
    ports: list[tuple[str, int]] = field(default_factory=list)                # (host, port) the copy listens on

    def __repr__(self) -> str:
        return f"<Checkpoint: {len(self.frozen)} bytes, {len(self.shared)} shared, {len(self.files)} files>"


_COPYING = threading.Lock()     # the copy rules below are process-wide while a copy runs


def take(root: Any, dirs: Iterable[str | Path] = (), ports: Iterable[tuple[str, int]] = ()) -> Checkpoint:
    """A frozen copy of `root` and the files of every temporary folder it names (and of `dirs`); `ports` are the
    (host, port) its copies listen on again. Call it while nothing changes the root: between two steps, holding the
    lab clock's lock."""
    shared: list[Any] = []
    buf = io.BytesIO()
    with _COPYING, _rules():
        _Freezer(buf, shared).dump(root)
    frozen = buf.getvalue()
    found = _temp_dirs(frozen)
    for d in dirs:
        found.setdefault(str(Path(d)), None)
    cp = Checkpoint(frozen, shared, ports=list(ports))
    for top in found:
        _read_tree(Path(top), cp)
    return cp


def restore(cp: Checkpoint) -> Any:
    """A new copy of the checkpoint's root, its files written back where they were. The copy's faces are not
    running yet (`SimulatedLab.revive`)."""
    taken = [d for d in cp.dirs if os.path.lexists(d)]
    if taken:
        raise Unrestorable(f"the checkpoint's folder {taken[0]} still exists (is the lab it was taken from running?)")
    for path, (mode, data) in cp.files.items():   # in the order read: each folder before what it holds
        if data is None:
            os.makedirs(path, exist_ok=True)
            os.chmod(path, stat.S_IMODE(mode))
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IMODE(mode))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
    return thaw(cp)


def thaw(cp: Checkpoint) -> Any:
    """A new copy of the checkpoint's root (no files written)."""
    global _THAWING
    with _COPYING, _rules():
        _THAWING = cp.shared
        try:
            return pickle.loads(cp.frozen)
        finally:
            _THAWING = []


class PortHolds:
    """The ports that kept checkpoints' labs listen on again, held between restores by a socket bound to each (never
    listening) while no lab of this process listens there. Every other bind, and the kernel's choice of a port for a
    client's connection or for port 0, passes a bound port by; without a hold, another process (the labs of another
    xdist worker, their clients' connections) takes one in the meantime, and the restore is `Unrestorable`."""

    def __init__(self) -> None:
        self._wanted: Counter[tuple[str, int]] = Counter()
        self._held: dict[tuple[str, int], socket.socket] = {}
        self._lock = threading.Lock()

    def keep(self, cp: Checkpoint) -> None:
        """`cp` is kept for later restores: hold its ports whenever they are free (`hold`)."""
        with self._lock:
            self._wanted.update(cp.ports)

    def drop(self, cp: Checkpoint) -> None:
        """`cp` is no longer kept: its ports go back to everyone (unless another kept checkpoint wants them)."""
        with self._lock:
            self._wanted.subtract(cp.ports)
            for addr in [a for a, n in self._wanted.items() if n <= 0]:
                del self._wanted[addr]
                self._close(addr)

    def hold(self) -> None:
        """Hold every wanted port that is free now: call it right after a lab of this process stopped listening."""
        with self._lock:
            for addr in self._wanted:
                if addr in self._held:
                    continue
                host, port = addr
                family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                # as the faces bind: past the stopped lab's connections in TIME_WAIT. The kernel still passes a
                # port bound this way by when it picks one for port 0 or for a connection.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(addr)
                except OSError:     # a running lab, or another process, has it: that restore may be Unrestorable
                    sock.close()
                    continue
                self._held[addr] = sock

    def release(self, ports: Iterable[tuple[str, int]]) -> None:
        """Let go of `ports`, for a restored lab to listen on them now."""
        with self._lock:
            for addr in ports:
                self._close(tuple(addr))

    def held(self) -> set[tuple[str, int]]:
        with self._lock:
            return set(self._held)

    def _close(self, addr: tuple[str, int]) -> None:
        sock = self._held.pop(addr, None)
        if sock is not None:
            sock.close()


HOLDS = PortHolds()     # this process's: the kept checkpoints are per process


def remove_files(cp: Checkpoint) -> None:
    """Remove the folders a restore wrote (when the restored root could not be used)."""
    import shutil
    for d in cp.dirs:
        shutil.rmtree(d, ignore_errors=True)


# --- the copy ---------------------------------------------------------------------------------------------------------
# A pickle stream in memory, not copy.deepcopy: the C pickler walks the lab's ~40,000 dicts and lists several times
# faster, and a restore only unpickles. What pickle cannot or must not copy is said here (`_Freezer.reducer_override`).
_THAWING: list[Any] = []


def _shared(i: int) -> Any:
    return _THAWING[i]


def _deep(i: int) -> Any:
    """An object that defines its own deepcopy (a pydantic model, the kubernetes client's Configuration): a copy of
    the copy taken with the checkpoint."""
    return copy.deepcopy(_THAWING[i])


def _nothing() -> None:
    return None


def _empty_function(fn: types.FunctionType) -> types.FunctionType:
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, None,
                             tuple(types.CellType() for _ in fn.__closure__ or ()) or None)
    new.__qualname__, new.__module__, new.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    return new


_UNBOUND = object()


def _function_state(new: types.FunctionType, state: tuple) -> None:
    contents, defaults, kwdefaults, attrs = state
    for cell, value in zip(new.__closure__ or (), contents):
        if value is not _UNBOUND:
            cell.cell_contents = value
    new.__defaults__, new.__kwdefaults__ = defaults, kwdefaults
    new.__dict__.update(attrs)


def _cell_contents(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:       # a free variable not bound yet
        return _UNBOUND


_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())
# Live resources: threads (a paramiko Transport is one), sockets, selectors, child processes, open files
_GONE = (threading.Thread, socket.socket, selectors.BaseSelector, subprocess.Popen, io.IOBase,
         getattr(select, "epoll", type(None)))
# Shared with every copy: what never changes once made
_KEPT = (type, types.ModuleType, types.CodeType, types.BuiltinFunctionType, ssl.SSLContext)


class _Freezer(pickle.Pickler):
    def __init__(self, file: io.BytesIO, shared: list[Any]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def _keep(self, obj: Any) -> tuple:
        self.shared.append(obj)
        return (_shared, (len(self.shared) - 1,))

    def reducer_override(self, obj: Any) -> Any:
        t = type(obj)
        if t is types.FunctionType:
            if obj.__closure__ is None and not obj.__defaults__ and not obj.__kwdefaults__:
                # by name where pickle can find it again (this module's own helpers too), else kept
                return NotImplemented if "<" not in obj.__qualname__ else self._keep(obj)
            # a closure closes over objects of the lab (`lambda: self.mesh.start()`): the copy over their copies
            state = (tuple(_cell_contents(c) for c in obj.__closure__ or ()), obj.__defaults__, obj.__kwdefaults__,
                     dict(obj.__dict__))
            self.shared.append(obj)
            return (_empty_function, (_shared_ref(len(self.shared) - 1),), state, None, None, _function_state)
        if isinstance(obj, PurePath):    # whole, so the folders it names can be found in the stream (_temp_dirs)
            return (t, (str(obj),))
        if t is _LOCK:
            return (threading.Lock, ())
        if t is _RLOCK:
            return (threading.RLock, ())
        if t is threading.Condition:
            # a Condition keeps its lock's bound methods: a new one over the copied lock
            return (threading.Condition, (obj._lock,))
        if isinstance(obj, _GONE):
            return (_nothing, ())
        if isinstance(obj, _KEPT) or t.__module__.startswith("cryptography") or getattr(t, "__checkpoint_keep__", 0):
            return self._keep(obj)
        if getattr(t, "__deepcopy__", None) is not None:
            self.shared.append(copy.deepcopy(obj))      # its own copy now: the original goes on changing
            return (_deep, (len(self.shared) - 1,))
        return NotImplemented


class _shared_ref:
    """Unpickles to a shared object (the original of a closure, whose code and globals the copy reuses)."""

    def __init__(self, i: int) -> None:
        self.i = i

    def __reduce__(self) -> tuple:
        return (_shared, (self.i,))


def _none(x: Any, memo: dict[int, Any] | None = None) -> None:
    return None


def _same(x: Any, memo: dict[int, Any] | None = None) -> Any:
    return x


def _function(fn: types.FunctionType, memo: dict[int, Any]) -> Any:
    """A closure closes over objects of the lab (`lambda: self.mesh.start()`): the copy closes over their copies.
    A function without free variables or defaults is shared, as deepcopy shares any function."""
    if fn.__closure__ is None and not fn.__defaults__ and not fn.__kwdefaults__:
        return fn
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, None,
                             tuple(types.CellType() for _ in fn.__closure__ or ()) or None)
    memo[id(fn)] = new
    for old_cell, new_cell in zip(fn.__closure__ or (), new.__closure__ or ()):
        try:
            contents = old_cell.cell_contents
        except ValueError:       # a free variable not bound yet
            continue
        new_cell.cell_contents = copy.deepcopy(contents, memo)
    new.__defaults__ = copy.deepcopy(fn.__defaults__, memo)
    new.__kwdefaults__ = copy.deepcopy(fn.__kwdefaults__, memo)
    new.__dict__.update(copy.deepcopy(fn.__dict__, memo))
    new.__qualname__, new.__module__, new.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    return new


# deepcopy's rules, for the objects that define their own deepcopy (copied inside a freeze: `_deep`)
_DISPATCH: dict[type, Any] = {
    _LOCK: lambda x, memo: threading.Lock(),
    _RLOCK: lambda x, memo: threading.RLock(),
    # a Condition keeps its lock's bound methods, which deepcopy would share with the original: a new one
    threading.Condition: lambda c, memo: threading.Condition(copy.deepcopy(c._lock, memo)),
    ssl.SSLContext: _same,
    types.ModuleType: _same,        # a closure over a module (`import yaml` inside a function)
    types.FunctionType: _function,
    **{t: _none for t in (io.BufferedReader, io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper, io.FileIO,
                          io.BytesIO, getattr(select, "epoll", type(None)))},
}
# Live resources of Python classes, and their subclasses (a paramiko Transport is a Thread)
_DEEP_GONE = (threading.Thread, socket.socket, selectors.BaseSelector, subprocess.Popen)


@contextlib.contextmanager
def _rules() -> Iterator[None]:
    saved = {t: copy._deepcopy_dispatch.get(t) for t in _DISPATCH}   # type: ignore[attr-defined]
    copy._deepcopy_dispatch.update(_DISPATCH)                         # type: ignore[attr-defined]
    for cls in _DEEP_GONE:
        cls.__deepcopy__ = _none                                      # type: ignore[attr-defined]
    try:
        yield
    finally:
        for cls in _DEEP_GONE:
            del cls.__deepcopy__                                      # type: ignore[attr-defined]
        for t, fn in saved.items():
            if fn is None:
                copy._deepcopy_dispatch.pop(t, None)                  # type: ignore[attr-defined]
            else:
                copy._deepcopy_dispatch[t] = fn                       # type: ignore[attr-defined]


# --- files -------------------------------------------------------------------------------------------------------------
def _temp_dirs(frozen: bytes) -> dict[str, None]:
    """The temporary folders (`<tmp>/labsim-*`) the frozen root names, as paths or inside strings."""
    tmp = tempfile.gettempdir().rstrip(os.sep) + os.sep
    found: dict[str, None] = {}
    for m in re.finditer(re.escape((tmp + TEMP_PREFIX).encode()) + rb"[A-Za-z0-9_.-]+", frozen):
        path = m.group().decode()
        if path not in PROCESS_DIRS and os.path.isdir(path):
            found.setdefault(path, None)
    return found


def _read_tree(top: Path, cp: Checkpoint) -> None:
    if not top.is_dir() or str(top) in cp.dirs:
        return
    cp.dirs.append(str(top))
    for dirpath, dirnames, filenames in os.walk(top):
        cp.files[dirpath] = (os.stat(dirpath).st_mode, None)
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    cp.files[path] = (st.st_mode, f.read())
