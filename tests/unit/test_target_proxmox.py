"""The targets hand steps a Proxmox client: from the lab file and the environment (lab), or from the
simulated lab's endpoints (sim). Nothing here contacts a real lab: the lab target is only built."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from labsim.provisioners.lab.secrets import SecretError
from labsim.steps.targets import LabTarget, SimTarget

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"


def test_lab_target_reaches_the_lab_files_node_with_the_token_from_the_environment(tmp_path):
    raw = yaml.safe_load(LAB.read_text())
    raw["proxmox"]["ca_file"] = "pve-root-ca.pem"
    lab = tmp_path / "lab.yaml"
    lab.write_text(yaml.safe_dump(raw, sort_keys=False))
    t = LabTarget(lab, environ={"ROUTEROS_PASSWORD": "r", "PVE_TOKEN_SECRET": "s3cr3t-value"})
    ep = t.endpoints.proxmox["pve"]
    assert (ep.host, ep.port, ep.user, ep.token_id, ep.token_secret, ep.password) == \
        ("192.168.88.10", 8006, "root@pam", "ci", "s3cr3t-value", None)
    assert ep.ca == str(tmp_path / "pve-root-ca.pem") and ep.verify_tls   # relative to the lab file
    assert "s3cr3t-value" not in repr(ep)


def test_a_missing_token_fails_only_when_a_proxmox_client_is_asked_for():
    t = LabTarget(LAB, environ={"ROUTEROS_PASSWORD": "r"})
    assert "pve" not in t.endpoints.proxmox and t.endpoints.routeros
    with pytest.raises(SecretError, match="PVE_TOKEN_SECRET"):
        t.proxmox()


def test_sim_target_gives_a_verified_client_and_counts_proxmox_writes():
    t = SimTarget(LAB)
    try:
        api = t.proxmox()
        assert api is t.proxmox("pve")
        assert [n["node"] for n in api.nodes.get()] == ["pve"]
        before = t.device_writes()["proxmox:pve"]
        api.nodes("pve").qemu.post(vmid=100, name="x")
        assert t.device_writes()["proxmox:pve"] == before + 1
        with pytest.raises(KeyError, match="no Proxmox endpoint for 'pve2'"):
            t.proxmox("pve2")
    finally:
        t.close()
