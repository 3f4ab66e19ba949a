"""What the world model hangs on: VM events, the guest-agent provider, capacity, bridges, the whole lab."""
from __future__ import annotations

import threading

import pytest
from proxmoxer import ProxmoxAPI

from labsim.fakes.proxmox.testing import load_lab, start_pve_lab, wait_task

ISO = "local:iso/talos-v1.11.3-metal-amd64-qemu-guest-agent.iso"


@pytest.fixture
def lab():
    with start_pve_lab() as lab:
        yield lab


@pytest.fixture
def prox(lab) -> ProxmoxAPI:
    return ProxmoxAPI(**lab.proxmoxer_kwargs())


def vm_params(name: str, cores: int, memory: int, vlan: int, disks: list[tuple[str, str, int]]) -> dict:
    p = dict(name=name, cores=cores, sockets=1, memory=memory, cpu="x86-64-v2-AES", ostype="l26", agent=1,
             scsihw="virtio-scsi-pci", net0=f"virtio,bridge=vmbr0,tag={vlan}", ide2=f"{ISO},media=cdrom")
    for slot, storage, size in disks:
        p[slot] = f"{storage}:{size}"
    return p


def lab_plan() -> list[tuple[int, dict]]:
    """The VMs the lab file's clusters call for (what a provisioner would create)."""
    out = []
    raw = load_lab()
    for cl in raw["clusters"]:
        if cl.get("distribution") != "talos":
            continue
        vlan = int(cl["vlan"].removeprefix("VLAN"))
        for role in ("control_plane", "workers"):
            m = cl["machines"][role]
            for i, name in enumerate(m["names"]):
                disks = [(d["slot"], d["storage"], d["size_gib"]) for d in m["disks"]]
                out.append((m["first_vmid"] + i, vm_params(name, m["cores"], m["memory_mib"], vlan, disks)))
    return out


def test_events_in_order(prox, lab) -> None:
    seen: list[tuple[str, int]] = []
    lab.cluster.on_vm_event.append(lambda event, vm: seen.append((event, vm.vmid)))
    wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, **vm_params("cp-e-1", 2, 2048, 1500, [])), lab.clock)
    vm = prox.nodes("pve").qemu(1501)
    vm.config.put(description="east")
    wait_task(prox, vm.status.start.post(), lab.clock)
    wait_task(prox, vm.status.reboot.post(), lab.clock)
    wait_task(prox, vm.status.shutdown.post(), lab.clock)
    wait_task(prox, vm.delete(), lab.clock)
    assert seen == [("created", 1501), ("config-changed", 1501), ("started", 1501), ("stopped", 1501),
                    ("started", 1501), ("stopped", 1501), ("destroyed", 1501)]


def test_agent_provider_gives_the_lease(prox, lab) -> None:
    def lease(event, vm):
        if event == "started":
            mac = next(iter(vm.nets().values())).macaddr.lower()
            vm.agent_interfaces = [{"name": "ens18", "hardware-address": mac, "ip-addresses": [
                {"ip-address": "192.168.15.23", "ip-address-type": "ipv4", "prefix": 24}]}]
        elif event == "stopped":
            vm.agent_interfaces = None
    lab.cluster.on_vm_event.append(lease)
    wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, **vm_params("cp-e-1", 2, 2048, 1500, [])), lab.clock)
    wait_task(prox, prox.nodes("pve").qemu(1501).status.start.post(), lab.clock)
    lab.clock.sleep(10)
    (ens18,) = prox.nodes("pve").qemu(1501).agent("network-get-interfaces").get()["result"]
    assert ens18["ip-addresses"][0]["ip-address"] == "192.168.15.23"
    lab.cluster.vms[1501].agent_running = False                      # e.g. the guest hangs in early boot
    with pytest.raises(Exception, match="QEMU guest agent is not running"):
        prox.nodes("pve").qemu(1501).agent("network-get-interfaces").get()


