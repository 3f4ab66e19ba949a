"""Contract tests: the real `librouteros` client drives every menu of the simulated device over a socket.

The device (`labsim/fakes/routeros/device.py`) sits behind the API wire server (`labsim/fakes/routeros/server.py`), so
these tests check what a provisioner sees: `add` ids, typed values after librouteros's casting, queries and
`.proplist` applied by the server to the device's rows, and traps raised as `TrapError`/`MultiTrapError`.
"""
from __future__ import annotations

import pytest

librouteros = pytest.importorskip("librouteros")
server_mod = pytest.importorskip("labsim.fakes.routeros.server")

from librouteros.exceptions import MultiTrapError, TrapError
from librouteros.query import Key

from labsim.fakes.clock import VirtualClock
from labsim.fakes.routeros.device import RouterOSDevice

USER, PASSWORD = "admin", "s3cret"


@pytest.fixture
def device() -> RouterOSDevice:
    return RouterOSDevice(model="RB5009UG+S+IN", clock=VirtualClock(), mac_seed=7)


@pytest.fixture
def api(device):
    srv = server_mod.RouterOSServer(device, username=USER, password=PASSWORD, name="rb5009-01")
    srv.start()
    conn = librouteros.connect(host="127.0.0.1", port=srv.port, username=USER, password=PASSWORD, timeout=5)
    try:
        yield conn
    finally:
        conn.close()
        srv.stop()
        assert srv.handler_errors == [], srv.handler_errors


def rows(api, *path, **kw):
    return list(api.path(*path)(**kw) if kw else api.path(*path))


def test_identity_and_resource(api, device):
    assert rows(api, "system", "identity") == [{"name": "MikroTik"}]
    tuple(api("/system/identity/set", name="rb5009-01"))
    assert device.identity == "rb5009-01"
    res = rows(api, "system", "resource")[0]
    assert res["version"] == "7.16.2 (stable)" and res["board-name"] == "RB5009UG+S+"
    assert res["total-memory"] == 1073741824  # librouteros casts decimal text to int


def test_interface_and_ethernet(api, device):
    ifaces = rows(api, "interface")
    assert [i["name"] for i in ifaces][:2] == ["ether1", "ether2"]
    assert ifaces[0]["running"] is False and ifaces[0]["mtu"] == 1500 and ifaces[0]["type"] == "ether"
    api.path("interface", "ethernet").update(**{".id": "ether1", "comment": "uplink", "disabled": True})
    eth1 = next(i for i in rows(api, "interface", "ethernet") if i["default-name"] == "ether1")
    assert eth1["comment"] == "uplink" and eth1["disabled"] is True
    api.path("interface").update(**{".id": eth1[".id"], "disabled": False})
    device.set_link("ether1", True)
    q = api.path("interface").select(Key("name"), Key("running")).where(Key("running") == True)
    assert list(q) == [{"name": "ether1", "running": True}]
    with pytest.raises(MultiTrapError) as exc:
        api.path("interface", "ethernet").add(name="x")
    assert "no such command or directory (add)" in str(exc.value)


