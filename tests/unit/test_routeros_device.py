"""Unit tests of the simulated RouterOS device's menu engine, driven through `execute()` (no socket)."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim.fakes.clock import VirtualClock
from labsim.fakes.routeros.api import Reply
from labsim.fakes.routeros.device import RouterOSDevice, format_vlan_ids, parse_vlan_ids
from labsim.fakes.routeros.schema import error_catalog, format_duration, load_schema, parse_duration

MAC_RE = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def make(model: str = "RB5009UG+S+IN", **kw) -> RouterOSDevice:
    return RouterOSDevice(model=model, **kw)


def run(dev: RouterOSDevice, command: str, **attrs: str) -> Reply:
    """Run a command; attribute names with `-` or `.` are passed as `**{'vlan-id': ...}` by callers."""
    return dev.execute(command, {k: str(v) for k, v in attrs.items()}, [])


def ok(dev: RouterOSDevice, command: str, **attrs: str) -> Reply:
    reply = run(dev, command, **attrs)
    assert not reply.traps, f"{command} {attrs}: {reply.traps}"
    return reply


def fails(dev: RouterOSDevice, command: str, message: str, category=..., **attrs: str) -> Reply:
    before = dev.writes
    reply = run(dev, command, **attrs)
    assert reply.traps, f"{command} {attrs} should fail with {message!r}"
    assert reply.traps[0].message == message, reply.traps
    if category is not ...:
        assert reply.traps[0].category == category
    assert dev.writes == before, "a trap must not count as a write"
    return reply


def A(**kw) -> dict[str, str]:
    """Attributes with RouterOS names: A(vlan_id=10) -> {'vlan-id': '10'}; A(_id='*1') -> {'.id': '*1'}."""
    out = {}
    for k, v in kw.items():
        k = "." + k[1:] if k.startswith("_") else k
        out[k.replace("_", "-")] = str(v)
    return out


def by(rows, key, value):
    return [r for r in rows if r.get(key) == value]


@pytest.fixture
def dev() -> RouterOSDevice:
    return make()


@pytest.fixture
def fabric(dev) -> RouterOSDevice:
    """A VLAN-filtering bridge with a trunk (ether2), two access ports and the lab's VLANs tagged."""
    ok(dev, "/interface/bridge/add", **A(name="bridge", vlan_filtering="yes"))
    ok(dev, "/interface/bridge/port/add", **A(bridge="bridge", interface="ether2"))
    ok(dev, "/interface/bridge/port/add", **A(bridge="bridge", interface="ether3", pvid=1500))
    ok(dev, "/interface/bridge/port/add", **A(bridge="bridge", interface="ether4", pvid=2000))
    ok(dev, "/interface/bridge/vlan/add", **A(bridge="bridge", vlan_ids="10,1500,2000", tagged="bridge,ether2"))
    return dev


# ----------------------------------------------------------------------------------------- start state


def test_start_state_is_no_defaults(dev):
    assert dev.identity == "MikroTik"
    assert run(dev, "/system/identity/print").rows == [{"name": "MikroTik"}]
    names = [r["name"] for r in dev.rows("/interface")]
    assert names == [f"ether{i}" for i in range(1, 9)] + ["sfp-sfpplus1"]
    for row in dev.rows("/interface"):
        assert row["type"] == "ether" and row["default-name"] == row["name"]
        assert row["mtu"] == "1500" and row["running"] == "false" and row["disabled"] == "false"
        assert MAC_RE.match(row["mac-address"])
    for menu in ("/interface/bridge", "/interface/bridge/port", "/interface/bridge/vlan", "/interface/vlan",
                 "/interface/bonding", "/ip/address", "/ip/pool", "/ip/dhcp-server", "/ip/dhcp-server/network",
                 "/ip/dhcp-server/lease", "/ip/route", "/ip/firewall/filter"):
        assert dev.rows(menu) == [], menu
    assert dev.writes == 0


def test_ports_follow_the_model_catalogue():
    assert [r["name"] for r in make("CRS305-1G-4S+IN").rows("interface")] == [
        "ether1", "sfp-sfpplus1", "sfp-sfpplus2", "sfp-sfpplus3", "sfp-sfpplus4"]
    assert len(make("CRS328-24P-4S+RM").rows("/interface/ethernet")) == 28
    assert len(make("X", ports={"ether": 2}, hardware_catalog={}).rows("/interface")) == 2
    with pytest.raises(ValueError):
        make("NO-SUCH-MODEL")


def test_macs_are_deterministic_mikrotik_and_consecutive():
    a, b, c = make(mac_seed=1), make(mac_seed=1), make(mac_seed=2)
    macs = [r["mac-address"] for r in a.rows("/interface")]
    assert macs == [r["mac-address"] for r in b.rows("/interface")]
    assert macs != [r["mac-address"] for r in c.rows("/interface")]
    assert len(set(macs)) == len(macs)
    ints = [int(m.replace(":", ""), 16) for m in macs]
    assert ints == list(range(ints[0], ints[0] + len(ints)))


# ------------------------------------------------------------------------------------------- commands


def test_unknown_menu_and_command_give_two_traps(dev):
    reply = fails(dev, "/interface/bogus/print", "no such command or directory (bogus)", category=0)
    assert reply.traps[1].message == "no such command prefix"
    fails(dev, "/caps-man/registration-table/print", "no such command or directory (caps-man)")
    fails(dev, "/interface/vlan/frobnicate", "no such command or directory (frobnicate)")
    fails(dev, "/interface/ethernet/add", "no such command or directory (add)", name="x")
    fails(dev, "/system/identity/remove", "no such command or directory (remove)")


