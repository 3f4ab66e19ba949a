"""Every endpoint of the Proxmox fake through `proxmoxer` over verified HTTPS (API-token auth).

Tasks are awaited by polling their status while advancing the virtual clock (`wait_task`); nothing
sleeps in real time and proxmoxer's `Tasks.blocking_status` (real sleeps) is never used.
"""
from __future__ import annotations

import re

import pytest
from proxmoxer import ProxmoxAPI, ResourceException
from proxmoxer.tools import Tasks

from labsim.fakes.proxmox.testing import start_pve_lab, wait_task

ISO = "local:iso/talos-v1.11.3-metal-amd64-qemu-guest-agent.iso"
CP = dict(name="cp-e-1", cores=8, sockets=1, memory=32768, cpu="x86-64-v2-AES", ostype="l26",
          scsihw="virtio-scsi-pci", agent=1, onboot=1, net0="virtio,bridge=vmbr0,tag=1500",
          virtio0="cluster-lvm:16", ide2=f"{ISO},media=cdrom")


@pytest.fixture
def lab():
    with start_pve_lab() as lab:
        yield lab


@pytest.fixture
def prox(lab) -> ProxmoxAPI:
    return ProxmoxAPI(**lab.proxmoxer_kwargs())


def create(prox, lab, vmid: int = 1501, **over) -> dict:
    params = {**CP, **over}
    upid = prox.nodes("pve").qemu.post(vmid=vmid, **params)
    return wait_task(prox, upid, lab.clock)


def run(prox, lab, upid: str) -> dict:
    return wait_task(prox, upid, lab.clock)


def test_version_and_nodes(prox, lab) -> None:
    v = prox.version.get()
    assert v["version"] == "8.2.4" and v["release"] == "8.2" and re.fullmatch(r"[0-9a-f]{16}", v["repoid"])
    (node,) = prox.nodes.get()
    assert node["node"] == "pve" and node["status"] == "online" and node["type"] == "node"
    assert node["id"] == "node/pve" and node["maxcpu"] == 64 and node["maxmem"] == 768 * 1024 ** 3
    assert node["level"] == ""
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", node["ssl_fingerprint"])


def test_node_status(prox) -> None:
    st = prox.nodes("pve").status.get()
    assert st["pveversion"].startswith("pve-manager/8.2.4/")
    assert st["cpuinfo"]["cpus"] == 64 and st["memory"]["total"] == 768 * 1024 ** 3
    assert len(st["loadavg"]) == 3 and all(isinstance(x, str) for x in st["loadavg"])
    assert st["kversion"].startswith("Linux ") and st["uptime"] > 0


def test_unknown_node_fails_like_a_proxy_lookup(prox) -> None:
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve2").qemu.get()
    assert exc.value.status_code == 500 and exc.value.content.startswith("hostname lookup 'pve2' failed")


def test_cluster_resources_and_type_filter(prox, lab) -> None:
    create(prox, lab)
    all_ = prox.cluster.resources.get()
    assert {r["type"] for r in all_} == {"qemu", "node", "storage", "sdn"}
    vms = prox.cluster.resources.get(type="vm")
    assert [(r["id"], r["vmid"], r["name"], r["status"]) for r in vms] == [("qemu/1501", 1501, "cp-e-1", "stopped")]
    assert vms[0]["maxdisk"] == 16 * 1024 ** 3 and vms[0]["maxmem"] == 32 * 1024 ** 3 and vms[0]["template"] == 0
    storages = {r["storage"]: r for r in prox.cluster.resources.get(type="storage")}
    assert storages["cluster-lvm"]["plugintype"] == "lvmthin" and storages["cluster-lvm"]["id"] == \
        "storage/pve/cluster-lvm"
    assert storages["local"]["content"] == "backup,iso,snippets,vztmpl"
    assert [r["type"] for r in prox.cluster.resources.get(type="node")] == ["node"]
    with pytest.raises(ResourceException) as exc:
        prox.cluster.resources.get(type="qemu")
    assert exc.value.status_code == 400 and "enumeration 'vm, storage, node, sdn'" in exc.value.errors["type"]