def test_bridge_ports_and_vlan_table(api, device):
    bridges = api.path("interface", "bridge")
    bid = bridges.add(name="bridge", **{"vlan-filtering": True, "protocol-mode": "rstp", "frame-types": "admit-all"})
    assert bid.startswith("*")
    b = rows(api, "interface", "bridge")[0]
    assert b[".id"] == bid and b["vlan-filtering"] is True and b["pvid"] == 1 and b["priority"] == "0x8000"
    assert b["ingress-filtering"] is True
    assert [i[".id"] for i in rows(api, "interface") if i["name"] == "bridge"] == [bid]

    ports = api.path("interface", "bridge", "port")
    for iface, pvid in (("ether2", 1), ("ether3", 1500), ("ether4", 2000)):
        ports.add(bridge="bridge", interface=iface, pvid=pvid)
    with pytest.raises(TrapError) as exc:
        ports.add(bridge="bridge", interface="ether2")
    assert exc.value.message == "failure: device already added as bridge port"
    with pytest.raises(TrapError) as exc:
        ports.add(bridge="nope", interface="ether5")
    assert exc.value.message == "input does not match any value of bridge" and exc.value.category == 1

    vlans = api.path("interface", "bridge", "vlan")
    vlans.add(bridge="bridge", **{"vlan-ids": "10,1500,2000", "tagged": "bridge,ether2"})
    vlans.add(bridge="bridge", **{"vlan-ids": "100-110", "tagged": "ether2"})
    table = list(api("/interface/bridge/vlan/print"))
    dynamic = {r["vlan-ids"]: r for r in table if r["dynamic"] is True}
    assert dynamic[1]["current-untagged"] == "bridge,ether2"  # "1" is cast to int by librouteros
    assert dynamic[1500]["current-untagged"] == "ether3"
    static = list(vlans.select(Key(".id"), Key("vlan-ids"), Key("current-tagged")).where(Key("dynamic") == False))
    assert [r["vlan-ids"] for r in static] == ["10,1500,2000", "100-110"]
    assert static[0]["current-tagged"] == "bridge,ether2"
    with pytest.raises(TrapError) as exc:
        vlans.remove(dynamic[1][".id"])
    assert "dynamic" in exc.value.message
    with pytest.raises(TrapError) as exc:
        vlans.add(bridge="bridge", **{"vlan-ids": "1500", "untagged": "ether2"})
    assert exc.value.message == "failure: interface cannot be in tagged and untagged at the same time"

    writes = device.writes
    bridges.remove(bid)
    assert device.writes == writes + 1
    assert rows(api, "interface", "bridge", "port") == [] and rows(api, "interface", "bridge", "vlan") == []


def test_vlan_interfaces_update_and_comma_remove(api):
    vlans = api.path("interface", "vlan")
    a = vlans.add(name="VLAN10", **{"vlan-id": 10}, interface="ether1")
    b = vlans.add(name="VLAN1500", **{"vlan-id": 1500}, interface="ether1", comment="Talos East")
    vlans.update(**{".id": a, "mtu": 1400})
    got = {r["name"]: r for r in vlans}
    assert got["VLAN10"]["mtu"] == 1400 and got["VLAN1500"]["comment"] == "Talos East"
    assert got["VLAN1500"]["vlan-id"] == 1500 and got["VLAN10"][".id"] == a
    with pytest.raises(TrapError) as exc:
        vlans.add(name="bad", **{"vlan-id": 4095}, interface="ether1")
    assert exc.value.message == "value of vlan-id out of range (1..4094)"
    with pytest.raises(TrapError) as exc:
        vlans.add(name="bad", **{"vlan-id": 5})
    assert exc.value.message == "missing value(s) of argument(s) interface"
    with pytest.raises(TrapError) as exc:
        vlans.add(name="VLAN10", **{"vlan-id": 5}, interface="ether1")
    assert exc.value.message == "failure: already have interface with such name"
    with pytest.raises(TrapError) as exc:
        vlans.add(name="x", **{"vlan-id": 5}, interface="ether1", colour="blue")
    assert exc.value.message == "unknown parameter colour"
    vlans.remove(a, b)
    assert list(vlans) == []
    with pytest.raises(TrapError) as exc:
        vlans.remove(a)
    assert "no such item" in exc.value.message


def test_bonding(api):
    bonds = api.path("interface", "bonding")
    bonds.add(name="bond-crs328", slaves="ether5,ether6,ether7,ether8", mode="802.3ad", **{"lacp-rate": "1sec",
              "transmit-hash-policy": "layer-2-and-3"})
    bond = next(iter(bonds))
    assert bond["mode"] == "802.3ad" and bond["lacp-rate"] == "1sec" and bond["slaves"] == "ether5,ether6,ether7,ether8"
    assert [i["slave"] for i in rows(api, "interface") if i["name"] == "ether5"] == [True]
    with pytest.raises(TrapError):
        bonds.add(slaves="ether8")


