"""The intent-level layer-2 trace: how a VLAN crosses RouterOS bridges and cables, and where it stops."""
from __future__ import annotations

from pathlib import Path

from labsim.provisioners.fabric.intent import desired_l2, lab_cables, trace_intent, vlan_needs
from labsim.provisioners.fabric.l2 import DeviceL2, PortL2, carried_vlans, natural_key, trace_vlan
from labsim.provisioners.lab.load import load_lab

ROOT = Path(__file__).resolve().parents[2]


def trunk(name: str, *vlans: int, pvid: int = 1, **kw) -> PortL2:
    return PortL2(name, pvid, frozenset(vlans), frozenset(), **kw)


def access(name: str, vlan: int, **kw) -> PortL2:
    return PortL2(name, vlan, frozenset(), frozenset({vlan}), **kw)


def dev(name: str, *ports: PortL2, vifs: dict[int, str] | None = None, filtering: bool = True, pvid: int = 1,
        bonds: dict[str, tuple[str, ...]] | None = None) -> DeviceL2:
    vifs = vifs or {}
    return DeviceL2(name, "bridge", filtering, pvid, frozenset(vifs), {p.interface: p for p in ports},
                    bonds or {}, vifs)


def chain(*, sw_trunk: PortL2 | None = None, sw_filtering: bool = True) -> tuple[dict[str, DeviceL2], list]:
    """router ether1 == ether1 switch ether2 == nic0 pve (VLAN 100 tagged all the way)."""
    devices = {
        "router": dev("router", trunk("ether1", 100), vifs={100: "VLAN100"}),
        "switch": dev("switch", trunk("ether1", 100), sw_trunk or trunk("ether2", 100), filtering=sw_filtering),
    }
    cables = [(("router", "ether1"), ("switch", "ether1")), (("switch", "ether2"), ("pve", "nic0"))]
    return devices, cables


def test_tagged_trunk_path() -> None:
    devices, cables = chain()
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert t.reached and t.stopped_at is None and t.reason is None
    assert [(h.device, h.ingress, h.egress, h.tagged) for h in t.hops] == [
        ("router", None, "ether1", True), ("switch", "ether1", "ether2", True), ("pve", "nic0", None, True)]
    assert t.arrived_tagged is True and "arrives tagged" in t.hops[-1].note
    assert t.target == "pve:nic0" and t.vlan == 100 and t.source == "router"


def test_missing_vlan_on_one_trunk_names_that_hop() -> None:
    devices, cables = chain(sw_trunk=trunk("ether2", 200))
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert not t.reached and t.hops == []
    assert t.stopped_at == "switch ether2"
    assert t.reason == "switch ether2: VLAN 100 not in the tagged or untagged list of the bridge VLAN table"


def test_bridge_not_tagged_at_the_source() -> None:
    devices, cables = chain()
    r = devices["router"]
    devices["router"] = DeviceL2(r.device, r.bridge, True, 1, frozenset(), r.ports, {}, {100: "VLAN100"})
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert (t.stopped_at, t.reason) == (
        "router", "router: bridge is not a tagged member of VLAN 100, so VLAN100's interface cannot reach the bridge")
    t = trace_vlan(devices, cables, 300, "router", ("pve", "nic0"))
    assert t.reason == "router: no VLAN interface for VLAN 300 on bridge"


def test_untagged_access_port_arrives_untagged() -> None:
    devices, cables = chain(sw_trunk=access("ether2", 100))
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert t.reached and t.arrived_tagged is False
    assert "arrives untagged: switch ether2 carries VLAN 100 untagged (its pvid 100)" == t.hops[-1].note


def test_native_mismatch_is_reported() -> None:
    # router sends VLAN 100 untagged (its native on ether1), the switch puts untagged frames in pvid 1.
    devices, cables = chain()
    devices["router"] = dev("router", PortL2("ether1", 100, frozenset(), frozenset({100})), vifs={100: "VLAN100"})
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert not t.reached and t.stopped_at == "switch ether1"
    assert "lands in pvid 1 (native VLAN mismatch: VLAN 100 traffic leaks into VLAN 1)" in t.reason
    assert t.notes == [t.reason]


