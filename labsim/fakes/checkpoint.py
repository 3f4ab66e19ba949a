"""Lab checkpoints: a simulated lab, and what a scenario keeps beside it, copied at a quiet moment (between two
steps) and brought back to life later, as often as needed, each restore a lab of its own.

    cp = take((lab, other_state), dirs=[workdir])   # the lab keeps running; cp is a frozen copy
    ...                                             # the lab is stopped (its ports and files released)
    lab2, other2 = restore(cp)                      # a new copy, files back in place; then lab2.revive()

What is copied: every object the root reaches (the world, the clock and its timeline, every face's state, the
closures the world keeps as callbacks, with the objects they close over). What is not: live operating-system
resources. Threads, sockets, selectors, open files and child processes become None in the copy (the faces open
new ones when revived: `SimulatedLab.revive`); locks and conditions become new, free ones; TLS contexts are shared
(what they hold never changes after setup).

A restored lab listens on the ports the checkpointed lab had and keeps its files at the same paths, so every URL,
kubeconfig, talosconfig and CA path the copy holds stays right without rewriting: a restore needs the lab it was
taken from to be stopped first (scenarios run one after another), and says why when it cannot (`Unrestorable`).
"""
from __future__ import annotations

import contextlib
import copy
import io
import os
import select
import selectors
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Iterable, Iterator

# Temporary folders the simulated lab and the provisioners create (CAs, kubeconfigs, SSH keys, the workdir) all
# start with this: a checkpoint keeps the ones its root names.
TEMP_PREFIX = "labsim-"


class Unrestorable(Exception):
    """The checkpoint cannot come back here and now (its ports or folders are taken): build the lab afresh."""


@dataclass
class Checkpoint:
    """A frozen copy of a root, the files of the temporary folders it names, and when it was taken."""

    root: Any
    files: dict[str, tuple[int, bytes | None]] = field(default_factory=dict)   # path -> (mode, bytes; None: a folder)
    dirs: list[str] = field(default_factory=list)                             # the top folders, in creation order
    size: int = 0                                                             # objects copied

    def __repr__(self) -> str:
        return f"<Checkpoint of {type(self.root).__name__}: {self.size} objects, {len(self.files)} files>"


_COPYING = threading.Lock()     # the copy rules below are process-wide while a copy runs


def take(root: Any, dirs: Iterable[str | Path] = (), skip: Iterable[str | Path] = ()) -> Checkpoint:
    """A frozen copy of `root` and the files of every temporary folder it names (and of `dirs`; not of `skip`, the
    folders of what a restore makes anew). Call it while nothing changes the root: between two steps, holding the
    lab clock's lock."""
    memo: dict[int, Any] = {}
    named: list[str] = []          # strings that name a temporary folder (deepcopy keeps no note of strings)
    frozen = _copy(root, memo, named)
    found = _temp_dirs([*memo.values(), *named], {str(Path(d)) for d in skip})
    for d in dirs:
        found.setdefault(str(Path(d)), None)
    cp = Checkpoint(frozen, size=len(memo))
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
    return _copy(cp.root, {})


def remove_files(cp: Checkpoint) -> None:
    """Remove the folders a restore wrote (when the restored root could not be used)."""
    import shutil
    for d in cp.dirs:
        shutil.rmtree(d, ignore_errors=True)


# --- the copy -------------------------------------------------------------------------------------------------------
def _copy(root: Any, memo: dict[int, Any], named: list[str] | None = None) -> Any:
    with _COPYING, _rules():
        if named is not None:
            start = os.path.join(tempfile.gettempdir(), TEMP_PREFIX)

            def note(x: str, memo: dict[int, Any]) -> str:
                if start in x:
                    named.append(x)
                return x
            copy._deepcopy_dispatch[str] = note                      # type: ignore[attr-defined]
        try:
            return copy.deepcopy(root, memo)
        finally:
            copy._deepcopy_dispatch[str] = copy._deepcopy_atomic     # type: ignore[attr-defined]


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


_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())
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
_GONE = (threading.Thread, socket.socket, selectors.BaseSelector, subprocess.Popen)


@contextlib.contextmanager
def _rules() -> Iterator[None]:
    saved = {t: copy._deepcopy_dispatch.get(t) for t in _DISPATCH}   # type: ignore[attr-defined]
    copy._deepcopy_dispatch.update(_DISPATCH)                         # type: ignore[attr-defined]
    for cls in _GONE:
        cls.__deepcopy__ = _none                                      # type: ignore[attr-defined]
    try:
        yield
    finally:
        for cls in _GONE:
            del cls.__deepcopy__                                      # type: ignore[attr-defined]
        for t, fn in saved.items():
            if fn is None:
                copy._deepcopy_dispatch.pop(t, None)                  # type: ignore[attr-defined]
            else:
                copy._deepcopy_dispatch[t] = fn                       # type: ignore[attr-defined]


# --- files -------------------------------------------------------------------------------------------------------------
def _temp_dirs(values: Iterable[Any], skip: set[str]) -> dict[str, None]:
    """The temporary folders (`<tmp>/labsim-*`) the copied objects name, as paths or inside strings."""
    tmp = tempfile.gettempdir().rstrip(os.sep) + os.sep
    start = tmp + TEMP_PREFIX
    found: dict[str, None] = {}
    for v in values:
        if isinstance(v, PurePath):
            v = str(v)
        if isinstance(v, str) and start in v:
            rest = v[v.index(start) + len(tmp):]
            name = rest.split(os.sep, 1)[0].split()[0].rstrip("\"',;:)")
            path = tmp + name
            if os.path.isdir(path) and path not in skip:
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
