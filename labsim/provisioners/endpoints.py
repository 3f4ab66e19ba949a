"""Where each system of a lab answers, and with which credentials.

Two sources, one shape: the real lab's endpoints come from the lab file (addresses and ports) with
secrets resolved from the environment; a simulated lab's come from the endpoints JSON that
`python -m labsim.fakes serve --endpoints-file` writes (or that the sim target hands over in-process).
Secrets live only in memory here and are never printed: `repr()` hides them.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class RouterOSEndpoint:
    identity: str
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    login: str = "plain"
    tls_port: int | None = None
    ca: str | None = None  # CA bundle for the TLS port; None: the system's trust store
    verify_tls: bool = True  # False only for a lab that keeps the routers' self-signed certificates


@dataclass(frozen=True)
class ProxmoxEndpoint:
    node: str
    host: str
    port: int
    user: str
    token_id: str | None = None
    token_secret: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca: str | None = None  # CA bundle that signed the node's certificate; None: the system's trust store
    verify_tls: bool = True  # False only for a lab whose PVE keeps its self-signed certificate


@dataclass
class Endpoints:
    lab: str
    routeros: dict[str, RouterOSEndpoint] = field(default_factory=dict)
    proxmox: dict[str, ProxmoxEndpoint] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # later systems (kubeconfigs, tool PATH, ...)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Endpoints":
        ros = {k: RouterOSEndpoint(identity=k, **v) for k, v in data.get("routeros", {}).items()}
        pve = {k: ProxmoxEndpoint(node=k, **v) for k, v in data.get("proxmox", {}).items()}
        extra = {k: v for k, v in data.items() if k not in ("lab", "routeros", "proxmox")}
        return cls(lab=data.get("lab", ""), routeros=ros, proxmox=pve, extra=extra)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Endpoints":
        return cls.from_json(json.loads(Path(path).read_text()))