def test_native_vlan_travels_untagged_from_the_bridge() -> None:
    devices, cables = chain()
    t = trace_vlan(devices, cables, 1, "router", ("pve", "nic0"))
    assert t.reached and t.arrived_tagged is False and "native VLAN 1" in t.hops[0].note


def test_bond_slaves_belong_to_their_bond() -> None:
    devices = {
        "a": dev("a", trunk("bond1", 100), vifs={100: "VLAN100"}, bonds={"bond1": ("ether1", "ether2")}),
        "b": dev("b", trunk("bondA", 100), trunk("ether5", 100), bonds={"bondA": ("ether3", "ether4")}),
    }
    cables = [(("a", "ether1"), ("b", "ether3")), (("a", "ether2"), ("b", "ether4")), (("b", "ether5"), ("host", "eth0"))]
    t = trace_vlan(devices, cables, 100, "a", ("host", "eth0"))
    assert t.reached
    assert [(h.device, h.ingress, h.egress) for h in t.hops] == [("a", None, "bond1"), ("b", "bondA", "ether5"),
                                                                ("host", "eth0", None)]
    assert "bond bond1 slave ether1" in t.hops[0].note
    # A slave cabled to a port that is not in the bridge by itself: named.
    devices["b"] = dev("b", trunk("ether5", 100), bonds={"bondA": ("ether3", "ether4")})
    t = trace_vlan(devices, cables, 100, "a", ("host", "eth0"))
    assert not t.reached and t.stopped_at == "b bondA"
    assert t.reason == "b bondA: ether3 belongs to bond bondA, which is not a port of bridge"
    assert carried_vlans(devices, "a", "ether2") == {1: False, 100: True}


def test_loops_terminate_and_pick_the_shortest_path() -> None:
    # Triangle a-b-c-a, host on c.
    devices = {
        "a": dev("a", trunk("ether1", 100), trunk("ether2", 100), vifs={100: "VLAN100"}),
        "b": dev("b", trunk("ether1", 100), trunk("ether2", 100)),
        "c": dev("c", trunk("ether1", 100), trunk("ether2", 100), access("ether3", 100)),
    }
    cables = [(("a", "ether1"), ("b", "ether1")), (("b", "ether2"), ("c", "ether1")), (("c", "ether2"), ("a", "ether2")),
              (("c", "ether3"), ("srv", "eth0"))]
    t = trace_vlan(devices, cables, 100, "a", ("srv", "eth0"))
    assert t.reached and [h.device for h in t.hops] == ["a", "c", "srv"]
    t2 = trace_vlan(devices, cables, 100, "a", ("srv", "eth0"))
    assert t2.hops == t.hops  # deterministic
    t3 = trace_vlan(devices, cables, 100, "a", ("nobody", "eth0"))
    assert not t3.reached and t3.reason == "nobody:eth0: no cable"


def test_vlan_filtering_off_passes_everything_with_tags_preserved() -> None:
    devices, cables = chain(sw_trunk=trunk("ether2", 200), sw_filtering=False)
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert t.reached and t.arrived_tagged is True
    assert carried_vlans(devices, "switch", "ether2")[4094] is True


def test_frame_types() -> None:
    devices, cables = chain(sw_trunk=trunk("ether2", 100))
    devices["switch"].ports["ether1"] = trunk("ether1", 100, frame_types="admit-only-untagged-and-priority-tagged")
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert t.stopped_at == "switch ether1" and "frame-types=admit-only-untagged-and-priority-tagged" in t.reason
    devices, cables = chain()
    devices["switch"].ports["ether1"] = trunk("ether1", 100, frame_types="admit-only-vlan-tagged")
    t = trace_vlan(devices, cables, 1, "router", ("pve", "nic0"))  # the native VLAN arrives untagged
    assert t.stopped_at == "switch ether1" and "admit-only-vlan-tagged drops VLAN 1's untagged frames" in t.reason


