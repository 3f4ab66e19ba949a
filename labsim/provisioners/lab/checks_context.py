"""What every check producer gets: the lab, the hardware catalog and derived indexes (built once)."""
from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Address
from typing import Any

from labsim.provisioners.lab.hardware import RouterOSModel
from labsim.provisioners.lab.model import Lab, Vlan, list_labels


class Context:
    def __init__(self, lab: Lab, models: dict[str, RouterOSModel]):
        self.lab = lab
        self.models = models
        self.devices = {}
        for d in lab.routeros.devices:
            self.devices.setdefault(d.identity, d)
        self.vlans: dict[str, Vlan] = {}
        for v in lab.vlans:
            self.vlans.setdefault(v.name, v)
        self.vlan_ids = {name: v.id for name, v in self.vlans.items()}
        self.pve = {}
        for n in (lab.proxmox.nodes if lab.proxmox else []):
            self.pve.setdefault(n.name, n)
        self.hosts = {}
        for h in lab.hosts:
            self.hosts.setdefault(h.name, h)
        self.servers = {}      # cloud servers: cluster hosts too
        for srv in (lab.cloud.servers if lab.cloud else []):
            self.servers.setdefault(srv.name, srv)
        self.clusters = {}
        for c in lab.clusters:
            self.clusters.setdefault(c.name, c)
        # Path prefixes, labelled like the loader labels them (name if unique, else index).
        self.dev_paths = [f"routeros.devices[{x}]" for x in list_labels("devices", lab.routeros.devices)]
        self.vlan_paths = [f"vlans[{x}]" for x in list_labels("vlans", lab.vlans)]
        self.host_paths = [f"hosts[{x}]" for x in list_labels("hosts", lab.hosts)]
        self.node_paths = [f"proxmox.nodes[{x}]" for x in list_labels("nodes", lab.proxmox.nodes if lab.proxmox else [])]
        self.cluster_paths = [f"clusters[{x}]" for x in list_labels("clusters", lab.clusters)]

    def dev_path(self, identity: str) -> str:
        for p, d in zip(self.dev_paths, self.lab.routeros.devices):
            if d.identity == identity:
                return p
        return f"routeros.devices[{identity}]"

    def vlan_path(self, name: str) -> str:
        for p, v in zip(self.vlan_paths, self.lab.vlans):
            if v.name == name:
                return p
        return f"vlans[{name}]"

    def cluster_path(self, name: str) -> str:
        for p, c in zip(self.cluster_paths, self.lab.clusters):
            if c.name == name:
                return p
        return f"clusters[{name}]"

    @cached_property
    def l2(self) -> dict[str, Any]:
        from labsim.provisioners.fabric.intent import desired_l2
        return desired_l2(self.lab)

    @cached_property
    def node_names(self) -> dict[str, str]:
        """Every cable-end node name -> its kind (routeros, proxmox, host); the first kind wins."""
        out: dict[str, str] = {}
        for d in self.lab.routeros.devices:
            out.setdefault(d.identity, "routeros")
        for n in self.pve.values():
            out.setdefault(n.name, "proxmox")
        for h in self.lab.hosts:
            out.setdefault(h.name, "host")
        return out

    def vlan_of_address(self, ip: IPv4Address) -> Vlan | None:
        return next((v for v in self.vlans.values() if ip in v.subnet), None)
