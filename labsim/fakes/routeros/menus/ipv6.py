"""/ipv6/address: static addresses, and the dynamic link-local address (fe80::/64, EUI-64 of the MAC) RouterOS gives
every interface (device.py derives those rows)."""
from __future__ import annotations

from typing import Any

from ..schema import fmt_bool
from . import readonly


@readonly("/ipv6/address")
def _address(dev, item) -> dict[str, Any]:
    iface = dev._iface(item.values["interface"])
    link_local = str(item.values.get("address", "")).lower().startswith("fe80:")
    return {"actual-interface": dev._iname(item.values["interface"]), "link-local": fmt_bool(link_local),
            "invalid": fmt_bool(iface is None), "global": fmt_bool(not link_local), "deprecated": "false"}
