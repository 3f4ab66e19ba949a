"""The simulated hosts answer testinfra (paramiko, ansible:// and local backends) as real hosts do, and the
host checks read them: the commands testinfra's modules send, Unix permissions, host-key verification."""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import paramiko
import pytest
import testinfra
import yaml

from labsim.fakes.hosts import start_hosts
from labsim.fakes.hosts.build import build_machines
from labsim.fakes.hosts.shell import Shell
from labsim.fakes.inventory import load_inventory
from labsim.fakes.served_lab import lab_copy
from labsim.provisioners.hosts import checks as hc
from labsim.provisioners.hosts.connect import HostUnreachable, close_host, open_host, ssh_client
from labsim.provisioners.hosts.endpoints import SshEndpoint, from_json, from_lab
from labsim.provisioners.hosts.inventory import render
from labsim.provisioners.lab.load import load_lab

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def face():
    f = start_hosts(load_inventory(ROOT / "labs/aggrik8s.yaml"), None, None, {})
    yield f
    f.stop()


@pytest.fixture
def host(face):
    opened = []

    def get(name):
        h = open_host(from_json(face.endpoints())[name])
        opened.append(h)
        return h
    yield get
    for h in opened:
        close_host(h)


def test_shell_speaks_testinfra_commands():
    m = build_machines(load_inventory(ROOT / "labs/aggrik8s.yaml").raw, {})["pi-worker-01"]
    pi, root = Shell(m, "pi"), Shell(m, "root")
    assert pi.run("stat -Lc %U:%G:%a /etc/rancher/rke2/config.yaml") == (0, "root:root:640\n", "")
    assert pi.run("grep -qs -- token: /etc/rancher/rke2/config.yaml")[0] == 2        # root-only file
    assert pi.run("sudo /bin/sh -c 'grep -qs -- token: /etc/rancher/rke2/config.yaml'")[0] == 0
    assert pi.run("systemctl is-active rke2-agent") == (0, "active\n", "")
    assert pi.run('systemctl list-unit-files | grep -q "^rke2-agent"')[0] == 0
    assert pi.run("systemctl stop rke2-agent")[0] == 1 and m.writes == 0              # not as pi
    assert root.run("systemctl stop rke2-agent")[0] == 0 and m.writes == 1
    assert pi.run("systemctl is-active rke2-agent") == (3, "inactive\n", "")
    assert pi.run("curl -sk -o /dev/null -w '%{http_code}' https://localhost:10250/metrics")[0] == 7
    assert pi.run("nosuchtool --help") == (127, "", "sh: 1: nosuchtool: not found\n")


def test_testinfra_reads_an_rke2_agent(host):
    h = host("pi-worker-01")
    assert h.system_info.distribution == "debian" and h.system_info.arch == "aarch64"
    cfg = h.file("/etc/rancher/rke2/config.yaml")
    assert (cfg.user, cfg.group, cfg.mode) == ("root", "root", 0o640)
    assert cfg.contains("token:") and cfg.contains("server:")
    assert h.service("rke2-agent").is_running and h.service("rke2-agent").is_enabled
    assert not h.service("rke2-server").is_enabled
    assert h.socket("tcp://10250").is_listening and not h.socket("tcp://6443").is_listening
    assert all(r.ok for r in hc.rke2_node(h, "pi-worker-01", "agent"))


def test_proxmox_host_network_is_the_lab_files(host, face):
    h = host("pve")
    assert all(r.ok for r in hc.proxmox_units(h, "pve"))
    node = load_lab(ROOT / "labs/aggrik8s.yaml").proxmox_node("pve")
    assert all(r.ok for r in hc.proxmox_bridges(h, node, {"VLAN1500": 1500, "VLAN2000": 2000}))
    bad = hc.proxmox_bridges(h, node, {"VLAN4095": 4095})
    assert not bad[0].ok and "does not carry VLAN4095" in bad[0].message


def test_unknown_host_key_and_wrong_key_are_refused(face, tmp_path):
    ep = from_json(face.endpoints())["pi-master-01"]
    stranger = tmp_path / "known_hosts"
    stranger.write_text("")
    with pytest.raises(HostUnreachable):
        ssh_client(SshEndpoint(**{**ep.__dict__, "known_hosts": str(stranger)}))
    other = tmp_path / "id"
    paramiko.ECDSAKey.generate().write_private_key_file(str(other))
    with pytest.raises(HostUnreachable):   # the served host accepts its per-run key only
        ssh_client(SshEndpoint(**{**ep.__dict__, "key_file": str(other)}))