def test_unknown_and_read_only_parameters(dev):
    fails(dev, "/interface/bridge/add", "unknown parameter colour", colour="red")
    fails(dev, "/interface/bridge/add", "unknown parameter running", running="yes")
    fails(dev, "/interface/set", "unknown parameter vlan-id", **A(_id="ether1", vlan_id=5))
    fails(dev, "/system/identity/set", "unknown parameter colour", colour="red")


def test_ids_increase_are_never_reused_and_accept_lists_and_names(dev):
    rets = [ok(dev, "/ip/pool/add", name=f"p{i}", ranges=f"10.0.{i}.1-10.0.{i}.9").ret for i in range(3)]
    assert rets == ["*1", "*2", "*3"]
    ok(dev, "/ip/pool/remove", **A(_id="*1,*3"))
    assert [r[".id"] for r in dev.rows("/ip/pool")] == ["*2"]
    assert ok(dev, "/ip/pool/add", name="p9", ranges="10.0.9.1").ret == "*4"
    ok(dev, "/ip/pool/remove", **A(_id="p9"))
    fails(dev, "/ip/pool/remove", "no such item (4)", **A(_id="*4"))
    fails(dev, "/ip/pool/set", "no such item (4)", **A(_id="*2,*77", ranges="10.0.0.1"))
    fails(dev, "/ip/pool/set", "missing value(s) of argument(s) numbers", ranges="10.0.0.1")
    ok(dev, "/ip/pool/set", numbers="*2", ranges="10.9.9.9")
    assert dev.rows("/ip/pool")[0]["ranges"] == "10.9.9.9"


def test_booleans_accept_yes_no_true_false_and_print_true_false(dev):
    for text, shown in (("yes", "true"), ("no", "false"), ("true", "true"), ("false", "false")):
        ok(dev, "/interface/ethernet/set", **A(_id="ether1", disabled=text))
        assert by(dev.rows("/interface"), "name", "ether1")[0]["disabled"] == shown
    fails(dev, "/interface/ethernet/set", "invalid value for argument disabled", category=1,
          **A(_id="ether1", disabled="maybe"))


def test_every_list_row_has_id_disabled_dynamic_and_comment_when_set(fabric):
    ok(fabric, "/ip/pool/add", name="p", ranges="10.0.0.1")
    ok(fabric, "/ip/address/add", address="10.0.0.1/24", interface="bridge", comment="mgmt")
    for menu, spec in load_schema("7.16.2").items():
        if spec.single or not spec.table:      # computed menus (/log, /system/health, ...) have their own columns
            continue
        for row in fabric.rows(menu):
            assert re.match(r"^\*[0-9A-F]+$", row[".id"]), (menu, row)
            if "disabled" in spec.fields:
                assert row["disabled"] in ("true", "false"), (menu, row)
            if "dynamic" in spec.readonly:
                assert row["dynamic"] in ("true", "false"), (menu, row)
    assert fabric.rows("/ip/address")[0]["comment"] == "mgmt"
    assert "comment" not in fabric.rows("/ip/pool")[0]


def test_get_returns_one_value(fabric):
    assert ok(fabric, "/interface/get", **A(_id="ether3", value_name="type")).ret == "ether"
    assert ok(fabric, "/system/identity/get", **A(value_name="name")).ret == "MikroTik"
    fails(fabric, "/interface/get", "invalid value for argument value-name", **A(_id="ether3", value_name="nope"))


# ------------------------------------------------------------------------------------------ /interface


def test_interface_ids_are_shared_with_the_typed_menus(fabric):
    ok(fabric, "/interface/vlan/add", **A(name="VLAN10", vlan_id=10, interface="bridge"))
    ok(fabric, "/interface/bonding/add", **A(name="bond1", slaves="ether5,ether6"))
    everything = {r["name"]: r for r in fabric.rows("/interface")}
    for menu, name, kind in (("/interface/bridge", "bridge", "bridge"), ("/interface/vlan", "VLAN10", "vlan"),
                             ("/interface/bonding", "bond1", "bond"), ("/interface/ethernet", "ether1", "ether")):
        own = by(fabric.rows(menu), "name", name)[0]
        assert own[".id"] == everything[name][".id"]
        assert everything[name]["type"] == kind
    assert len(fabric.rows("/interface/vlan")) == 1
    ok(fabric, "/interface/set", **A(_id=everything["VLAN10"][".id"], mtu=1400, comment="piNet"))
    vlan = fabric.rows("/interface/vlan")[0]
    assert vlan["mtu"] == "1400" and vlan["comment"] == "piNet"
    fails(fabric, "/interface/vlan/set", "no such item (4)", **A(_id="ether1", mtu=1400))


def test_interface_enable_disable_and_running(dev):
    assert by(dev.rows("/interface"), "name", "ether1")[0]["running"] == "false"
    dev.set_link("ether1", True)
    assert by(dev.rows("/interface"), "name", "ether1")[0]["running"] == "true"
    ok(dev, "/interface/disable", **A(_id="ether1"))
    row = by(dev.rows("/interface"), "name", "ether1")[0]
    assert row["disabled"] == "true" and row["running"] == "false"
    ok(dev, "/interface/enable", **A(_id="ether1"))
    dev.set_link("ether1", False)
    assert by(dev.rows("/interface"), "name", "ether1")[0]["link-downs"] == "1"
    with pytest.raises(ValueError):
        dev.set_link("ether99", True)


