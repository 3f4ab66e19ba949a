"""Generated labs: any well-formed small lab (random VLAN ids, subnets and pools, a chain of devices with
hosts on access ports at the far end) passes every check; one mutation yields exactly its check."""
from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
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


# --- generated labs run the fabric and Proxmox features: only passes and "not in this lab" --------------------------
@st.composite
def whole_labs(draw: st.DrawFn) -> dict[str, Any]:
    """A lab of varied shape, valid by construction: a chain of 1-3 CHR devices, 1-3 VLANs with DHCP (random ids,
    subnets, servers and pools), hosts on access ports, and maybe a Proxmox node on a trunk with 0-2 Talos clusters
    of 1-3 VMs each on their own VLANs."""
    n_dev = draw(st.integers(1, 3))
    n_vlan = draw(st.integers(1, 3))
    devices = [f"{draw(st.sampled_from(['rtr', 'sw', 'edge']))}-{i + 1}" for i in range(n_dev)]
    ids = draw(st.lists(st.integers(2, 4094), min_size=n_vlan, max_size=n_vlan, unique=True))
    octets = draw(st.lists(st.integers(1, 199), min_size=n_vlan, max_size=n_vlan, unique=True))
    vlans: list[dict[str, Any]] = [{
        "name": "mgmt", "id": 1, "native": True, "subnet": "192.168.88.0/24", "gateway": "192.168.88.1",
        "addresses": {d: f"192.168.88.{i + 1}" for i, d in enumerate(devices)}}]
    names = [f"net{vid}" for vid in ids]
    for name, vid, octet in zip(names, ids, octets):
        net = IPv4Network(f"10.{octet}.0.0/{draw(st.integers(23, 26))}")
        h = list(net.hosts())
        holders = devices[:draw(st.integers(1, n_dev))]      # the first device routes; some others hold addresses too
        vlans.append({"name": name, "id": vid, "subnet": str(net), "gateway": str(h[0]),
                      "addresses": {d: str(h[i]) for i, d in enumerate(holders)},
                      "dhcp": {"server": draw(st.sampled_from(holders)), "pool": [f"{h[20]}-{h[-1]}"]}})
    routeros = []
    for i, d in enumerate(devices):
        trunks = []
        if i > 0:
            trunks.append({"interface": "ether1", "vlans": list(names)})
        trunks.append({"interface": "ether2", "vlans": list(names)})   # down the chain; the last one's: the hypervisor
        routeros.append({"identity": d, "model": "CHR", "management": {"address": f"192.168.88.{i + 1}",
                                                                          "interface": "bridge"},
                         "bridge": {"name": "bridge", "vlan_filtering": True, "pvid": 1}, "trunks": trunks})
    cables = [[f"{devices[i]}:ether2", f"{devices[i + 1]}:ether1"] for i in range(n_dev - 1)]
    hosts = []
    for j, name in enumerate(names[:draw(st.integers(0, n_vlan))]):
        routeros[-1].setdefault("access", []).append({"interface": f"ether{3 + j}", "vlan": name})
        net = IPv4Network(vlans[1 + j]["subnet"])
        hosts.append({"name": f"srv-{j}", "kind": "server", "address": str(list(net.hosts())[10]), "nic": "eth0"})
        cables.append([f"{devices[-1]}:ether{3 + j}", f"srv-{j}:eth0"])
    data: dict[str, Any] = {
        "lab": {"name": "generated"}, "routeros": {"defaults": {"password": "env:ROUTEROS_PASSWORD"},
                                                   "devices": routeros},
        "vlans": vlans, "cables": cables, "hosts": hosts}
    if draw(st.integers(0, 3)):          # three labs in four have a Proxmox node with clusters
        data["cables"].append([f"{devices[-1]}:ether2", "hv-1:enp1s0"])
        data["proxmox"] = {
            "credentials": {"user": "root@pam", "token_id": "ci", "token_secret": "env:PVE_TOKEN_SECRET"},
            "nodes": [{"name": "hv-1", "management": {"address": "192.168.88.250"}, "cpus": 64, "memory_gib": 512,
                       "nics": ["enp1s0"],
                       "bridges": [{"name": "vmbr0", "ports": ["enp1s0"], "vlan_aware": True, "vids": "2-4094",
                                    "address": "192.168.88.250/24", "gateway": "192.168.88.1"}],
                       "storage": [{"name": "local", "type": "dir", "content": ["iso"], "size_gib": 100},
                                   {"name": "vms", "type": "lvmthin", "content": ["images"], "size_gib": 4096}],
                       "images": [{"volid": "local:iso/talos-v1.11.3-metal-amd64-qemu-guest-agent.iso",
                                   "talos_version": "1.11.3"}]}]}
        clusters = []
        for k, name in enumerate(names[:draw(st.integers(1, min(2, n_vlan)))]):
            net = IPv4Network(vlans[1 + names.index(name)]["subnet"])
            vip = str(list(net.hosts())[15])
            workers = draw(st.integers(0, 2))
            machines: dict[str, Any] = {"control_plane": {
                "names": [f"c{k}-cp-1"], "first_vmid": 100 + 100 * k, "cores": 2, "memory_mib": 4096,
                "disks": [{"slot": "virtio0", "storage": "vms", "size_gib": 16}]}}
            if workers:
                machines["workers"] = {"names": [f"c{k}-w-{i + 1}" for i in range(workers)],
                                       "first_vmid": 150 + 100 * k, "cores": 2, "memory_mib": 2048,
                                       "disks": [{"slot": "virtio0", "storage": "vms", "size_gib": 16}]}
            clusters.append({"name": f"cluster-{k}", "distribution": "talos", "version": "1.11.3", "vlan": name,
                             "proxmox_node": "hv-1", "endpoint": f"https://{vip}:6443", "vip": vip,
                             "pod_subnet": f"172.{20 + k}.0.0/16", "service_subnet": f"172.{24 + k}.0.0/16",
                             "install_disk": "/dev/vda", "cni": "none", "machines": machines})
        data["clusters"] = clusters
    return data


