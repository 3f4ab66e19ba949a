"""Verify that every VM holds a DHCP lease in its cluster subnet from its VLAN's DHCP server (read-only).

Two witnesses must agree: the QEMU guest agent (the address on the NIC with the VM's MAC, and its prefix)
and the lease table of the device the lab file names as the VLAN's DHCP server, read with librouteros
(a bound lease for that MAC, with that address, from the server on the VLAN's interface). A VM without
an address is explained: when the fabric does not carry its VLAN to the Proxmox node, the result names
the hop that drops it (the fabric verifier's trace over what the devices report); otherwise what the VM
itself shows (its NIC on another VLAN, the guest agent's error).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Callable

from proxmoxer import ResourceException

from labsim.provisioners.vocabulary import Clock, Result, WaitTimeout, wait_for
from labsim.provisioners.fabric.client import read
from labsim.provisioners.fabric.desired import vlan_interface
from labsim.provisioners.fabric.verify import observe_all, vlans_carried
from labsim.provisioners.proxmox.config import Nic
from labsim.provisioners.proxmox.desired import DesiredVm
from labsim.provisioners.proxmox.observed import Observed, ObservedVm
from labsim.provisioners.proxmox.verify import observe_lab, subject

ADDRESS_TIMEOUT = 180.0   # seconds for the guests' agents to report a lease (Talos boots the ISO in ~30 s)
ADDRESS_INTERVAL = 2.0


@dataclass
class AgentView:
    mac: str | None
    addresses: list[tuple[str, int]] = field(default_factory=list)   # IPv4 (address, prefix) on the VM's NIC
    error: str | None = None


def mac_of(have: ObservedVm) -> str | None:
    return Nic.parse(have.current["net0"]).mac if have.current.get("net0") else None


def agent_view(api, have: ObservedVm) -> AgentView:
    mac = mac_of(have)
    try:
        result = api.nodes(have.node).qemu(have.vmid).agent("network-get-interfaces").get()["result"]
    except ResourceException as exc:
        return AgentView(mac, error=str(exc.content))
    addrs = [(a["ip-address"], int(a.get("prefix", 32))) for i in result
             if mac and str(i.get("hardware-address", "")).upper() == mac
             for a in i.get("ip-addresses", []) if a.get("ip-address-type") == "ipv4"]
    return AgentView(mac, addrs)


def _in(subnet, view: AgentView | None) -> list[tuple[str, int]]:
    return [(a, p) for a, p in (view.addresses if view else []) if ipaddress.ip_address(a) in subnet]


def wait_for_addresses(lab, api, pairs: list[tuple[DesiredVm, ObservedVm]], clock: Clock, timeout: float,
                       interval: float) -> dict[int, AgentView]:
    """Poll the agents of running VMs until each reports an address in its cluster subnet (or time runs out).

    A sweep stops at the first VM whose agent does not answer yet: VMs started together come up together, so
    asking the rest before it answers would only collect errors. When time runs out, one last sweep asks
    every VM."""
    views: dict[int, AgentView] = {}
    todo = {vm.vmid: (vm, have) for vm, have in pairs if have.running}

    def sweep(patient: bool) -> bool:
        for vmid, (vm, have) in list(todo.items()):
            views[vmid] = agent_view(api, have)
            if _in(lab.vlan(vm.plan.vlan).subnet, views[vmid]):
                del todo[vmid]
            elif patient and views[vmid].error:
                return False
        return not todo
    try:
        wait_for(lambda: sweep(True), timeout, interval, clock, what="every VM's guest agent to report its address")
    except WaitTimeout:
        sweep(False)   # the results say which VM has none, and why
    return views


class _Fabric:
    """The fabric as the verifier reads it, only when some VM needs its VLAN explained."""

    def __init__(self, lab, connect: Callable[[str], Any]):
        self.lab, self.connect = lab, connect
        self._carried: list[Result] | None = None

    def carried(self, vm: DesiredVm) -> Result | None:
        if self._carried is None:
            conns = {d.identity: self.connect(d.identity) for d in self.lab.routeros.devices}
            self._carried = vlans_carried(self.lab, observe_all(self.lab, conns))
        return next((r for r in self._carried if r.subject.startswith(f"{vm.plan.vlan} ")
                     and f"cluster {vm.cluster} " in r.subject), None)


def _why_none(vm: DesiredVm, have: ObservedVm, view: AgentView | None, fabric: _Fabric) -> tuple[str, dict]:
    found = ", ".join(f"{a}/{p}" for a, p in view.addresses) if view and view.addresses else "none"
    nic = Nic.parse(have.current.get("net0", ""))
    if nic.tag != vm.tag or nic.bridge != vm.bridge:
        return (f"its NIC is on {nic.bridge} VLAN {nic.tag}, the plan is {vm.bridge} VLAN {vm.tag} "
                f"(agent addresses: {found})", {})
    carried = fabric.carried(vm)
    if carried is not None and not carried.ok:
        return (f"{vm.plan.vlan} does not reach {vm.node}: {carried.message}",
                {"stopped_at": carried.evidence.get("stopped_at"), "reason": carried.evidence.get("reason")})
    if view is not None and view.error:
        return f"the guest agent answers: {view.error}", {}
    return f"no lease although the fabric carries {vm.plan.vlan} to {vm.node} (agent addresses: {found})", {}


@dataclass
class LeaseTable:
    """One DHCP device's leases (by MAC) and servers, read once per verification."""

    by_mac: dict[str, list[dict]]
    servers: list[dict]

    @classmethod
    def read(cls, api) -> LeaseTable:
        by_mac: dict[str, list[dict]] = {}
        for r in read(api, "/ip/dhcp-server/lease"):
            by_mac.setdefault(str(r.get("mac-address", "")).upper(), []).append(r)
        return cls(by_mac, read(api, "/ip/dhcp-server"))


