"""Build the simulated hosts from a lab file's inventory: the Proxmox nodes and the `hosts:` machines.

The Pi nodes start as rancherfederal/rke2-ansible leaves them (the suite does not install RKE2; that
playbook does), so their RKE2 role (server or agent) is read from the lab file's RKE2 cluster, the one
piece of intent the simulator takes as given. Proxmox nodes show their network configuration as PVE
writes it (`labsim.fakes.proxmox.network.render`): the live state of the simulated Proxmox node when the world
has one, else the node's `bridges` as the lab file describes them.
"""
from __future__ import annotations

import secrets as _secrets
from collections.abc import Callable, Mapping
from typing import Any

from labsim.fakes.hosts.machine import HttpAnswer, Machine, Unit
from labsim.fakes.proxmox.network import NodeNetwork, render

DEBIAN_12 = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
             'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n')
BINARIES = ("sh", "cat", "grep", "stat", "test", "uname", "systemctl", "ss", "curl", "sudo", "ps", "chmod",
            "chown", "realpath", "readlink", "id", "hostname", "find")
KUBELET_METRICS = (b"# HELP kubelet_node_name [ALPHA] The node's name. The count is always 1.\n"
                   b"# TYPE kubelet_node_name gauge\n")


def _base(name: str, role: str, user: str, arch: str, nic: str) -> Machine:
    m = Machine(name=name, role=role, nic=nic, arch=arch, os_release=DEBIAN_12)
    if user != "root":
        m.users[user] = (1000, (user, "sudo"))
    m.add_dir("/run/systemd/system")          # testinfra's sign that systemd manages units
    m.add_file("/etc/os-release", DEBIAN_12.encode())
    m.add_file("/etc/hostname", f"{name}\n".encode())
    for b in BINARIES:
        m.add_binary(f"/usr/bin/{b}")
    m.units["ssh"] = Unit(ports=(22,), processes=("sshd",))
    return m


def proxmox_node(node: Mapping[str, Any], live_network: Callable[[], Any] | None) -> Machine:
    ssh = node.get("ssh") or {}
    m = _base(str(node["name"]), "proxmox", ssh.get("user", "root"), "x86_64",
              (node.get("nics") or ["eno1"])[0])
    fallback = NodeNetwork(list(node.get("nics") or []), list(node.get("bridges") or []))

    def interfaces() -> bytes:
        net = live_network() if live_network else None
        return render((net or fallback).current).encode()

    m.add_file("/etc/network/interfaces", interfaces)
    m.add_dir("/etc/pve", mode=0o755, group="www-data")
    m.add_binary("/usr/bin/pveversion")
    m.units["pve-cluster"] = Unit(processes=("pmxcfs",))
    m.units["pvedaemon"] = Unit(processes=("pvedaemon",))
    m.units["pveproxy"] = Unit(ports=(8006,), processes=("pveproxy",))
    m.units["pvestatd"] = Unit(processes=("pvestatd",))
    return m


def _rke2_config(host: Mapping[str, Any], cluster: Mapping[str, Any], server: bool, first: Mapping[str, Any] | None,
                 token: str) -> bytes:
    """config.yaml as rke2-ansible writes it: token everywhere, `server:` on all but the first server."""
    lines = [f"token: {token}"]
    if first is not None and first.get("name") != host.get("name"):
        lines.append(f"server: https://{first.get('address')}:9345")
    if host.get("address"):
        lines.append(f"node-ip: {host['address']}")
    if server:
        lines += [f"cni: {cluster.get('cni', 'canal')}", f"cluster-cidr: {cluster.get('pod_subnet', '10.42.0.0/16')}",
                  f"service-cidr: {cluster.get('service_subnet', '10.43.0.0/16')}", 'write-kubeconfig-mode: "0600"']
        if cluster.get("kube_proxy") is False:
            lines.append("disable-kube-proxy: true")
    return ("\n".join(lines) + "\n").encode()


def host_machine(host: Mapping[str, Any], rke2: tuple[Mapping[str, Any], str, Mapping[str, Any] | None] | None,
                 token: str | None) -> Machine:
    ssh = host.get("ssh") or {}
    arch = "aarch64" if host.get("arch") == "arm64" or "raspberry" in str(host.get("kind", "")) else "x86_64"
    if rke2 is None:
        return _base(str(host["name"]), "host", ssh.get("user", "root"), arch, host.get("nic", "eth0"))
    cluster, role, first = rke2
    server = role == "server"
    m = _base(str(host["name"]), f"rke2-{role}", ssh.get("user", "root"), arch, host.get("nic", "eth0"))
    m.add_file("/etc/rancher/rke2/config.yaml", _rke2_config(host, cluster, server, first, token or ""), mode=0o640)
    m.add_binary("/usr/local/bin/rke2")
    unit = "rke2-server" if server else "rke2-agent"
    ports = (6443, 9345, 10250) if server else (10250,)
    m.units[unit] = Unit(ports=ports, processes=("rke2", "kubelet", "containerd"))
    m.http.append(HttpAnswer(10250, "/metrics", 401, b"Unauthorized"))   # RKE2 kubelets refuse anonymous reads
    m.http.append(HttpAnswer(10250, "/healthz", 200, b"ok"))
    return m


def build_machines(raw: Mapping[str, Any], secrets: Mapping[str, str],
                   live_network: Callable[[str], Any] | None = None) -> dict[str, Machine]:
    """Every SSH-reachable machine of the lab: Proxmox nodes first, then hosts, by name."""
    out: dict[str, Machine] = {}
    for node in (raw.get("proxmox") or {}).get("nodes") or []:
        name = str(node["name"])
        out[name] = proxmox_node(node, (lambda n=name: live_network(n)) if live_network else None)
    hosts = {str(h["name"]): h for h in raw.get("hosts") or []}
    roles: dict[str, tuple[Mapping[str, Any], str, Mapping[str, Any] | None]] = {}
    tokens: dict[str, str] = {}
    for c in raw.get("clusters") or []:
        if c.get("distribution") != "rke2":
            continue
        servers = list((c.get("hosts") or {}).get("servers") or [])
        first = hosts.get(servers[0]) if servers else None
        ref = c.get("token")
        tokens[c["name"]] = secrets.get(ref) if ref else "K10" + _secrets.token_hex(24) + "::server:" + _secrets.token_hex(16)
        for name in servers:
            roles[name] = (c, "server", first)
        for name in (c.get("hosts") or {}).get("agents") or []:
            roles[name] = (c, "agent", first)
    for name, h in hosts.items():
        rke2 = roles.get(name)
        out[name] = host_machine(h, rke2, tokens.get(rke2[0]["name"]) if rke2 else None)
    return out
