"""The Cloudflare face through the official `cloudflare` client (and raw HTTP for what the client hides), and the
failover watcher's record handling against it (dnswatch/labsim_dnswatch/dnsapi.py)."""
from __future__ import annotations

import cloudflare
import httpx
import pytest

from labsim.fakes.cloud.testing import start_clouds
from labsim_dnswatch.config import from_mapping
from labsim_dnswatch.dnsapi import DnsError, Records


@pytest.fixture(scope="module")
def clouds():
    with start_clouds() as c:
        yield c


@pytest.fixture
def cf(clouds):
    return clouds.cloudflare()


@pytest.fixture
def zone_id(cf):
    (z,) = [z for z in cf.zones.list(name="kreato.dev")]
    return z.id


def test_token_zone_and_the_owners_records(clouds, cf, zone_id) -> None:
    r = httpx.get(clouds.endpoints["cloudflare"]["url"] + "/user/tokens/verify", verify=clouds.ca.cert_path,
                  headers={"Authorization": f"Bearer {clouds.secrets['env:CLOUDFLARE_API_TOKEN']}"})
    assert r.json()["result"]["status"] == "active" and r.json()["messages"][0]["code"] == 10000
    z = cf.zones.get(zone_id=zone_id)
    assert z.name == "kreato.dev" and z.status == "active" and z.name_servers
    names = {(x.name, x.type) for x in cf.dns.records.list(zone_id=zone_id)}
    assert ("kreato.dev", "A") in names and ("www.kreato.dev", "CNAME") in names


def test_create_list_filter_paginate_patch_delete(cf, zone_id) -> None:
    made = [cf.dns.records.create(zone_id=zone_id, name="rr", type="A", content=f"49.12.0.{i}", ttl=60,
                                  comment=f"test: n{i}") for i in range(7)]
    assert made[0].name == "rr.kreato.dev" and made[0].ttl == 60 and made[0].proxied is False
    page = cf.dns.records.list(zone_id=zone_id, name={"exact": "rr.kreato.dev"}, per_page=5)
    assert len(page.result) == 5 and page.result_info.total_count == 7
    assert len(list(page)) == 7                       # the client follows the pages
    assert len(list(cf.dns.records.list(zone_id=zone_id, comment={"startswith": "test: n1"}))) == 1
    edited = cf.dns.records.edit(made[0].id, zone_id=zone_id, name="rr", type="A", content="49.12.0.200", ttl=120)
    assert edited.content == "49.12.0.200" and edited.comment == "test: n0"
    # a record read back and sent again as the client models it (its TTL a float: 120.0) is taken
    again = cf.dns.records.edit(edited.id, zone_id=zone_id, name=edited.name, type="A", content=edited.content,
                                ttl=float(edited.ttl))
    assert again.ttl == 120 and again.content == "49.12.0.200"
    for r in made:
        cf.dns.records.delete(r.id, zone_id=zone_id)
    assert list(cf.dns.records.list(zone_id=zone_id, name={"exact": "rr.kreato.dev"})) == []


def test_error_envelope(clouds, cf, zone_id) -> None:
    cf.dns.records.create(zone_id=zone_id, name="dup", type="A", content="49.12.1.1", ttl=60)
    with pytest.raises(cloudflare.BadRequestError) as err:
        cf.dns.records.create(zone_id=zone_id, name="dup", type="A", content="49.12.1.1", ttl=60)
    assert err.value.body["errors"][0] == {"code": 81058, "message": "An identical record already exists."}
    with pytest.raises(cloudflare.BadRequestError) as err:
        cf.dns.records.create(zone_id=zone_id, name="dup", type="CNAME", content="kreato.dev", ttl=60)
    assert err.value.body["errors"][0]["code"] == 81053
    with pytest.raises(cloudflare.BadRequestError) as err:
        cf.dns.records.create(zone_id=zone_id, name="bad", type="A", content="not-an-ip", ttl=60)
    assert err.value.body["errors"][0]["code"] == 9005
    with pytest.raises(cloudflare.BadRequestError) as err:
        cf.dns.records.create(zone_id=zone_id, name="bad", type="A", content="1.2.3.4", ttl=30)
    assert err.value.body["errors"][0]["code"] == 9021
    with pytest.raises(cloudflare.NotFoundError) as err:
        cf.dns.records.delete("0" * 32, zone_id=zone_id)
    assert err.value.body["errors"][0] == {"code": 81044, "message": "Record does not exist."}
    with pytest.raises(cloudflare.PermissionDeniedError) as err:
        clouds.cloudflare(token="x" * 40).zones.list()
    assert err.value.body["errors"][0]["code"] == 10000
    raw = httpx.get(clouds.endpoints["cloudflare"]["url"] + "/zones", verify=clouds.ca.cert_path,
                    headers={"Authorization": "Bearer not a token"})
    assert raw.status_code == 400
    assert raw.json()["errors"][0]["error_chain"][0]["code"] == 6111
    raw = httpx.get(clouds.endpoints["cloudflare"]["url"] + "/zones", verify=clouds.ca.cert_path)
    assert [e["code"] for e in raw.json()["errors"]] == [9106, 9107] and raw.json()["success"] is False


def test_the_watchers_records_touch_only_its_own(clouds, cf, zone_id) -> None:
    foreign = cf.dns.records.create(zone_id=zone_id, name="lb", type="A", content="49.12.9.9", ttl=60,
                                    comment="set by hand")
    settings = from_mapping({"record": "lb", "zone": "kreato.dev", "ttl": 60})
    recs = Records(cf, settings)
    added = recs.add("lily", "49.12.3.4")
    assert added.node == "lily"
    listed = recs.list()
    assert {(r.node, r.content) for r in listed} == {("lily", "49.12.3.4"), (None, "49.12.9.9")}
    raw = cf.dns.records.get(added.id, zone_id=zone_id)
    assert raw.comment == "labsim-dnswatch: lily" and raw.ttl == 60 and raw.proxied is False
    recs.remove(added)
    recs.remove(added)                    # already gone: what it wanted
    assert [r.node for r in recs.list()] == [None]
    cf.dns.records.delete(foreign.id, zone_id=zone_id)
    bad = Records(clouds.cloudflare(token="y" * 40), settings)
    with pytest.raises(DnsError, match="10000: Authentication error"):
        bad.list()
    with pytest.raises(DnsError, match="zone nowhere.dev not found"):
        Records(cf, from_mapping({"record": "lb", "zone": "nowhere.dev"})).list()


def test_a_lab_that_claims_www_finds_it_free() -> None:
    """The zone holds the owner's other records (apex A, www CNAME) only on names the lab file does not claim: a lab
    whose round-robin name is `www` (labs/hetzner-trio.yaml) can create its A records there."""
    import yaml

    from labsim.fakes.cloud.testing import BOUQUET2
    raw = yaml.safe_load(BOUQUET2.read_text())
    raw["dns"]["records"][1]["name"] = "www"
    raw["dns"]["failover"]["record"] = "www"
    with start_clouds(raw) as c:
        cf = c.cloudflare()
        (z,) = list(cf.zones.list(name="kreato.dev"))
        names = {(x.name, x.type) for x in cf.dns.records.list(zone_id=z.id)}
        assert ("kreato.dev", "A") in names and not any(n == "www.kreato.dev" for n, _ in names)
        made = cf.dns.records.create(zone_id=z.id, name="www", type="A", content="49.12.0.1", ttl=60)
        assert made.name == "www.kreato.dev"