def test_ethernet_rename_keeps_default_name_and_references_follow(fabric):
    ok(fabric, "/interface/ethernet/set", **A(_id="ether2", name="trunk"))
    eth = by(fabric.rows("/interface/ethernet"), "default-name", "ether2")[0]
    assert eth["name"] == "trunk"
    assert by(fabric.rows("/interface/bridge/port"), "interface", "trunk")
    assert "trunk" in by(fabric.rows("/interface/bridge/vlan"), "dynamic", "false")[0]["tagged"]
    fabric.set_link("ether2", True)  # the world may use the default name
    assert by(fabric.rows("/interface"), "name", "trunk")[0]["running"] == "true"
    fails(fabric, "/interface/ethernet/set", "failure: already have interface with such name",
          **A(_id="ether3", name="trunk"))
    fails(fabric, "/interface/ethernet/set", "unknown parameter vlan-filtering", **A(_id="ether3", vlan_filtering="yes"))


# -------------------------------------------------------------------------------------- /interface/bridge


def test_bridge_defaults_are_version_dependent():
    v7, v6 = make(version="7.16.2"), make(version="6.49.10")
    for d in (v7, v6):
        ok(d, "/interface/bridge/add", name="bridge")
        ok(d, "/interface/bridge/port/add", bridge="bridge", interface="ether2")
    b7, b6 = v7.rows("/interface/bridge")[0], v6.rows("/interface/bridge")[0]
    assert b7["ingress-filtering"] == "true" and b6["ingress-filtering"] == "false"
    assert v7.rows("/interface/bridge/port")[0]["ingress-filtering"] == "true"
    assert v6.rows("/interface/bridge/port")[0]["ingress-filtering"] == "false"
    for key, value in {"vlan-filtering": "false", "protocol-mode": "rstp", "pvid": "1", "frame-types": "admit-all",
                       "ether-type": "0x8100", "priority": "0x8000", "mtu": "auto", "igmp-snooping": "false",
                       "ageing-time": "5m"}.items():
        assert b7[key] == value and b6[key] == value, key
    assert "mvrp" in b7 and "mvrp" not in b6


def test_bridge_add_auto_name_duplicates_and_priority(dev):
    assert ok(dev, "/interface/bridge/add").ret
    assert dev.rows("/interface/bridge")[0]["name"] == "bridge1"
    ok(dev, "/interface/bridge/add")
    assert [r["name"] for r in dev.rows("/interface/bridge")] == ["bridge1", "bridge2"]
    fails(dev, "/interface/bridge/add", "failure: already have interface with such name", name="bridge1")
    fails(dev, "/interface/bridge/add", "failure: already have interface with such name", name="ether1")
    ok(dev, "/interface/bridge/set", **A(_id="bridge1", priority="4096"))
    assert dev.rows("/interface/bridge")[0]["priority"] == "0x1000"
    fails(dev, "/interface/bridge/set", "value of priority out of range (0..65535)", **A(_id="bridge1", priority="0x10000"))
    fails(dev, "/interface/bridge/set", "invalid value for argument protocol-mode", **A(_id="bridge1", protocol_mode="xstp"))
    ok(dev, "/interface/bridge/unset", **A(_id="bridge1", value_name="priority"))
    assert dev.rows("/interface/bridge")[0]["priority"] == "0x8000"
    fails(dev, "/interface/bridge/unset", "invalid value for argument value-name", **A(_id="bridge1", value_name="name"))


def test_removing_a_bridge_drops_ports_and_vlan_rows_and_leaves_dangling_references(fabric):
    ok(fabric, "/interface/vlan/add", **A(name="VLAN10", vlan_id=10, interface="bridge"))
    ok(fabric, "/ip/address/add", address="192.168.88.2/24", interface="bridge")
    bridge_id = fabric.rows("/interface/bridge")[0][".id"]
    ok(fabric, "/interface/bridge/remove", **A(_id="bridge"))
    assert fabric.rows("/interface/bridge") == []
    assert fabric.rows("/interface/bridge/port") == []
    assert fabric.rows("/interface/bridge/vlan") == []
    vlan = fabric.rows("/interface/vlan")[0]
    assert vlan["interface"] == bridge_id and vlan["running"] == "false"
    address = fabric.rows("/ip/address")[0]
    assert address["interface"] == bridge_id and address["invalid"] == "true"
    assert fabric.rows("/ip/route") == []
    assert all(r["slave"] == "false" for r in fabric.rows("/interface/ethernet"))


# --------------------------------------------------------------------------------- /interface/bridge/port


def test_bridge_port_errors(fabric):
    fails(fabric, "/interface/bridge/port/add", "missing value(s) of argument(s) bridge", interface="ether5")
    fails(fabric, "/interface/bridge/port/add", "input does not match any value of bridge", category=1,
          bridge="nobridge", interface="ether5")
    fails(fabric, "/interface/bridge/port/add", "input does not match any value of bridge", bridge="ether1",
          interface="ether5")
    fails(fabric, "/interface/bridge/port/add", "input does not match any value of interface", category=1,
          bridge="bridge", interface="ether99")
    fails(fabric, "/interface/bridge/port/add", "failure: device already added as bridge port",
          bridge="bridge", interface="ether2")
    fails(fabric, "/interface/bridge/port/add", "value of pvid out of range (1..4094)",
          bridge="bridge", interface="ether5", pvid="4095")
    fails(fabric, "/interface/bridge/port/add", "invalid value for argument pvid",
          bridge="bridge", interface="ether5", pvid="ten")
    fails(fabric, "/interface/bridge/port/add", "invalid value for argument frame-types",
          **A(bridge="bridge", interface="ether5", frame_types="admit-some"))
    fails(fabric, "/interface/bridge/port/add", "failure: can not add bridge to itself",
          bridge="bridge", interface="bridge")
    ok(fabric, "/interface/bonding/add", **A(name="bond1", slaves="ether7,ether8"))
    fails(fabric, "/interface/bridge/port/add", "failure: can not add bonding slave as bridge port",
          bridge="bridge", interface="ether7")
    ok(fabric, "/interface/bridge/port/add", bridge="bridge", interface="bond1")


