"""The VM provisioner's pure parts: what it wants, how it compares, what it plans (no server involved)."""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.provisioners.lab import load_lab
from labsim.provisioners.proxmox.compare import differences
from labsim.provisioners.proxmox.config import Nic, size_gib
from labsim.provisioners.proxmox.desired import desired_vms
from labsim.provisioners.proxmox.observed import Observed, ObservedVm
from labsim.provisioners.proxmox.plan import plan_from, plan_vm

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"
ISO = "local:iso/talos-v1.11.3-metal-amd64-qemu-guest-agent.iso"


@pytest.fixture(scope="module")
def desired():
    return {vm.name: vm for vm in desired_vms(load_lab(LAB))}


def as_built(vm, **over) -> ObservedVm:
    """What PVE prints for a VM created from the plan (MAC added, disks allocated), with changes."""
    conf = {**vm.settings, "net0": vm.nic_text("BC:24:11:00:00:01"),
            **{d.slot: f"{d.storage}:vm-{vm.vmid}-disk-{i},size={d.size_gib}G" for i, d in enumerate(vm.disks)}}
    conf.update(over)
    return ObservedVm(vm.vmid, vm.node, vm.name, "running", dict(conf), dict(conf), "d1g35t")


def test_the_plan_follows_the_talos_guide(desired):
    w = desired["wrk-e-1"]
    assert w.settings == {"name": "wrk-e-1", "cores": "24", "sockets": "1", "memory": "65536",
                          "cpu": "x86-64-v2-AES", "ostype": "l26", "scsihw": "virtio-scsi-pci", "agent": "1",
                          "onboot": "1", "boot": "order=virtio0;ide2;net0", "ide2": f"{ISO},media=cdrom"}
    assert [(d.slot, d.storage, d.size_gib, d.purpose) for d in w.disks] == \
        [("virtio0", "cluster-lvm", 24, "system"), ("virtio1", "cluster-lvm", 128, "ceph")]
    assert (w.bridge, w.tag, w.nic_text()) == ("vmbr0", 1500, "virtio,bridge=vmbr0,tag=1500")
    assert desired["cp-w-1"].tag == 2000 and len(desired["cp-w-1"].disks) == 1


def test_nic_keeps_mac_and_unmanaged_options():
    nic = Nic.parse("virtio=bc:24:11:aa:bb:cc,bridge=vmbr0,firewall=1,tag=2000")
    assert (nic.model, nic.mac, nic.bridge, nic.tag, nic.other) == ("virtio", "BC:24:11:AA:BB:CC", "vmbr0", 2000,
                                                                     {"firewall": "1"})
    nic.tag = 1500
    assert nic.print() == "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1,tag=1500"
    assert size_gib("512M") == 0.5 and size_gib("1T") == 1024 and size_gib("16G") == 16 and size_gib("x") is None


def test_a_vm_as_built_matches_and_plans_nothing(desired):
    vm = desired["wrk-w-2"]
    assert differences(vm, as_built(vm).effective) == []
    assert plan_vm(vm, Observed({vm.vmid: as_built(vm)})).empty()
    # PVE 8.1+ may print memory as `current=N`, agent as `enabled=1,...`, cpu with flags
    printed = as_built(vm, memory="current=65536", agent="enabled=1,fstrim_cloned_disks=1", cpu="x86-64-v2-AES,flags=+aes")
    assert differences(vm, printed.effective) == []


def test_disks_grow_but_never_shrink_or_move(desired):
    vm = desired["wrk-e-1"]
    seen = as_built(vm, virtio0="cluster-lvm:vm-1511-disk-0,size=16G", virtio1="local-lvm:vm-1511-disk-1,size=256G")
    p = plan_vm(vm, Observed({vm.vmid: seen}))
    assert [(s.action, s.params) for s in p.steps] == [("resize", {"disk": "virtio0", "size": "24G"})]
    assert p.notes == ["wrk-e-1 (VM 1511): virtio1 is 256G on local-lvm, want 128G on cluster-lvm "
                       "(moving a disk is left to an engineer)"]
    missing = as_built(vm)
    del missing.effective["virtio1"]
    (step,) = plan_vm(vm, Observed({vm.vmid: missing})).steps
    assert (step.action, step.params) == ("update", {"virtio1": "cluster-lvm:128", "digest": "d1g35t"})


def test_pending_memory_on_a_running_vm_means_update_then_reboot(desired):
    vm = desired["cp-e-1"]
    seen = as_built(vm, memory="16384")                  # the engineer set it and rebooted: it runs with it
    p = plan_vm(vm, Observed({vm.vmid: seen}))
    assert [(s.action, s.params) for s in p.steps] == [("update", {"memory": "32768", "digest": "d1g35t"}),
                                                        ("reboot", {})]
    assert p.steps[1].reasons == ["it runs with memory 16384; 32768 is pending until it restarts"]
    pending = as_built(vm)
    pending.effective["memory"] = "16384"                # set while running: only pending
    assert [s.action for s in plan_vm(vm, Observed({vm.vmid: pending})).steps] == ["update"]
    stopped = as_built(vm, memory="16384")
    stopped.status = "stopped"
    assert [s.action for s in plan_vm(vm, Observed({vm.vmid: stopped})).steps] == ["update", "start"]


def test_vms_the_lab_file_does_not_name_are_left_alone(desired):
    vm = desired["cp-e-1"]
    stranger = ObservedVm(vm.vmid, "pve", "someones-vm", "running")
    p = plan_vm(vm, Observed({vm.vmid: stranger}))
    assert p.empty() and p.conflicts == ["cp-e-1 (VM 1501): VM 1501 on pve is 'someones-vm', which the lab file "
                                         "does not name: left alone"]
    elsewhere = ObservedVm(900, "pve", "cp-e-1", "running")
    p = plan_vm(vm, Observed({900: elsewhere}))
    assert p.empty() and "VM 900 on pve already has this name" in p.conflicts[0]


def test_the_plan_runs_in_phases(desired):
    vms = [desired["cp-e-1"], desired["cp-e-2"]]
    p = plan_from(vms, Observed({1502: as_built(desired["cp-e-2"], cores="4")}))
    assert [(s.vm.name, s.action) for s in p.steps] == [("cp-e-1", "create"), ("cp-e-2", "update"),
                                                        ("cp-e-1", "start"), ("cp-e-2", "reboot")]