def test_a_disk_that_does_not_fit_fails_the_create_task(prox, lab) -> None:
    st = wait_task(prox, prox.nodes("pve").qemu.post(
        vmid=1511, **vm_params("wrk-e-1", 4, 4096, 1500, [("virtio0", "cluster-lvm", 24),
                                                          ("virtio1", "cluster-lvm", 4096)])), lab.clock)
    free_kib = (2048 - 24) * 1024 * 1024
    assert st["exitstatus"] == f"unable to create VM 1511 - not enough free space ({free_kib} < {4096 * 1024 * 1024})"
    assert prox.nodes("pve").qemu.get() == []
    assert prox.nodes("pve").storage("cluster-lvm").content.get() == []     # the first disk was freed again
    assert prox.nodes("pve").storage("cluster-lvm").status.get()["used"] == 0


def test_start_needs_a_live_bridge(prox, lab) -> None:
    wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, name="x", net0="virtio,bridge=vmbr9,tag=1500"), lab.clock)
    st = wait_task(prox, prox.nodes("pve").qemu(1501).status.start.post(), lab.clock)
    assert st["exitstatus"] == "start failed: QEMU exited with code 1"
    log = [line["t"] for line in prox.nodes("pve").tasks(st["upid"]).log.get()]
    assert log[0] == "bridge 'vmbr9' does not exist"
    prox.nodes("pve").network.post(iface="vmbr9", type="bridge", bridge_vlan_aware=1, autostart=1)
    assert wait_task(prox, prox.nodes("pve").qemu(1501).status.start.post(), lab.clock)["exitstatus"] != "OK"
    wait_task(prox, prox.nodes("pve").network.put(), lab.clock)                 # staged bridges go live on reload
    assert wait_task(prox, prox.nodes("pve").qemu(1501).status.start.post(), lab.clock)["exitstatus"] == "OK"
    net = lab.cluster.nodes["pve"].network
    assert net.bridge_carries_vlan("vmbr0", 1500) and net.bridge_carries_vlan("vmbr0", 2000)
    assert not net.bridge_carries_vlan("vmbr0", 1) and not net.bridge_carries_vlan("vmbr5", 1500)


def test_whole_lab_fits_and_runs(prox, lab) -> None:
    plan = lab_plan()
    assert len(plan) == 12
    upids = [prox.nodes("pve").qemu.post(vmid=vmid, **params) for vmid, params in plan]
    assert all(wait_task(prox, u, lab.clock)["exitstatus"] == "OK" for u in upids)
    upids = [prox.nodes("pve").qemu(vmid).status.start.post() for vmid, _ in plan]
    assert all(wait_task(prox, u, lab.clock)["exitstatus"] == "OK" for u in upids)
    used = prox.nodes("pve").storage("cluster-lvm").status.get()["used"]
    assert used == (3 * 16 + 3 * (24 + 128) + 3 * 16 + 3 * (24 + 64)) * 1024 ** 3
    macs = {prox.nodes("pve").qemu(vmid).config.get()["net0"].split(",")[0] for vmid, _ in plan}
    assert len(macs) == 12
    conf = prox.nodes("pve").qemu(1511).config.get()
    assert conf["virtio1"] == "cluster-lvm:vm-1511-disk-1,size=128G" and conf["net0"].endswith("tag=1500")
    assert prox.nodes("pve").qemu(2011).config.get()["net0"].endswith("tag=2000")


def test_concurrent_clients(lab) -> None:
    errors: list[BaseException] = []

    def worker(vmid: int) -> None:
        try:
            p = ProxmoxAPI(**lab.proxmoxer_kwargs())
            p.nodes("pve").qemu.post(vmid=vmid, name=f"vm{vmid}", net0="virtio,bridge=vmbr0")
            for _ in range(5):
                p.cluster.resources.get(type="vm")
        except BaseException as exc:   # noqa: BLE001 - collected for the assertion
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(200 + i,)) for i in range(8)]
    for t in threads:
        t.start()
    for _ in range(20):
        lab.clock.sleep(0.5)            # tasks finish while the clients are still asking
    for t in threads:
        t.join(timeout=30)
    lab.clock.sleep(10)
    assert not errors
    prox = ProxmoxAPI(**lab.proxmoxer_kwargs())
    vms = prox.nodes("pve").qemu.get()
    assert sorted(v["vmid"] for v in vms) == list(range(200, 208)) and all("lock" not in v for v in vms)
