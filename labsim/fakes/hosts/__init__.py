"""The simulated lab's SSH face: one SSH server on 127.0.0.1 per host a lab file lets us log in to
(Proxmox nodes and `hosts:` with an `ssh:` section), each in front of a simulated Linux host.

    face = start_hosts(inventory, world, clock, secrets)
    face.endpoints()["pi-master-01"]   # {"host": "127.0.0.1", "port": ..., "user": "pi", "key_file": ...}
    face.machines["pi-worker-01"].set_unit("rke2-agent", active=False)   # a fault
    face.stop()

Keys are invented per run and written, owner-only, to a temporary directory together with a
known_hosts file of the hosts' keys: a simulated lab never reads an engineer's real key files.
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import paramiko

from labsim.fakes.hosts.build import build_machines
from labsim.fakes.hosts.machine import Machine
from labsim.fakes.hosts.server import SshServer

__all__ = ["HostsFace", "Machine", "start_hosts"]


def _ssh_specs(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """name -> the `ssh:` section of every Proxmox node and host that has one."""
    out = {}
    for node in (raw.get("proxmox") or {}).get("nodes") or []:
        if node.get("ssh"):
            out[str(node["name"])] = dict(node["ssh"])
    for h in raw.get("hosts") or []:
        if h.get("ssh"):
            out[str(h["name"])] = dict(h["ssh"])
    return out


class HostsFace:
    def __init__(self, raw: Mapping[str, Any], secrets: Mapping[str, str], world: Any = None):
        self.dir = Path(tempfile.mkdtemp(prefix="labsim-ssh-"))
        self.dir.chmod(0o700)
        pve = getattr(world, "proxmox", None)   # the world's live PVE nodes, when it has them

        def live(node: str) -> Any:
            return pve.nodes[node].network if pve is not None and node in pve.nodes else None

        self.machines: dict[str, Machine] = build_machines(raw, secrets, live)
        self.specs = _ssh_specs(raw)
        self.servers: dict[str, SshServer] = {}
        self._key_files: dict[str, Path] = {}
        self._ref_files: dict[str, Path] = {}
        client_keys: dict[str, paramiko.PKey] = {}
        for name, spec in self.specs.items():
            if name not in self.machines:
                continue
            ref = spec.get("key")
            key = None
            if ref or not spec.get("password"):   # key login (a per-run key stands in for the referenced one)
                key = client_keys.setdefault(ref or f"key:{name}", paramiko.ECDSAKey.generate())
                self._key_files[name] = self._write_key(ref or f"key:{name}", key)
            password = secrets.get(spec["password"]) if spec.get("password") else None
            machine = self.machines[name]
            nic = (name, machine.nic)
            reachable = (lambda end=nic: world.link_up(end)) if world is not None and hasattr(world, "link_up") else (lambda: True)
            self.servers[name] = SshServer(machine, username=str(spec.get("user", "root")),
                                           host_key=paramiko.ECDSAKey.generate(), client_key=key,
                                           password=password, reachable=reachable)

    def _write_key(self, ref: str, key: paramiko.PKey) -> Path:
        """One private key file per secret reference (hosts sharing a reference share the key)."""
        if ref not in self._ref_files:
            path = self.dir / f"id-{len(self._ref_files)}"
            key.write_private_key_file(str(path))
            path.chmod(0o600)
            self._ref_files[ref] = path
        return self._ref_files[ref]

    def start(self) -> HostsFace:
        for srv in self.servers.values():
            srv.start()
        lines = [f"[{s.host}]:{s.port} {s.host_key.get_name()} {s.host_key.get_base64()}" for s in self.servers.values()]
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text("\n".join(lines) + "\n")
        return self

    def stop(self) -> None:
        for srv in self.servers.values():
            srv.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def endpoints(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, srv in self.servers.items():
            spec = self.specs[name]
            key = self._key_files.get(name)
            out[name] = {"host": srv.host, "port": srv.port, "user": srv.username,
                         "key_file": str(key) if key else None, "password": srv.password,
                         "known_hosts": str(self.known_hosts), "sudo": bool(spec.get("sudo", True)) and srv.username != "root"}
        return out

    def writes(self) -> dict[str, int]:
        return {name: m.writes for name, m in self.machines.items()}

    def counters(self) -> dict[str, dict[str, int]]:
        """Per host: SSH sessions accepted, commands run, state changes (a read-only run leaves 0)."""
        return {name: {"sessions": srv.sessions, "commands": self.machines[name].commands,
                       "writes": self.machines[name].writes} for name, srv in self.servers.items()}


def start_hosts(inventory: Any, world: Any = None, clock: Any = None, secrets: Mapping[str, str] | None = None) -> HostsFace:
    """Start an SSH server per SSH-reachable host of `inventory` (a `labsim.fakes.inventory.Inventory`).
    The clock is accepted for symmetry with the other faces: host state does not change with time."""
    return HostsFace(inventory.raw, dict(secrets or {}), world).start()