def test_nextid_is_a_string_and_refuses_taken_ids(prox, lab) -> None:
    assert prox.cluster.nextid.get() == "100"
    assert prox.cluster.nextid.get(vmid=1501) == "1501"
    create(prox, lab, 100)
    assert prox.cluster.nextid.get() == "101"
    with pytest.raises(ResourceException) as exc:
        prox.cluster.nextid.get(vmid=100)
    assert exc.value.status_code == 400 and exc.value.errors == {"vmid": "VM 100 already exists"}


def test_create_returns_a_upid_and_runs_as_a_task(prox, lab) -> None:
    upid = prox.nodes("pve").qemu.post(vmid=1501, **CP)
    d = Tasks.decode_upid(upid)
    assert upid.endswith(":") and d["node"] == "pve" and d["type"] == "qmcreate" and d["id"] == "1501"
    assert upid.split(":")[7] == "root@pam!ci"            # the token id is the task's user
    st = prox.nodes("pve").tasks(upid).status.get()
    assert st["status"] == "running" and "exitstatus" not in st
    (vm,) = prox.nodes("pve").qemu.get()
    assert vm["lock"] == "create"                           # the config exists, locked, while creating
    st = run(prox, lab, upid)
    assert st["exitstatus"] == "OK" and st["user"] == "root@pam" and st["tokenid"] == "ci"
    assert 2 <= lab.clock.now() <= 5
    log = prox.nodes("pve").tasks(upid).log.get()
    assert log[-1] == {"n": len(log), "t": "TASK OK"}
    assert {"n": 1, "t": '  Logical volume "vm-1501-disk-0" created.'} in log


def test_config_after_create_has_mac_volume_and_pve_types(prox, lab) -> None:
    create(prox, lab)
    conf = prox.nodes("pve").qemu(1501).config.get()
    assert re.fullmatch(r"virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0,tag=1500", conf["net0"])
    assert conf["virtio0"] == "cluster-lvm:vm-1501-disk-0,size=16G"
    assert conf["ide2"] == f"{ISO},media=cdrom"
    assert conf["cores"] == 8 and conf["sockets"] == 1 and conf["onboot"] == 1
    assert conf["memory"] == "32768" and conf["agent"] == "1" and conf["cpu"] == "x86-64-v2-AES"
    assert conf["boot"] == "order=virtio0;ide2;net0"
    assert re.fullmatch(r"uuid=[0-9a-f-]{36}", conf["smbios1"]) and re.fullmatch(r"[0-9a-f]{40}", conf["digest"])
    assert conf["scsihw"] == "virtio-scsi-pci" and conf["ostype"] == "l26" and "lock" not in conf


def test_same_seed_same_macs(lab) -> None:
    macs = []
    for _ in range(2):
        with start_pve_lab(seed=42) as other:
            p = ProxmoxAPI(**other.proxmoxer_kwargs())
            create(p, other)
            macs.append(p.nodes("pve").qemu(1501).config.get()["net0"])
    assert macs[0] == macs[1]


def test_create_taken_vmid_is_500(prox, lab) -> None:
    create(prox, lab)
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.post(vmid=1501, **CP)
    assert exc.value.status_code == 500
    assert exc.value.content == "unable to create VM 1501 - VM 1501 already exists on node 'pve'"


def test_create_rejects_python_booleans_and_bad_params(prox) -> None:
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.post(vmid=1501, start=True, iso="x")
    assert exc.value.status_code == 400 and exc.value.content == "Parameter verification failed."
    assert exc.value.errors == {
        "start": "type check ('boolean') failed - got 'True'",
        "iso": "property is not defined in schema and the schema does not allow additional properties"}
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.post(name="x")
    assert exc.value.errors == {"vmid": "property is missing and it is not optional"}
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.post(vmid=1501, cores="many", net0="virtio,bridge=vmbr0,tag=4095")
    assert exc.value.errors["cores"] == "type check ('integer') failed - got 'many'"
    assert "net0.tag: value must have a maximum value of 4094" in exc.value.errors["net0"]
    assert prox.nodes("pve").qemu.get() == []


