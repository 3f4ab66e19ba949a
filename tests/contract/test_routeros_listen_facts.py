"""The simulated RouterOS device as clients nobody here wrote use it: `listen` and `/cancel` through the
`routeros-api` package (tagged, simultaneous commands), `print =count-only=`, and Ansible's
`community.routeros.api_facts` (every gather subset) against a served device.

api_facts comes from PyPI's `ansible` package, which bundles community.routeros: `make` unpacks that collection
into .venv/ansible_collections (the Makefile's `collections` target); where it is absent the api_facts tests fail
with what to run, never skip in silence.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import librouteros
import pytest
import routeros_api
import yaml

from labsim.fakes.routeros.device import RouterOSDevice
from labsim.fakes.routeros.server import RouterOSServer
from labsim.fakes.routeros.menus.system import serial_number

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = yaml.safe_load((ROOT / "labsim" / "hardware" / "routeros-models.yaml").read_text())["models"]
COLLECTIONS = ROOT / ".venv" / "ansible_collections"
USER, PASSWORD = "admin", "s3cret-pw"


@pytest.fixture
def served():
    started = []

    def serve(model: str = "RB5009UG+S+IN", version: str = "7.16.2") -> tuple[RouterOSDevice, RouterOSServer]:
        dev = RouterOSDevice(model=model, version=version, mac_seed=3)
        srv = RouterOSServer(dev, username=USER, password=PASSWORD, version=version, name="rb").start()
        started.append(srv)
        return dev, srv
    yield serve
    for srv in started:
        srv.stop()


def _pool(srv: RouterOSServer) -> routeros_api.RouterOsApiPool:
    return routeros_api.RouterOsApiPool("127.0.0.1", username=USER, password=PASSWORD, port=srv.port,
                                        plaintext_login=True)


# --- listen and /cancel -------------------------------------------------------------------------------------------------
def _until(rows, want, limit: int = 20) -> list[dict]:
    """Rows of a running listen until `want(rows so far)`: routeros-api reads the socket on this thread (it is not
    thread-safe) and files every sentence under its tag, so replies to other commands interleave safely."""
    got: list[dict] = []
    while not want(got) and len(got) < limit:
        got.append(next(rows))
    return got


def test_interface_listen_streams_changes_until_cancel(served):
    dev, srv = served()
    pool = _pool(srv)
    api = pool.get_api()
    listen = api.get_binary_resource("/interface").call_async("listen")     # tagged "1"
    rows = iter(listen)
    # the same connection goes on taking commands while the listen runs
    api.get_resource("/interface").set(id="*2", disabled="yes")
    vlans = api.get_resource("/interface/vlan")
    vlans.add(name="vlan42", **{"vlan-id": "42", "interface": "ether1"})
    # (routeros-api's binary resource: keys as text, `.id` as `id`, values as bytes)
    named = lambda got: {r["name"] for r in got if "name" in r}                  # noqa: E731
    got = _until(rows, lambda got: {b"ether2", b"vlan42"} <= named(got))
    assert {b"ether2", b"vlan42"} <= named(got), got
    changed = next(row for row in got if row.get("name") == b"ether2")
    assert changed["disabled"] == b"true" and changed["type"] == b"ether"
    vlan = next(row for row in got if row.get("name") == b"vlan42")
    vlans.remove(id=vlan["id"].decode())
    gone = _until(rows, lambda got: any(".dead" in r for r in got))
    assert {"id": vlan["id"], ".dead": b"true"} in gone
    api.get_binary_resource("/").call("cancel", {"tag": listen.inner.tag})     # /cancel =tag=1
    with pytest.raises(routeros_api.exceptions.RouterOsApiCommunicationError) as exc:
        list(rows)
    assert "interrupted" in str(exc.value)                                     # !trap =category=2 interrupted
    assert api.get_resource("/system/identity").get()[0]["name"] == "MikroTik"   # the session goes on
    pool.disconnect()


def test_lease_listen_sees_a_lease_granted_by_the_world(served):
    dev, srv = served()
    lr = librouteros.connect("127.0.0.1", username=USER, password=PASSWORD, port=srv.port)
    lr.path("ip", "pool").add(name="p", ranges="10.0.0.10-10.0.0.20")
    lr.path("ip", "dhcp-server").add(name="d", interface="ether2", **{"address-pool": "p"})
    pool = _pool(srv)
    api = pool.get_api()
    listen = api.get_binary_resource("/ip/dhcp-server/lease").call_async("listen")
    rows = iter(listen)
    assert api.get_resource("/system/identity").get()    # the listen is running on the device by now
    dev.grant_lease("d", "bc:24:11:00:00:01", "10.0.0.10", "cp-1")
    got = _until(rows, lambda got: bool(got))
    assert got[0]["address"] == b"10.0.0.10" and got[0]["status"] == b"bound" and got[0]["host-name"] == b"cp-1"
    api.get_binary_resource("/").call("cancel")          # without a tag: every running command
    with pytest.raises(routeros_api.exceptions.RouterOsApiCommunicationError):
        list(rows)
    pool.disconnect()
    lr.close()


def test_cancel_wire_order(served):
    """The manual's order: the listen's !trap (interrupted, category 2), the cancel's !done, the listen's !done."""
    dev, srv = served()
    lr = librouteros.connect("127.0.0.1", username=USER, password=PASSWORD, port=srv.port)
    proto = lr.protocol
    proto.writeSentence("/interface/listen", ".tag=7")
    proto.writeSentence("/cancel", "=tag=7", ".tag=8")
    replies = [proto.readSentence() for _ in range(3)]
    assert replies == [("!trap", (".tag=7", "=category=2", "=message=interrupted")),
                       ("!done", (".tag=8",)), ("!done", (".tag=7",))]
    lr.close()


def test_print_count_only(served):
    dev, srv = served()
    lr = librouteros.connect("127.0.0.1", username=USER, password=PASSWORD, port=srv.port)
    ether = len(dev.rows("/interface/ethernet"))
    (row,) = list(lr("/interface/print", **{"count-only": ""}))
    assert row == {"ret": ether}                         # !done =ret=N
    lr.path("interface", "vlan").add(name="v9", **{"vlan-id": 9, "interface": "ether1"})
    (row,) = list(lr.rawCmd("/interface/print", "=count-only=", "?type=vlan"))
    assert row == {"ret": 1}
    lr.close()


# --- community.routeros.api_facts -----------------------------------------------------------------------------------------
def _api_facts(srv: RouterOSServer, tmp_path: Path) -> dict:
    if not (COLLECTIONS / "community" / "routeros").is_dir():
        pytest.fail(f"community.routeros is not installed under {COLLECTIONS}: run `make collections` (it unpacks "
                    "the collection from PyPI's `ansible` package)")
    playbook = tmp_path / "facts.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False, "tasks": [{
            "community.routeros.api_facts": {"hostname": "127.0.0.1", "port": srv.port, "username": USER,
                                             "password": PASSWORD, "gather_subset": ["all"]},
            "register": "facts"}, {"copy": {"content": "{{ facts | to_json }}", "dest": str(tmp_path / "out.json")}}],
    }]))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS.parent), "ANSIBLE_LOCALHOST_WARNING": "False",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False", "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOME": str(tmp_path / "ansible-home")}
    r = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                        str(playbook)], env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    return result | {"_stdout": r.stdout}


def test_api_facts_every_subset_on_a_routeros6_device(served, tmp_path):
    """RouterOS 6 has every menu api_facts reads (routing: bgp peer/instance/vpnv4-route, ospf instance/neighbor):
    no warning, and the model and serial of the hardware catalogue."""
    dev, srv = served(version="6.49.15")
    facts = _api_facts(srv, tmp_path)
    assert not facts.get("warnings"), facts.get("warnings")
    f = facts["ansible_facts"]
    assert f["ansible_net_model"] == CATALOGUE["RB5009UG+S+IN"]["routerboard"]["model"]
    assert f["ansible_net_serialnum"] == serial_number(dev) and serial_number(dev).startswith("HG9")
    assert f["ansible_net_version"] == "6.49.15 (stable)" and f["ansible_net_hostname"] == "MikroTik"
    assert f["ansible_net_memtotal_mb"] == CATALOGUE["RB5009UG+S+IN"]["total-memory"] / 1024 / 1024
    assert set(f["ansible_net_interfaces"]) >= {"ether1", "sfp-sfpplus1"}
    assert "default" in f["ansible_net_bgp_instance"] and "default" in f["ansible_net_ospf_instance"]
    assert sorted(facts["ansible_facts"]["ansible_net_gather_subset"]) == ["default", "hardware", "interfaces",
                                                                           "routing"]


def test_api_facts_on_routeros7_warns_exactly_where_a_real_v7_does(served, tmp_path):
    """RouterOS 7 replaced /routing/bgp/peer, instance (until 7.20) and vpnv4-route: a real 7.16 answers api_facts'
    routing subset with `no such command or directory`, so does the simulated one; every other menu answers."""
    dev, srv = served(version="7.16.2")
    facts = _api_facts(srv, tmp_path)
    warnings = facts.get("warnings") or []
    assert sorted(w.split(":")[0] for w in warnings) == [
        "Error while querying path routing bgp instance", "Error while querying path routing bgp peer",
        "Error while querying path routing bgp vpnv4-route"], warnings
    assert all("no such command or directory" in w for w in warnings)
    f = facts["ansible_facts"]
    assert (f["ansible_net_model"], f["ansible_net_serialnum"]) == ("RB5009UG+S+", serial_number(dev))
    assert f["ansible_net_interfaces"]["ether1"]["ipv6"][0]["address"].startswith("fe80::")   # link-local
    assert f["ansible_net_route"] == {} or isinstance(f["ansible_net_route"], dict)
