"""PVE configuration values as the API prints them, reduced to what a lab file plans.

Property strings (`virtio=BC:24:11:..,bridge=vmbr0,tag=1500`, `cluster-lvm:vm-1501-disk-0,size=16G`,
`order=virtio0;ide2;net0`) are parsed into fields; sizes (`16G`, `512M`, `1T`) into GiB. The API prints
integers as JSON numbers and the rest as strings; everything here works on text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NIC_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "vmxnet3")
SIZE_UNITS = {"K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1, "T": 1024}
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


def text(value: Any) -> str:
    return "" if value is None else str(value)


def parse_props(value: str, default_key: str) -> dict[str, str]:
    """`a,k=v,...` -> {default_key: a, k: v}."""
    out: dict[str, str] = {}
    for part in filter(None, text(value).split(",")):
        k, sep, v = part.partition("=")
        if sep:
            out[k.strip()] = v.strip()
        else:
            out[default_key] = k.strip()
    return out


def size_gib(value: str | None) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])?", text(value))
    return float(m.group(1)) * SIZE_UNITS[m.group(2) or "G"] if m else None


def leading_int(value: Any) -> int | None:
    m = re.match(r"(?:current=)?(\d+)", text(value))
    return int(m.group(1)) if m else None


@dataclass
class Nic:
    model: str = "virtio"
    mac: str | None = None
    bridge: str | None = None
    tag: int | None = None
    other: dict[str, str] = field(default_factory=dict)   # options the lab file does not manage (kept)

    @classmethod
    def parse(cls, value: str) -> Nic:
        nic = cls(model="")
        for part in filter(None, text(value).split(",")):
            k, sep, v = part.partition("=")
            if k in NIC_MODELS or k == "model":
                nic.model = v if k == "model" else k
                if k != "model" and MAC_RE.match(v):
                    nic.mac = v.upper()
            elif k == "macaddr":
                nic.mac = v.upper()
            elif k == "bridge":
                nic.bridge = v
            elif k == "tag":
                nic.tag = int(v)
            elif sep:
                nic.other[k] = v
            else:
                nic.model = k
        return nic

    def print(self) -> str:
        """PVE's own form: `model=MAC` first (the MAC kept so PVE does not invent a new one), keys sorted."""
        head = f"{self.model}={self.mac}" if self.mac else self.model
        rest = {"bridge": self.bridge, "tag": self.tag, **self.other}
        return ",".join([head] + [f"{k}={v}" for k, v in sorted(rest.items()) if v is not None])


@dataclass
class DiskSeen:
    storage: str
    volume: str
    size_gib: float | None
    media: str | None

    @classmethod
    def parse(cls, value: str) -> DiskSeen:
        p = parse_props(value, "file")
        file = p.get("file", "")
        return cls(file.split(":", 1)[0] if ":" in file else "", file, size_gib(p.get("size")), p.get("media"))


def boot_order(value: str) -> list[str]:
    return [d for d in parse_props(value, "legacy").get("order", "").split(";") if d]


def gib_text(gib: float) -> str:
    return f"{gib:g}G"
