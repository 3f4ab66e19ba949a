"""The physical inventory of a lab file, as the simulator reads it.

The simulator is built from what a lab physically has (devices with their models, ports and cables,
Proxmox nodes, hosts), never from the intent a provisioner builds. It reads the YAML itself: fakes never
import the lab code's models, so a provisioner bug cannot hide behind a shared parser.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from labsim.resources import HARDWARE_CATALOGUE
from labsim.yamlbounds import YamlLimitError, load_file

HARDWARE = HARDWARE_CATALOGUE
SECRET_REF = re.compile(r"^(env|file):(.+)$")


class InventoryError(ValueError):
    pass


@dataclass
class DeviceSpec:
    identity: str
    model: str
    version: str
    username: str
    password_ref: str
    login: str
    ports: dict[str, int]
    hardware: dict[str, Any]

    def port_names(self) -> list[str]:
        """Factory interface names in RouterOS order: ether1..N, then sfp-sfpplus1..N."""
        return [f"{kind}{i}" for kind, count in self.ports.items() for i in range(1, count + 1)]


@dataclass
class Inventory:
    name: str
    devices: list[DeviceSpec] = field(default_factory=list)
    cables: list[tuple[tuple[str, str], tuple[str, str]]] = field(default_factory=list)
    proxmox: dict[str, Any] = field(default_factory=dict)  # the raw `proxmox:` section
    hosts: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def secret_refs(self) -> list[str]:
        """Every secret reference in the file (`env:NAME`, `file:PATH`), in order, without repeats."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
            elif isinstance(node, str) and SECRET_REF.match(node) and node not in found:
                found.append(node)

        walk(self.raw)
        return found


def _endpoint(text: str) -> tuple[str, str]:
    node, sep, port = str(text).partition(":")
    if not sep or not node or not port:
        raise InventoryError(f"cable end {text!r} is not NODE:PORT")
    return node, port


@functools.lru_cache(maxsize=4)
def _catalog(path: str) -> dict[str, Any]:
    """The hardware catalogue's models, read once per process (every simulated lab reads it; nothing changes it)."""
    from labsim.fakes.routeros.device import load_hardware_catalog
    return load_hardware_catalog(Path(path))


def load_inventory(path: str | Path, hardware_path: Path = HARDWARE) -> Inventory:
    try:   # aliases expanded within a budget, size and depth bounded (a "billion laughs" file is refused)
        raw = load_file(path) or {}
    except YamlLimitError as exc:
        raise InventoryError(f"refused: {exc}") from None
    if not isinstance(raw, dict):
        raise InventoryError("a lab file is a mapping with lab:, routeros:, ...")
    catalog = _catalog(str(hardware_path))
    ros = raw.get("routeros") or {}
    defaults = ros.get("defaults") or {}
    inv = Inventory(name=(raw.get("lab") or {}).get("name", Path(path).stem), raw=raw)
    for d in ros.get("devices") or []:
        model = d.get("model")
        if model not in catalog:
            raise InventoryError(f"routeros device {d.get('identity')!r}: unknown model {model!r}")
        inv.devices.append(DeviceSpec(
            identity=d["identity"], model=model,
            version=str(d.get("version", defaults.get("version", "7.16.2"))),
            username=d.get("username", defaults.get("username", "admin")),
            password_ref=d.get("password", defaults.get("password", "")),
            login=d.get("login", defaults.get("login", "plain")),
            ports=dict(catalog[model]["ports"]), hardware=catalog[model]))
    inv.cables = [(_endpoint(a), _endpoint(b)) for a, b in raw.get("cables") or []]
    inv.proxmox = raw.get("proxmox") or {}
    inv.hosts = list(raw.get("hosts") or [])
    return inv
