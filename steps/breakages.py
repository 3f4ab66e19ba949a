"""Named ways to break a simulated lab right after it is provisioned (`--sim-break NAME`).

They exist to prove the features: each scenario must fail when the lab is broken the way it
describes (tests/features/test_broken_lab.py runs every pair). A breakage acts as an engineer at the
keyboard (through the device API) or as the physical world (a pulled cable, a device that refuses).
"""
from __future__ import annotations

from typing import Callable

from fakes.routeros.api import Trap


def _api(target, device):
    return target.routeros(device)


def _rows(api, *menu):
    return list(api.path(*menu))


def trunk_vlan_removed(target, monkeypatch) -> None:
    api = _api(target, "crs328-01")
    row = next(r for r in _rows(api, "interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    tagged = [p for p in str(row["tagged"]).split(",") if p != "sfp-sfpplus3"]
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(tagged)})


def vlan_interface_removed(target, monkeypatch) -> None:
    api = _api(target, "rb5009-02")
    row = next(r for r in _rows(api, "interface", "vlan") if r["name"] == "VLAN1500")
    api.path("interface", "vlan").remove(row[".id"])


def proxmox_cable_pulled(target, monkeypatch) -> None:
    target.sim.world.pull_cable(("pve", "enp1s0f0"))


def second_dhcp_server(target, monkeypatch) -> None:
    api = _api(target, "rb5009-02")
    api.path("ip", "pool").add(name="rogue-pool", ranges="192.168.15.200-192.168.15.210")
    api.path("ip", "dhcp-server").add(name="rogue", interface="VLAN1500", **{"address-pool": "rogue-pool"})


def pool_outside_subnet(target, monkeypatch) -> None:
    api = _api(target, "rb5009-01")
    row = next(r for r in _rows(api, "ip", "pool") if r["name"] == "pool-VLAN1500")
    api.path("ip", "pool").update(**{".id": row[".id"], "ranges": "192.168.16.20-192.168.16.127"})


def gateway_route_lost(target, monkeypatch) -> None:
    """rb5009-01 (VLAN1500's gateway) loses its VLAN2000 address, and with it the connected route."""
    api = _api(target, "rb5009-01")
    row = next(r for r in _rows(api, "ip", "address") if r.get("interface") == "VLAN2000")
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})


def forward_drop(target, monkeypatch) -> None:
    api = _api(target, "rb5009-01")
    api.path("ip", "firewall", "filter").add(chain="forward", action="drop",
                                             **{"src-address": "192.168.15.0/24", "dst-address": "192.168.20.0/24"})


def access_port_pvid_changed(target, monkeypatch) -> None:
    """Someone moves an access port to another VLAN between two applies."""
    api = _api(target, "crs328-01")
    row = next(r for r in _rows(api, "interface", "bridge", "port") if r["interface"] == "ether5")
    api.path("interface", "bridge", "port").update(**{".id": row[".id"], "pvid": 2000})


def device_refuses_repairs(target, monkeypatch) -> None:
    """crs328-01 and rb5009-02 refuse every `set`, so a repair cannot land."""
    for dev, cmds in (("crs328-01", ["/interface/bridge/vlan/set"]), ("rb5009-02", ["/ip/address/set"])):
        for cmd in cmds:
            target.sim.routeros[dev].faults.trap_commands[cmd] = Trap("failure: configuration is locked", 4)


def intent_checks_skipped(target, monkeypatch) -> None:
    """A provisioner that forgets to check the lab file before contacting devices."""
    import provisioners.fabric.run as run
    monkeypatch.setattr(run, "run_checks", lambda lab: [])


BREAKAGES: dict[str, Callable] = {
    "trunk-vlan-removed": trunk_vlan_removed,
    "vlan-interface-removed": vlan_interface_removed,
    "proxmox-cable-pulled": proxmox_cable_pulled,
    "second-dhcp-server": second_dhcp_server,
    "pool-outside-subnet": pool_outside_subnet,
    "gateway-route-lost": gateway_route_lost,
    "forward-drop": forward_drop,
    "access-port-pvid-changed": access_port_pvid_changed,
    "device-refuses-repairs": device_refuses_repairs,
    "intent-checks-skipped": intent_checks_skipped,
}
