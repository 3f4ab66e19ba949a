"""The Hetzner Cloud face through `hcloud` (hcloud-python) and plain HTTP: the catalogue, firewalls, servers whose
actions complete over virtual time, power, locks, pagination, rate limits and the error JSON. Actions are awaited by
polling through the virtual clock, never with hcloud's own `wait_until_finished` (it sleeps in real time)."""
from __future__ import annotations

import pytest
from hcloud import APIException
from hcloud.firewalls import FirewallRule, FirewallResource
from hcloud.images import Image
from hcloud.locations import Location
from hcloud.server_types import ServerType

from labsim.fakes.cloud.testing import start_clouds


@pytest.fixture
def clouds():
    with start_clouds() as c:
        yield c


def wait(clouds, h, action_id: int, limit: float = 120.0) -> None:
    waited = 0.0
    while h.actions.get_by_id(action_id).status == "running":
        assert waited < limit, f"action {action_id} still running after {limit}s"
        clouds.clock.sleep(1.0)
        waited += 1.0


def snapshot(h):
    (img,) = h.images.get_all(type="snapshot", architecture="arm")
    return img


def test_catalogue(clouds) -> None:
    h = clouds.hcloud()
    assert {t.name for t in h.server_types.get_all()} >= {"cax11", "cax21", "cpx11"}
    cax = h.server_types.get_by_name("cax21")
    assert (cax.architecture, cax.cores, cax.memory, cax.disk) == ("arm", 4, 8.0, 80)
    assert {loc.name for loc in h.locations.get_all()} == {"fsn1", "nbg1", "hel1", "ash", "hil", "sin"}
    img = snapshot(h)
    assert img.description == "talos-v1.10.0-arm64-tailscale" and img.labels["os"] == "talos"


def test_server_life_over_virtual_time(clouds) -> None:
    h = clouds.hcloud()
    resp = h.servers.create(name="rose", server_type=ServerType(name="cax21"), image=Image(id=snapshot(h).id),
                            location=Location(name="hel1"), labels={"type": "talos-control-plane"},
                            user_data="machine: {}\n")
    assert resp.server.status == "initializing" and resp.action.command == "create_server"
    assert resp.next_actions[0].command == "start_server" and resp.root_password
    assert h.actions.get_by_id(resp.action.id).progress < 100
    wait(clouds, h, resp.action.id)
    s = h.servers.get_by_name("rose")
    assert s.status == "running" and s.public_net.ipv4.ip.startswith("95.216.") and s.location.name == "hel1"
    assert clouds.world.machine_named("rose").status == "running"
    off = s.power_off()
    with pytest.raises(APIException) as err:
        s.power_on()
    assert (err.value.code, err.value.message) == (
        "locked", "The item you are trying to access is locked (there is already an Action running)")
    wait(clouds, h, off.id)
    assert h.servers.get_by_id(s.id).status == "off" and clouds.world.machine_named("rose").status == "stopped"
    wait(clouds, h, h.servers.get_by_id(s.id).power_on().id)
    assert h.servers.get_by_id(s.id).status == "running"
    assert [x.name for x in h.servers.get_all(label_selector="type=talos-control-plane")] == ["rose"]
    assert h.servers.get_all(label_selector="type!=talos-control-plane") == []
    wait(clouds, h, s.delete().id)
    assert h.servers.get_by_name("rose") is None