def test_cdrom_alias_and_no_new_disk_without_storage(prox, lab) -> None:
    assert create(prox, lab, 1502, ide2=None, cdrom=ISO)["exitstatus"] == "OK"
    assert prox.nodes("pve").qemu(1502).config.get()["ide2"] == f"{ISO},media=cdrom"
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.post(vmid=1503, virtio0="nosuch:16")
    assert exc.value.status_code == 500 and exc.value.content == "storage 'nosuch' does not exist"
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.post(vmid=1503, virtio0="local:16")
    assert exc.value.errors == {"storage": "storage 'local' does not support vm images"}


def test_missing_vm_is_500_config_file(prox) -> None:
    for call in (lambda: prox.nodes("pve").qemu(999).config.get(),
                 lambda: prox.nodes("pve").qemu(999).status.current.get(),
                 lambda: prox.nodes("pve").qemu(999).status.start.post(),
                 lambda: prox.nodes("pve").qemu(999).delete()):
        with pytest.raises(ResourceException) as exc:
            call()
        assert exc.value.status_code == 500
        assert exc.value.content == "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist"


def test_put_config_is_sync_and_changes_digest(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    before = vm.config.get()
    assert vm.config.put(cores=4, name="cp-east-1", delete="onboot") is None
    after = vm.config.get()
    assert after["cores"] == 4 and after["name"] == "cp-east-1" and "onboot" not in after
    assert after["digest"] != before["digest"]
    assert vm.config.put(cores=4) is None and vm.config.get()["digest"] == after["digest"]   # no change
    with pytest.raises(ResourceException) as exc:
        vm.config.put(cores=2, digest=before["digest"])
    assert exc.value.status_code == 500
    assert exc.value.content == "checksum missmatch (file change by other user?)"   # sic, qemu-server
    with pytest.raises(ResourceException) as exc:
        vm.config.put(cores=2, delete="cores")
    assert exc.value.status_code == 400 and "delete" in exc.value.errors


def test_put_net_without_mac_gets_a_new_mac_like_pve(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    old = vm.config.get()["net0"]
    vm.config.put(net0=old)                                    # idempotent when the MAC is sent back
    assert vm.config.get()["net0"] == old
    vm.config.put(net0="virtio,bridge=vmbr0,tag=1500")         # without it, PVE picks a fresh one
    assert vm.config.get()["net0"] != old


def test_put_new_disk_allocates_and_replaced_disk_becomes_unused(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    vm.config.put(virtio1="cluster-lvm:128")
    conf = vm.config.get()
    assert conf["virtio1"] == "cluster-lvm:vm-1501-disk-1,size=128G"
    vm.config.put(virtio1="cluster-lvm:64")
    conf = vm.config.get()
    assert conf["virtio1"] == "cluster-lvm:vm-1501-disk-2,size=64G" and conf["unused0"] == "cluster-lvm:vm-1501-disk-1"
    vm.config.put(delete="unused0")
    vols = [c["volid"] for c in prox.nodes("pve").storage("cluster-lvm").content.get()]
    assert vols == ["cluster-lvm:vm-1501-disk-0", "cluster-lvm:vm-1501-disk-2"]


def test_post_config_is_a_qmconfig_task(prox, lab) -> None:
    create(prox, lab)
    upid = prox.nodes("pve").qemu(1501).config.post(memory=16384, balloon=0)
    assert Tasks.decode_upid(upid)["type"] == "qmconfig"
    assert run(prox, lab, upid)["exitstatus"] == "OK"
    assert prox.nodes("pve").qemu(1501).config.get()["memory"] == "16384"
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu(1501).config.post(balloon=99999)
    assert exc.value.content == "balloon value too large (must be smaller than assigned memory)"


def test_power_cycle(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    st = run(prox, lab, vm.status.start.post())
    assert st["exitstatus"] == "OK" and Tasks.decode_upid(st["upid"])["type"] == "qmstart"
    cur = vm.status.current.get()
    assert cur["status"] == "running" and cur["qmpstatus"] == "running" and cur["agent"] == 1
    assert cur["ha"] == {"managed": 0} and cur["pid"] > 0 and cur["cpus"] == 8
    assert run(prox, lab, vm.status.start.post())["exitstatus"] == "VM 1501 already running"
    assert prox.nodes("pve").tasks.get(errors=1)[0]["status"] == "VM 1501 already running"
    assert run(prox, lab, vm.status.suspend.post())["exitstatus"] == "OK"
    assert vm.status.current.get()["qmpstatus"] == "paused"
    assert run(prox, lab, vm.status.resume.post())["exitstatus"] == "OK"
    assert run(prox, lab, vm.status.reboot.post())["exitstatus"] == "OK"
    assert run(prox, lab, vm.status.reset.post())["exitstatus"] == "OK"
    assert run(prox, lab, vm.status.shutdown.post())["exitstatus"] == "OK"
    assert vm.status.current.get()["status"] == "stopped"
    assert run(prox, lab, vm.status.stop.post())["exitstatus"] == "OK"      # stopping a stopped VM is fine
    for action in ("reboot", "reset", "suspend", "resume"):
        with pytest.raises(ResourceException) as exc:
            getattr(vm.status, action).post()
        assert (exc.value.status_code, exc.value.content) == (500, "VM 1501 not running")
    run(prox, lab, vm.status.start.post())
    assert run(prox, lab, vm.status.stop.post())["exitstatus"] == "OK"
    assert [v["status"] for v in prox.nodes("pve").qemu.get()] == ["stopped"]


def test_qemu_list_fields(prox, lab) -> None:
    create(prox, lab)
    run(prox, lab, prox.nodes("pve").qemu(1501).status.start.post())
    (vm,) = prox.nodes("pve").qemu.get(full=1)
    assert vm["vmid"] == 1501 and isinstance(vm["vmid"], int) and vm["status"] == "running"
    assert vm["maxmem"] == 32 * 1024 ** 3 and vm["maxdisk"] == 16 * 1024 ** 3 and vm["qmpstatus"] == "running"
    for key in ("cpus", "mem", "disk", "netin", "netout", "uptime", "cpu", "pid"):
        assert key in vm


def test_running_vm_changes_wait_for_restart(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    run(prox, lab, vm.status.start.post())
    vm.config.put(cores=4, name="renamed")
    assert vm.config.get()["cores"] == 4                      # pending values are shown by default
    assert vm.config.get(current=1)["cores"] == 8
    assert vm.config.get(current=1)["name"] == "renamed"      # a name applies at once
    assert {p["key"]: p for p in vm.pending.get()}["cores"] == {"key": "cores", "value": 8, "pending": 4}
    assert vm.status.current.get()["cpus"] == 8
    run(prox, lab, vm.status.reboot.post())
    assert vm.config.get(current=1)["cores"] == 4 and vm.status.current.get()["cpus"] == 4


def test_destroy(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    run(prox, lab, vm.status.start.post())
    with pytest.raises(ResourceException) as exc:
        vm.delete()
    assert (exc.value.status_code, exc.value.content) == (500, "VM 1501 is running - destroy failed")
    run(prox, lab, vm.status.stop.post())
    st = run(prox, lab, vm.delete(purge=1, **{"destroy-unreferenced-disks": 1}))
    assert st["exitstatus"] == "OK" and Tasks.decode_upid(st["upid"])["type"] == "qmdestroy"
    assert prox.nodes("pve").qemu.get() == []
    assert prox.nodes("pve").storage("cluster-lvm").content.get() == []
    log = [line["t"] for line in prox.nodes("pve").tasks(st["upid"]).log.get()]
    assert log == ['  Logical volume "vm-1501-disk-0" successfully removed.', "TASK OK"]


def test_clone(prox, lab) -> None:
    create(prox, lab)
    st = run(prox, lab, prox.nodes("pve").qemu(1501).clone.post(newid=1502, name="cp-e-2"))
    assert st["exitstatus"] == "OK" and Tasks.decode_upid(st["upid"])["type"] == "qmclone"
    src, new = prox.nodes("pve").qemu(1501).config.get(), prox.nodes("pve").qemu(1502).config.get()
    assert new["name"] == "cp-e-2" and new["virtio0"] == "cluster-lvm:vm-1502-disk-0,size=16G"
    assert new["net0"] != src["net0"] and new["net0"].endswith(",bridge=vmbr0,tag=1500")
    assert new["smbios1"] != src["smbios1"] and new["cores"] == src["cores"]
    log = [line["t"] for line in prox.nodes("pve").tasks(st["upid"]).log.get()]
    assert log[0] == "create full clone of drive virtio0 (cluster-lvm:vm-1501-disk-0)" and log[-1] == "TASK OK"
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu(1501).clone.post(newid=1502)
    assert exc.value.status_code == 500 and "VM 1502 already exists on node 'pve'" in exc.value.content


def test_task_list_and_log_paging(prox, lab) -> None:
    up = prox.nodes("pve").qemu.post(vmid=1501, **CP)
    assert prox.nodes("pve").tasks.get() == []                                   # archive: finished only
    assert [t["upid"] for t in prox.nodes("pve").tasks.get(source="active")] == [up]
    run(prox, lab, up)
    (t,) = prox.nodes("pve").tasks.get()
    assert t["upid"] == up and t["status"] == "OK" and t["type"] == "qmcreate" and t["endtime"] >= t["starttime"]
    assert prox.nodes("pve").tasks.get(vmid=999) == []
    assert prox.nodes("pve").tasks(up).log.get(start=1, limit=1) == [{"n": 2, "t": "TASK OK"}]
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").tasks("UPID:pve:bogus").status.get()
    assert exc.value.errors == {"upid": "unable to parse worker upid"}
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").tasks(up.replace("qmcreate", "qmstart")).status.get()
    assert exc.value.errors == {"upid": "no such task"}


def test_storage_list_and_content(prox, lab) -> None:
    stores = {s["storage"]: s for s in prox.nodes("pve").storage.get()}
    assert set(stores) == {"local", "cluster-lvm"}
    assert stores["cluster-lvm"]["type"] == "lvmthin" and stores["cluster-lvm"]["total"] == 2048 * 1024 ** 3
    assert stores["cluster-lvm"]["active"] == 1 and stores["cluster-lvm"]["enabled"] == 1
    assert [s["storage"] for s in prox.nodes("pve").storage.get(content="iso")] == ["local"]
    (iso,) = prox.nodes("pve").storage("local").content.get(content="iso")
    assert iso["volid"] == ISO and iso["format"] == "iso" and iso["content"] == "iso" and iso["size"] > 0
    create(prox, lab)
    (img,) = prox.nodes("pve").storage("cluster-lvm").content.get(vmid=1501)
    assert img == {"volid": "cluster-lvm:vm-1501-disk-0", "content": "images", "format": "raw",
                   "size": 16 * 1024 ** 3, "vmid": 1501, "ctime": img["ctime"], "used": 16 * 1024 ** 3}
    assert prox.nodes("pve").storage("cluster-lvm").status.get()["used"] == 16 * 1024 ** 3
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").storage("nosuch").content.get()
    assert exc.value.content == "storage 'nosuch' does not exist"


def test_guest_agent_errors_then_interfaces(prox, lab) -> None:
    create(prox, lab, 1501)
    create(prox, lab, 1502, agent=None)
    agent = prox.nodes("pve").qemu(1501).agent("network-get-interfaces")
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu(1502).agent("network-get-interfaces").get()
    assert (exc.value.status_code, exc.value.content) == (500, "No QEMU guest agent configured")
    with pytest.raises(ResourceException) as exc:
        agent.get()
    assert (exc.value.status_code, exc.value.content) == (500, "VM 1501 is not running")
    run(prox, lab, prox.nodes("pve").qemu(1501).status.start.post())
    with pytest.raises(ResourceException) as exc:
        agent.get()
    assert (exc.value.status_code, exc.value.content) == (500, "QEMU guest agent is not running")
    lab.clock.sleep(5)
    result = agent.get()["result"]
    mac = prox.nodes("pve").qemu(1501).config.get()["net0"].split(",")[0].split("=")[1].lower()
    assert [i["name"] for i in result] == ["lo", "ens18"]
    assert result[1]["hardware-address"] == mac
    assert [a["ip-address-type"] for a in result[1]["ip-addresses"]] == ["ipv6"]   # no lease: no IPv4
    assert prox.nodes("pve").qemu(1501).agent.ping.post() == {"result": {}}


def test_network_staging_and_reload(prox, lab) -> None:
    net = prox.nodes("pve").network
    (vmbr0,) = net.get(type="any_bridge")
    assert vmbr0["iface"] == "vmbr0" and vmbr0["bridge_vlan_aware"] == 1 and vmbr0["bridge_vids"] == "2-4094"
    assert vmbr0["bridge_ports"] == "enp1s0f0" and vmbr0["cidr"] == "192.168.88.10/24"
    assert vmbr0["gateway"] == "192.168.88.2" and vmbr0["active"] == 1
    assert {i["iface"] for i in net.get(type="eth")} == {"enp1s0f0", "enp1s0f1", "eno1"}
    assert net.post(iface="vmbr1", type="bridge", bridge_ports="enp1s0f1", bridge_vlan_aware=1, autostart=1) is None
    with pytest.raises(ResourceException) as exc:
        net.post(iface="vmbr1", type="bridge")
    assert exc.value.errors == {"iface": "interface already exists"}
    with pytest.raises(ResourceException) as exc:
        net.post(iface="vmbr2", type="bridge", gateway="10.0.0.1")
    assert exc.value.errors == {"gateway": "Default gateway already exists on interface 'vmbr0'."}
    staged = {i["iface"]: i for i in net.get()}
    assert "vmbr1" in staged and "active" not in staged["vmbr1"]
    assert lab.cluster.nodes["pve"].network.bridge("vmbr1") is None                   # not live yet
    changes = lab.cluster.nodes["pve"].network.changes()
    assert changes.startswith("--- /etc/network/interfaces\n+++ /etc/network/interfaces.new") and "+auto vmbr1" in changes
    st = run(prox, lab, net.put())
    assert Tasks.decode_upid(st["upid"])["type"] == "srvreload" and st["id"] == "networking"
    assert net("vmbr1").get()["active"] == 1 and lab.cluster.nodes["pve"].network.changes() is None
    net("vmbr1").put(type="bridge", bridge_vids="1500 2000", delete="autostart")
    net("vmbr1").delete()
    net.delete()                                                                     # revert staged edits
    assert net("vmbr1").get()["bridge_vids"] == "2-4094"
    with pytest.raises(ResourceException) as exc:
        net("vmbr9").put(type="bridge")
    assert exc.value.errors == {"iface": "interface does not exist"}
    with pytest.raises(ResourceException) as exc:
        net("vmbr1").put(bridge_vids="10")
    assert exc.value.errors == {"type": "property is missing and it is not optional"}


def test_resize_grows_only(prox, lab) -> None:
    create(prox, lab)
    vm = prox.nodes("pve").qemu(1501)
    st = run(prox, lab, vm.resize.put(disk="virtio0", size="+8G"))
    assert st["exitstatus"] == "OK" and Tasks.decode_upid(st["upid"])["type"] == "resize"
    assert vm.config.get()["virtio0"] == "cluster-lvm:vm-1501-disk-0,size=24G"
    assert run(prox, lab, vm.resize.put(disk="virtio0", size="32G"))["exitstatus"] == "OK"
    (img,) = prox.nodes("pve").storage("cluster-lvm").content.get()
    assert img["size"] == 32 * 1024 ** 3
    with pytest.raises(ResourceException) as exc:
        vm.resize.put(disk="virtio0", size="16G")
    assert exc.value.content == "shrinking disks is not supported"
