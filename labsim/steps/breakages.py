"""Named ways to break a simulated lab right after it is provisioned (`--sim-break NAME`).

They exist to prove the features: each scenario must fail when the lab is broken the way it
describes (tests/features/test_broken_lab.py runs every pair). A breakage acts as an engineer at the
keyboard (through the device API) or as the physical world (a pulled cable, a device that refuses).
"""
from __future__ import annotations

from typing import Callable

from labsim.fakes.routeros.api import Trap
from labsim.steps.ceph_breakages import CEPH_BREAKAGES
from labsim.steps.cloud_breakages import CLOUD_BREAKAGES
from labsim.steps.cloud_breakages import breaks_after as cloud_breaks_after
from labsim.steps.ceph_breakages import breaks_after as ceph_breaks_after
from labsim.steps.mesh_breakages import MESH_BREAKAGES
from labsim.steps.mesh_breakages import breaks_after as mesh_breaks_after
from labsim.steps.talos_breakages import TALOS_BREAKAGES
from labsim.steps.talos_breakages import breaks_after as talos_breaks_after


def _api(target, device):
    return target.routeros(device)


def _rows(api, *menu):
    return list(api.path(*menu))


def trunk_vlan_removed(target, monkeypatch) -> None:
    api = _api(target, "crs328-01")
    row = next(r for r in _rows(api, "interface", "bridge", "vlan") if str(r.get("vlan-ids")) == "1500")
    tagged = [p for p in str(row["tagged"]).split(",") if p != "sfp-sfpplus3"]
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(tagged)})


def vlan_interface_removed(target, monkeypatch) -> None:
    api = _api(target, "rb5009-02")
    row = next(r for r in _rows(api, "interface", "vlan") if r["name"] == "VLAN1500")
    api.path("interface", "vlan").remove(row[".id"])


def proxmox_cable_pulled(target, monkeypatch) -> None:
    target.sim.world.pull_cable(("pve", "enp1s0f0"))


def second_dhcp_server(target, monkeypatch) -> None:
    api = _api(target, "rb5009-02")
    api.path("ip", "pool").add(name="rogue-pool", ranges="192.168.15.200-192.168.15.210")
    api.path("ip", "dhcp-server").add(name="rogue", interface="VLAN1500", **{"address-pool": "rogue-pool"})


def pool_outside_subnet(target, monkeypatch) -> None:
    api = _api(target, "rb5009-01")
    row = next(r for r in _rows(api, "ip", "pool") if r["name"] == "pool-VLAN1500")
    api.path("ip", "pool").update(**{".id": row[".id"], "ranges": "192.168.16.20-192.168.16.127"})


def gateway_route_lost(target, monkeypatch) -> None:
    """rb5009-01 (VLAN1500's gateway) loses its VLAN2000 address, and with it the connected route."""
    api = _api(target, "rb5009-01")
    row = next(r for r in _rows(api, "ip", "address") if r.get("interface") == "VLAN2000")
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})


def forward_drop(target, monkeypatch) -> None:
    api = _api(target, "rb5009-01")
    api.path("ip", "firewall", "filter").add(chain="forward", action="drop",
                                             **{"src-address": "192.168.15.0/24", "dst-address": "192.168.20.0/24"})


def access_port_pvid_changed(target, monkeypatch) -> None:
    """Someone moves an access port to another VLAN between two applies."""
    api = _api(target, "crs328-01")
    row = next(r for r in _rows(api, "interface", "bridge", "port") if r["interface"] == "ether5")
    api.path("interface", "bridge", "port").update(**{".id": row[".id"], "pvid": 2000})


def device_refuses_repairs(target, monkeypatch) -> None:
    """crs328-01 and rb5009-02 refuse every `set`, so a repair cannot land."""
    for dev, cmds in (("crs328-01", ["/interface/bridge/vlan/set"]), ("rb5009-02", ["/ip/address/set"])):
        for cmd in cmds:
            target.sim.routeros[dev].faults.trap_commands[cmd] = Trap("failure: configuration is locked", 4)


def intent_checks_skipped(target, monkeypatch) -> None:
    """A provisioner that forgets to check the lab file before contacting devices."""
    import labsim.provisioners.fabric.run as run
    monkeypatch.setattr(run, "run_checks", lambda lab: [])


# --- hosts (features/hosts.feature, picluster.feature): applied after the SSH / intent-check step ------
def _ssh(target, host: str, command: str) -> None:
    """An engineer at the host's shell: one command over SSH (through sudo unless root)."""
    from labsim.provisioners.hosts.connect import ssh_client
    from labsim.provisioners.hosts.endpoints import for_target

    ep = for_target(target)[host]
    client = ssh_client(ep)
    try:
        _, out, err = client.exec_command(f"sudo {command}" if ep.sudo else command)
        rc = out.channel.recv_exit_status()
        assert rc == 0, f"{host}: {command}: exit {rc}: {err.read().decode()}"
    finally:
        client.close()


def rke2_agent_stopped(target, monkeypatch) -> None:
    _ssh(target, "pi-worker-01", "systemctl stop rke2-agent")


