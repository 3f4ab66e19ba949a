"""The RouterOS hardware catalog: which ports each MikroTik model has.

Read from `labsim/hardware/routeros-models.yaml` (the same file the simulator builds its
`/interface/ethernet` tables from). Port names follow RouterOS: `ports: {ether: 8, sfp-sfpplus: 1}`
means `ether1`..`ether8` and `sfp-sfpplus1`, in that order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from labsim.resources import HARDWARE_CATALOGUE

DEFAULT_MODELS_PATH = HARDWARE_CATALOGUE


@dataclass(frozen=True)
class RouterOSModel:
    name: str
    kind: str  # router | switch
    board_name: str
    architecture_name: str
    total_memory: int
    ports: dict[str, int] = field(default_factory=dict)  # name prefix -> count, in RouterOS order

    def port_names(self) -> list[str]:
        """Factory interface names in RouterOS order, e.g. ether1..ether8, sfp-sfpplus1."""
        return [f"{prefix}{i}" for prefix, count in self.ports.items() for i in range(1, count + 1)]

    def has_port(self, name: str) -> bool:
        return name in set(self.port_names())

    def describe_ports(self) -> str:
        """Short human form: `ether1-ether8, sfp-sfpplus1`."""
        parts = []
        for prefix, count in self.ports.items():
            parts.append(f"{prefix}1" if count == 1 else f"{prefix}1-{prefix}{count}")
        return ", ".join(parts)


def _model(name: str, raw: dict[str, Any]) -> RouterOSModel:
    return RouterOSModel(
        name=name,
        kind=str(raw.get("kind", "")),
        board_name=str(raw.get("board-name", name)),
        architecture_name=str(raw.get("architecture-name", "")),
        total_memory=int(raw.get("total-memory", 0)),
        ports={str(k): int(v) for k, v in (raw.get("ports") or {}).items()},
    )


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, RouterOSModel]:
    raw = yaml.safe_load(Path(path).read_text()) or {}
    return {str(name): _model(str(name), spec or {}) for name, spec in (raw.get("models") or {}).items()}


def load_models(path: str | Path | None = None) -> dict[str, RouterOSModel]:
    """The catalog by model name (cached per path)."""
    return dict(_load(str(Path(path or DEFAULT_MODELS_PATH).resolve())))
