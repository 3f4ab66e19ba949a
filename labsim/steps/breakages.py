"""Named ways to break a simulated lab (`--sim-break NAME`): the fabric, the Proxmox VMs and the lab's hosts here;
Talos, the mesh, Ceph and the cloud labs in talos_breakages.py, mesh_breakages.py, ceph_breakages.py and
cloud_breakages.py. The registry and its rules (act on the lab, never on our code; subjects from the lab file) are in
labsim/steps/breaking.py.
"""
from __future__ import annotations

import ipaddress

import yaml

from labsim.fakes.routeros.api import Trap
# they register theirs
from labsim.steps import ceph_breakages, cloud_breakages, mesh_breakages, talos_breakages  # noqa: F401
from labsim.steps.breaking import BREAKAGES, Breakage, Strike, breakage, matches, strikes_after, strikes_before
from labsim.steps.subjects import SELECTORS, names

__all__ = ["BREAKAGES", "Breakage", "Strike", "matches", "strikes_after", "strikes_before"]

FABRIC = "the fabric is provisioned"
VMS = "the VMs are provisioned"


def _subject(target, phrase: str) -> dict[str, str]:
    """The first lab subject of a selector phrase (the one the scenarios about it take), as its attributes."""
    found = SELECTORS[phrase].resolve(target.lab)
    assert found, f"--sim-break: the lab file has no {phrase!r} ({SELECTORS[phrase].needs})"
    return {"name": found[0].name, **found[0].attrs}


def _trunk(target) -> dict[str, str]:
    return _subject(target, "a VLAN tagged on a trunk to a machine that needs it")


def _rows(api, *menu):
    return list(api.path(*menu))


def _bystander(target, vlan: str) -> str:
    """A device holding an address in `vlan` that does not serve its DHCP (else the first that holds one)."""
    v = target.lab.vlan(vlan)
    server = v.dhcp.server if v.dhcp else None
    holders = list(v.addresses)
    return next((d for d in holders if d != server), holders[0])


# --- the fabric (features/fabric.feature; mesh scenarios reuse some) ------------------------------------------------
@breakage("trunk-vlan-removed", after=FABRIC)
def trunk_vlan_removed(target, at: Strike) -> None:
    """An engineer untags a VLAN from the trunk port that carries it to a machine that needs it."""
    t = _trunk(target)
    api = target.routeros(t["device"])
    row = next(r for r in _rows(api, "interface", "bridge", "vlan") if t["vid"] in str(r.get("vlan-ids")).split(","))
    tagged = [p for p in str(row["tagged"]).split(",") if p != t["port"]]
    api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(tagged)})


@breakage("vlan-interface-removed", after=FABRIC)
def vlan_interface_removed(target, at: Strike) -> None:
    """An engineer deletes a VLAN interface on a device that holds an address in it (not its DHCP server)."""
    vlan = _trunk(target)["vlan"]
    api = target.routeros(_bystander(target, vlan))
    row = next(r for r in _rows(api, "interface", "vlan") if r["name"] == vlan)
    api.path("interface", "vlan").remove(row[".id"])


@breakage("proxmox-cable-pulled", after=FABRIC)
def proxmox_cable_pulled(target, at: Strike) -> None:
    """The cable of the trunk port that carries a VLAN to a machine that needs it is pulled."""
    t = _trunk(target)
    target.sim.world.pull_cable((t["device"], t["port"]))


@breakage("second-dhcp-server", after=FABRIC)
def second_dhcp_server(target, at: Strike) -> None:
    """An engineer starts a second DHCP server on a VLAN the machines need, on another device holding an address."""
    vlan = _trunk(target)["vlan"]
    subnet = target.lab.vlan(vlan).subnet
    top = int(subnet.broadcast_address)
    lo, hi = ipaddress.IPv4Address(top - 55), ipaddress.IPv4Address(top - 45)
    api = target.routeros(_bystander(target, vlan))
    api.path("ip", "pool").add(name="rogue-pool", ranges=f"{lo}-{hi}")
    api.path("ip", "dhcp-server").add(name="rogue", interface=vlan, **{"address-pool": "rogue-pool"})


@breakage("pool-outside-subnet", after=FABRIC)
def pool_outside_subnet(target, at: Strike) -> None:
    """An engineer edits the DHCP pool of a VLAN the machines need to a range just outside its subnet."""
    vlan = _trunk(target)["vlan"]
    outside = next(s.attrs["outside"] for s in SELECTORS["a VLAN with DHCP"].pick(target.lab) if s.name == vlan)
    api = target.routeros(target.lab.vlan(vlan).dhcp.server)
    server = next(r for r in _rows(api, "ip", "dhcp-server") if r.get("interface") == vlan)
    row = next(r for r in _rows(api, "ip", "pool") if r["name"] == server["address-pool"])
    api.path("ip", "pool").update(**{".id": row[".id"], "ranges": outside})


def _router(target) -> dict[str, str]:
    return _subject(target, "the router between the first two mesh members")


