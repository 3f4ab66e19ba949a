"""The raw envelope with plain `requests`: content type, `{"data": ...}`, reason phrases, error bodies."""
from __future__ import annotations

import pytest
import requests

from labsim.fakes.proxmox.testing import start_pve_lab


@pytest.fixture
def lab():
    with start_pve_lab() as lab:
        yield lab


@pytest.fixture
def s(lab) -> requests.Session:
    sess = requests.Session()
    sess.trust_env = False          # else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `sess.verify`
    sess.verify = lab.ca.cert_path
    sess.headers["Authorization"] = f"PVEAPIToken={lab.user}!{lab.token_id}={lab.token_secret}"
    return sess


def u(lab, path: str) -> str:
    return lab.server.api_url + path


def test_success_envelope(lab, s) -> None:
    r = s.get(u(lab, "/version"))
    assert r.status_code == 200 and r.reason == "OK"
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Server"] == "pve-api-daemon/3.0"
    assert set(r.json()) == {"data"} and r.json()["data"]["version"] == "8.2.4"
    r = s.post(u(lab, "/nodes/pve/network"), data={"iface": "vmbr7", "type": "bridge"})
    assert r.status_code == 200 and r.json() == {"data": None}


def test_changes_and_total_ride_next_to_data(lab, s) -> None:
    s.post(u(lab, "/nodes/pve/network"), data={"iface": "vmbr7", "type": "bridge", "autostart": "1"})
    body = s.get(u(lab, "/nodes/pve/network")).json()
    assert isinstance(body["data"], list) and "+iface vmbr7 inet manual" in body["changes"]
    upid = s.post(u(lab, "/nodes/pve/network"), data={"iface": "vmbr8", "type": "bridge"})
    assert upid.status_code == 200
    upid = s.put(u(lab, "/nodes/pve/network")).json()["data"]
    lab.clock.sleep(5)
    log = s.get(u(lab, f"/nodes/pve/tasks/{upid}/log")).json()
    assert log["total"] == len(log["data"]) == 1 and log["data"] == [{"n": 1, "t": "TASK OK"}]


def test_400_parameter_verification(lab, s) -> None:
    r = s.post(u(lab, "/nodes/pve/qemu"), data={"vmid": "1501", "start": "True", "onboot": "yes"})
    assert (r.status_code, r.reason) == (400, "Parameter verification failed.")
    assert r.json() == {"data": None, "message": "Parameter verification failed.\n",
                        "errors": {"start": "type check ('boolean') failed - got 'True'",
                                   "onboot": "type check ('boolean') failed - got 'yes'"}}


def test_500_reason_is_the_message_first_line(lab, s) -> None:
    r = s.get(u(lab, "/nodes/pve/qemu/999/config"))
    assert (r.status_code, r.reason) == (500, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist")
    assert r.json() == {"data": None,
                        "message": "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist\n"}


def test_501_for_unknown_paths_and_methods(lab, s) -> None:
    r = s.get(u(lab, "/nodes/pve/qemu/100/bogus"))
    assert (r.status_code, r.reason) == (501, "Method 'GET /nodes/pve/qemu/100/bogus' not implemented")
    assert r.json()["data"] is None
    r = s.post(u(lab, "/version"))
    assert (r.status_code, r.reason) == (501, "Method 'POST /version' not implemented")
    r = s.get(lab.server.url + "/api2/xml/version")
    assert (r.status_code, r.reason) == (501, "no such uri")


def test_json_bodies_and_query_params(lab, s) -> None:
    r = s.post(u(lab, "/nodes/pve/network"), json={"iface": "vmbr7", "type": "bridge", "autostart": True})
    assert r.status_code == 200
    r = s.get(u(lab, "/cluster/resources?type=node"))
    assert [x["type"] for x in r.json()["data"]] == ["node"]


def test_conflicting_uri_parameter(lab, s) -> None:
    r = s.get(u(lab, "/nodes/pve/status"), params={"node": "other"})
    assert r.status_code == 400
    assert r.json()["errors"] == {"node": "duplicate parameter (already defined in URI) with conflicting values!"}


def test_large_answers_are_gzipped(lab, s) -> None:
    assert s.get(u(lab, "/version")).headers.get("Content-Encoding") is None
    for i in range(4):
        s.post(u(lab, "/nodes/pve/network"), data={"iface": f"vmbr{i + 1}", "type": "bridge"})
    r = s.get(u(lab, "/nodes/pve/network"))
    assert r.headers.get("Content-Encoding") == "gzip" and len(r.json()["data"]) == 8


def test_repeated_requests_on_one_session_are_all_served(lab, s) -> None:
    for _ in range(20):
        assert s.get(u(lab, "/version")).status_code == 200
    # under load urllib3 may resend a request on a kept-alive connection the server just closed: at least
    # the 20, and every one answered
    log = lab.server.access_log
    assert len(log) >= 20 and all(entry[1:3] == ("/api2/json/version", 200) for entry in log)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.88.10", "::"])
def test_binds_loopback_only(lab, host: str) -> None:
    from labsim.fakes.proxmox import ProxmoxServer
    with pytest.raises(ValueError, match="loopback"):
        ProxmoxServer(lab.cluster, ca=lab.ca, host=host)


def test_other_loopback_address(lab) -> None:
    from labsim.fakes.proxmox import ProxmoxServer
    with ProxmoxServer(lab.cluster, ca=lab.ca, host="127.0.0.2") as srv:
        r = requests.get(srv.api_url + "/version", verify=lab.ca.cert_path,
                         headers={"Authorization": f"PVEAPIToken={lab.user}!{lab.token_id}={lab.token_secret}"})
        assert r.status_code == 200 and srv.url.startswith("https://127.0.0.2:")
