"""The hosts as one system, with the same entry points as the others. labsim reads hosts and never writes to them:
the Proxmox installer and /etc/network/interfaces, and rancherfederal/rke2-ansible on the RKE2 nodes, configure
them. So a plan lists what the checks find different from the lab file, and apply changes nothing and says who
would.

    verify(lab, hosts)   the Proxmox nodes' services and bridges, every RKE2 node's rke2-ansible checks
    plan(lab, hosts)     each failing check, as what must change
    apply(plan)          nothing: a report naming the tool that owns each change

`hosts` maps a host name to a testinfra host (labsim.provisioners.hosts.connect.open_host).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.hosts import checks as hc
from labsim.provisioners.lab.model import Rke2Cluster
from labsim.provisioners.vocabulary import Actions, Result

PROXMOX = "the Proxmox node's own configuration (/etc/network/interfaces, systemd)"
RKE2 = "rancherfederal/rke2-ansible"


def cluster_vlans(lab, node: str) -> dict[str, int]:
    """The VLANs (name -> id) of the clusters whose VMs run on a Proxmox node: what its bridge must carry."""
    return {c.vlan: lab.vlan(c.vlan).id for c in lab.clusters if getattr(c, "proxmox_node", None) == node and c.vlan}


def _checked(lab, hosts: dict[str, Any]) -> list[tuple[Result, str]]:
    """Every check of every host that answers, with the tool that owns what it checks."""
    out = []
    for node in (lab.proxmox.nodes if lab.proxmox else []):
        if node.name in hosts:
            host = hosts[node.name]
            out += [(r, PROXMOX) for r in hc.proxmox_units(host, node.name)
                    + hc.proxmox_bridges(host, node, cluster_vlans(lab, node.name))]
    for c in lab.clusters:
        if isinstance(c, Rke2Cluster):
            out += [(r, RKE2) for role, names in (("server", c.hosts.servers), ("agent", c.hosts.agents))
                    for n in names if n in hosts for r in hc.rke2_node(hosts[n], n, role)]
    return out


def verify(lab, hosts: dict[str, Any]) -> list[Result]:
    return [r for r, _ in _checked(lab, hosts)]


@dataclass
class HostsReport:
    not_applied: list[str] = field(default_factory=list)


def plan(lab, hosts: dict[str, Any]) -> Actions:
    return Actions("hosts", [f"{r.subject}: {r.message} (made by {owner})" for r, owner in _checked(lab, hosts)
                             if not r.ok])


def apply(plan: Actions) -> HostsReport:
    """Changes nothing: every planned change is left to the tool named with it."""
    return HostsReport(list(plan.actions))