def test_bridge_port_status_follows_link_and_marks_slave(fabric):
    port = by(fabric.rows("/interface/bridge/port"), "interface", "ether2")[0]
    assert port["status"] == "inactive" and port["inactive"] == "true"
    fabric.set_link("ether2", True)
    port = by(fabric.rows("/interface/bridge/port"), "interface", "ether2")[0]
    assert port["status"] == "in-bridge" and port["inactive"] == "false" and port["hw-offload"] == "true"
    assert by(fabric.rows("/interface"), "name", "ether2")[0]["slave"] == "true"
    ok(fabric, "/interface/bridge/port/disable", **A(_id=port[".id"]))
    assert by(fabric.rows("/interface/bridge/port"), "interface", "ether2")[0]["status"] == "inactive"


def test_bridge_mac_is_the_first_ports(dev):
    ok(dev, "/interface/bridge/add", name="bridge")
    own = dev.rows("/interface/bridge")[0]["mac-address"]
    assert MAC_RE.match(own) and int(own[:2], 16) & 0x02  # locally administered until a port joins
    ok(dev, "/interface/bridge/port/add", bridge="bridge", interface="ether3")
    assert dev.rows("/interface/bridge")[0]["mac-address"] == by(dev.rows("/interface"), "name", "ether3")[0]["mac-address"]


# --------------------------------------------------------------------------------- /interface/bridge/vlan


def test_vlan_ids_forms():
    assert parse_vlan_ids("10") == (10,)
    assert parse_vlan_ids("10,20") == (10, 20)
    assert parse_vlan_ids("100-103,5") == (5, 100, 101, 102, 103)
    assert format_vlan_ids((5, 100, 101, 102, 103)) == "5,100-103"
    with pytest.raises(ValueError):
        parse_vlan_ids("10-")


def test_bridge_vlan_rows_and_validation(fabric):
    ok(fabric, "/interface/bridge/vlan/add", **A(bridge="bridge", vlan_ids="100-110", tagged="ether2"))
    static = by(fabric.rows("/interface/bridge/vlan"), "dynamic", "false")
    assert [r["vlan-ids"] for r in static] == ["10,1500,2000", "100-110"]
    assert static[0]["current-tagged"] == "bridge,ether2" and static[0]["current-untagged"] == ""
    fails(fabric, "/interface/bridge/vlan/add", "value of vlan-ids out of range (1..4094)",
          **A(bridge="bridge", vlan_ids="4000-4095"))
    fails(fabric, "/interface/bridge/vlan/add", "invalid value for argument vlan-ids", **A(bridge="bridge", vlan_ids="x"))
    fails(fabric, "/interface/bridge/vlan/add", "missing value(s) of argument(s) vlan-ids", bridge="bridge")
    fails(fabric, "/interface/bridge/vlan/add", "input does not match any value of interface",
          **A(bridge="bridge", vlan_ids="30", tagged="ether2,nosuch"))
    fails(fabric, "/interface/bridge/vlan/add", "failure: interface cannot be in tagged and untagged at the same time",
          **A(bridge="bridge", vlan_ids="30", tagged="ether5", untagged="ether5"))
    # across rows: ether2 is tagged for 1500 in another row
    fails(fabric, "/interface/bridge/vlan/add", "failure: interface cannot be in tagged and untagged at the same time",
          **A(bridge="bridge", vlan_ids="1500", untagged="ether2"))
    fails(fabric, "/interface/bridge/vlan/set", "failure: interface cannot be in tagged and untagged at the same time",
          **A(_id=static[1][".id"], vlan_ids="10", untagged="ether2", tagged=""))


def test_dynamic_pvid_rows(fabric):
    rows = fabric.rows("/interface/bridge/vlan")
    dynamic = {r["vlan-ids"]: r for r in rows if r["dynamic"] == "true"}
    assert set(dynamic) == {"1", "1500", "2000"}
    assert dynamic["1"]["current-untagged"] == "bridge,ether2"
    assert dynamic["1500"]["current-untagged"] == "ether3" and dynamic["2000"]["current-untagged"] == "ether4"
    assert all(r["comment"] == "added by pvid" and r["current-tagged"] == "" for r in dynamic.values())
    # undeletable and unchangeable
    fails(fabric, "/interface/bridge/vlan/remove", "failure: can not remove dynamic", **A(_id=dynamic["1"][".id"]))
    fails(fabric, "/interface/bridge/vlan/set", "failure: can not change dynamic", **A(_id=dynamic["1"][".id"], tagged="ether5"))
    fails(fabric, "/interface/bridge/vlan/disable", "failure: can not change dynamic", **A(_id=dynamic["1"][".id"]))
    # a port that is already in a static row for its pvid is not added again; ids of kept rows stay
    ok(fabric, "/interface/bridge/vlan/add", **A(bridge="bridge", vlan_ids="2000", untagged="ether4"))
    after = {r["vlan-ids"]: r for r in fabric.rows("/interface/bridge/vlan") if r["dynamic"] == "true"}
    assert set(after) == {"1", "1500"} and after["1"][".id"] == dynamic["1"][".id"]
    # admit-only-vlan-tagged ports carry no pvid
    ok(fabric, "/interface/bridge/port/set", **A(_id=by(fabric.rows("/interface/bridge/port"), "interface", "ether2")[0][".id"],
                                                frame_types="admit-only-vlan-tagged"))
    after = {r["vlan-ids"]: r for r in fabric.rows("/interface/bridge/vlan") if r["dynamic"] == "true"}
    assert after["1"]["current-untagged"] == "bridge"
    # no VLAN filtering, no dynamic rows and no current membership
    ok(fabric, "/interface/bridge/set", **A(_id="bridge", vlan_filtering="no"))
    rows = fabric.rows("/interface/bridge/vlan")
    assert all(r["dynamic"] == "false" and r["current-tagged"] == "" for r in rows)


