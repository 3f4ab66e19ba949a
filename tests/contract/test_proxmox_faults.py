"""Injected faults as a client sees them, and the write counter idempotence tests rely on."""
from __future__ import annotations

import time

import pytest
from proxmoxer import ProxmoxAPI, ResourceException

from labsim.fakes.proxmox.testing import start_pve_lab, wait_task

VM = dict(name="cp-e-1", cores=2, memory=2048, net0="virtio,bridge=vmbr0,tag=1500", virtio0="cluster-lvm:16",
          agent=1)


@pytest.fixture
def lab():
    with start_pve_lab() as lab:
        yield lab


@pytest.fixture
def prox(lab) -> ProxmoxAPI:
    return ProxmoxAPI(**lab.proxmoxer_kwargs())


def test_fail_next_create(prox, lab) -> None:
    lab.server.faults.fail_next_task("qmcreate", "unable to create VM 1501 - lvcreate 'pve/vm-1501-disk-0' error")
    st = wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, **VM), lab.clock)
    assert st["exitstatus"] == "unable to create VM 1501 - lvcreate 'pve/vm-1501-disk-0' error"
    log = prox.nodes("pve").tasks(st["upid"]).log.get()
    assert log[-1]["t"] == "TASK ERROR: unable to create VM 1501 - lvcreate 'pve/vm-1501-disk-0' error"
    assert prox.nodes("pve").qemu.get() == []                                  # a failed create leaves nothing
    assert prox.nodes("pve").storage("cluster-lvm").content.get() == []
    assert wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, **VM), lab.clock)["exitstatus"] == "OK"   # once


def test_fail_start_of_one_vm_every_time(prox, lab) -> None:
    for vmid in (1501, 1502):
        wait_task(prox, prox.nodes("pve").qemu.post(vmid=vmid, **VM), lab.clock)
    lab.cluster.faults.fail_next_task("qmstart", "start failed: QEMU exited with code 1", vmid=1501, times=None)
    for _ in range(2):
        st = wait_task(prox, prox.nodes("pve").qemu(1501).status.start.post(), lab.clock)
        assert st["exitstatus"] == "start failed: QEMU exited with code 1"
    assert wait_task(prox, prox.nodes("pve").qemu(1502).status.start.post(), lab.clock)["exitstatus"] == "OK"
    assert {v["vmid"]: v["status"] for v in prox.nodes("pve").qemu.get()} == {1501: "stopped", 1502: "running"}


def test_http_503_once_then_normal(prox, lab) -> None:
    lab.server.faults.http_error(r"^/nodes/pve/qemu$", 503, times=1)
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu.get()
    assert (exc.value.status_code, exc.value.content) == (503, "Service Unavailable")
    assert prox.nodes("pve").qemu.get() == []


def test_http_500_always_for_one_method(prox, lab) -> None:
    lab.server.faults.http_error("/cluster/resources", 500, "got timeout", method="GET", times=None)
    for _ in range(3):
        with pytest.raises(ResourceException) as exc:
            prox.cluster.resources.get()
        assert (exc.value.status_code, exc.value.content) == (500, "got timeout")
    assert prox.cluster.nextid.get() == "100"
    lab.server.faults.clear()
    assert prox.cluster.resources.get()


def test_expire_all_tickets_now(lab) -> None:
    prox = ProxmoxAPI(**lab.proxmoxer_kwargs(token=False))
    assert prox.nodes.get()
    lab.cluster.faults.expire_tickets()
    with pytest.raises(ResourceException) as exc:
        prox.nodes.get()
    assert (exc.value.status_code, exc.value.content) == (401, "Authentication failed!")
    fresh = ProxmoxAPI(**lab.proxmoxer_kwargs(token=False))                  # logging in again works
    assert fresh.nodes.get()


def test_real_latency(prox, lab) -> None:
    lab.server.faults.add_latency(0.1)
    t0 = time.monotonic()
    prox.version.get()
    assert time.monotonic() - t0 >= 0.1
    lab.server.faults.add_latency(0)


def test_writes_count_accepted_changes_only(prox, lab) -> None:
    assert lab.cluster.writes == 0
    prox.nodes("pve").qemu.get()
    prox.cluster.resources.get()
    assert lab.cluster.writes == 0                                            # reads are free
    with pytest.raises(ResourceException):
        prox.nodes("pve").qemu.post(vmid=1501, start=True)                    # refused: not a write
    wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, **VM), lab.clock)
    prox.nodes("pve").qemu(1501).config.put(cores=4)
    assert lab.cluster.writes == 2
    assert [(m, p) for m, p, _ in lab.cluster.write_log] == [("POST", "/nodes/pve/qemu"),
                                                              ("PUT", "/nodes/pve/qemu/1501/config")]
    assert lab.cluster.write_log[1][2]["cores"] == "4"
    ProxmoxAPI(**lab.proxmoxer_kwargs(token=False))                           # a login is not a write
    assert lab.cluster.writes == 2


def test_guest_ignoring_acpi_shutdown(prox, lab) -> None:
    wait_task(prox, prox.nodes("pve").qemu.post(vmid=1501, **VM), lab.clock)
    wait_task(prox, prox.nodes("pve").qemu(1501).status.start.post(), lab.clock)
    lab.cluster.vms[1501].acpi_responsive = False
    st = wait_task(prox, prox.nodes("pve").qemu(1501).status.shutdown.post(timeout=30), lab.clock)
    assert st["exitstatus"] == "VM quit/powerdown failed - got timeout"
    st = wait_task(prox, prox.nodes("pve").qemu(1501).status.shutdown.post(timeout=30, forceStop=1), lab.clock)
    assert st["exitstatus"] == "OK" and prox.nodes("pve").qemu(1501).status.current.get()["status"] == "stopped"
