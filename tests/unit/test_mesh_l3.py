"""Routing between the cluster VLANs as the mesh world computes it from the RouterOS devices' live rows
(labsim/fakes/l3.py): through each VLAN's DHCP gateway, its active route and its forward filter, both ways."""
from __future__ import annotations

import pytest

from labsim.fakes.l3 import Routing, forward_verdict
from labsim.provisioners.fabric.run import provision
from labsim.steps.targets import SimTarget

EAST, WEST = "192.168.15.21", "192.168.20.22"


@pytest.fixture
def lab():
    t = SimTarget("labs/aggrik8s.yaml")
    provision(t.lab, t.routeros)
    yield t, Routing.of_world(t.sim.world)
    t.close()


def test_the_provisioned_fabric_routes_between_the_cluster_vlans(lab):
    _, routing = lab
    assert routing.reach(EAST, WEST) is None
    assert routing.reach(EAST, "192.168.15.30") is None          # same subnet: layer 2


def test_a_gateway_that_loses_its_address_on_the_other_vlan_stops_the_route(lab):
    t, routing = lab
    api = t.routeros("rb5009-01")
    row = next(r for r in api.path("ip", "address") if r.get("interface") == "VLAN2000")
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})
    assert routing.reach(EAST, WEST) == f"rb5009-01 (gateway 192.168.15.2) has no active route to {WEST}"
    # the reply path fails too, so west cannot reach east either
    assert routing.reach(WEST, EAST) is not None


def test_a_forward_drop_on_the_gateway_names_the_rule(lab):
    t, routing = lab
    t.routeros("rb5009-02").path("ip", "firewall", "filter").add(
        chain="forward", action="drop", **{"src-address": "192.168.20.0/24", "dst-address": "192.168.15.0/24"})
    why = routing.reach(EAST, WEST)
    assert why is not None and why.startswith("rb5009-02 forward rule") and "(drop) drops" in why


def test_a_disabled_vlan_interface_on_the_gateway_takes_the_gateway_down(lab):
    t, routing = lab
    api = t.routeros("rb5009-01")
    row = next(r for r in api.path("interface", "vlan") if r["name"] == "VLAN1500")
    api.path("interface", "vlan").update(**{".id": row[".id"], "disabled": True})
    assert routing.reach(EAST, WEST) == "no device answers as 192.168.15.0/24's gateway 192.168.15.2"


def test_forward_rules_first_match_wins():
    accept = {".id": "*1", "chain": "forward", "action": "accept", "src-address": "192.168.15.0/24"}
    drop = {".id": "*2", "chain": "forward", "action": "drop"}
    established = {".id": "*0", "chain": "forward", "action": "drop", "connection-state": "established"}
    assert forward_verdict([accept, drop], EAST, WEST) is None
    assert forward_verdict([drop, accept], EAST, WEST) == "*2 (drop)"
    assert forward_verdict([established, accept], EAST, WEST) is None    # not a new connection's rule
    port = {".id": "*3", "chain": "forward", "action": "drop", "protocol": "tcp", "dst-port": "30001-30002"}
    assert forward_verdict([port], EAST, WEST, 30002) == "*3 (drop)"
    assert forward_verdict([port], EAST, WEST, 8080) is None
