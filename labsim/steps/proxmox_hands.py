"""What an engineer does by hand on Proxmox VE (the web UI's buttons), through the same API.

Used by drift steps and by breakages; tasks are awaited on the target's clock.
"""
from __future__ import annotations

from labsim.provisioners.proxmox.config import Nic
from labsim.provisioners.proxmox.tasks import wait_tasks

HAND_TIMEOUT = 300.0


def find_vm(api, name: str) -> tuple[str, int]:
    """(node, vmid) of the VM called `name`."""
    for r in api.cluster.resources.get(type="vm"):
        if r.get("name") == name:
            return str(r["node"]), int(r["vmid"])
    raise KeyError(f"no VM named {name!r} on the Proxmox cluster")


def _wait(target, api, node: str, upid: str) -> dict:
    return wait_tasks(api, [(node, upid)], target.clock, HAND_TIMEOUT, 1.0)[0]


def set_memory_and_reboot(target, name: str, mib: int) -> None:
    api = target.proxmox()
    node, vmid = find_vm(api, name)
    api.nodes(node).qemu(vmid).config.put(memory=mib)
    _wait(target, api, node, api.nodes(node).qemu(vmid).status.reboot.post())


def move_to_vlan(target, name: str, vid: int) -> None:
    api = target.proxmox()
    node, vmid = find_vm(api, name)
    nic = Nic.parse(api.nodes(node).qemu(vmid).config.get()["net0"])
    nic.tag = vid
    api.nodes(node).qemu(vmid).config.put(net0=nic.print())


def stop(target, name: str) -> None:
    api = target.proxmox()
    node, vmid = find_vm(api, name)
    _wait(target, api, node, api.nodes(node).qemu(vmid).status.stop.post())


def start(target, name: str) -> None:
    api = target.proxmox()
    node, vmid = find_vm(api, name)
    _wait(target, api, node, api.nodes(node).qemu(vmid).status.start.post())


def destroy(target, name: str) -> None:
    api = target.proxmox()
    node, vmid = find_vm(api, name)
    _wait(target, api, node, api.nodes(node).qemu(vmid).status.stop.post())
    _wait(target, api, node, api.nodes(node).qemu(vmid).delete(purge=1))
