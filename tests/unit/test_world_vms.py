"""The world puts the Proxmox VMs on the fabric: a VM gets a DHCP lease only when its VLAN is carried hop by
hop from the serving device to the Proxmox NIC, and every change (cable, trunk, tag, power) moves it at once."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from proxmoxer import ProxmoxAPI

from labsim.fakes.inventory import load_inventory
from labsim.fakes.lab import SimulatedLab
from labsim.fakes.proxmox.testing import wait_task
from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.fabric.run import provision
from labsim.provisioners.lab import load_lab

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"
ISO = "local:iso/talos-v1.11.3-metal-amd64-qemu-guest-agent.iso"


@pytest.fixture
def lab():
    secrets = {r: "vm-test" for r in load_inventory(LAB).secret_refs()}
    with SimulatedLab(LAB, secrets=secrets) as sim:
        eps = Endpoints.from_json(sim.endpoints())
        conns = {d: connect(ep) for d, ep in eps.routeros.items()}
        provision(load_lab(LAB), conns.__getitem__)
        ep = eps.proxmox["pve"]
        prox = ProxmoxAPI(f"{ep.host}:{ep.port}", user=ep.user, token_name=ep.token_id, token_value=ep.token_secret,
                          verify_ssl=ep.ca)
        yield sim, prox, conns


def start_vm(sim, prox, vmid: int, tag: int | None = 1500, *, iso: bool = True, boot: str | None = None) -> None:
    params = dict(vmid=vmid, name=f"vm-{vmid}", memory=2048, agent=1, virtio0="cluster-lvm:8",
                  net0="virtio,bridge=vmbr0" + (f",tag={tag}" if tag else ""))
    if iso:
        params["ide2"] = f"{ISO},media=cdrom"
    if boot:
        params["boot"] = boot
    assert wait_task(prox, prox.nodes("pve").qemu.post(**params), sim.clock)["exitstatus"] == "OK"
    assert wait_task(prox, prox.nodes("pve").qemu(vmid).status.start.post(), sim.clock)["exitstatus"] == "OK"
    sim.clock.sleep(10)   # the guest agent answers a few seconds after start


def agent_ipv4(prox, vmid: int) -> list[tuple[str, int]]:
    result = prox.nodes("pve").qemu(vmid).agent("network-get-interfaces").get()["result"]
    return [(a["ip-address"], a["prefix"]) for i in result for a in i["ip-addresses"]
            if a["ip-address-type"] == "ipv4" and i["name"] != "lo"]


def leases(conns, device: str) -> dict[str, dict]:
    return {str(r["mac-address"]): r for r in conns[device].path("ip", "dhcp-server", "lease")}


def mac(sim, vmid: int) -> str:
    return next(iter(sim.world.proxmox.vms[vmid].nets().values())).macaddr


def test_a_started_vm_holds_a_lease_from_its_vlans_server(lab):
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)
    assert agent_ipv4(prox, 1501) == [("192.168.15.20", 24)]
    row = leases(conns, "rb5009-01")[mac(sim, 1501)]
    assert (row["address"], row["server"], row["status"], row["host-name"]) == \
        ("192.168.15.20", "dhcp-VLAN1500", "bound", "vm-1501")
    assert sim.world.proxmox.vms[1501].world["talos"] == "maintenance"       # booted the Talos ISO
    assert prox.nodes("pve").qemu(1501).agent("get-osinfo").get()["result"]["id"] == "talos"


def test_a_second_vm_gets_the_next_address_and_west_gets_west(lab):
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)
    start_vm(sim, prox, 1502)
    start_vm(sim, prox, 2001, tag=2000)
    assert agent_ipv4(prox, 1502) == [("192.168.15.21", 24)]
    assert agent_ipv4(prox, 2001) == [("192.168.20.20", 24)]
    assert leases(conns, "rb5009-02")[mac(sim, 2001)]["server"] == "dhcp-VLAN2000"


def test_pulled_cable_drops_the_lease_and_names_the_hop_then_plugging_restores_it(lab):
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)
    sim.world.pull_cable(("pve", "enp1s0f0"))
    assert agent_ipv4(prox, 1501) == []
    assert mac(sim, 1501) not in leases(conns, "rb5009-01")
    assert sim.world.vm_network.explain(1501) == "pve enp1s0f0: no cable (or the link is down)"
    sim.world.plug_cable(("pve", "enp1s0f0"))
    assert agent_ipv4(prox, 1501) == [("192.168.15.20", 24)]                 # asks for its old address again
    assert leases(conns, "rb5009-01")[mac(sim, 1501)]["status"] == "bound"


def test_a_vlan_removed_from_a_trunk_names_the_hop_and_only_that_vlan_suffers(lab):
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)
    start_vm(sim, prox, 2001, tag=2000)
    api = conns["crs328-01"]
    row = next(r for r in api.path("interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    tagged = ",".join(p for p in str(row["tagged"]).split(",") if p != "sfp-sfpplus3")
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": tagged})
    sim.world.settle()
    assert agent_ipv4(prox, 1501) == []
    assert sim.world.vm_network.explain(1501).startswith(
        "VLAN 1500 from rb5009-01 dhcp-VLAN1500 stops at crs328-01 sfp-sfpplus3: VLAN 1500 is not in the tagged")
    assert agent_ipv4(prox, 2001) == [("192.168.20.20", 24)]
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": row["tagged"]})
    sim.world.settle()
    assert agent_ipv4(prox, 1501) == [("192.168.15.20", 24)]


def test_changing_the_tag_moves_the_lease_and_stopping_releases_it(lab):
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)
    prox.nodes("pve").qemu(1501).config.put(net0=f"virtio={mac(sim, 1501)},bridge=vmbr0,tag=2000")
    assert agent_ipv4(prox, 1501) == [("192.168.20.20", 24)]
    assert mac(sim, 1501) not in leases(conns, "rb5009-01") and mac(sim, 1501) in leases(conns, "rb5009-02")
    prox.nodes("pve").qemu(1501).config.put(net0=f"virtio={mac(sim, 1501)},bridge=vmbr0,tag=3000")
    assert sim.world.vm_network.explain(1501) == "no DHCP server serves VLAN 3000"
    assert wait_task(prox, prox.nodes("pve").qemu(1501).status.stop.post(), sim.clock)["exitstatus"] == "OK"
    assert not any(r.get("host-name") == "vm-1501" for d in ("rb5009-01", "rb5009-02") for r in leases(conns, d).values())


def test_vids_that_exclude_the_vlan_and_an_untagged_nic(lab):
    sim, prox, _ = lab
    prox.nodes("pve").network("vmbr0").put(type="bridge", bridge_vids="2-1000", bridge_vlan_aware=1)
    wait_task(prox, prox.nodes("pve").network.put(), sim.clock)
    start_vm(sim, prox, 1501)
    assert sim.world.vm_network.explain(1501) == "pve vmbr0: VLAN 1500 is not in bridge-vids 2-1000"
    start_vm(sim, prox, 100, tag=None)        # untagged on the VLAN-aware bridge: its pvid, the management VLAN
    assert agent_ipv4(prox, 100) == [("192.168.88.20", 24)]


def test_a_blank_disk_boots_nothing_and_the_agent_never_answers(lab):
    sim, prox, _ = lab
    start_vm(sim, prox, 1501, iso=False, boot="order=virtio0;net0")
    assert sim.world.proxmox.vms[1501].world["guest"].os is None
    with pytest.raises(Exception, match="QEMU guest agent is not running"):
        agent_ipv4(prox, 1501)
    assert sim.world.vm_network.lease(1501) is None


def test_a_full_pool_leaves_the_next_vm_without_an_address(lab):
    sim, prox, conns = lab
    api = conns["rb5009-01"]
    pool = next(r for r in api.path("ip", "pool") if r["name"] == "pool-VLAN1500")
    api.path("ip", "pool").update(**{".id": pool[".id"], "ranges": "192.168.15.20-192.168.15.20"})
    start_vm(sim, prox, 1501)
    start_vm(sim, prox, 1502)
    assert agent_ipv4(prox, 1501) == [("192.168.15.20", 24)]
    assert sim.world.vm_network.explain(1502) == "rb5009-01 dhcp-VLAN1500: pool pool-VLAN1500 has no free address"


def test_fabric_changes_racing_vm_tasks_never_deadlock(lab):
    """RouterOS writes (device lock, then a try of the clock's) race VM starts and clock advances (clock's
    lock, then device locks); everything finishes and the world ends consistent."""
    sim, prox, conns = lab
    for vmid in range(1501, 1505):
        prox.nodes("pve").qemu.post(vmid=vmid, name=f"vm-{vmid}", memory=1024, agent=1,
                                    net0="virtio,bridge=vmbr0,tag=1500", ide2=f"{ISO},media=cdrom")
    sim.clock.sleep(5)
    api = conns["crs328-01"]
    row = next(r for r in api.path("interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    without = ",".join(p for p in str(row["tagged"]).split(",") if p != "sfp-sfpplus3")
    errors: list[BaseException] = []

    def flap() -> None:
        try:
            for i in range(20):
                api.path("interface", "bridge", "vlan").update(**{".id": row[".id"],
                                                                  "tagged": without if i % 2 == 0 else row["tagged"]})
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(40):
                prox.cluster.resources.get(type="vm")   # HTTP handler threads take the cluster (clock) lock
        except BaseException as exc:
            errors.append(exc)
    threads = [threading.Thread(target=flap), threading.Thread(target=read)]
    for t in threads:
        t.start()
    for vmid in range(1501, 1505):
        prox.nodes("pve").qemu(vmid).status.start.post()
        sim.clock.sleep(1)
    for _ in range(50):
        sim.clock.sleep(0.2)
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "deadlock: the RouterOS writer is stuck"
    sim.world.settle()
    assert not errors
    for vmid in range(1501, 1505):
        assert agent_ipv4(prox, vmid)[0][0].startswith("192.168.15.")        # the last write re-added the VLAN
    assert len({agent_ipv4(prox, v)[0][0] for v in range(1501, 1505)}) == 4


def test_a_fabric_change_while_the_clock_is_busy_is_applied_as_soon_as_it_is_free(lab):
    """Whoever holds the clock's lock may be waiting for a device: the device's change must not wait for the
    clock (it would deadlock), so the refresh runs on its own thread once the lock is free."""
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)
    api = conns["crs328-01"]
    row = next(r for r in api.path("interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    without = ",".join(p for p in str(row["tagged"]).split(",") if p != "sfp-sfpplus3")
    writer = threading.Thread(target=lambda: api.path("interface", "bridge", "vlan").update(
        **{".id": row[".id"], "tagged": without}))
    with sim.clock.lock:
        writer.start()
        writer.join(timeout=10)
        assert not writer.is_alive(), "the RouterOS write waited for the clock"
        assert sim.world.vm_network.lease(1501) is not None     # not yet: the refresh waits for the lock
    sim.world.settle()
    assert sim.world.vm_network.lease(1501) is None
    assert mac(sim, 1501) not in leases(conns, "rb5009-01")


def _address_in_pool(conns) -> None:
    """Someone gives crs305-01 an address inside VLAN1500's DHCP pool (a pool overlapping a device's address)."""
    conns["crs305-01"].path("ip", "address").add(address="192.168.15.20/24", interface="VLAN1500")


def test_conflict_detection_skips_an_address_a_device_answers_for_and_marks_it_busy(lab):
    sim, prox, conns = lab
    _address_in_pool(conns)
    start_vm(sim, prox, 1501)
    assert agent_ipv4(prox, 1501) == [("192.168.15.21", 24)]            # .20 answered a ping: not offered
    rows = [r for r in conns["rb5009-01"].path("ip", "dhcp-server", "lease") if r.get("address") == "192.168.15.20"]
    assert [(r["status"], r["server"]) for r in rows] == [("busy", "dhcp-VLAN1500")]
    assert leases(conns, "rb5009-01")[mac(sim, 1501)]["status"] == "bound"


def test_without_conflict_detection_the_pool_hands_out_a_devices_address(lab):
    sim, prox, conns = lab
    _address_in_pool(conns)
    srv = conns["rb5009-01"].path("ip", "dhcp-server")
    row = next(r for r in srv if r["name"] == "dhcp-VLAN1500")
    srv.update(**{".id": row[".id"], "conflict-detection": False})
    start_vm(sim, prox, 1501)
    assert agent_ipv4(prox, 1501) == [("192.168.15.20", 24)]            # a duplicate address, as RouterOS would do


def test_conflict_detection_skips_an_address_another_vm_holds_from_a_second_server(lab):
    sim, prox, conns = lab
    start_vm(sim, prox, 1501)                                            # .20 from rb5009-01
    api = conns["rb5009-02"]
    api.path("ip", "pool").add(name="rogue-pool", ranges="192.168.15.20-192.168.15.30")
    api.path("ip", "dhcp-server").add(name="rogue", interface="VLAN1500", **{"address-pool": "rogue-pool"})
    net = sim.world.vm_network
    with sim.clock.lock:
        reach = net._reach_now()
        rogue = next(s for s in reach.servers if s.name == "rogue")
        got = rogue.allocate("02:00:00:00:15:99", None, net._answers(reach, None))
    assert got == "192.168.15.21" and rogue.busy["192.168.15.20"].what == "VM vm-1501"
