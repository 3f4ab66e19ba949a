"""Issue 19 §4: Proxmox tickets and CSRF tokens could be forged. Their keys were derived from the public
simulation seed (default 0), so on a lab with a PVE password anyone could mint a valid ticket and create VMs.
Now they are signed with a random per-lab authkey (RSA, as PVE's) and a random CSRF secret, and expire after
PVE's 2 hours."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import requests

from labsim.fakes.proxmox.testing import start_pve_lab


@pytest.fixture
def lab():
    with start_pve_lab(seed=0) as lab:
        yield lab


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _forged_from_the_seed(user: str, epoch: int, seed: int = 0) -> tuple[str, str]:
    """A ticket and CSRF token minted the way the code used to sign them, from nothing but the seed."""
    data = f"PVE:{user}:{epoch:08X}"
    key = hashlib.sha256(f"pve-authkey:{seed}:0".encode()).digest()
    ticket = f"{data}::{_b64(hmac.new(key, data.encode(), hashlib.sha512).digest())}"
    csrf_key = hashlib.sha256(f"pve-www-key:{seed}".encode()).digest()
    ts = f"{epoch:08X}"
    csrf = f"{ts}:{_b64(hmac.new(csrf_key, f'{ts}:{user}'.encode(), hashlib.sha256).digest())}"
    return ticket, csrf


def _create_vm(lab, ticket: str, csrf: str) -> requests.Response:
    return requests.post(f"{lab.server.api_url}/nodes/{lab.node}/qemu", data={"vmid": "990", "name": "forged"},
                         cookies={"PVEAuthCookie": ticket}, headers={"CSRFPreventionToken": csrf},
                         verify=lab.ca.cert_path)


def _login(lab) -> dict:
    r = requests.post(f"{lab.server.api_url}/access/ticket", data={"username": lab.user, "password": lab.password},
                      verify=lab.ca.cert_path)
    assert r.status_code == 200, r.reason
    return r.json()["data"]


def test_a_ticket_minted_from_the_seed_is_refused(lab):
    ticket, csrf = _forged_from_the_seed(lab.user, lab.cluster.auth.epoch())
    r = _create_vm(lab, ticket, csrf)
    assert (r.status_code, r.reason) == (401, "Authentication failed!")
    assert 990 not in lab.cluster.vms


def test_a_ticket_from_another_lab_with_the_same_seed_is_refused(lab):
    with start_pve_lab(seed=0) as other:
        data = _login(other)
    r = _create_vm(lab, data["ticket"], data["CSRFPreventionToken"])
    assert (r.status_code, r.reason) == (401, "Authentication failed!")


def test_a_real_ticket_works_and_expires_after_two_hours(lab):
    data = _login(lab)
    assert data["ticket"].endswith("=")          # base64 of a 256-byte RSA signature, padded as PVE's
    r = requests.get(f"{lab.server.api_url}/version", cookies={"PVEAuthCookie": data["ticket"]},
                     verify=lab.ca.cert_path)
    assert r.status_code == 200
    lab.clock.sleep(2 * 3600)
    r = requests.get(f"{lab.server.api_url}/version", cookies={"PVEAuthCookie": data["ticket"]},
                     verify=lab.ca.cert_path)
    assert (r.status_code, r.reason) == (401, "Authentication failed!")


def test_a_valid_ticket_with_a_csrf_token_of_another_lab_is_refused(lab):
    data = _login(lab)
    with start_pve_lab(seed=0) as other:
        foreign = _login(other)["CSRFPreventionToken"]
    r = _create_vm(lab, data["ticket"], foreign)
    assert (r.status_code, r.reason) == (401, "Permission denied - invalid csrf token")
