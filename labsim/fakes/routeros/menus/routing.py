"""/routing menus. RouterOS 6 has /routing/bgp/instance (a `default` instance), peer and vpnv4-route, and
/routing/ospf/instance (a `default` instance) and neighbor; RouterOS 7 replaced BGP's instance and peer with
connection, session and template (7.20 brought /routing/bgp/instance back) and keeps /routing/ospf/instance, area
and neighbor, and /routing/table (main). Which menu exists in which version is schema.yaml's (since/until), with
the rows a factory device has (`initial`). Sessions and neighbors are what the device has learnt: the simulated
fabric runs no BGP or OSPF, so they stay empty."""
from __future__ import annotations

from typing import Any

from . import readonly, rows


@readonly("/routing/table")
def _table(dev, item) -> dict[str, Any]:
    return {"invalid": "false"}


for _path in ("/routing/bgp/vpnv4-route", "/routing/bgp/session", "/routing/ospf/neighbor"):
    rows(_path)(lambda dev: [])