def test_addresses_routes_pool_dhcp_and_leases(api, device):
    api.path("interface", "bridge").add(name="bridge")
    api.path("ip", "address").add(address="192.168.88.2/24", interface="bridge")
    addr = rows(api, "ip", "address")[0]
    assert addr["network"] == "192.168.88.0" and addr["interface"] == "bridge" and addr["invalid"] is False
    route = rows(api, "ip", "route")[0]
    assert route["dst-address"] == "192.168.88.0/24" and route["gateway"] == "bridge"
    assert route["connect"] is True and route["dynamic"] is True and route["distance"] == 0
    api.path("ip", "route").add(**{"dst-address": "10.244.0.0/16"}, gateway="192.168.88.10")
    static = list(api.path("ip", "route").select(Key("active"), Key("static")).where(Key("static") == True))
    assert static == [{"active": True, "static": True}]
    with pytest.raises(TrapError) as exc:
        api.path("ip", "address").add(address="192.168.88.2/24", interface="bridge")
    assert exc.value.message == "failure: already have such address"

    api.path("ip", "pool").add(name="pool-88", ranges="192.168.88.20-192.168.88.127")
    with pytest.raises(TrapError) as exc:
        api.path("ip", "pool").add(name="pool-88", ranges="192.168.88.20-192.168.88.127")
    assert exc.value.message == "failure: pool with such name exists"
    with pytest.raises(TrapError) as exc:
        api.path("ip", "dhcp-server").add(name="dhcp-88", interface="bridge", **{"address-pool": "nope"})
    assert exc.value.message == "input does not match any value of address-pool"
    api.path("ip", "dhcp-server").add(name="dhcp-88", interface="bridge", **{"address-pool": "pool-88"})
    srv = rows(api, "ip", "dhcp-server")[0]
    assert srv["lease-time"] == "30m" and srv["authoritative"] is True and srv["address-pool"] == "pool-88"
    api.path("ip", "dhcp-server", "network").add(address="192.168.88.0/24", gateway="192.168.88.2",
                                                 **{"dns-server": "8.8.8.8,8.8.4.4"})
    net = rows(api, "ip", "dhcp-server", "network")[0]
    assert net["dns-server"] == "8.8.8.8,8.8.4.4" and net["gateway"] == "192.168.88.2"
    lid = api.path("ip", "dhcp-server", "lease").add(address="192.168.88.91", server="dhcp-88",
                                                     **{"mac-address": "D8:3A:DD:00:10:91"}, comment="pi")
    device.grant_lease("dhcp-88", "D8:3A:DD:00:10:91", "192.168.88.91", "pi-master-01")
    device.grant_lease("dhcp-88", "BC:24:11:00:00:01", "192.168.88.20", "cp-e-1")
    leases = rows(api, "ip", "dhcp-server", "lease")
    assert [(l[".id"] == lid, l["status"], l["dynamic"]) for l in leases] == [(True, "bound", False),
                                                                              (False, "bound", True)]


def test_firewall_order_over_the_wire(api):
    rules = api.path("ip", "firewall", "filter")
    first = rules.add(chain="input", action="accept", comment="established")
    last = rules.add(chain="input", action="drop", comment="drop-rest")
    bgp = rules.add(chain="input", action="accept", protocol="tcp", **{"dst-port": "179", "src-address": "192.168.88.4",
                                                                      "place-before": last}, comment="BGP")
    assert [r["comment"] for r in rules] == ["established", "BGP", "drop-rest"]
    tuple(api("/ip/firewall/filter/move", numbers=first, destination=last))
    assert [r[".id"] for r in rules] == [bgp, first, last]
    tuple(api("/ip/firewall/filter/move", numbers=bgp))
    assert [r[".id"] for r in rules] == [first, last, bgp]


def test_unknown_command_is_a_multitrap(api):
    with pytest.raises(MultiTrapError) as exc:
        list(api("/ip/adress/print"))
    messages = [t.message for t in exc.value.traps]
    assert messages == ["no such command or directory (adress)", "no such command prefix"]


def test_second_apply_sends_no_writes(api, device):
    """The shape of an idempotent provisioner: read, compare, write only the difference."""

    def apply():
        have = {r["name"] for r in api.path("interface", "vlan")}
        for name, vid in (("VLAN10", 10), ("VLAN1500", 1500)):
            if name not in have:
                api.path("interface", "vlan").add(name=name, **{"vlan-id": vid}, interface="ether1")

    apply()
    first = device.writes
    assert first == 2
    apply()
    assert device.writes == first