def _lease_check(lab, vm: DesiredVm, addr: str, prefix: int, mac: str, tables: dict[str, LeaseTable]) -> list[str]:
    vlan = lab.vlan(vm.plan.vlan)
    device = vlan.dhcp.server
    table = tables[device]
    iface = vlan_interface(vlan, lab.device(device).bridge.name)
    ours = {str(s.get("name")) for s in table.servers if s.get("interface") == iface}
    problems = []
    if prefix != vlan.subnet.prefixlen:
        problems.append(f"the agent reports {addr}/{prefix}, the subnet is {vlan.subnet}")
    rows = table.by_mac.get(mac, [])
    row = next((r for r in rows if r.get("address") == addr), None)
    if row is None:
        held = ", ".join(str(r.get("address")) for r in rows) or "nothing"
        problems.append(f"{device} leases {held} to {mac}, the agent reports {addr}")
    elif str(row.get("server")) not in ours:
        problems.append(f"the lease comes from {device} {row.get('server')}, not {vlan.name}'s server "
                        f"({', '.join(sorted(ours)) or 'none on ' + iface})")
    elif str(row.get("status")) != "bound":
        problems.append(f"{device} lease {addr} is {row.get('status')}, not bound")
    return problems


def vm_leases(lab, api, connect: Callable[[str], Any], clock: Clock, *, clusters: list[str] | None = None,
              timeout: float = ADDRESS_TIMEOUT, interval: float = ADDRESS_INTERVAL) -> list[Result]:
    """The `vm-lease` results of every planned VM (or only those of `clusters`)."""
    desired, observed = observe_lab(lab, api)
    desired = [vm for vm in desired if clusters is None or vm.cluster in clusters]
    return leases_of(lab, api, connect, clock, desired, observed, timeout=timeout, interval=interval)


def leases_of(lab, api, connect: Callable[[str], Any], clock: Clock, desired: list[DesiredVm], observed: Observed,
              *, timeout: float, interval: float) -> list[Result]:
    pairs = [(vm, observed.vms[vm.vmid]) for vm in desired
             if vm.vmid in observed.vms and observed.vms[vm.vmid].name == vm.name]
    views = wait_for_addresses(lab, api, pairs, clock, timeout, interval)
    devices = sorted({lab.vlan(vm.plan.vlan).dhcp.server for vm, _ in pairs if lab.vlan(vm.plan.vlan).dhcp})
    tables = {d: LeaseTable.read(connect(d)) for d in devices}
    fabric = _Fabric(lab, connect)
    out = []
    for vm in desired:
        have = observed.vms.get(vm.vmid)
        vlan = lab.vlan(vm.plan.vlan)
        ev: dict[str, Any] = {"vmid": vm.vmid, "vlan": vlan.name, "subnet": str(vlan.subnet)}
        if have is None or have.name != vm.name or not have.running:
            out.append(Result("vm-lease", subject(vm), False, f"VM {vm.vmid} is not running", ev))
            continue
        view = views.get(vm.vmid)
        ev.update(mac=view.mac if view else None, agent=view.addresses if view else [])
        got = _in(vlan.subnet, view)
        if vlan.dhcp is None:
            out.append(Result("vm-lease", subject(vm), False, f"{vlan.name} has no DHCP server in the lab file", ev))
        elif not got:
            why, more = _why_none(vm, have, view, fabric)
            ev.update(more)
            out.append(Result("vm-lease", subject(vm), False, f"no address in {vlan.subnet}: {why}", ev))
        else:
            addr, prefix = got[0]
            problems = _lease_check(lab, vm, addr, prefix, view.mac or "", tables)
            ev.update(address=addr, prefix=prefix, server=vlan.dhcp.server)
            out.append(Result("vm-lease", subject(vm), not problems,
                              "; ".join(problems) or f"{addr}/{prefix} leased by {vlan.dhcp.server} to {view.mac}",
                              ev))
    return out


def without_address(lease_results: list[Result], hop: str) -> list[Result]:
    """From `vm-lease` results: each VM holds no address, and the report names `hop` ("device port") as where its
    VLAN stops on the way to its node."""
    out = []
    for r in lease_results:
        held = r.evidence.get("agent") or []
        where = r.evidence.get("stopped_at")
        problems = ([f"holds {', '.join(f'{a}/{p}' for a, p in held)}"] if held else []) + \
                   ([f"the report names {where!r}, not {hop!r}: {r.message}"] if where != hop else [])
        out.append(Result("vm-without-address", r.subject, not problems,
                          f"no address; {hop} named" if not problems else "; ".join(problems), r.evidence))
    return out
