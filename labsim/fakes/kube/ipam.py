"""Address allocation: Service ClusterIPs and NodePorts (the apiserver's allocators), node podCIDRs (the
node-ipam controller) and pod IPs (what the CNI would hand out from the node's podCIDR).

The first service address (`.1`) belongs to the `kubernetes` Service and the tenth (`.10`) is the one
Talos gives kube-dns, as in a real cluster; the rest are drawn from the seeded random generator.
"""
from __future__ import annotations

import ipaddress
import random


class IPAM:
    def __init__(self, service_subnet: str, pod_subnet: str, rng: random.Random, node_mask: int = 24):
        self.services = ipaddress.ip_network(service_subnet)
        self.pods = ipaddress.ip_network(pod_subnet)
        self.rng = rng
        self.node_mask = node_mask
        self.used_service_ips: set[str] = set()
        self.used_node_ports: set[int] = set()
        self.node_cidrs: dict[str, str] = {}
        self.pod_ips: dict[str, set[str]] = {}

    def service_ip(self, index: int) -> str:
        return str(self.services.network_address + index)

    def allocate_service_ip(self, wanted: str | None = None) -> str:
        if wanted:
            self.used_service_ips.add(wanted)
            return wanted
        size = self.services.num_addresses
        for _ in range(1000):
            ip = self.service_ip(self.rng.randrange(16, min(size - 1, 65536)))
            if ip not in self.used_service_ips:
                self.used_service_ips.add(ip)
                return ip
        raise RuntimeError("service IP range exhausted")

    def release_service_ip(self, ip: str | None) -> None:
        if ip:
            self.used_service_ips.discard(ip)

    def allocate_node_port(self, wanted: int | None = None) -> int:
        if wanted:
            self.used_node_ports.add(wanted)
            return wanted
        while True:
            p = self.rng.randrange(30000, 32768)
            if p not in self.used_node_ports:
                self.used_node_ports.add(p)
                return p

    def node_cidr(self, node: str) -> str:
        if node not in self.node_cidrs:
            taken = set(self.node_cidrs.values())
            for sub in self.pods.subnets(new_prefix=self.node_mask):
                if str(sub) not in taken:
                    self.node_cidrs[node] = str(sub)
                    break
        return self.node_cidrs[node]

    def pod_ip(self, node: str, cidr: str | None = None) -> str:
        net = ipaddress.ip_network(cidr or self.node_cidr(node))
        used = self.pod_ips.setdefault(str(net), set())
        for host in range(2 if net.num_addresses > 4 else 1, net.num_addresses - 1):
            ip = str(net.network_address + host)
            if ip not in used:
                used.add(ip)
                return ip
        raise RuntimeError(f"pod CIDR {net} of node {node} exhausted")

    def release_pod_ip(self, ip: str | None) -> None:
        if not ip:
            return
        for used in self.pod_ips.values():
            used.discard(ip)