# --------------------------------------------------------------------------------------- /interface/vlan


def test_vlan_interface(fabric):
    ok(fabric, "/interface/vlan/add", **A(name="VLAN1500", vlan_id=1500, interface="bridge", comment="Talos East"))
    row = fabric.rows("/interface/vlan")[0]
    assert row["vlan-id"] == "1500" and row["interface"] == "bridge" and row["mtu"] == "1500"
    assert row["running"] == "true" and row["use-service-tag"] == "false" and row["arp"] == "enabled"
    fails(fabric, "/interface/vlan/add", "value of vlan-id out of range (1..4094)",
          **A(name="v", vlan_id=4095, interface="bridge"))
    fails(fabric, "/interface/vlan/add", "value of vlan-id out of range (1..4094)", **A(name="v", vlan_id=0, interface="bridge"))
    fails(fabric, "/interface/vlan/add", "missing value(s) of argument(s) vlan-id", **A(name="v", interface="bridge"))
    fails(fabric, "/interface/vlan/add", "missing value(s) of argument(s) vlan-id, interface", name="v")
    fails(fabric, "/interface/vlan/add", "input does not match any value of interface",
          **A(name="v", vlan_id=5, interface="bridge9"))
    fails(fabric, "/interface/vlan/add", "failure: already have interface with such name",
          **A(name="VLAN1500", vlan_id=5, interface="bridge"))
    ok(fabric, "/interface/vlan/add", **A(vlan_id=7, interface="ether5"))
    assert fabric.rows("/interface/vlan")[1]["name"] == "vlan1"
    assert fabric.rows("/interface/vlan")[1]["running"] == "false"
    fabric.set_link("ether5", True)
    assert fabric.rows("/interface/vlan")[1]["running"] == "true"


# ------------------------------------------------------------------------------------ /interface/bonding


def test_bonding(fabric):
    ok(fabric, "/interface/bonding/add", **A(name="bond-crs328", slaves="ether5,ether6,ether7,ether8", mode="802.3ad",
                                             lacp_rate="1sec", transmit_hash_policy="layer-2-and-3"))
    bond = fabric.rows("/interface/bonding")[0]
    assert bond["slaves"] == "ether5,ether6,ether7,ether8" and bond["mode"] == "802.3ad"
    assert bond["lacp-rate"] == "1sec" and bond["transmit-hash-policy"] == "layer-2-and-3"
    assert bond["running"] == "false" and bond["mii-interval"] == "100ms" and bond["up-delay"] == "0ms"
    assert by(fabric.rows("/interface"), "name", "ether6")[0]["slave"] == "true"
    fabric.set_link("ether6", True)
    assert fabric.rows("/interface/bonding")[0]["running"] == "true"
    assert fabric.rows("/interface/bonding")[0]["mac-address"] == by(fabric.rows("/interface"), "name", "ether5")[0]["mac-address"]
    fails(fabric, "/interface/bonding/add", "invalid value for argument mode", **A(slaves="ether1", mode="lacp"))
    fails(fabric, "/interface/bonding/add", "invalid value for argument lacp-rate", **A(slaves="ether1", lacp_rate="2sec"))
    fails(fabric, "/interface/bonding/add", "failure: interface is already slave of another bonding", slaves="ether1,ether8")
    fails(fabric, "/interface/bonding/add", "failure: can not add bridge port as bonding slave", slaves="ether3")
    fails(fabric, "/interface/bonding/add", "input does not match any value of interface", slaves="ether42")
    fails(fabric, "/interface/bonding/add", "invalid value for argument slaves", slaves="bridge")
    fails(fabric, "/interface/bonding/add", "missing value(s) of argument(s) slaves", mode="802.3ad")
    ok(fabric, "/interface/bridge/port/add", bridge="bridge", interface="bond-crs328")
    ok(fabric, "/interface/bonding/set", **A(_id="bond-crs328", slaves="ether5,ether6"))
    assert by(fabric.rows("/interface"), "name", "ether8")[0]["slave"] == "false"


# --------------------------------------------------------------------------------------------- /ip/address


