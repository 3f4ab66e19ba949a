"""Authentication on the wire: tickets with CSRF tokens, API tokens, and PVE's 401 reason phrases.

Raw `requests` calls check what proxmoxer hides (reason phrase, empty body); proxmoxer calls check that
the real client works with both methods. TLS is always verified against the lab CA.
"""
from __future__ import annotations

import pytest
import requests
from proxmoxer import AuthenticationError, ProxmoxAPI, ResourceException

from labsim.fakes.pki import CA
from labsim.fakes.proxmox.testing import start_pve_lab, wait_task


@pytest.fixture
def lab():
    with start_pve_lab() as lab:
        yield lab


def url(lab, path: str) -> str:
    return f"{lab.server.api_url}{path}"


def login(lab, password: str | None = None) -> dict:
    r = requests.post(url(lab, "/access/ticket"), data={"username": lab.user, "password": password or lab.password},
                      verify=lab.ca.cert_path)
    assert r.status_code == 200, r.reason
    return r.json()["data"]


def token_header(lab, sep: str = "=") -> dict[str, str]:
    return {"Authorization": f"PVEAPIToken={lab.user}!{lab.token_id}{sep}{lab.token_secret}"}


def assert_401(r: requests.Response, reason: str) -> None:
    assert (r.status_code, r.reason, r.content) == (401, reason, b"")


def test_ticket_shape(lab) -> None:
    data = login(lab)
    assert data["username"] == "root@pam"
    assert data["ticket"].startswith("PVE:root@pam:") and "::" in data["ticket"]
    head, _, sig = data["ticket"].partition("::")
    assert len(head.split(":")[2]) == 8 and sig
    ts, _, mac = data["CSRFPreventionToken"].partition(":")
    assert len(ts) == 8 and mac
    assert data["cap"]["vms"]["VM.Allocate"] == 1


def test_no_ticket(lab) -> None:
    r = requests.get(url(lab, "/nodes"), verify=lab.ca.cert_path)
    assert_401(r, "No ticket")
    r = requests.post(url(lab, "/nodes/pve/qemu"), data={"vmid": "100"}, verify=lab.ca.cert_path)
    assert_401(r, "No ticket")
    r = requests.get(url(lab, "/nodes/pve/nosuchpath"), verify=lab.ca.cert_path)
    assert_401(r, "No ticket")                                   # authentication comes before routing


def test_bad_ticket_and_bad_tokens(lab) -> None:
    cookies = {"PVEAuthCookie": "PVE:root@pam:6955B900::forged"}
    assert_401(requests.get(url(lab, "/nodes"), cookies=cookies, verify=lab.ca.cert_path), "Authentication failed!")
    bad = {"Authorization": f"PVEAPIToken={lab.user}!{lab.token_id}=wrong"}
    assert_401(requests.get(url(lab, "/nodes"), headers=bad, verify=lab.ca.cert_path), "Authentication failed!")
    # PBS uses `:` between token id and secret; PVE splits at `=` only and refuses it
    r = requests.get(url(lab, "/nodes"), headers=token_header(lab, ":"), verify=lab.ca.cert_path)
    assert_401(r, "Authentication failed!")
    r = requests.get(url(lab, "/nodes"), headers=token_header(lab), verify=lab.ca.cert_path)
    assert r.status_code == 200


def test_csrf_required_on_every_non_get_with_a_ticket(lab) -> None:
    data = login(lab)
    cookies = {"PVEAuthCookie": data["ticket"]}
    assert requests.get(url(lab, "/nodes"), cookies=cookies, verify=lab.ca.cert_path).status_code == 200
    for method in ("POST", "PUT", "DELETE"):
        r = requests.request(method, url(lab, "/nodes/pve/network"), cookies=cookies, verify=lab.ca.cert_path)
        assert_401(r, "Permission denied - invalid csrf token")
    r = requests.delete(url(lab, "/nodes/pve/network"), cookies=cookies,
                        headers={"CSRFPreventionToken": data["CSRFPreventionToken"]}, verify=lab.ca.cert_path)
    assert r.status_code == 200 and r.json() == {"data": None}
    # API tokens need no CSRF token
    r = requests.delete(url(lab, "/nodes/pve/network"), headers=token_header(lab), verify=lab.ca.cert_path)
    assert r.status_code == 200


def test_ticket_expires_after_two_virtual_hours(lab) -> None:
    prox = ProxmoxAPI(**lab.proxmoxer_kwargs(token=False))
    assert prox.nodes.get()[0]["node"] == "pve"
    lab.clock.sleep(2 * 3600 - 1)
    assert prox.nodes.get()[0]["node"] == "pve"
    lab.clock.sleep(1)
    with pytest.raises(ResourceException) as exc:
        prox.nodes.get()          # proxmoxer renews by *real* time (1 h), so it does not notice virtual time
    assert (exc.value.status_code, exc.value.content) == (401, "Authentication failed!")
    token_prox = ProxmoxAPI(**lab.proxmoxer_kwargs())
    assert token_prox.nodes.get()                                 # tokens do not expire


def test_renewal_posts_the_ticket_as_password(lab) -> None:
    first = login(lab)
    lab.clock.sleep(3600)
    renewed = login(lab, first["ticket"])
    assert renewed["ticket"] != first["ticket"]
    lab.clock.sleep(3600)
    r = requests.get(url(lab, "/nodes"), cookies={"PVEAuthCookie": first["ticket"]}, verify=lab.ca.cert_path)
    assert_401(r, "Authentication failed!")
    r = requests.get(url(lab, "/nodes"), cookies={"PVEAuthCookie": renewed["ticket"]}, verify=lab.ca.cert_path)
    assert r.status_code == 200


def test_wrong_password(lab) -> None:
    r = requests.post(url(lab, "/access/ticket"), data={"username": "root@pam", "password": "nope"},
                      verify=lab.ca.cert_path)
    assert (r.status_code, r.reason) == (401, "authentication failure")
    with pytest.raises(AuthenticationError):
        ProxmoxAPI(lab.server.host_port, user="root@pam", password="nope", verify_ssl=lab.ca.cert_path)


def test_proxmoxer_with_ticket_auth_does_writes(lab) -> None:
    prox = ProxmoxAPI(**lab.proxmoxer_kwargs(token=False))
    upid = prox.nodes("pve").qemu.post(vmid=100, name="t1", net0="virtio,bridge=vmbr0")
    assert upid.split(":")[7] == "root@pam"
    assert wait_task(prox, upid, lab.clock)["exitstatus"] == "OK"
    ticket, csrf = prox.get_tokens()
    assert ticket.startswith("PVE:root@pam:") and csrf


def test_verification_is_real(lab, monkeypatch, tmp_path) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url(lab, "/version"), headers=token_header(lab))         # system trust store: refused
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", lab.ca.cert_path)
    prox = ProxmoxAPI(lab.server.host_port, user=lab.user, token_name=lab.token_id, token_value=lab.token_secret,
                      verify_ssl=True)                                      # honoured by requests
    assert prox.version.get()["version"] == "8.2.4"
    assert ProxmoxAPI(f"localhost:{lab.server.port}", user=lab.user, token_name=lab.token_id,
                      token_value=lab.token_secret, verify_ssl=lab.ca.cert_path).version.get()   # SAN localhost
    other = CA.generate("another lab", directory=tmp_path)
    with pytest.raises(requests.exceptions.SSLError):
        ProxmoxAPI(lab.server.host_port, user=lab.user, token_name=lab.token_id,
                   token_value=lab.token_secret, verify_ssl=other.cert_path).version.get()
