"""System menus: identity, resource, routerboard, package, clock, health.

What the hardware has comes from the hardware catalogue (labsim/hardware/routeros-models.yaml: board name, model,
firmware type, factory firmware, the serial number's prefix, the health sensors); the serial number's rest is
derived per device (stable for a lab and seed), as a MAC is. RouterOS 7.10+ prints dates as `2026-01-01` and
times as `00:01:02`; /system/health is a list of sensors (name, value, type) since 7.0 and one row of readings
before; /system/package lists `routeros` (one package, plus extra ones if installed) in v7 and the bundle and its
parts in v6. Build dates and package sizes are ours.
"""
from __future__ import annotations

import hashlib
import string
from typing import Any

from ..schema import fmt_bool
from . import rows

PACKAGES_V6 = ("system", "ipv6", "dhcp", "routing", "security", "ppp", "advanced-tools")


@rows("/system/resource", volatile=("uptime", "cpu-load", "free-memory", "write-sect-since-reboot",
                                    "write-sect-total"))
def _resource(dev) -> list[dict[str, str]]:
    return [dev._resource()]


def serial_number(dev) -> str:
    rb = dev.model_info.get("routerboard") or {}
    digest = hashlib.sha256(f"routeros-serial-{dev._mac_seed}-{dev.model}".encode()).digest()
    alphabet = string.digits + string.ascii_uppercase
    tail = "".join(alphabet[b % len(alphabet)] for b in digest[:8])
    return f"{rb.get('serial-prefix', 'HX0')}{tail}"


@rows("/system/routerboard")
def _routerboard(dev) -> list[dict[str, str]]:
    rb = dev.model_info.get("routerboard")
    if not rb:       # CHR and x86: no RouterBOARD
        return [{"routerboard": "false"}]
    return [{"routerboard": "true", "board-name": str(dev.model_info.get("board-name", dev.model)),
             "model": str(rb["model"]), "serial-number": serial_number(dev),
             "firmware-type": str(rb.get("firmware-type", "")),
             "factory-firmware": str(rb.get("factory-firmware", "")), "current-firmware": dev.version,
             "upgrade-firmware": dev.version}]


@rows("/system/package")
def _package(dev) -> list[dict[str, str]]:
    from ..device import BUILD_TIME
    arch = dev.model_info.get("architecture-name", "x86_64")
    if dev._version.major >= 7:
        names = ["routeros"]
    else:
        names = [f"routeros-{'x86' if arch == 'x86_64' else arch}", *PACKAGES_V6]
    return [{".id": f"*{i:X}", "name": n, "version": dev.version, "build-time": BUILD_TIME, "scheduled": "",
             "disabled": "false"} for i, n in enumerate(names, 1)]


@rows("/system/clock", volatile=("time", "date"))
def _clock(dev) -> list[dict[str, str]]:
    now = dev.clock.utcnow() if hasattr(dev.clock, "utcnow") else None
    s = dev.singles["/system/clock"]
    date = now.strftime("%Y-%m-%d") if dev._version.at_least("7.10") else now.strftime("%b/%d/%Y").lower()
    return [{"time": now.strftime("%H:%M:%S"), "date": date, "time-zone-autodetect": fmt_bool(s["time-zone-autodetect"]),
             "time-zone-name": s["time-zone-name"], "gmt-offset": "+00:00", "dst-active": "false"}]


@rows("/system/health", volatile=("value", "voltage", "temperature", "cpu-temperature"))
def _health(dev) -> list[dict[str, str]]:
    sensors: list[dict[str, Any]] = list(dev.model_info.get("health") or [])
    if dev._version.major >= 7:
        return [{".id": f"*{i:X}", "name": s["name"], "value": str(s["value"]), "type": str(s.get("type", ""))}
                for i, s in enumerate(sensors, 1)]
    return [{s["name"]: str(s["value"]) for s in sensors}] if sensors else []