def test_ip_address_network_and_connected_route(fabric):
    ok(fabric, "/interface/vlan/add", **A(name="VLAN10", vlan_id=10, interface="bridge"))
    ok(fabric, "/ip/address/add", address="192.168.10.2/24", interface="VLAN10")
    ok(fabric, "/ip/address/add", address="10.1.1.1", interface="ether5")
    a, b = fabric.rows("/ip/address")
    assert a["network"] == "192.168.10.0" and a["actual-interface"] == "VLAN10" and a["invalid"] == "false"
    assert b["address"] == "10.1.1.1/32" and b["network"] == "10.1.1.1"
    routes = {r["dst-address"]: r for r in fabric.rows("/ip/route")}
    conn = routes["192.168.10.0/24"]
    assert conn["gateway"] == "VLAN10" and conn["distance"] == "0" and conn["connect"] == "true"
    assert conn["dynamic"] == "true" and conn["active"] == "true" and conn["static"] == "false"
    assert routes["10.1.1.1/32"]["active"] == "false"  # ether5 has no link
    fabric.set_link("ether5", True)
    assert by(fabric.rows("/ip/route"), "dst-address", "10.1.1.1/32")[0]["active"] == "true"
    fails(fabric, "/ip/address/add", "failure: already have such address", address="192.168.10.2/24", interface="VLAN10")
    fails(fabric, "/ip/address/add", "input does not match any value of interface", address="10.2.2.2/24", interface="nope")
    fails(fabric, "/ip/address/add", "invalid value for argument address", address="10.2.2.300/24", interface="ether1")
    fails(fabric, "/ip/address/add", "missing value(s) of argument(s) interface", address="10.2.2.2/24")
    fails(fabric, "/ip/route/remove", "failure: can not remove dynamic", **A(_id=conn[".id"]))
    fails(fabric, "/ip/route/set", "failure: can not change dynamic", **A(_id=conn[".id"], distance=5))
    ok(fabric, "/ip/address/set", **A(_id=a[".id"], address="192.168.11.2/25"))
    assert fabric.rows("/ip/address")[0]["network"] == "192.168.11.0"
    assert "192.168.11.0/25" in {r["dst-address"] for r in fabric.rows("/ip/route")}
    ok(fabric, "/ip/address/disable", **A(_id=a[".id"]))
    assert "192.168.11.0/25" not in {r["dst-address"] for r in fabric.rows("/ip/route")}
    ok(fabric, "/ip/address/remove", **A(_id=b[".id"]))
    assert fabric.rows("/ip/route") == []


def test_static_route(fabric):
    ok(fabric, "/ip/address/add", address="192.168.88.2/24", interface="bridge")
    ok(fabric, "/ip/route/add", **A(dst_address="10.244.0.0/16", gateway="192.168.88.10"))
    ok(fabric, "/ip/route/add", **A(gateway="10.9.9.9", comment="default"))
    static = by(fabric.rows("/ip/route"), "static", "true")
    assert static[0]["active"] == "true" and static[0]["immediate-gw"] == "192.168.88.10%bridge"
    assert static[0]["distance"] == "1" and static[0]["routing-table"] == "main"
    assert static[1]["dst-address"] == "0.0.0.0/0" and static[1]["active"] == "false"
    fails(fabric, "/ip/route/add", "invalid value for argument gateway", gateway="no-such-iface")
    fails(fabric, "/ip/route/add", "value of distance out of range (1..255)", gateway="10.0.0.1", distance="0")


# ---------------------------------------------------------------------------------------------- /ip/pool


def test_ip_pool(dev):
    ok(dev, "/ip/pool/add", name="pool-10", ranges="192.168.10.20-192.168.10.127")
    ok(dev, "/ip/pool/add", ranges="10.0.0.1,10.0.0.5-10.0.0.9,10.1.0.0/24")
    assert [r["name"] for r in dev.rows("/ip/pool")] == ["pool-10", "pool1"]
    assert dev.rows("/ip/pool")[1]["ranges"] == "10.0.0.1,10.0.0.5-10.0.0.9,10.1.0.0/24"
    fails(dev, "/ip/pool/add", "failure: pool with such name exists", name="pool-10", ranges="10.0.0.1")
    for bad in ("10.0.0.300", "10.0.0.9-10.0.0.1", "nonsense", "10.0.0.1-", ""):
        fails(dev, "/ip/pool/add", "invalid value for argument ranges", name="x", ranges=bad)
    fails(dev, "/ip/pool/add", "missing value(s) of argument(s) ranges", name="x")
    fails(dev, "/ip/pool/set", "input does not match any value of pool", **A(_id="pool1", next_pool="nope"))


# --------------------------------------------------------------------------------------- /ip/dhcp-server


def test_dhcp_server_defaults_and_references():
    for version, lease in (("7.16.2", "30m"), ("6.49.10", "10m")):
        d = make(version=version)
        ok(d, "/ip/dhcp-server/add", interface="ether2")
        row = d.rows("/ip/dhcp-server")[0]
        assert row["name"] == "dhcp1" and row["address-pool"] == "static-only" and row["lease-time"] == lease
        assert row["authoritative"] == "yes" and row["invalid"] == "false"
    d = make()
    ok(d, "/ip/pool/add", name="p", ranges="10.0.0.10-10.0.0.20")
    fails(d, "/ip/dhcp-server/add", "input does not match any value of address-pool", category=1,
          **A(interface="ether2", address_pool="nope"))
    fails(d, "/ip/dhcp-server/add", "input does not match any value of interface", interface="nope")
    fails(d, "/ip/dhcp-server/add", "missing value(s) of argument(s) interface", name="x")
    ok(d, "/ip/dhcp-server/add", **A(name="dhcp-10", interface="ether2", address_pool="p", lease_time="1h30m"))
    assert d.rows("/ip/dhcp-server")[0]["lease-time"] == "1h30m"
    fails(d, "/ip/dhcp-server/add", "failure: already have such entry", **A(name="dhcp-10", interface="ether3"))
    fails(d, "/ip/dhcp-server/add", "failure: already have such entry", **A(name="other", interface="ether2"))
    ok(d, "/ip/dhcp-server/set", **A(_id="dhcp-10", lease_time="1800"))
    assert d.rows("/ip/dhcp-server")[0]["lease-time"] == "30m"
    fails(d, "/ip/dhcp-server/set", "invalid value for argument lease-time", **A(_id="dhcp-10", lease_time="soon"))


