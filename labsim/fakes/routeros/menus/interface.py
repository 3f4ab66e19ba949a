"""Interface menus: ethernet, bridge (ports, VLAN table), VLAN, bonding, interface lists and their members.

The computed columns follow the device's live state (labsim/fakes/routeros/device.py: link, MAC, MTU, slaves);
the checks are RouterOS's refusals (errors.yaml).
"""
from __future__ import annotations

from typing import Any

from ..schema import fmt_bool, trap
from . import check, readonly


@readonly("/interface/ethernet")
def _ethernet(dev, item) -> dict[str, Any]:
    return {"default-name": item.state["default-name"], "mac-address": item.state["mac"],
            "orig-mac-address": item.state["mac"], "running": fmt_bool(dev._running(item)),
            "slave": fmt_bool(dev._slave(item))}


@readonly("/interface/bridge")
def _bridge(dev, item) -> dict[str, Any]:
    return {"actual-mtu": str(dev._actual_mtu(item)), "l2mtu": str(dev._l2mtu(item)),
            "mac-address": dev._mac(item), "running": fmt_bool(dev._running(item))}


@readonly("/interface/vlan")
def _vlan(dev, item) -> dict[str, Any]:
    return {"l2mtu": str(dev._l2mtu(item)), "mac-address": dev._mac(item), "running": fmt_bool(dev._running(item))}


@readonly("/interface/bonding")
def _bonding(dev, item) -> dict[str, Any]:
    return {"mac-address": dev._mac(item), "running": fmt_bool(dev._running(item))}


@readonly("/interface/bridge/port")
def _bridge_port(dev, item) -> dict[str, Any]:
    v = item.values
    bridge = dev._iface(v["bridge"])
    iface = dev._iface(v["interface"])
    up = (not v["disabled"] and bridge is not None and not bridge.values["disabled"] and dev._running(iface))
    hw = up and bool(v["hw"]) and iface is not None and dev._kind(iface) in ("ether", "bond")
    return {"status": "in-bridge" if up else "inactive", "inactive": fmt_bool(not up), "hw-offload": fmt_bool(hw)}


@readonly("/interface/bridge/vlan")
def _bridge_vlan(dev, item) -> dict[str, Any]:
    v = item.values
    bridge = dev._iface(v["bridge"])
    if bridge is None or not bridge.values.get("vlan-filtering") or v["disabled"]:
        return {"current-tagged": "", "current-untagged": ""}
    members = {bridge.id} | {p.values["interface"] for p in dev._ports_of_bridge(bridge) if not p.values["disabled"]}

    def current(ids: list[int]) -> str:
        return ",".join(dev._iname(i) for i in ids if i in members and dev._iface(i) is not None)

    return {"current-tagged": current(v["tagged"]), "current-untagged": current(v["untagged"])}


@readonly("/interface/list")
def _interface_list(dev, item) -> dict[str, Any]:
    return {"builtin": fmt_bool(bool(item.state.get("builtin")))}


@readonly("/interface/list/member")
def _interface_list_member(dev, item) -> dict[str, Any]:
    return {}


# --- checks -------------------------------------------------------------------------------------------------------
@check("/interface/bridge/port")
def _check_bridge_port(dev, me: int | None, new: dict[str, Any]) -> None:
    if new["interface"] == new["bridge"]:
        raise trap("bridge_port_is_self")
    if dev._port_of(new["interface"], me) is not None:
        raise trap("already_bridge_port")
    if dev._bond_of(new["interface"]) is not None:
        raise trap("bridge_port_is_bond_slave")


@check("/interface/bonding")
def _check_bonding(dev, me: int | None, new: dict[str, Any]) -> None:
    if not new["slaves"]:
        raise trap("invalid_value", name="slaves")
    for slave in new["slaves"]:
        it = dev._iface(slave)
        if it is None or it.menu != "/interface/ethernet":
            raise trap("invalid_value", name="slaves")
        if dev._port_of(slave) is not None:
            raise trap("bond_slave_is_bridge_port")
        if dev._bond_of(slave, me) is not None:
            raise trap("bond_slave_in_other_bond")


@check("/interface/bridge/vlan")
def _check_bridge_vlan(dev, me: int | None, new: dict[str, Any]) -> None:
    tagged, untagged = set(new["tagged"]), set(new["untagged"])
    if tagged & untagged:
        raise trap("tagged_and_untagged")
    table = dev.tables["bridge-vlan"]
    seen: set[int] = set()
    for other in (o for vid in new["vlan-ids"] for o in table.lookup("vlan", (new["bridge"], vid))):
        if other.id == me or other.dynamic or other.id in seen:
            continue
        seen.add(other.id)
        if tagged & set(other.values["untagged"]) or untagged & set(other.values["tagged"]):
            raise trap("tagged_and_untagged")


@check("/interface/vlan")
def _check_vlan(dev, me: int | None, new: dict[str, Any]) -> None:
    if me is not None and new["interface"] == me:
        raise trap("invalid_value", name="interface")


@check("/interface/list")
def _check_interface_list(dev, me: int | None, new: dict[str, Any]) -> None:
    for other in dev._others("interface-list", me, static=False):
        if other.values["name"] == new["name"]:
            raise trap("already_have_entry")


@check("/interface/list/member")
def _check_interface_list_member(dev, me: int | None, new: dict[str, Any]) -> None:
    for other in dev._others("interface-list-member", me):
        if other.values["list"] == new["list"] and other.values["interface"] == new["interface"]:
            raise trap("already_have_entry")
