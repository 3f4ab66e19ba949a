"""Generated labs: any well-formed small lab (random VLAN ids, subnets and pools, a chain of devices with
hosts on access ports at the far end) passes every check; one mutation yields exactly its check."""
from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsim.provisioners.lab.checks import run_checks
from labsim.provisioners.lab.load import parse_lab


@st.composite
def labs(draw: st.DrawFn) -> dict[str, Any]:
    n_dev = draw(st.integers(1, 4))
    n_vlan = draw(st.integers(1, 4))
    ids = draw(st.lists(st.integers(2, 4094), min_size=n_vlan, max_size=n_vlan, unique=True))
    octets = draw(st.lists(st.integers(0, 255), min_size=n_vlan, max_size=n_vlan, unique=True))
    devices = [f"sw-{i + 1:02d}" for i in range(n_dev)]
    vlans: list[dict[str, Any]] = [{
        "name": "VLAN1", "id": 1, "native": True, "subnet": "192.168.88.0/24", "gateway": "192.168.88.1",
        "addresses": {d: f"192.168.88.{i + 1}" for i, d in enumerate(devices)}}]
    hosts = []
    for j, (vid, octet) in enumerate(zip(ids, octets)):
        prefix = draw(st.integers(22, 28))
        net = IPv4Network(f"10.{octet}.0.0/{prefix}")
        h = list(net.hosts())
        # devices take the first addresses, the host the next one, the pool lies beyond them
        first = draw(st.integers(n_dev + 1, len(h) - 2))
        last = draw(st.integers(first, len(h) - 1))
        name = f"V{vid}"
        vlans.append({
            "name": name, "id": vid, "subnet": str(net), "gateway": str(h[0]),
            "addresses": {d: str(h[i]) for i, d in enumerate(devices)},
            "dhcp": {"server": draw(st.sampled_from(devices)), "pool": [f"{h[first]}-{h[last]}"]},
        })
        hosts.append({"name": f"srv-{j}", "kind": "server", "address": str(h[n_dev]), "nic": "eth0"})
    names = [v["name"] for v in vlans[1:]]
    routeros = []
    for i, d in enumerate(devices):
        trunks = []
        if i > 0:
            trunks.append({"interface": "ether1", "vlans": list(names)})
        if i < n_dev - 1:
            trunks.append({"interface": "ether2", "vlans": list(names)})
        access = [{"interface": f"ether{3 + j}", "vlan": n} for j, n in enumerate(names)] if i == n_dev - 1 else []
        routeros.append({"identity": d, "model": "CHR", "management": {"address": f"192.168.88.{i + 1}", "interface": "bridge"},
                         "bridge": {"name": "bridge", "vlan_filtering": True, "pvid": 1}, "trunks": trunks, "access": access})
    cables = [[f"{devices[i]}:ether2", f"{devices[i + 1]}:ether1"] for i in range(n_dev - 1)]
    cables += [[f"{devices[-1]}:ether{3 + j}", f"srv-{j}:eth0"] for j in range(n_vlan)]
    return {"lab": {"name": "generated"}, "routeros": {"defaults": {"password": "env:ROUTEROS_PASSWORD"},
                                                       "devices": routeros},
            "vlans": vlans, "cables": cables, "hosts": hosts}


def _load(data: dict[str, Any]):
    return parse_lab(yaml.safe_dump(data, sort_keys=False), "generated.yaml")


def _errors(data: dict[str, Any]) -> set[str]:
    return {f.check for f in run_checks(_load(data)) if f.severity == "error"}


FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(labs())
def test_generated_labs_pass_every_check(data: dict[str, Any]) -> None:
    findings = run_checks(_load(data))
    assert findings == [], [str(f) for f in findings]


@FAST
@given(labs(), st.data())
def test_pool_moved_outside_its_subnet_is_the_only_error(data: dict[str, Any], pick: st.DataObject) -> None:
    j = pick.draw(st.integers(1, len(data["vlans"]) - 1))
    data["vlans"][j]["dhcp"]["pool"] = ["172.16.0.10-172.16.0.20"]
    assert _errors(data) == {"pool-outside-subnet"}


@FAST
@given(labs(), st.data())
def test_duplicate_vlan_id_is_the_only_error(data: dict[str, Any], pick: st.DataObject) -> None:
    if len(data["vlans"]) < 3:
        data["vlans"][1]["id"] = 1  # collide with the native VLAN
        expected = {"duplicate-vlan-id", "port-tagged-and-untagged"}  # VLAN 1 tagged on trunks with pvid 1
        if len(data["routeros"]["devices"]) == 1:
            expected = {"duplicate-vlan-id"}  # a single device has no trunks
        assert _errors(data) == expected
        return
    i, j = pick.draw(st.lists(st.integers(1, len(data["vlans"]) - 1), min_size=2, max_size=2, unique=True))
    data["vlans"][j]["id"] = data["vlans"][i]["id"]
    assert _errors(data) == {"duplicate-vlan-id"}


@FAST
@given(labs(), st.data())
def test_gateway_outside_subnet_is_the_only_error(data: dict[str, Any], pick: st.DataObject) -> None:
    j = pick.draw(st.integers(1, len(data["vlans"]) - 1))
    data["vlans"][j]["gateway"] = "172.16.0.1"
    assert _errors(data) == {"gateway-outside-subnet"}


@FAST
@given(labs(), st.data())
def test_vlan_dropped_from_the_last_uplink_is_not_carried(data: dict[str, Any], pick: st.DataObject) -> None:
    devices = data["routeros"]["devices"]
    j = pick.draw(st.integers(1, len(data["vlans"]) - 1))
    vlan = data["vlans"][j]
    if len(devices) < 2 or vlan["dhcp"]["server"] == devices[-1]["identity"]:
        return  # nothing between the DHCP server and the hosts to break
    uplink = devices[-1]["trunks"][0]
    uplink["vlans"] = [n for n in uplink["vlans"] if n != vlan["name"]]
    findings = [f for f in run_checks(_load(data)) if f.severity == "error"]
    assert {f.check for f in findings} == {"vlan-not-carried"}
    assert all(f.values["stopped_at"] == f"{devices[-1]['identity']} ether1" for f in findings)  # dropped on ingress