def _outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    import xml.etree.ElementTree as ET

    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        for kind in ("failure", "error", "skipped"):
            el = case.find(kind)
            if el is not None:
                out[case.get("name", "")] = (kind, el.get("message", "") + (el.text or ""))
                break
        else:
            out[case.get("name", "")] = ("passed", "")
    return out


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(whole_labs())
def test_generated_labs_run_the_fabric_and_proxmox_features(tmp_path_factory, data: dict[str, Any]) -> None:
    """Whatever the shape, the fabric and Proxmox features only pass or say "not in this lab": no scenario errors
    or fails because the lab is not the default one."""
    from tests.features.test_broken_lab import run_pytest

    assert [f for f in run_checks(_load(data)) if f.severity == "error"] == [], "the generator made an invalid lab"
    tmp = tmp_path_factory.mktemp("generated")
    lab, junit = tmp / "generated.yaml", tmp / "junit.xml"
    lab.write_text(yaml.safe_dump(data, sort_keys=False))
    _, out = run_pytest(["features/", "-q", "-p", "no:cacheprovider", "-m", "fabric or proxmox", f"--lab={lab}",
                         f"--junitxml={junit}"])
    outcomes = _outcomes(junit)
    bad = {n: o for n, o in outcomes.items() if o[0] in ("failure", "error")
           or (o[0] == "skipped" and "not in this lab" not in o[1])}
    assert outcomes and not bad, f"{lab.read_text()}\n{bad}\n{out[-3000:]}"
    print(f"{len(data['routeros']['devices'])} devices, {len(data['vlans']) - 1} VLANs, {len(data['hosts'])} hosts, "
          f"{len(data.get('clusters', []))} clusters: "
          f"{sorted({k: sum(1 for o in outcomes.values() if o[0] == k) for k in ('passed', 'skipped')}.items())}")
    assert any(o[0] == "passed" for o in outcomes.values()), outcomes