def test_firewalls_and_what_the_internet_sees(clouds) -> None:
    h = clouds.hcloud()
    rules = [FirewallRule(direction="in", protocol="tcp", port="443", source_ips=["0.0.0.0/0", "::/0"],
                          description="HTTPS (TCP)")]
    fw = h.firewalls.create(name="bouquet2", rules=rules, labels={"type": "talos-cluster"}).firewall
    resp = h.servers.create(name="lily", server_type=ServerType(name="cax21"), image=Image(id=snapshot(h).id),
                            location=Location(name="fsn1"), firewalls=[fw])
    wait(clouds, h, resp.action.id)
    m = clouds.world.machine_named("lily")
    assert clouds.world.refusal(m.public_ipv4, 443) is None
    assert "dropped by lily's firewall" in clouds.world.refusal(m.public_ipv4, 50000)
    got = h.firewalls.get_by_id(fw.id)
    assert got.applied_to[0].server.id == resp.server.id and got.rules[0].port == "443"
    for a in h.firewalls.set_rules(fw, rules + [FirewallRule(direction="in", protocol="tcp", port="50000",
                                                             source_ips=["198.51.100.23/32"])]):
        wait(clouds, h, a.id)
    assert clouds.world.refusal(m.public_ipv4, 50000) is None                 # from the workstation
    assert clouds.world.refusal(m.public_ipv4, 50000, source="203.0.113.9")   # from anywhere else: dropped
    for a in h.firewalls.remove_from_resources(fw, [FirewallResource(type="server", server=resp.server)]):
        wait(clouds, h, a.id)
    assert clouds.world.refusal(m.public_ipv4, 50000, source="203.0.113.9") is None   # no firewall: open
    with pytest.raises(APIException) as err:
        h.firewalls.create(name="bouquet2", rules=[])
    assert err.value.code == "uniqueness_error"
    with pytest.raises(APIException) as err:
        h.firewalls.create(name="bad", rules=[FirewallRule(direction="in", protocol="tcp", source_ips=["0.0.0.0/0"])])
    assert err.value.code == "invalid_input" and err.value.details["fields"][0]["name"] == "rules.0.port"


def test_errors_pagination_and_rate_limit(clouds) -> None:
    h = clouds.hcloud()
    with pytest.raises(APIException) as err:
        h.servers.create(name="x", server_type=ServerType(name="cax21"), image=Image(id=snapshot(h).id),
                         location=Location(name="ash"))
    assert err.value.code == "resource_unavailable"
    with pytest.raises(APIException) as err:
        h.servers.create(name="bad_name", server_type=ServerType(name="cax21"), image=Image(id=snapshot(h).id))
    assert err.value.code == "invalid_input" and err.value.details["fields"][0]["name"] == "name"
    with pytest.raises(APIException) as err:
        h.servers.create(name="x", server_type=ServerType(name="cpx11"), image=Image(id=snapshot(h).id))
    assert err.value.code == "invalid_input" and "architecture" in err.value.details["fields"][0]["messages"][0]
    with pytest.raises(APIException) as err:
        h.servers.get_by_id(1)
    assert (err.value.code, err.value.message) == ("not_found", "server with ID '1' not found")
    with pytest.raises(APIException) as err:
        clouds.hcloud(token="wrong").servers.get_all()
    assert (err.value.code, err.value.message) == ("unauthorized", "unable to authenticate")
    s = clouds.session()
    url = clouds.endpoints["hetzner"]["url"]
    auth = {"Authorization": f"Bearer {clouds.secrets['env:HCLOUD_TOKEN']}"}
    r = s.get(f"{url}/server_types?per_page=2&page=2", headers=auth)
    pag = r.json()["meta"]["pagination"]
    assert (pag["page"], pag["per_page"], pag["previous_page"], pag["next_page"]) == (2, 2, 1, 3)
    assert r.headers["RateLimit-Limit"] == "3600" and int(r.headers["RateLimit-Remaining"]) < 3600
    assert r.headers["X-Correlation-Id"]
    assert s.get(f"{url}/server_types?per_page=51", headers=auth).json()["error"]["code"] == "invalid_input"
    clouds.world.hetzner.exhaust_rate_limit()
    r = s.get(f"{url}/servers", headers=auth)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    assert r.headers["RateLimit-Remaining"] == "0"
    clouds.clock.sleep(5)                                   # one request a second comes back
    assert s.get(f"{url}/servers", headers=auth).status_code == 200