def test_dhcp_network(dev):
    ok(dev, "/ip/dhcp-server/network/add", **A(address="192.168.15.0/24", gateway="192.168.15.2",
                                              dns_server="8.8.8.8,8.8.4.4", next_server="192.168.15.2",
                                              boot_file_name="talos-metal-v1.11.2-amd64.gcow", domain="lab"))
    row = dev.rows("/ip/dhcp-server/network")[0]
    assert row["address"] == "192.168.15.0/24" and row["gateway"] == "192.168.15.2"
    assert row["dns-server"] == "8.8.8.8,8.8.4.4" and row["next-server"] == "192.168.15.2"
    assert row["boot-file-name"] == "talos-metal-v1.11.2-amd64.gcow" and row["ntp-server"] == ""
    fails(dev, "/ip/dhcp-server/network/add", "invalid value for argument dns-server", **A(address="10.0.0.0/24", dns_server="8.8.8"))
    fails(dev, "/ip/dhcp-server/network/add", "missing value(s) of argument(s) address", gateway="10.0.0.1")


def test_leases_static_and_granted():
    clock = VirtualClock()
    d = make(clock=clock)
    ok(d, "/ip/dhcp-server/add", name="dhcp-10", interface="ether2")
    ok(d, "/ip/dhcp-server/lease/add", **A(address="192.168.10.91", mac_address="d8:3a:dd:00:10:91",
                                           server="dhcp-10", comment="pi-master-01"))
    lease = d.rows("/ip/dhcp-server/lease")[0]
    assert lease["mac-address"] == "D8:3A:DD:00:10:91" and lease["status"] == "waiting" and lease["dynamic"] == "false"
    fails(d, "/ip/dhcp-server/lease/add", "failure: already have such entry",
          **A(address="192.168.10.92", mac_address="D8:3A:DD:00:10:91", server="dhcp-10"))
    fails(d, "/ip/dhcp-server/lease/add", "input does not match any value of server",
          **A(address="192.168.10.92", server="dhcp-99"))
    writes = d.writes
    assert d.grant_lease("dhcp-10", "D8:3A:DD:00:10:91", "192.168.10.91", "pi-master-01") == lease[".id"]
    dyn_id = d.grant_lease("dhcp-10", "bc:24:11:00:00:01", "192.168.10.20", "cp-e-1")
    assert d.writes == writes
    clock.sleep(120)
    rows = {r["mac-address"]: r for r in d.rows("/ip/dhcp-server/lease")}
    bound = rows["D8:3A:DD:00:10:91"]
    assert bound["status"] == "bound" and bound["host-name"] == "pi-master-01" and bound["expires-after"] == "28m"
    dyn = rows["BC:24:11:00:00:01"]
    assert dyn[".id"] == dyn_id and dyn["dynamic"] == "true" and dyn["active-address"] == "192.168.10.20"
    fails(d, "/ip/dhcp-server/lease/set", "failure: can not change dynamic", **A(_id=dyn_id, comment="x"))
    d.release_lease("dhcp-10", "BC:24:11:00:00:01")
    d.release_lease("dhcp-10", "D8:3A:DD:00:10:91")
    assert [r["status"] for r in d.rows("/ip/dhcp-server/lease")] == ["waiting"]
    with pytest.raises(ValueError):
        d.grant_lease("nope", "00:00:00:00:00:01", "10.0.0.1")


# ------------------------------------------------------------------------------------- /ip/firewall/filter


def test_firewall_order_place_before_and_move(dev):
    r1 = ok(dev, "/ip/firewall/filter/add", chain="input", action="accept", comment="one").ret
    r2 = ok(dev, "/ip/firewall/filter/add", chain="input", action="drop", comment="two").ret
    r3 = ok(dev, "/ip/firewall/filter/add", **A(chain="input", protocol="tcp", dst_port="179",
                                                src_address="192.168.88.4", place_before=r2, comment="three")).ret
    order = lambda: [r["comment"] for r in dev.rows("/ip/firewall/filter")]
    assert order() == ["one", "three", "two"]
    row = by(dev.rows("/ip/firewall/filter"), ".id", r3)[0]
    assert row["dst-port"] == "179" and row["src-address"] == "192.168.88.4" and row["action"] == "accept"
    assert row["log"] == "false" and row["bytes"] == "0"
    ok(dev, "/ip/firewall/filter/move", numbers=f"{r2}", destination=r1)
    assert order() == ["two", "one", "three"]
    ok(dev, "/ip/firewall/filter/move", numbers=f"{r2},{r1}")  # no destination: to the end
    assert order() == ["three", "two", "one"]
    fails(dev, "/ip/firewall/filter/move", "no such item (4)", numbers="*99")
    fails(dev, "/ip/firewall/filter/add", "missing value(s) of argument(s) chain", action="drop")
    fails(dev, "/ip/firewall/filter/add", "invalid value for argument action", chain="input", action="permit")
    fails(dev, "/ip/firewall/filter/add", "invalid value for argument dst-port", **A(chain="input", dst_port="99999"))
    fails(dev, "/ip/firewall/filter/add", "input does not match any value of interface", **A(chain="input", in_interface="nope"))
    fails(dev, "/ip/firewall/filter/add", "no such item (4)", **A(chain="input", place_before="*99"))
    fails(dev, "/ip/address/add", "unknown parameter place-before", **A(address="10.0.0.1/24", interface="ether1", place_before="*1"))


# ------------------------------------------------------------------------------------------------ /system


def test_identity_set_counts_and_notifies(dev):
    seen = []
    dev.on_change.append(lambda: seen.append(dev.identity))
    ok(dev, "/system/identity/set", name="rb5009-01")
    assert dev.identity == "rb5009-01" and dev.rows("system identity") == [{"name": "rb5009-01"}]
    assert dev.writes == 1 and seen == ["rb5009-01"]


