"""IP menus: addresses, pools, DHCP servers, networks and leases, routes, firewall filter, services, neighbors.

/ip/neighbor is what the device's discovery protocols (MNDP, CDP, LLDP) hear on its running ports: the peer
devices at the other end of a live cable (the world tells the device, `RouterOSDevice.neighbors`). Its columns
follow RouterOS 7 (interface, address, mac-address, identity, platform, version, board, interface-name,
system-caps, discovered-by, age); which are printed is schema.yaml's.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from ..schema import fmt_bool, format_duration, trap
from . import check, readonly, rows


@readonly("/ip/address")
def _address(dev, item) -> dict[str, Any]:
    iface = dev._iface(item.values["interface"])
    return {"actual-interface": dev._iname(item.values["interface"]), "invalid": fmt_bool(iface is None)}


@readonly("/ip/dhcp-server")
def _dhcp_server(dev, item) -> dict[str, Any]:
    return {"invalid": fmt_bool(dev._iface(item.values["interface"]) is None)}


@readonly("/ip/dhcp-server/lease", volatile=("expires-after", "last-seen"))
def _lease(dev, item) -> dict[str, Any]:
    st = item.state
    out: dict[str, Any] = {"status": st.get("status", "waiting"), "blocked": "false", "radius": "false"}
    if st.get("status") == "bound":
        server = dev.tables["dhcp-server"].items.get(st["active-server"])
        lease_ms = item.values.get("lease-time") or (server.values["lease-time"] if server else 0)
        left = int(lease_ms - (dev.clock.now() - st["bound-at"]) * 1000)
        out.update({"host-name": st.get("host-name") or None, "active-address": st["active-address"],
                    "active-mac-address": st["active-mac-address"],
                    "active-server": dev.ref_name("dhcp-server", st["active-server"]),
                    "expires-after": format_duration(max(0, left)) if lease_ms else None,
                    "last-seen": format_duration(int((dev.clock.now() - st["bound-at"]) * 1000))})
    else:
        out["last-seen"] = "never"
    return out


@readonly("/ip/route")
def _route(dev, item) -> dict[str, Any]:
    active = dev._route_active(item)
    v7 = dev._version.major >= 7
    if item.dynamic:
        gw = dev._iname(item.values["gateway"])
        return {"active": fmt_bool(active), "static": "false", "connect": "true", "inactive": fmt_bool(not active),
                "immediate-gw": gw if v7 else None}
    via = dev._gateway_via(item.values.get("gateway")) if not item.values.get("disabled") else None
    return {"active": fmt_bool(active), "static": "true", "connect": "false", "inactive": fmt_bool(not active),
            "immediate-gw": (via if v7 else None)}


@readonly("/ip/firewall/filter")
def _filter(dev, item) -> dict[str, Any]:
    return {"bytes": "0", "packets": "0", "invalid": "false"}


@readonly("/ip/service")
def _service(dev, item) -> dict[str, Any]:
    return {"name": item.state["name"], "invalid": "false"}


@rows("/ip/neighbor", volatile=("age", "uptime"))
def _neighbors(dev) -> list[dict[str, str]]:
    out = []
    for i, n in enumerate(dev.neighbors(), 1):
        row = {".id": f"*{i:X}", "interface": n["interface"], "address": n.get("address", ""),
               "mac-address": n["mac-address"], "identity": n["identity"], "platform": "MikroTik",
               "version": n["version"], "unpack": "none", "age": "15s", "uptime": n.get("uptime", "0s"),
               "software-id": n.get("software-id", ""), "board": n.get("board", ""),
               "interface-name": n.get("interface-name", ""), "system-description": n.get("system-description", ""),
               "system-caps": "bridge,router", "system-caps-enabled": "bridge,router",
               "discovered-by": "cdp,lldp,mndp"}
        out.append(row)
    return out


# --- checks -------------------------------------------------------------------------------------------------------
@check("/ip/address")
def _check_address(dev, me: int | None, new: dict[str, Any]) -> None:
    for other in dev.tables["ip-address"].lookup("address", (new["address"], new["interface"])):
        if other.id != me and not other.dynamic:
            raise trap("already_have_address")


@check("/ip/pool")
def _check_pool(dev, me: int | None, new: dict[str, Any]) -> None:
    for other in dev._others("ip-pool", me):
        if other.values["name"] == new["name"]:
            raise trap("pool_exists")


@check("/ip/dhcp-server")
def _check_dhcp_server(dev, me: int | None, new: dict[str, Any]) -> None:
    for other in dev._others("dhcp-server", me):
        if other.values["name"] == new["name"] or other.values["interface"] == new["interface"]:
            raise trap("already_have_entry")


@check("/ip/dhcp-server/lease")
def _check_lease(dev, me: int | None, new: dict[str, Any]) -> None:
    if not new.get("mac-address"):
        return
    for other in dev._others("dhcp-lease", me):
        if other.values.get("mac-address") == new["mac-address"] and other.values["server"] == new["server"]:
            raise trap("already_have_entry")


def mac_link_local(mac: str) -> str:
    """The EUI-64 link-local address of a MAC (fe80::/64), as RouterOS derives an interface's IPv6 link-local."""
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 0x02
    eui = b[:3] + [0xFF, 0xFE] + b[3:]
    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))