def test_ingress_filtering() -> None:
    devices, cables = chain()
    devices["switch"].ports["ether1"] = trunk("ether1", 200)  # not a member of 100
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert t.stopped_at == "switch ether1" and "ingress filtering drops it" in t.reason
    devices["switch"].ports["ether1"] = trunk("ether1", 200, ingress_filtering=False)
    assert trace_vlan(devices, cables, 100, "router", ("pve", "nic0")).reached


def test_disabled_port_and_missing_cable() -> None:
    devices, cables = chain(sw_trunk=trunk("ether2", 100, disabled=True))
    t = trace_vlan(devices, cables, 100, "router", ("pve", "nic0"))
    assert (t.stopped_at, t.reason) == ("switch ether2", "switch ether2: the port is disabled")
    devices, cables = chain()
    t = trace_vlan(devices, cables[:1], 100, "router", ("pve", "nic0"), expected_cables=cables)
    assert (t.stopped_at, t.reason) == ("switch ether2", "cable switch:ether2 - pve:nic0 not present")
    assert carried_vlans(devices, "switch", "ether9") == {}


def test_natural_port_order() -> None:
    assert sorted(["ether10", "ether2", "sfp-sfpplus1", "bond1"], key=natural_key) == ["bond1", "ether2", "ether10",
                                                                                      "sfp-sfpplus1"]


def test_desired_l2_of_the_aggrik8s_lab() -> None:
    lab = load_lab(ROOT / "labs" / "aggrik8s.yaml")
    l2 = desired_l2(lab)
    crs = l2["crs328-01"]
    assert crs.vlan_filtering and crs.bridge_pvid == 1
    assert crs.bridge_tagged == frozenset({10, 1500, 2000})
    assert crs.vlan_interfaces == {10: "VLAN10", 1500: "VLAN1500", 2000: "VLAN2000"}
    assert crs.ports["sfp-sfpplus3"] == PortL2("sfp-sfpplus3", 1, frozenset({10, 1500, 2000}), frozenset())
    assert crs.ports["ether6"].tagged == frozenset({1500, 2000})
    assert crs.ports["ether9"] == PortL2("ether9", 10, frozenset(), frozenset({10}))
    assert crs.bonds["bond-rb5009-01"] == ("ether17", "ether19", "ether21", "ether23")
    assert "ether17" not in crs.ports and "bond-rb5009-01" in crs.ports
    assert carried_vlans(l2, "crs328-01", "sfp-sfpplus3") == {1: False, 10: True, 1500: True, 2000: True}
    assert carried_vlans(l2, "rb5009-01", "ether6") == {1: False, 10: True, 1500: True, 2000: True}  # bond slave


def test_intent_traces_of_the_aggrik8s_lab() -> None:
    lab = load_lab(ROOT / "labs" / "aggrik8s.yaml")
    t = trace_intent(lab, "VLAN1500", ("pve", "enp1s0f0"))
    assert t.reached and t.arrived_tagged and t.hops[0].device == "rb5009-01" and t.hops[-2].egress == "sfp-sfpplus3"
    t = trace_intent(lab, "VLAN10", ("pi-worker-02", "eth0"))
    assert t.reached and t.arrived_tagged is False and t.hops[-2].egress == "ether13"
    needs = {(n.vlan, str(n.targets[0]), n.targets[0].want) for n in vlan_needs(lab)}
    assert ("VLAN1500", "pve:enp1s0f0", "tagged") in needs and ("VLAN2000", "pve:enp1s0f0", "tagged") in needs
    assert ("VLAN1", "pve:enp1s0f0", "untagged") in needs and ("VLAN10", "pi-master-01:eth0", "untagged") in needs
    # The drift scenario of features/fabric.feature, on the intent model.
    l2 = desired_l2(lab)
    p = l2["crs328-01"].ports["sfp-sfpplus3"]
    l2["crs328-01"].ports["sfp-sfpplus3"] = PortL2(p.interface, p.pvid, p.tagged - {1500}, p.untagged)
    t = trace_vlan(l2, lab_cables(lab), 1500, "rb5009-01", ("pve", "enp1s0f0"))
    assert t.stopped_at == "crs328-01 sfp-sfpplus3"
