"""The Proxmox VMs on the simulated fabric: which DHCP server hears each VM, its lease, what its agent says.

A running guest (see `guests.py`) asks for DHCP on its first NIC. The NIC's frames leave the node through
the ports of its bridge: with `tag=T` on a VLAN-aware bridge they carry tag T on the wire (untagged when T
is the bridge's pvid, or without a tag, the bridge's pvid); the bridge's `bridge-vids` must allow T. A
DHCP server answers when its broadcast, flooded from its interface across the live fabric
(`Fabric.flood`), arrives at one of the bridge's cabled ports with that same wire tag, and its pool has a
free address. The VM then holds a lease on the device (`grant_lease`, host-name = VM name) and its agent
reports the address; otherwise `vm.world["dhcp"]` says why, naming the hop that drops its VLAN.

Recomputed on VM events (start, stop, destroy, config change such as a new tag), on a node's network
reload, and whenever the fabric changes (a device's configuration, a cable pulled or plugged).

Locking: VM state belongs to the Proxmox cluster, whose lock is the clock's lock, so all work here runs
holding it, then takes device locks (clock -> device, never the other way). A device reports a change while
holding its own lock; there we only *try* the clock's lock, and if someone else holds it (who may be
waiting for this very device) the refresh runs on a short-lived thread as soon as the lock is free.
`settle()` waits for that.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsim.fakes import guests
from labsim.fakes.dhcp import DhcpServer, Station, device_stations, dhcp_servers
from labsim.fakes.l2 import Endpoint, Fabric
from labsim.fakes.proxmox.cluster import ProxmoxCluster, ProxmoxNode, default_agent_interfaces
from labsim.fakes.proxmox.qemu import QemuVM

if TYPE_CHECKING:
    from labsim.fakes.world import World

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    device: str
    server: str
    nic: str
    mac: str
    address: str
    prefix: int


@dataclass
class Reach:
    """One snapshot of the fabric: the DHCP servers and where each one's broadcasts arrive."""

    generation: int
    fabric: Fabric
    servers: list[DhcpServer]
    heard: dict[tuple[Endpoint, int | None], list[DhcpServer]]   # (host NIC, wire tag) -> servers
    stations: dict[tuple[int, str], Station]                       # (VLAN, address) -> a device answering for it