@breakage("gateway-route-lost", after=FABRIC)
def gateway_route_lost(target, at: Strike) -> None:
    """The router between the first two mesh members loses its address in the second's VLAN (disabled by hand),
    and with it the connected route."""
    r = _router(target)
    api = target.routeros(r["name"])
    row = next(x for x in _rows(api, "ip", "address") if x.get("interface") == r["vlan"])
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})


@breakage("forward-drop", after=FABRIC)
def forward_drop(target, at: Strike) -> None:
    """A firewall rule added by hand on that router drops the first member's subnet towards the second's."""
    r = _router(target)
    a, b = (target.lab.vlan(target.lab.cluster(r[k]).vlan).subnet for k in ("a", "b"))
    target.routeros(r["name"]).path("ip", "firewall", "filter").add(
        chain="forward", action="drop", **{"src-address": str(a), "dst-address": str(b)})


@breakage("access-port-pvid-changed", after=FABRIC)
def access_port_pvid_changed(target, at: Strike) -> None:
    """Someone moves the lab's first access port to the next VLAN between two applies."""
    dev, port = next((d, a) for d in target.lab.routeros.devices for a in d.access)
    vlans = [v for v in target.lab.vlans if not v.native]
    i = next(n for n, v in enumerate(vlans) if v.name == port.vlan)
    api = target.routeros(dev.identity)
    row = next(r for r in _rows(api, "interface", "bridge", "port") if r["interface"] == port.interface)
    api.path("interface", "bridge", "port").update(**{".id": row[".id"], "pvid": vlans[(i + 1) % len(vlans)].id})


@breakage("device-refuses-repairs", after=('an engineer removes "<vlan>" from trunk "<port>" on "<device>" by hand',
                                           'an engineer changes the address on "<vlan>" of "<device>" to "<a>" by hand'))
def device_refuses_repairs(target, at: Strike) -> None:
    """The device an engineer just changed by hand refuses every `set` from then on (its configuration locked)."""
    faults = target.sim.routeros[at.args["device"]].faults
    for cmd in ("/interface/bridge/vlan/set", "/ip/address/set"):
        faults.trap_commands[cmd] = Trap("failure: configuration is locked", 4)


@breakage("hand-edit-undone", after=('an engineer removes "<vlan>" from trunk "<port>" on "<device>" by hand',
                                     'an engineer changes the address on "<vlan>" of "<device>" to "<a>" by hand'))
def hand_edit_undone(target, at: Strike) -> None:
    """A second engineer puts back what the first just changed by hand (the port tagged again, the address as the
    lab file has it), so there is nothing left for verification to find."""
    a, api = at.args, target.routeros(at.args["device"])
    v = target.lab.vlan(a["vlan"])
    if "port" in a:
        row = next(r for r in _rows(api, "interface", "bridge", "vlan") if str(v.id) in str(r.get("vlan-ids")).split(",")
                   and not r.get("dynamic"))
        tagged = [p for p in str(row.get("tagged") or "").split(",") if p]
        api.path("interface", "bridge", "vlan").update(**{".id": row[".id"], "tagged": ",".join(tagged + [a["port"]])})
        return
    iface = a["vlan"] if not v.native else target.lab.device(a["device"]).bridge.name
    row = next(r for r in _rows(api, "ip", "address") if r.get("interface") == iface and not r.get("dynamic"))
    api.path("ip", "address").update(**{".id": row[".id"], "address": str(v.addresses[a["device"]])})


@breakage("invalid-copy-put-right", after='a copy of the lab file where the DHCP pool of "<vlan>" is "<pool>"')
def invalid_copy_put_right(target, at: Strike) -> None:
    """Someone puts the copy's DHCP pool back as the original lab file has it before the run: the lab file the run
    is handed is valid, so a run refused anyway would be refusing without looking."""
    copy = at.request.getfixturevalue("fabric").copy
    data = yaml.safe_load(copy.read_text())
    pools = [str(r) for r in target.lab.vlan(at.args["vlan"]).dhcp.pool]
    next(v for v in data["vlans"] if v["name"] == at.args["vlan"])["dhcp"]["pool"] = pools
    copy.write_text(yaml.safe_dump(data, sort_keys=False))


# --- hosts (features/hosts.feature, picluster.feature): struck right before the Then step about them --------------
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


def _rke2(target, at: Strike):
    return target.lab.cluster(at.args["cluster"]).hosts


AGENTS = 'every RKE2 agent of "<cluster>" passes rke2-ansible\'s agent checks'
SERVERS = 'every RKE2 server of "<cluster>" passes rke2-ansible\'s server checks'
NODES_READY = 'every node of "<cluster>" is Ready through the Kubernetes API'
PVE_SERVICES = "the Proxmox nodes <nodes> run pve-cluster, pvedaemon and pveproxy, enabled, with the API on port 8006"
PVE_BRIDGES = "the Proxmox nodes <nodes> have their bridges as the lab file says, carrying the VLANs of their clusters"


@breakage("rke2-agent-stopped", before=AGENTS)
def rke2_agent_stopped(target, at: Strike) -> None:
    _ssh(target, _rke2(target, at).agents[0], "systemctl stop rke2-agent")


