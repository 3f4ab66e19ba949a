"""The simulator's layer 2 follows the devices' live configuration and the cables, and agrees with the
verifier's trace (which works only from what the devices print)."""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.fakes.lab import SimulatedLab
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.fabric.run import provision
from labsim.provisioners.fabric.verify import observe_all, vlans_carried
from labsim.provisioners.lab import load_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"


@pytest.fixture
def lab():
    lab = load_lab(LAB)
    from labsim.fakes.inventory import load_inventory
    secrets = {r: "l2-test" for r in load_inventory(LAB).secret_refs()}
    with SimulatedLab(LAB, secrets=secrets) as sim:
        conns = {d: connect(ep) for d, ep in Endpoints.from_json(sim.endpoints()).routeros.items()}
        provision(lab, conns.__getitem__)
        yield lab, sim, conns


def verifier_says(lab, conns, vlan):
    return [r for r in vlans_carried(lab, observe_all(lab, conns), clusters_only=False) if r.subject.startswith(vlan + " ")]


def test_factory_devices_carry_nothing():
    from labsim.fakes.inventory import load_inventory
    with SimulatedLab(LAB, secrets={r: "x" for r in load_inventory(LAB).secret_refs()}) as sim:
        tr = sim.world.trace("rb5009-01", "VLAN1500", 1500, ("pve", "enp1s0f0"))
    assert not tr.reached and "no VLAN interface or bridge named VLAN1500" in tr.reason


def test_cluster_vlans_reach_the_proxmox_host_tagged(lab):
    _, sim, _ = lab
    for source, iface, vid in (("rb5009-01", "VLAN1500", 1500), ("rb5009-02", "VLAN2000", 2000)):
        tr = sim.world.trace(source, iface, vid, ("pve", "enp1s0f0"))
        assert tr.reached, tr.reason
        arrival = next(a for a in tr.arrivals if a.endpoint == ("pve", "enp1s0f0"))
        assert arrival.tag == vid  # tagged into the VLAN-aware vmbr0
        assert tr.path[-1].device == "crs328-01" and tr.path[-1].egress == "sfp-sfpplus3"


def test_pi_nodes_get_pinet_untagged_on_their_access_ports(lab):
    _, sim, _ = lab
    tr = sim.world.trace("crs328-01", "VLAN10", 10, ("pi-master-01", "eth0"))
    assert tr.reached
    assert next(a for a in tr.arrivals if a.endpoint == ("pi-master-01", "eth0")).tag is None


def test_management_vlan_reaches_the_proxmox_host_untagged(lab):
    _, sim, _ = lab
    tr = sim.world.trace("crs305-01", "bridge", 1, ("pve", "enp1s0f0"))
    assert tr.reached and next(a for a in tr.arrivals if a.endpoint == ("pve", "enp1s0f0")).tag is None


def test_removing_the_vlan_from_the_trunk_stops_it_at_that_hop(lab):
    lab_, sim, conns = lab
    api = conns["crs328-01"]
    row = next(r for r in api.path("interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(
        p for p in row["tagged"].split(",") if p != "sfp-sfpplus3")})
    tr = sim.world.trace("rb5009-01", "VLAN1500", 1500, ("pve", "enp1s0f0"))
    assert not tr.reached
    assert tr.stopped_at == "crs328-01 sfp-sfpplus3", tr.reason
    # the verifier, reading only what devices print, names the same hop
    (res,) = [r for r in verifier_says(lab_, conns, "VLAN1500") if "talos-east" in r.subject]
    assert not res.ok and res.evidence["stopped_at"] == "crs328-01 sfp-sfpplus3"
    # VLAN2000 is untouched
    assert sim.world.trace("rb5009-02", "VLAN2000", 2000, ("pve", "enp1s0f0")).reached


def test_pulled_cable_changes_the_answer_immediately(lab):
    lab_, sim, conns = lab
    sim.world.pull_cable(("pve", "enp1s0f0"))
    tr = sim.world.trace("rb5009-01", "VLAN1500", 1500, ("pve", "enp1s0f0"))
    assert not tr.reached and "no cable" in tr.reason
    running = {r["name"]: r["running"] for r in conns["crs328-01"].path("interface")}
    assert running["sfp-sfpplus3"] is False
    assert not all(r.ok for r in verifier_says(lab_, conns, "VLAN1500"))
    sim.world.plug_cable(("pve", "enp1s0f0"))
    assert sim.world.trace("rb5009-01", "VLAN1500", 1500, ("pve", "enp1s0f0")).reached
    assert all(r.ok for r in verifier_says(lab_, conns, "VLAN1500"))


def test_vlan_interface_needs_the_bridge_tagged(lab):
    _, sim, conns = lab
    api = conns["rb5009-01"]
    row = next(r for r in api.path("interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(
        p for p in row["tagged"].split(",") if p != "bridge")})
    tr = sim.world.trace("rb5009-01", "VLAN1500", 1500, ("pve", "enp1s0f0"))
    assert not tr.reached
    assert "bridge bridge is not a tagged member of VLAN 1500" in tr.reason


def test_filtering_off_forwards_tags_as_they_come(lab):
    _, sim, conns = lab
    for dev in ("rb5009-01", "crs305-01", "crs328-01"):
        api = conns[dev]
        br = next(iter(api.path("interface", "bridge")))
        api.path("interface", "bridge").update(**{".id": br[".id"], "vlan-filtering": False})
    tr = sim.world.trace("rb5009-01", "VLAN1500", 1500, ("pve", "enp1s0f0"))
    assert tr.reached
    assert next(a for a in tr.arrivals if a.endpoint == ("pve", "enp1s0f0")).tag == 1500
