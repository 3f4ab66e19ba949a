"""One simulated Linux host behind an SSH face: files, systemd units, listening ports, users.

Only what host checks read is modelled: file metadata and contents (with Unix permissions, so a
root-only file needs sudo exactly as on the real host), units with their active/enabled state, the TCP
ports a unit listens on, and a few HTTPS endpoints local clients (curl) reach. Every change of state
(a unit stopped, a mode changed) counts in `writes`, so a read-only run can be shown to change nothing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Content = bytes | Callable[[], bytes]


@dataclass
class FileNode:
    kind: str                  # "file" or "dir"
    mode: int                  # permission bits, e.g. 0o640
    user: str = "root"
    group: str = "root"
    content: Content = b""
    mtime: int = 1_735_689_600  # 2025-01-01: hosts were provisioned before the run
    executable_name: str | None = None  # for binaries: what `command -v` finds

    def data(self) -> bytes:
        return self.content() if callable(self.content) else self.content


@dataclass
class Unit:
    active: bool = True
    enabled: bool = True
    ports: tuple[int, ...] = ()       # TCP ports it listens on (all addresses, v4 and v6) while active
    processes: tuple[str, ...] = ()   # process names it runs while active (ps -C)


@dataclass
class HttpAnswer:
    """What a local HTTPS endpoint answers while its port listens (status, body)."""

    port: int
    path: str
    status: int
    body: bytes


@dataclass
class Machine:
    name: str
    role: str                         # proxmox, rke2-server, rke2-agent or host
    nic: str = "eth0"
    arch: str = "x86_64"
    os_release: str = ""
    users: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=lambda: {"root": (0, ("root",))})
    files: dict[str, FileNode] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    http: list[HttpAnswer] = field(default_factory=list)
    closed_ports: set[int] = field(default_factory=set)   # fault: a port that no longer answers
    writes: int = 0
    commands: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # --- state -------------------------------------------------------------------------------------
    def add_file(self, path: str, content: Content = b"", *, mode: int = 0o644, user: str = "root",
                 group: str = "root") -> None:
        self._parents(path)
        self.files[path] = FileNode("file", mode, user, group, content)

    def add_dir(self, path: str, *, mode: int = 0o755, user: str = "root", group: str = "root") -> None:
        self._parents(path)
        self.files[path.rstrip("/") or "/"] = FileNode("dir", mode, user, group)

    def add_binary(self, path: str) -> None:
        self._parents(path)
        self.files[path] = FileNode("file", 0o755, content=b"\x7fELF", executable_name=path.rsplit("/", 1)[-1])

    def _parents(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        cur = ""
        for p in parts:
            cur += "/" + p
            self.files.setdefault(cur, FileNode("dir", 0o755))
        self.files.setdefault("/", FileNode("dir", 0o755))

    def node(self, path: str) -> FileNode | None:
        return self.files.get(path.rstrip("/") or "/")

    def listening(self) -> list[int]:
        """Ports that accept connections now: those of active units, minus ports a fault closed."""
        ports = {22}
        for unit in self.units.values():
            if unit.active:
                ports.update(unit.ports)
        return sorted(ports - self.closed_ports)

    def processes(self) -> list[str]:
        return [p for u in self.units.values() if u.active for p in u.processes]

    def which(self, name: str) -> str | None:
        for d in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            f = self.files.get(f"{d}/{name}")
            if f is not None and f.executable_name == name:
                return f"{d}/{name}"
        return None

    def can_read(self, user: str, path: str) -> bool:
        f = self.node(path)
        if f is None:
            return False
        uid, groups = self.users.get(user, (65534, ()))
        if uid == 0:
            return True
        if f.user == user:
            return bool(f.mode & 0o400)
        if f.group in groups:
            return bool(f.mode & 0o040)
        return bool(f.mode & 0o004)

    def is_root(self, user: str) -> bool:
        return self.users.get(user, (65534, ()))[0] == 0

    # --- changes (counted) --------------------------------------------------------------------------
    def set_unit(self, name: str, *, active: bool | None = None, enabled: bool | None = None) -> None:
        with self.lock:
            unit = self.units[name]
            if active is not None and unit.active != active:
                unit.active = active
                self.writes += 1
            if enabled is not None and unit.enabled != enabled:
                unit.enabled = enabled
                self.writes += 1

    def chmod(self, path: str, mode: int) -> None:
        with self.lock:
            self.files[path].mode = mode
            self.writes += 1

    def chown(self, path: str, user: str, group: str | None) -> None:
        with self.lock:
            f = self.files[path]
            f.user = user
            f.group = group or f.group
            self.writes += 1

    def close_port(self, port: int) -> None:
        """Fault: the port stops answering (a firewall rule, a listener that died) while its unit runs."""
        with self.lock:
            self.closed_ports.add(port)
