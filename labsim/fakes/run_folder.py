"""One folder for everything a served lab writes that is secret: private keys, kubeconfigs, the CA, the tools'
socket, Talos secrets, helm homes.

`serve` makes `<tmp>/labsim-serve-<pid>-<random>` (mode 0700) and points `tempfile` (and `TMPDIR`, for its
children) at it, so every part of the simulated lab that makes a temporary folder makes it in there. It removes
the folder, and the endpoints file (the served credentials), on every way out: a normal stop, SIGTERM, SIGINT,
SIGHUP, an exception. A SIGKILL cannot be caught, so each new `serve` first removes the folders of served labs
whose process is gone (`sweep`), with their endpoints files when those still describe that lab.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

PREFIX = "labsim-serve-"
OWNER = "owner.json"


def _started(pid: int) -> str | None:
    """The process's start time (clock ticks since boot): with the pid, tells a reused pid from the owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = _started(pid)
    return started is None or now is None or now == started


class RunFolder:
    def __init__(self, base: str | Path | None = None):
        self.base = Path(base or tempfile.gettempdir())
        self.path = self.base / f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.path.mkdir(mode=0o700)
        self.endpoints: Path | None = None
        self._previous_tempdir: str | None = None
        self._write_owner()

    def _write_owner(self) -> None:
        owner = {"pid": os.getpid(), "started": _started(os.getpid()),
                 "endpoints": str(self.endpoints) if self.endpoints else None}
        (self.path / OWNER).write_text(json.dumps(owner))

    def own_endpoints(self, path: Path) -> None:
        """The endpoints file holds this lab's credentials: removed with the folder."""
        self.endpoints = path.resolve()
        self._write_owner()

    def adopt(self) -> None:
        """Every temporary folder this process and its children make goes in here from now on."""
        self._previous_tempdir = tempfile.tempdir
        tempfile.tempdir = str(self.path)
        os.environ["TMPDIR"] = str(self.path)

    def remove(self) -> None:
        if tempfile.tempdir == str(self.path):
            tempfile.tempdir = self._previous_tempdir
        if os.environ.get("TMPDIR") == str(self.path):
            os.environ.pop("TMPDIR")
        _remove(self.path, self.endpoints)

    @staticmethod
    def sweep(base: str | Path | None = None) -> list[Path]:
        """Remove the folders (and endpoints files) of served labs whose process is gone; return them."""
        removed = []
        root = Path(base or tempfile.gettempdir())
        for folder in root.glob(f"{PREFIX}*"):
            try:
                if not folder.is_dir() or folder.is_symlink() or folder.stat().st_uid != os.getuid():
                    continue
                owner = json.loads((folder / OWNER).read_text())
                pid = int(owner["pid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue   # not one of ours, or still being made
            if _alive(pid, owner.get("started")):
                continue
            endpoints = Path(owner["endpoints"]) if owner.get("endpoints") else None
            _remove(folder, endpoints)
            removed.append(folder)
        return removed


def _remove(folder: Path, endpoints: Path | None) -> None:
    if endpoints is not None:
        try:   # only while it still describes this lab: a later serve may have written the same path
            if json.loads(endpoints.read_text()).get("session", {}).get("run_folder") == str(folder):
                endpoints.unlink()
        except (OSError, ValueError, AttributeError):
            pass
    shutil.rmtree(folder, ignore_errors=True)
