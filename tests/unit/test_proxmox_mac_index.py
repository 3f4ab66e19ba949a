"""The cluster's index of MACs in use (issue 21: reading every VM's config at each create made N VMs quadratic) stays
exactly what a scan of every VM's config finds, through creates, updates, pending changes, hand edits and deletes."""
from __future__ import annotations

from labsim.fakes.clock import VirtualClock
from labsim.fakes.proxmox.cluster import ProxmoxCluster
from labsim.fakes.proxmox.testing import nodes_from_lab
from labsim.resources import DEFAULT_LAB

USER = "root@pam"


def _scan(cluster: ProxmoxCluster) -> set[str]:
    """What the index replaced: every NIC's MAC of every VM, current and pending."""
    return {n.macaddr.upper() for vm in cluster.vms.values()
            for n in (*vm.nets(current=False).values(), *vm.nets().values()) if n.macaddr}


def test_the_mac_index_follows_every_change_of_every_vm() -> None:
    clock = VirtualClock()
    cluster = ProxmoxCluster(nodes_from_lab(DEFAULT_LAB), clock, users={USER: "x"}, tokens={}, seed=0)
    node = next(iter(cluster.nodes))
    for vmid in (100, 101, 102):
        cluster.create_vm(node, {"vmid": str(vmid), "net0": "virtio,bridge=vmbr0", "net1": "e1000,bridge=vmbr0"},
                          USER)
    clock.sleep(60)
    assert len(_scan(cluster)) == 6 and cluster._macs_in_use() == _scan(cluster)

    cluster.update_vm(node, 101, {"net0": "virtio=BC:24:11:00:00:01,bridge=vmbr0"}, USER, sync=True)
    assert "BC:24:11:00:00:01" in cluster._macs_in_use() and cluster._macs_in_use() == _scan(cluster)

    vm = cluster.vms[102]
    vm.conf["net2"] = "virtio=BC:24:11:00:00:02,bridge=vmbr0"       # a hand edit of the config file
    vm.pending["net3"] = "virtio=BC:24:11:00:00:03,bridge=vmbr0"    # a pending change
    assert {"BC:24:11:00:00:02", "BC:24:11:00:00:03"} <= cluster._macs_in_use() == _scan(cluster)
    vm.pending_delete.add("net2")
    vm.pending.clear()
    vm.conf = {k: v for k, v in vm.conf.items() if k != "net1"}      # replaced whole
    assert cluster._macs_in_use() == _scan(cluster)

    cluster.destroy_vm(node, 100, {}, USER)
    clock.sleep(60)
    assert 100 not in cluster.vms and cluster._macs_in_use() == _scan(cluster)

    taken = cluster._macs_in_use()
    cluster.create_vm(node, {"vmid": "103", "net0": "virtio,bridge=vmbr0"}, USER)   # a new MAC: none in use
    clock.sleep(60)
    (new,) = {n.macaddr for n in cluster.vms[103].nets().values()}
    assert new not in taken and cluster._macs_in_use() == _scan(cluster)

