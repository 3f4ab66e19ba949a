"""Planning from what a device reports: safe order, ownership, exact differences."""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.provisioners.fabric.plan import plan_device
from labsim.provisioners.lab import load_lab

LAB = load_lab(Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml")


def factory() -> dict[str, list[dict]]:
    """A no-defaults device as it prints: ports only."""
    return {"/interface": [{".id": f"*{i}", "name": f"ether{i}", "type": "ether"} for i in range(1, 9)]}


@pytest.mark.parametrize("identity", [d.identity for d in LAB.routeros.devices])
def test_vlan_filtering_is_switched_on_last(identity):
    changes = plan_device(LAB, identity, factory()).changes
    menus = [c.row.menu for c in changes]
    last = changes[-1]
    assert last.row.menu == "/interface/bridge" and last.fields == {"vlan-filtering": "true"}
    assert changes[menus.index("/interface/bridge")].fields["vlan-filtering"] == "false"  # created with it off
    mgmt = next(i for i, c in enumerate(changes) if c.row.menu == "/ip/address" and c.fields["interface"] == "bridge")
    first_vlan_row = menus.index("/interface/bridge/vlan")
    assert first_vlan_row < mgmt < len(changes) - 1
    # the last change refers to the bridge the plan created in this run (resolved by apply)
    assert last.id == f"@{menus.index('/interface/bridge')}"


def test_plan_on_a_matching_device_is_empty_and_ignores_what_it_does_not_own():
    from labsim.provisioners.fabric.desired import desired_rows

    observed: dict[str, list[dict]] = {}
    for n, row in enumerate(r for r in desired_rows(LAB, "crs305-01")):
        if row.menu == "/system/identity":
            observed.setdefault(row.menu, []).append(dict(row.fields))
            continue
        rows = observed.setdefault(row.menu, [])
        match = next((r for r in rows if row.matches(r)), None)
        if match:
            match.update(row.fields)
        else:
            rows.append({".id": f"*{n + 1:X}", **row.on_add, **row.fields})
    # configuration the lab file does not manage: an extra VLAN interface, a hand-made rule, a dynamic route
    observed["/interface/vlan"].append({".id": "*F1", "name": "VLAN99", "vlan-id": 99, "interface": "bridge"})
    observed["/ip/firewall/filter"] = [{".id": "*F2", "chain": "forward", "action": "drop"}]
    observed["/ip/route"] = [{".id": "*F3", "dst-address": "10.0.0.0/8", "dynamic": True}]
    assert plan_device(LAB, "crs305-01", observed).changes == []


def test_differences_name_the_field_what_is_there_and_what_is_wanted():
    from labsim.provisioners.fabric.desired import desired_rows

    observed: dict[str, list[dict]] = {}
    for n, row in enumerate(desired_rows(LAB, "rb5009-02")):
        rows = observed.setdefault(row.menu, [])
        match = next((r for r in rows if row.matches(r)), None) if row.key else (rows[0] if rows else None)
        if match:
            match.update(row.fields)
        else:
            rows.append({".id": f"*{n + 1:X}", **row.on_add, **row.fields})
    addr = next(r for r in observed["/ip/address"] if r["interface"] == "VLAN2000")
    addr["address"] = "192.168.20.99/24"
    port = next(r for r in observed["/interface/bridge/port"] if r["interface"] == "ether4")
    port["pvid"] = 1500  # librouteros casts numbers
    changes = plan_device(LAB, "rb5009-02", observed).changes
    assert [c.describe() for c in changes] == [
        "rb5009-02: access port ether4: pvid is 1500, want 2000",
        "rb5009-02: address on VLAN2000: address is 192.168.20.99/24, want 192.168.20.3/24",
    ]
    assert [c.command() for c in changes] == [
        f"/interface/bridge/port/set .id={port['.id']} pvid=2000",
        f"/ip/address/set .id={addr['.id']} address=192.168.20.3/24",
    ]
