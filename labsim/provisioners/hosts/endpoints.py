"""How to log in to each host over SSH: from a simulated lab's endpoints JSON (`"hosts"`), or from the
lab file for a real lab (address, `ssh.user/port/key/password`, `reach` when a forward stands between).

Key references are used as files (`file:PATH` is the key file itself); an `env:` key or password is read
only when connecting. Nothing here prints a secret: `repr()` hides them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.lab.model import Lab, Ssh
from labsim.provisioners.lab.secrets import SecretRef


@dataclass(frozen=True)
class SshEndpoint:
    name: str
    host: str
    port: int
    user: str
    key_file: str | None = None
    key_ref: SecretRef | None = None          # an env: key, resolved when connecting
    password: str | None = field(default=None, repr=False)
    password_ref: SecretRef | None = None
    known_hosts: str | None = None            # None: the user's ~/.ssh/known_hosts
    sudo: bool = True

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def from_json(data: Mapping[str, Any]) -> dict[str, SshEndpoint]:
    """The `"hosts"` part of a simulated lab's endpoints."""
    return {name: SshEndpoint(name=name, host=ep["host"], port=int(ep["port"]), user=ep["user"],
                              key_file=ep.get("key_file"), password=ep.get("password"),
                              known_hosts=ep.get("known_hosts"), sudo=bool(ep.get("sudo", True)))
            for name, ep in (data or {}).items()}


def _endpoint(name: str, address: str, ssh: Ssh) -> SshEndpoint:
    host, port = address, ssh.port
    if ssh.reach is not None:
        host, port = ssh.reach.host, ssh.reach.port or ssh.port
    key_file = key_ref = pw_ref = None
    if isinstance(ssh.key, SecretRef):
        if ssh.key.scheme == "file":
            key_file = ssh.key.target   # as written (~ expanded when connecting)
        else:
            key_ref = ssh.key
    if isinstance(ssh.password, SecretRef):
        pw_ref = ssh.password
    return SshEndpoint(name=name, host=host, port=port, user=ssh.user, key_file=key_file, key_ref=key_ref,
                       password_ref=pw_ref, known_hosts=ssh.known_hosts, sudo=ssh.sudo and ssh.user != "root")


def from_lab(lab: Lab) -> dict[str, SshEndpoint]:
    """Every Proxmox node and host the lab file gives an `ssh:` login, by name."""
    out: dict[str, SshEndpoint] = {}
    for node in (lab.proxmox.nodes if lab.proxmox else []):
        if node.ssh is not None:
            out[node.name] = _endpoint(node.name, str(node.management.address), node.ssh)
    for h in lab.hosts:
        if h.ssh is not None and (h.address is not None or h.ssh.reach is not None):
            out[h.name] = _endpoint(h.name, str(h.address), h.ssh)
    return out


def for_target(target: Any) -> dict[str, SshEndpoint]:
    """The SSH endpoints of a target: the simulated lab's when it serves hosts, else the lab file's."""
    served = getattr(getattr(target, "endpoints", None), "extra", {}).get("hosts")
    return from_json(served) if served is not None else from_lab(target.lab)
