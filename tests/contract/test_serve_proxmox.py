"""`python -m labsim.fakes serve` wires the Proxmox VE API into the simulated lab: a plain proxmoxer script, given only
the endpoints file (host, port, token, CA), lists the nodes, creates and starts a VM on a cluster VLAN and
reads the address its DHCP lease gave it through the guest agent.

The served lab's virtual time follows the wall clock (`--time-scale`), so this test polls in real time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from proxmoxer import ProxmoxAPI

from labsim.provisioners.endpoints import Endpoints
from labsim.provisioners.fabric.client import connect
from labsim.provisioners.fabric.run import provision
from labsim.provisioners.lab import load_lab

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "aggrik8s.yaml"
ISO = "local:iso/talos-v1.11.3-metal-amd64-qemu-guest-agent.iso"


@pytest.fixture
def served(tmp_path):
    endpoints = tmp_path / "endpoints.json"
    env = {**os.environ, "ROUTEROS_PASSWORD": "served-secret", "PVE_TOKEN_SECRET": "served-token"}
    proc = subprocess.Popen([sys.executable, "-m", "labsim.fakes", "serve", str(LAB), "--endpoints-file", str(endpoints),
                             "--time-scale", "50"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not endpoints.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert endpoints.exists(), proc.stdout.read() if proc.poll() is not None else "no endpoints file"
    yield json.loads(endpoints.read_text())
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "proxmox  pve" in out


def poll(fn, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_proxmoxer_script_gets_a_vm_address_from_the_served_lab(served):
    ep = served["proxmox"]["pve"]
    assert ep["host"] == "127.0.0.1" and ep["user"] == "root@pam" and ep["token_id"] == "ci"
    assert ep["token_secret"] == "served-token" and Path(ep["ca"]).is_file()
    # Endpoints.from_json reads the same file the provisioners use.
    assert Endpoints.from_json(served).proxmox["pve"].port == ep["port"]

    # The DHCP servers exist once the fabric is provisioned (the simulated devices start factory-fresh).
    eps = Endpoints.from_json(served)
    provision(load_lab(LAB), {d: connect(e) for d, e in eps.routeros.items()}.__getitem__)

    prox = ProxmoxAPI(f"{ep['host']}:{ep['port']}", user=ep["user"], token_name=ep["token_id"],
                      token_value=ep["token_secret"], verify_ssl=ep["ca"])
    assert [n["node"] for n in prox.nodes.get()] == ["pve"]
    upid = prox.nodes("pve").qemu.post(vmid=1501, name="cp-e-1", cores=2, memory=2048, agent=1,
                                       scsihw="virtio-scsi-pci", net0="virtio,bridge=vmbr0,tag=1500",
                                       virtio0="cluster-lvm:16", ide2=f"{ISO},media=cdrom")
    assert poll(lambda: prox.nodes("pve").tasks(upid).status.get().get("exitstatus")) == "OK"
    upid = prox.nodes("pve").qemu(1501).status.start.post()
    assert poll(lambda: prox.nodes("pve").tasks(upid).status.get().get("exitstatus")) == "OK"

    mac = prox.nodes("pve").qemu(1501).config.get()["net0"].split(",")[0].split("=")[1].lower()

    def address():
        try:
            result = prox.nodes("pve").qemu(1501).agent("network-get-interfaces").get()["result"]
        except Exception:
            return None
        return [(a["ip-address"], a["prefix"]) for i in result if i["hardware-address"] == mac
                for a in i["ip-addresses"] if a["ip-address-type"] == "ipv4"]
    assert poll(address) == [("192.168.15.20", 24)]


def test_the_served_certificate_is_refused_without_the_lab_ca(served):
    ep = served["proxmox"]["pve"]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://127.0.0.1:{ep['port']}/api2/json/version", verify=True, timeout=5)