def test_resource_uses_model_and_clock():
    clock = VirtualClock()
    d = make("CRS328-24P-4S+RM", clock=clock)
    clock.sleep(3 * 86400 + 3600 + 61)
    row = d.rows("/system/resource")[0]
    assert row["uptime"] == "3d1h1m1s" and row["version"] == "7.16.2 (stable)"
    assert row["board-name"] == "CRS328-24P-4S+" and row["architecture-name"] == "arm"
    assert row["total-memory"] == "536870912" and int(row["free-memory"]) < 536870912
    assert row["platform"] == "MikroTik" and "cpu-load" in row


# --------------------------------------------------------------------------------------- writes counting


def test_writes_count_only_accepted_changes(fabric):
    base = fabric.writes
    calls = []
    fabric.on_change.append(lambda: calls.append(1))
    run(fabric, "/interface/print")
    run(fabric, "/interface/bridge/vlan/print")
    run(fabric, "/interface/vlan/add", name="x")  # trap
    run(fabric, "/nope/print")  # trap
    assert fabric.writes == base and calls == []
    ok(fabric, "/interface/bridge/port/set", **A(_id="*1", pvid=1))  # accepted, even if nothing changed
    ok(fabric, "/interface/bridge/port/disable", **A(_id="*1"))
    ok(fabric, "/interface/bridge/port/enable", **A(_id="*1"))
    ok(fabric, "/interface/bridge/port/unset", **A(_id="*1", value_name="pvid"))
    assert fabric.writes == base + 4 and len(calls) == 4


def test_a_failing_callback_does_not_break_the_reply(dev):
    dev.on_change.append(lambda: 1 / 0)
    assert ok(dev, "/interface/bridge/add", name="b").ret


def test_rows_accepts_path_spellings(fabric):
    assert fabric.rows("interface bridge vlan") == fabric.rows("/interface/bridge/vlan/")
    with pytest.raises(KeyError):
        fabric.rows("/no/such")


def test_durations():
    assert parse_duration("30m") == 1_800_000 and parse_duration("1d 00:30:00") == 88_200_000
    assert parse_duration("00:00:05") == 5000 and parse_duration("100ms") == 100
    assert format_duration(90_061_000) == "1d1h1m1s" and format_duration(0) == "0s"


def test_error_catalogue_entries_all_have_a_verification_tag():
    for key, entry in error_catalog().items():
        for e in entry if isinstance(entry, list) else [entry]:
            assert e["verified"] in ("doc", "public", "unverified"), key


# ------------------------------------------------------------------------------------------- property

ADDS = {
    "bridge": lambda i: ("/interface/bridge", {"name": f"br{i}", "vlan-filtering": "true", "pvid": str(1 + i % 4000)}),
    "vlan": lambda i: ("/interface/vlan", {"name": f"v{i}", "vlan-id": str(1 + i % 4094), "interface": "ether1"}),
    "pool": lambda i: ("/ip/pool", {"name": f"pool-{i}", "ranges": f"10.{i % 250}.0.10-10.{i % 250}.0.20"}),
    "address": lambda i: ("/ip/address", {"address": f"10.{i % 250}.{i // 250}.1/24", "interface": "ether2"}),
    "rule": lambda i: ("/ip/firewall/filter", {"chain": "input", "action": "drop", "comment": f"r{i}"}),
    "network": lambda i: ("/ip/dhcp-server/network", {"address": f"10.{i % 250}.0.0/24", "gateway": f"10.{i % 250}.0.1"}),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(ADDS)), max_size=25))
def test_valid_adds_then_print_are_consistent(kinds):
    d = make("CHR")
    expected: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for i, kind in enumerate(kinds):
        menu, attrs = ADDS[kind](i)
        reply = d.execute(f"{menu}/add", attrs, [])
        assert not reply.traps and reply.ret and reply.ret.startswith("*")
        expected.setdefault(menu, []).append((reply.ret, attrs))
    assert d.writes == len(kinds)
    seen_interface_ids = set()
    for menu, adds in expected.items():
        rows = [r for r in d.rows(menu) if r["dynamic"] == "false"]
        assert [r[".id"] for r in rows] == [ret for ret, _ in adds]
        ids = [int(r[".id"][1:], 16) for r in rows]
        assert ids == sorted(set(ids))
        for row, (_, attrs) in zip(rows, adds):
            for key, value in attrs.items():
                assert row[key] == value, (menu, key)
        if menu.startswith("/interface"):
            seen_interface_ids |= {r[".id"] for r in rows}
    all_ids = [r[".id"] for r in d.rows("/interface")]
    assert len(all_ids) == len(set(all_ids)) and seen_interface_ids <= set(all_ids)
    # every print again gives the same answer, and no print counted as a write
    for menu in expected:
        assert d.rows(menu) == d.rows(menu)
    assert d.writes == len(kinds)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["/interface/vlan/add", "/ip/pool/add", "/interface/bridge/port/add",
                                           "/ip/address/add", "/nope/add"]),
                          st.dictionaries(st.sampled_from(["name", "vlan-id", "interface", "ranges", "bridge",
                                                           "address", "bogus"]),
                                          st.sampled_from(["", "x", "10", "ether1", "bridge", "99999", "10.0.0.1/24"]),
                                          max_size=4)), max_size=15))
def test_writes_equal_accepted_commands(commands):
    d = make("CHR")
    accepted = 0
    for command, attrs in commands:
        reply = d.execute(command, attrs, [])
        accepted += 0 if reply.traps else 1
        assert bool(reply.traps) != bool(reply.ret)
    assert d.writes == accepted
