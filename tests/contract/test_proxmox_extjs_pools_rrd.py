"""Proxmox VE API additions driven with `requests` and proxmoxer: the extjs format (pve-http-server
Formatter/Standard.pm), /access/permissions, /pools (pve-access-control PVE/API2/Pool.pm) and a VM's rrddata."""
from __future__ import annotations

import pytest
import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from labsim.fakes.proxmox.testing import start_pve_lab, wait_task


@pytest.fixture
def lab():
    with start_pve_lab() as lab:
        yield lab


@pytest.fixture
def s(lab) -> requests.Session:
    sess = requests.Session()
    sess.trust_env = False
    sess.verify = lab.ca.cert_path
    sess.headers["Authorization"] = f"PVEAPIToken={lab.user}!{lab.token_id}={lab.token_secret}"
    return sess


@pytest.fixture
def prox(lab) -> ProxmoxAPI:
    return ProxmoxAPI(lab.server.host_port, user=lab.user, token_name=lab.token_id, token_value=lab.token_secret,
                      verify_ssl=lab.ca.cert_path)


def test_extjs_success_and_errors_travel_in_the_body(lab, s) -> None:
    base = lab.server.url + "/api2/extjs"
    ok = s.get(base + "/version")
    assert ok.status_code == 200 and ok.json()["success"] == 1 and ok.json()["data"]["version"] == "8.2.4"
    missing = s.get(base + "/nodes/pve/qemu/999/config")            # json: 500 with the message as reason
    assert missing.status_code == 200
    body = missing.json()
    assert body["success"] == 0 and body["status"] == 500 and body["data"] is None
    assert body["message"].startswith("Configuration file 'nodes/pve/qemu-server/999.conf' does not exist")
    bad = s.get(base + "/cluster/nextid", params={"vmid": "x"})
    assert bad.status_code == 200 and bad.json()["success"] == 0 and bad.json()["status"] == 400
    assert "vmid" in bad.json()["errors"]
    assert s.get(lab.server.url + "/api2/json/nodes/pve/qemu/999/config").status_code == 500   # json unchanged
    noauth = requests.get(base + "/version", verify=lab.ca.cert_path)
    assert noauth.status_code == 401


def test_permissions_of_root_and_its_token(prox) -> None:
    perms = prox.access.permissions.get()
    assert set(perms) == {"/"} and perms["/"]["VM.Allocate"] == 1 and perms["/"]["Sys.Audit"] == 1
    assert prox.access.permissions.get(path="/vms/100") == {"/vms/100": perms["/"]}


def test_pools_lifecycle(lab, prox) -> None:
    prox.pools.post(poolid="lab", comment="the lab's VMs")
    assert prox.pools.get() == [{"poolid": "lab", "comment": "the lab's VMs"}]
    with pytest.raises(ResourceException) as exc:
        prox.pools.post(poolid="lab")
    assert exc.value.status_code == 500 and "create pool failed: pool 'lab' already exists" in exc.value.content
    upid = prox.nodes("pve").qemu.post(vmid=120, name="pooled", memory=1024, cores=1)
    wait_task(prox, upid, lab.clock)
    prox.pools("lab").put(vms="120")
    members = prox.pools("lab").get()["members"]
    assert [(m["id"], m["type"], m["name"]) for m in members] == [("qemu/120", "qemu", "pooled")]
    with pytest.raises(ResourceException) as exc:
        prox.pools("lab").delete()
    assert "pool 'lab' is not empty (contains VM 120)" in exc.value.content
    prox.pools("lab").put(vms="120", delete=1)
    prox.pools("lab").delete()
    assert prox.pools.get() == []


def test_rrddata_follows_the_vms_load(lab, prox) -> None:
    upid = prox.nodes("pve").qemu.post(vmid=121, name="busy", memory=2048, cores=2)
    wait_task(prox, upid, lab.clock)
    wait_task(prox, prox.nodes("pve").qemu(121).status.start.post(), lab.clock)
    lab.clock.sleep(1800)
    points = prox.nodes("pve").qemu(121).rrddata.get(timeframe="hour")
    assert len(points) == 70 and all(b["time"] - a["time"] == 60 for a, b in zip(points, points[1:]))
    running = [p for p in points if "cpu" in p]
    assert running and running[-1]["maxmem"] == 2048 * 1024 * 1024 and running[-1]["maxcpu"] == 2
    assert 0 < running[-1]["cpu"] < 1 and running[-1]["netin"] > 0
    day = prox.nodes("pve").qemu(121).rrddata.get(timeframe="day", cf="MAX")
    assert len(day) == 70 and day[1]["time"] - day[0]["time"] == 1800
    assert any("cpu" not in p for p in day)          # before the VM started: unknown
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").qemu(121).rrddata.get()
    assert exc.value.status_code == 400 and "timeframe" in (exc.value.errors or {})