def test_a_pulled_cable_makes_the_host_unreachable():
    class World:
        pulled: set = set()

        def link_up(self, end):
            return end not in self.pulled

    world = World()
    f = start_hosts(load_inventory(ROOT / "labs/aggrik8s.yaml"), world, None, {})
    try:
        ep = from_json(f.endpoints())["pi-worker-02"]
        ssh_client(ep).close()
        world.pulled.add(("pi-worker-02", "eth0"))
        with pytest.raises(HostUnreachable):
            ssh_client(ep, timeout=2)
    finally:
        f.stop()


def test_key_files_are_per_run_and_owner_only(face):
    eps = face.endpoints()
    key = Path(eps["pi-master-01"]["key_file"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert eps["pi-master-02"]["key_file"] == str(key)            # one secret reference, one key
    assert eps["pve"]["key_file"] != str(key) and eps["pve"]["sudo"] is False


def test_endpoints_from_the_lab_file_use_the_lab_addresses():
    eps = from_lab(load_lab(ROOT / "labs/aggrik8s.yaml"))
    assert (eps["pi-master-01"].host, eps["pi-master-01"].port, eps["pi-master-01"].user) == ("192.168.10.91", 22, "pi")
    assert eps["pi-master-01"].key_file == "~/.ssh/picluster" and eps["pi-master-01"].sudo
    assert (eps["pve"].host, eps["pve"].user, eps["pve"].sudo) == ("192.168.88.10", "root", False)


def test_inventory_has_rke2_ansibles_groups():
    lab = load_lab(ROOT / "labs/aggrik8s.yaml")
    data = yaml.safe_load(render(lab))
    groups = data["rke2_cluster"]["children"]
    assert list(groups["rke2_servers"]["hosts"]) == ["pi-master-01", "pi-master-02", "pi-master-03"]
    assert list(groups["rke2_agents"]["hosts"]) == ["pi-worker-01", "pi-worker-02"]
    hv = groups["rke2_agents"]["hosts"]["pi-worker-01"]
    assert hv == {"ansible_host": "192.168.10.101", "ansible_port": 22, "ansible_user": "pi",
                  "ansible_ssh_private_key_file": "~/.ssh/picluster", "ansible_become": True, "node_ip": "192.168.10.101"}
    assert groups["rke2_servers"]["vars"]["rke2_config"]["cni"] == "cilium"
    ini = render(lab, "ini")
    assert "[rke2_cluster:children]\nrke2_servers\nrke2_agents" in ini
    assert "pi-worker-02 ansible_host=192.168.10.102 ansible_port=22 ansible_user=pi" in ini


def test_testinfra_ansible_backend_reaches_the_hosts_through_the_inventory(face, tmp_path, monkeypatch):
    """testinfra's ansible:// backend reads the inventory with ansible-inventory, then logs in with OpenSSH,
    verifying host keys against the served known_hosts."""
    bindir = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(bindir, "ansible-inventory")):
        pytest.skip("ansible-core is not installed in this environment")
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ["PATH"])
    raw = load_inventory(ROOT / "labs/aggrik8s.yaml").raw
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab_copy(raw, {"hosts": face.endpoints()}), sort_keys=False))
    (tmp_path / "inventory.yml").write_text(render(load_lab(tmp_path / "lab.yaml")))
    hosts = testinfra.get_hosts(["ansible://rke2_agents"], ansible_inventory=str(tmp_path / "inventory.yml"))
    assert sorted(h.backend.get_hostname() for h in hosts) == ["pi-worker-01", "pi-worker-02"]
    for h in hosts:
        assert all(r.ok for r in hc.rke2_node(h, h.backend.get_hostname(), "agent"))


def test_workstation_checks_through_the_local_backend(tmp_path, monkeypatch):
    for tool, text in {"talosctl": "Client:\n\tTalos v1.11.3", "helm": "v3.16.2+g13654a5"}.items():
        exe = tmp_path / tool
        exe.write_text(f"#!/bin/sh\nprintf '{text}\\n'\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + "/usr/bin:/bin")
    local = testinfra.get_host("local://")
    res = {r.subject: r for r in hc.workstation(local, {"talosctl": "1.11.3", "helm": "3.17", "cilium": None})}
    assert res["talosctl"].ok
    assert not res["helm"].ok and res["helm"].message == "helm is 3.16.2, the lab file expects 3.17"
    assert not res["cilium"].ok and res["cilium"].message == "cilium is not on PATH"