@breakage("rke2-agent-down-past-grace", before=NODES_READY)
def rke2_agent_down_past_grace(target, at: Strike) -> None:
    """The cluster's first agent's rke2-agent dies and stays down longer than the node monitor grace period."""
    _ssh(target, _rke2(target, at).agents[0], "systemctl stop rke2-agent")
    target.clock.sleep(120)


@breakage("rke2-config-mode-changed", before=SERVERS)
def rke2_config_mode_changed(target, at: Strike) -> None:
    _ssh(target, _rke2(target, at).servers[0], "chmod 644 /etc/rancher/rke2/config.yaml")


@breakage("api-port-closed", before=SERVERS)
def api_port_closed(target, at: Strike) -> None:
    """The last server's API port stops answering (a firewall rule, a crashed listener) while rke2-server runs."""
    target.sim.hosts.machines[_rke2(target, at).servers[-1]].close_port(6443)


@breakage("pveproxy-stopped", before=PVE_SERVICES)
def pveproxy_stopped(target, at: Strike) -> None:
    _ssh(target, names(at.args["nodes"])[0], "systemctl stop pveproxy")


@breakage("pve-bridge-vids-narrowed", before=PVE_BRIDGES)
def pve_bridge_vids_narrowed(target, at: Strike) -> None:
    """Someone edits /etc/network/interfaces on the first Proxmox node: its bridges stop short of the lowest VLAN
    its VMs use."""
    node = names(at.args["nodes"])[0]
    lowest = min(target.lab.vlan(vm.vlan).id for c in target.lab.clusters for vm in c.vms()
                 if vm.node == node and vm.vlan and not target.lab.vlan(vm.vlan).native)
    pve = target.sim.hosts.machines[node]
    text = pve.node("/etc/network/interfaces").data().decode().replace("bridge-vids 2-4094",
                                                                         f"bridge-vids 2-{lowest - 1}")
    pve.add_file("/etc/network/interfaces", text.encode())


# --- Proxmox VMs (features/proxmox.feature): struck right after "the VMs are provisioned" ---------------------------
def _vms(target) -> dict[str, str]:
    return _subject(target, "three VMs of the lab's clusters")


@breakage("vm-memory-shrunk", after=VMS)
def vm_memory_shrunk(target, at: Strike) -> None:
    from labsim.steps import proxmox_hands
    v = _vms(target)
    proxmox_hands.set_memory_and_reboot(target, v["first"], int(v["first less memory"]))


@breakage("vm-stopped", after=VMS)
def vm_stopped(target, at: Strike) -> None:
    from labsim.steps import proxmox_hands
    proxmox_hands.stop(target, _vms(target)["third"])


@breakage("vm-moved-to-another-vlan", after=VMS)
def vm_moved_to_another_vlan(target, at: Strike) -> None:
    """A worker's NIC is retagged into another cluster's VLAN, so it keeps an address whatever happens to its own."""
    from labsim.steps import proxmox_hands
    v = _vms(target)
    proxmox_hands.move_to_vlan(target, v["second"], int(v["other vid"]))


@breakage("vm-hand-edits-undone", after='an engineer stops "<name>" by hand')
def vm_hand_edits_undone(target, at: Strike) -> None:
    """A second engineer puts back by hand what the first just changed (the memory the lab file plans, the VM's own
    VLAN, the stopped VM started again), so there is nothing left for verification to find or a repair to do."""
    from labsim.steps import proxmox_hands
    v = _vms(target)
    proxmox_hands.set_memory_and_reboot(target, v["first"], int(v["first memory"]))
    proxmox_hands.move_to_vlan(target, v["second"], int(v["second vid"]))
    proxmox_hands.start(target, at.args["name"])


@breakage("vm-of-other-cluster-powered-off", before="the VMs of <clusters> still hold their leases")
def vm_of_other_cluster_powered_off(target, at: Strike) -> None:
    """The first VM of the first of the clusters the step names is powered off (Proxmox stop) while the fabric is
    broken for another cluster: a VM that is off holds no address, whatever its VLAN."""
    from labsim.steps import proxmox_hands
    vm = target.lab.cluster(names(at.args["clusters"])[0]).vms()[0]
    proxmox_hands.stop(target, vm.name)


@breakage("proxmox-refuses-creates", after=VMS)
def proxmox_refuses_creates(target, at: Strike) -> None:
    """Every VM create fails from now on (a thin pool that never has room)."""
    target.sim.world.proxmox.faults.fail_next_task(
        "qmcreate", "unable to create VM - lvcreate 'pve/vm-disk' failed: insufficient free space", times=None)


@breakage("proxmox-refuses-starts", after=VMS)
def proxmox_refuses_starts(target, at: Strike) -> None:
    """Every VM start fails from now on (QEMU dies at once, e.g. the host ran out of hugepages)."""
    target.sim.world.proxmox.faults.fail_next_task("qmstart", "start failed: QEMU exited with code 1", times=None)