def rke2_agent_down_past_grace(target, monkeypatch) -> None:
    """pi-worker-01's rke2-agent dies and stays down longer than the node monitor grace period."""
    _ssh(target, "pi-worker-01", "systemctl stop rke2-agent")
    target.clock.sleep(120)


def rke2_config_mode_changed(target, monkeypatch) -> None:
    _ssh(target, "pi-master-02", "chmod 644 /etc/rancher/rke2/config.yaml")


def api_port_closed(target, monkeypatch) -> None:
    """pi-master-03's API port stops answering (a firewall rule, a crashed listener) while rke2-server runs."""
    target.sim.hosts.machines["pi-master-03"].close_port(6443)


def pveproxy_stopped(target, monkeypatch) -> None:
    _ssh(target, "pve", "systemctl stop pveproxy")


def pve_bridge_vids_narrowed(target, monkeypatch) -> None:
    """Someone edits /etc/network/interfaces on the Proxmox host: vmbr0 carries VLANs 2-1000 only."""
    pve = target.sim.hosts.machines["pve"]
    text = pve.node("/etc/network/interfaces").data().decode().replace("bridge-vids 2-4094", "bridge-vids 2-1000")
    pve.add_file("/etc/network/interfaces", text.encode())


def picluster_cluster_id_reused(target, monkeypatch) -> None:
    """The lab file gives the piCluster talos-west's Cilium cluster id."""
    monkeypatch.setattr(target.lab.cluster("piCluster").cilium, "cluster_id", 2)


HOST_BREAKAGES: dict[str, Callable] = {
    "rke2-agent-stopped": rke2_agent_stopped,
    "rke2-agent-down-past-grace": rke2_agent_down_past_grace,
    "rke2-config-mode-changed": rke2_config_mode_changed,
    "api-port-closed": api_port_closed,
    "pveproxy-stopped": pveproxy_stopped,
    "pve-bridge-vids-narrowed": pve_bridge_vids_narrowed,
    "picluster-cluster-id-reused": picluster_cluster_id_reused,
}


# --- Proxmox VMs (features/proxmox.feature): applied right after "the VMs are provisioned" ---------------
def vm_memory_shrunk(target, monkeypatch) -> None:
    from labsim.steps import proxmox_hands
    proxmox_hands.set_memory_and_reboot(target, "cp-e-1", 16384)


def vm_stopped(target, monkeypatch) -> None:
    from labsim.steps import proxmox_hands
    proxmox_hands.stop(target, "cp-w-2")


def vm_moved_to_west_vlan(target, monkeypatch) -> None:
    """wrk-e-2's NIC is retagged into talos-west's VLAN, so it keeps an address whatever happens to VLAN1500."""
    from labsim.steps import proxmox_hands
    proxmox_hands.move_to_vlan(target, "wrk-e-2", 2000)


def proxmox_refuses_creates(target, monkeypatch) -> None:
    """Every VM create fails from now on (a thin pool that never has room)."""
    target.sim.world.proxmox.faults.fail_next_task(
        "qmcreate", "unable to create VM - lvcreate 'pve/vm-disk' failed: insufficient free space", times=None)


def proxmox_refuses_starts(target, monkeypatch) -> None:
    """Every VM start fails from now on (QEMU dies at once, e.g. the host ran out of hugepages)."""
    target.sim.world.proxmox.faults.fail_next_task("qmstart", "start failed: QEMU exited with code 1", times=None)


VM_BREAKAGES: dict[str, Callable] = {
    "vm-memory-shrunk": vm_memory_shrunk,
    "vm-stopped": vm_stopped,
    "vm-moved-to-west-vlan": vm_moved_to_west_vlan,
    "proxmox-refuses-creates": proxmox_refuses_creates,
    "proxmox-refuses-starts": proxmox_refuses_starts,
}


def breaks_after(name: str) -> str:
    """The step after which `--sim-break NAME` breaks the lab."""
    if name in MESH_BREAKAGES:
        return mesh_breaks_after(name)
    if name in TALOS_BREAKAGES:
        return talos_breaks_after(name)
    if name in CEPH_BREAKAGES:
        return ceph_breaks_after(name)
    if name in CLOUD_BREAKAGES:
        return cloud_breaks_after(name)
    return "the VMs are provisioned" if name in VM_BREAKAGES else "the fabric is provisioned"


BREAKAGES: dict[str, Callable] = {
    "trunk-vlan-removed": trunk_vlan_removed,
    "vlan-interface-removed": vlan_interface_removed,
    "proxmox-cable-pulled": proxmox_cable_pulled,
    "second-dhcp-server": second_dhcp_server,
    "pool-outside-subnet": pool_outside_subnet,
    "gateway-route-lost": gateway_route_lost,
    "forward-drop": forward_drop,
    "access-port-pvid-changed": access_port_pvid_changed,
    "device-refuses-repairs": device_refuses_repairs,
    "intent-checks-skipped": intent_checks_skipped,
    **VM_BREAKAGES,
    **HOST_BREAKAGES,   # also here so that --sim-break accepts them anywhere (labsim/steps/host_steps.py applies them)
    **TALOS_BREAKAGES,
    **CEPH_BREAKAGES,
    **MESH_BREAKAGES,
    **CLOUD_BREAKAGES,
}