class VmNetwork:
    def __init__(self, world: World, cluster: ProxmoxCluster, pvids: dict[tuple[str, str], int]):
        self.world = world
        self.cluster = cluster
        self.pvids = pvids
        self._reach: Reach | None = None
        self._generation = itertools.count()
        self._wanted = next(self._generation)
        self._defer = threading.Lock()
        self._pending = False
        self._worker: threading.Thread | None = None
        # address -> ids of the VMs a lease for it was granted to (the conflict probe's index: scanning every VM
        # for each probe made starting N VMs quadratic); a hint, checked against each VM's lease when read
        self._granted: dict[str, set[int]] = {}
        cluster.on_vm_event.append(self._vm_event)
        cluster.on_node_event.append(self._node_event)

    # --- what tests and later layers ask ----------------------------------------------------------
    def lease(self, vmid: int) -> Lease | None:
        with self.cluster.lock:
            vm = self.cluster.vms.get(vmid)
            return vm.world.get("lease") if vm else None

    def explain(self, vmid: int) -> str:
        """Why the VM has (or has not) an address, e.g. the hop that drops its VLAN."""
        with self.cluster.lock:
            vm = self.cluster.vms.get(vmid)
            return vm.world.get("dhcp", "not started") if vm else f"no VM {vmid}"

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (real time) until a refresh deferred by lock contention has run."""
        deadline = time.monotonic() + timeout
        while True:
            with self._defer:
                worker = self._worker
            if worker is None:
                return
            worker.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                raise TimeoutError("the VM network did not settle")

    # --- events -------------------------------------------------------------------------------------
    def _vm_event(self, event: str, vm: QemuVM) -> None:   # under the cluster (clock) lock
        if event == "started":
            guests.come_up(vm, guests.boot(self.cluster.nodes[vm.node].images, vm))
            self._refresh(vm)
        elif event in ("stopped", "destroyed"):
            self._release(vm, "the VM is stopped" if event == "stopped" else "the VM was destroyed")
            guests.go_down(vm)
        elif event == "config-changed" and vm.status == "running":
            self._refresh(vm)

    def _node_event(self, event: str, node: ProxmoxNode) -> None:
        for vm in self._vms(node.name):
            self._refresh(vm)

    def fabric_changed(self, blocking: bool) -> None:
        """The fabric changed. `blocking=False` when the caller holds a device lock (see module doc)."""
        self._wanted = next(self._generation)
        lock = self.cluster.lock
        if lock.acquire(blocking=blocking):
            try:
                self._refresh_all()
            finally:
                lock.release()
            return
        with self._defer:
            self._pending = True
            if self._worker is None:
                self._worker = threading.Thread(target=self._drain, name="world-vm-network", daemon=True)
                self._worker.start()

    def _drain(self) -> None:
        try:
            while True:
                with self._defer:
                    if not self._pending:
                        self._worker = None
                        return
                    self._pending = False
                with self.cluster.lock:
                    self._refresh_all()
        except Exception:   # a bug here must not leave `settle()` waiting for a dead thread
            log.exception("refreshing the VMs after a fabric change failed")
            with self._defer:
                self._worker = None

    # --- the work (always under the cluster lock) -------------------------------------------------
    def _vms(self, node: str | None = None) -> list[QemuVM]:
        return [vm for _, vm in sorted(self.cluster.vms.items()) if node is None or vm.node == node]

    def _refresh_all(self) -> None:
        for vm in self._vms():
            if vm.status == "running" or "lease" in vm.world:
                self._refresh(vm)

    def _reach_now(self) -> Reach:
        wanted = self._wanted
        if self._reach is None or self._reach.generation != wanted:
            fabric = self.world.fabric()
            servers = [s for ident, dev in self.world.devices.items()
                       for s in dhcp_servers(ident, dev.rows, fabric.views[ident])]
            heard: dict[tuple[Endpoint, int | None], list[DhcpServer]] = {}
            for srv in servers:
                for arrival in fabric.flood(srv.device, srv.interface)[0]:
                    heard.setdefault((arrival.endpoint, arrival.tag), []).append(srv)
            stations: dict[tuple[int, str], Station] = {}
            for ident, dev in self.world.devices.items():
                stations.update(device_stations(ident, dev.rows, fabric.views[ident]))
            self._reach = Reach(wanted, fabric, servers, heard, stations)
        return self._reach

    def _answers(self, reach: Reach, asking: QemuVM):
        """Who answers for an address in a VLAN, as the DHCP server's conflict detection probes it: a device's own
        address there, or another VM's current lease in that VLAN."""
        vlan_of = {(s.device, s.name): s.vlan for s in reach.servers}

        def answers(vlan: int | None, address: str) -> Station | None:
            if vlan is None:
                return None
            found = reach.stations.get((vlan, address))
            if found is not None:
                return found
            for vmid in sorted(self._granted.get(address, ())):
                vm = self.cluster.vms.get(vmid)
                lease: Lease | None = vm.world.get("lease") if vm is not None else None
                if vm is not asking and lease is not None and lease.address == address \
                        and vlan_of.get((lease.device, lease.server)) == vlan:
                    return Station(f"VM {vm.name}", lease.mac.upper())
            return None
        return answers

    def _refresh(self, vm: QemuVM) -> None:
        guest = vm.world.get("guest")
        if vm.status != "running" or guest is None or not guest.runs:
            self._release(vm, "no guest OS is running" if vm.status == "running" else "the VM is stopped")
            return
        nets = vm.nets()
        if not nets:
            self._release(vm, "the VM has no NIC")
            return
        nic, net = next(iter(nets.items()))
        server, why = self._server_for(vm, net)
        held: Lease | None = vm.world.get("lease")
        if server is None:
            self._release(vm, why)
            return
        key = (server.device, server.name, net.macaddr)
        last: Lease | None = held or vm.world.get("last_lease")   # a client asks for its old address again
        wish = last.address if last and (last.device, last.server, last.mac) == key else None
        address = server.allocate(net.macaddr, wish, self._answers(self._reach_now(), vm))
        for busy, who in server.new_busy():
            self.world.devices[server.device].mark_busy(server.name, busy, who.mac)
        if address is None:
            self._release(vm, f"{server.device} {server.name}: pool {server.pool} has no free address")
            return
        if held is not None and (held.device, held.server, held.mac, held.address) == (*key, address) \
                and server.book.by_mac.get(net.macaddr) == address:
            return   # still bound on the device: nothing to do
        if held is not None:
            self._release(vm, None)
        self.world.devices[server.device].grant_lease(server.name, net.macaddr, address, vm.name)
        server.book.bind(net.macaddr.upper(), address)
        lease = Lease(server.device, server.name, nic, net.macaddr, address, server.prefix_for(address))
        vm.world["lease"] = lease
        self._granted.setdefault(address, set()).add(vm.vmid)
        vm.world["dhcp"] = f"bound {address}/{lease.prefix} from {server.device} {server.name}"
        vm.agent_interfaces = _with_address(vm, lease)

    def _release(self, vm: QemuVM, why: str | None) -> None:
        lease: Lease | None = vm.world.pop("lease", None)
        if lease is not None:
            vm.world["last_lease"] = lease
            self._granted.get(lease.address, set()).discard(vm.vmid)
            self.world.devices[lease.device].release_lease(lease.server, lease.mac)
            for srv in self._reach.servers if self._reach is not None else []:
                if srv.device == lease.device:
                    srv.book.unbind(lease.mac)   # one book per device, shared by its servers
                    srv.freed(lease.address)
        vm.agent_interfaces = None
        if why is not None:
            vm.world["dhcp"] = why

    def _server_for(self, vm: QemuVM, net) -> tuple[DhcpServer | None, str]:
        node = self.cluster.nodes[vm.node]
        if net.extra.get("link_down") == "1":
            return None, f"{vm.name} net0 has link_down=1"
        bridge = node.network.bridge(net.bridge or "")
        if bridge is None:
            return None, f"{node.name}: bridge {net.bridge} does not exist"
        aware = bool(bridge.get("bridge_vlan_aware"))
        pvid = self.pvids.get((node.name, net.bridge), 1)
        vlan = net.tag or (pvid if aware else None)
        if aware and net.tag and net.tag != pvid and not node.network.bridge_carries_vlan(net.bridge, net.tag):
            return None, (f"{node.name} {net.bridge}: VLAN {net.tag} is not in bridge-vids "
                          f"{bridge.get('bridge_vids')}")
        wire = None if net.tag is None or (aware and net.tag == pvid) else net.tag
        ports = str(bridge.get("bridge_ports") or "").split()
        reach = self._reach_now()
        for port in ports:
            found = reach.heard.get(((node.name, port), wire))
            if found:
                return found[0], ""
        return None, self._why_not(reach, node.name, net.bridge, ports, vlan, wire)

    @staticmethod
    def _why_not(reach: Reach, node: str, bridge: str, ports: list[str], vlan: int | None,
                 wire: int | None) -> str:
        if not ports:
            return f"{node} {bridge} has no ports"
        cabled = [p for p in ports if (node, p) in reach.fabric.peer]
        if not cabled:
            return f"{node} {', '.join(ports)}: no cable (or the link is down)"
        what = f"VLAN {vlan}" if vlan is not None else "untagged frames"
        servers = [s for s in reach.servers if vlan is not None and s.vlan == vlan]
        if not servers:
            return f"no DHCP server serves {what}"
        srv, target = servers[0], (node, cabled[0])
        tr = reach.fabric.trace(srv.device, srv.interface, vlan, target)
        if not tr.reached:
            return f"{what} from {srv.device} {srv.name} stops at {tr.reason}"
        arrival = next(a for a in tr.arrivals if a.endpoint == target)
        return (f"{what} from {srv.device} arrives at {node}:{cabled[0]} {_how(arrival.tag)}, "
                f"but the NIC on {bridge} expects it {_how(wire)}")


def _how(tag: int | None) -> str:
    return f"tagged {tag}" if tag else "untagged"


def _with_address(vm: QemuVM, lease: Lease) -> list[dict]:
    """The agent's interfaces: the guest's default view plus the leased IPv4 address on the NIC."""
    out = default_agent_interfaces(vm)
    name = f"ens{18 + int(lease.nic[3:])}"
    for iface in out:
        if iface["name"] == name:
            iface["ip-addresses"].insert(0, {"ip-address": lease.address, "ip-address-type": "ipv4",
                                             "prefix": lease.prefix})
    return out
