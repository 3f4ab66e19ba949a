"""The cluster's machines and their addresses: each VM of the lab file's machine plan, with the address its
QEMU guest agent reports in the cluster's subnet (the DHCP lease; Talos runs the agent as an extension)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from labsim.provisioners.vocabulary import WaitTimeout, wait_for
from labsim.provisioners.proxmox.leases import agent_view
from labsim.provisioners.proxmox.observed import observe
from labsim.provisioners.talos.context import TalosContext

ADDRESS_TIMEOUT = 300.0
ADDRESS_INTERVAL = 5.0


@dataclass(frozen=True)
class Machine:
    name: str
    role: str             # controlplane | worker
    address: str

    @property
    def control_plane(self) -> bool:
        return self.role == "controlplane"


def machines(lab, cluster: str, ctx: TalosContext, timeout: float = ADDRESS_TIMEOUT,
             partial: bool = False) -> list[Machine]:
    """Every machine of the cluster with its address, waiting (on the target's clock) for the agents.
    `partial`: when time runs out, the machines without one come back with address "" instead of an error."""
    c = lab.cluster(cluster)
    subnet = lab.vlan(c.vlan).subnet
    plans = {v.vmid: v for v in c.vms()}
    found: dict[int, str] = {}

    def sweep() -> bool:
        observed = observe(ctx.proxmox, set(plans))     # this cluster's VMs only, not the whole lab's
        for vmid in plans:
            have = observed.vms.get(vmid)
            if vmid in found or have is None or not have.running:
                continue
            view = agent_view(ctx.proxmox, have)
            addrs = [a for a, _ in view.addresses if ipaddress.ip_address(a) in subnet]
            if addrs:
                found[vmid] = addrs[0]
        return len(found) == len(plans)

    try:
        wait_for(sweep, timeout, ADDRESS_INTERVAL, ctx.clock, what=f"an address for every machine of {cluster}")
    except WaitTimeout:
        if not partial:
            raise
    return [Machine(p.name, p.role, found.get(vmid, "")) for vmid, p in sorted(plans.items())]
