"""Loading lab files into typed models: the real labs, the typed helpers, and schema errors that name
the field in lab-file terms, with the line, without echoing secrets."""
from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from labsim.provisioners.lab.load import LabFileError, load_lab, parse_lab
from labsim.provisioners.lab.model import Endpoint, Lab, PoolRange, VidSet, lab_json_schema
from labsim.provisioners.lab.secrets import InlineSecret, SecretRef

ROOT = Path(__file__).resolve().parents[2]
AGGRIK8S = ROOT / "labs" / "aggrik8s.yaml"
EXAMPLE = ROOT / "labs" / "example.yaml"
VALID = ROOT / "tests" / "labs" / "valid"


@pytest.fixture(scope="module")
def aggrik8s() -> Lab:
    return load_lab(AGGRIK8S)


def test_the_real_labs_load(aggrik8s: Lab) -> None:
    assert aggrik8s.lab.name == "aggrik8s"
    assert [d.identity for d in aggrik8s.devices] == ["rb5009-01", "rb5009-02", "crs305-01", "crs328-01"]
    assert load_lab(EXAMPLE).device("edge-01").model == "RB750Gr3"


def test_lookups(aggrik8s: Lab) -> None:
    assert aggrik8s.device("crs328-01").management.address == IPv4Address("192.168.88.5")
    assert aggrik8s.vlan("VLAN1500").id == 1500
    assert aggrik8s.vlan_by_id(2000).name == "VLAN2000"
    assert aggrik8s.native_vlan().name == "VLAN1"
    assert aggrik8s.proxmox_node("pve").cpus == 64
    assert aggrik8s.host("pi-master-01").address == IPv4Address("192.168.10.91")
    assert aggrik8s.cluster("talos-west").vlan == "VLAN2000"
    with pytest.raises(KeyError, match="no VLAN named 'VLAN99'"):
        aggrik8s.vlan("VLAN99")
    with pytest.raises(KeyError, match="no RouterOS device 'rb5009-03'"):
        aggrik8s.device("rb5009-03")


def test_anchors_are_resolved(aggrik8s: Lab) -> None:
    bridges = {d.identity: d.bridge for d in aggrik8s.devices}
    assert all(b.vlan_filtering and b.pvid == 1 and b.protocol_mode == "rstp" for b in bridges.values())
    merged = load_lab(VALID / "anchors-and-merge.yaml")
    assert merged.device("sw-02").bridge.protocol_mode == "mstp"
    assert merged.device("sw-02").bridge.vlan_filtering is True
    assert merged.device("sw-02").trunks[1].interface == "sfp-sfpplus2"
    assert merged.device("sw-02").trunks[1].comment == "to the server"


def test_cables_are_endpoints(aggrik8s: Lab) -> None:
    first = aggrik8s.cables[0]
    assert first.a == Endpoint("rb5009-01", "sfp-sfpplus1") and first.b == Endpoint("crs305-01", "sfp-sfpplus1")
    assert aggrik8s.peer_of("crs328-01", "sfp-sfpplus3") == Endpoint("pve", "enp1s0f0")
    assert aggrik8s.node_kind("crs328-01") == "routeros"
    assert aggrik8s.node_kind("pve") == "proxmox"
    assert aggrik8s.node_kind("pi-master-01") == "host"
    assert aggrik8s.node_kind("nowhere") is None


def test_vlan_addresses_are_interfaces_and_pools_are_ranges(aggrik8s: Lab) -> None:
    v = aggrik8s.vlan("VLAN1500")
    assert v.subnet == IPv4Network("192.168.15.0/24")
    assert v.addresses["rb5009-01"] == IPv4Interface("192.168.15.2/24")
    assert v.address_of("crs328-01").network == v.subnet
    pool = v.dhcp.pool[0]
    assert isinstance(pool, PoolRange) and str(pool) == "192.168.15.20-192.168.15.127"
    assert IPv4Address("192.168.15.20") in pool and IPv4Address("192.168.15.128") not in pool
    assert pool.size == 108 and pool.within(v.subnet)
    assert aggrik8s.vlan("VLAN10").dhcp.static_leases[0].mac == "D8:3A:DD:00:10:91"
    assert aggrik8s.proxmox_node("pve").bridges[0].vids == VidSet(((2, 4094),))
    assert 1500 in aggrik8s.proxmox_node("pve").bridges[0].vids and 1 not in aggrik8s.proxmox_node("pve").bridges[0].vids


def test_cluster_machine_plans_expand_to_vms(aggrik8s: Lab) -> None:
    east = aggrik8s.cluster("talos-east")
    vms = east.vms()
    assert [(v.name, v.vmid, v.role) for v in vms] == [
        ("cp-e-1", 1501, "controlplane"), ("cp-e-2", 1502, "controlplane"), ("cp-e-3", 1503, "controlplane"),
        ("wrk-e-1", 1511, "worker"), ("wrk-e-2", 1512, "worker"), ("wrk-e-3", 1513, "worker")]
    w = vms[3]
    assert (w.cores, w.memory_mib, w.cpu, w.node, w.vlan) == (24, 65536, "x86-64-v2-AES", "pve", "VLAN1500")
    assert [(d.slot, d.size_gib) for d in w.disks] == [("virtio0", 24), ("virtio1", 128)]
    assert w.system_disk.slot == "virtio0" and [d.slot for d in w.ceph_disks] == ["virtio1"]
    assert len(aggrik8s.vms()) == 12
    pi = aggrik8s.cluster("piCluster")
    assert pi.vms() == [] and [m.name for m in pi.control_planes()] == ["pi-master-01", "pi-master-02", "pi-master-03"]
    assert pi.cilium_name == "picluster" and east.cilium_name == "talos-east"
    assert east.endpoint_host == "192.168.15.10" and east.endpoint_port == 6443


def test_secret_refs(aggrik8s: Lab) -> None:
    refs = dict(aggrik8s.secret_refs())
    assert refs["routeros.defaults.password"] == SecretRef("env", "ROUTEROS_PASSWORD")
    assert refs["proxmox.credentials.token_secret"] == SecretRef("env", "PVE_TOKEN_SECRET")
    assert refs["hosts[pi-master-01].ssh.key"] == SecretRef("file", "~/.ssh/picluster")
    assert refs["proxmox.nodes[pve].ssh.key"] == SecretRef("file", "~/.ssh/pve")   # host checks log in as root
    assert len(refs) == 8
    login = aggrik8s.routeros_login("rb5009-02")
    assert (str(login.address), login.port, login.username, str(login.password)) == (
        "192.168.88.3", 8728, "admin", "env:ROUTEROS_PASSWORD")


def test_inline_secret_loads_redacted() -> None:
    text = EXAMPLE.read_text().replace("password: env:ROUTEROS_PASSWORD", "password: hunter2")
    lab = parse_lab(text)
    value = lab.routeros.defaults.password
    assert isinstance(value, InlineSecret)
    assert repr(value) == "<redacted, 7 characters>" and "hunter2" not in str(lab.model_dump())
    assert lab.secret_refs() == []


def test_lines_are_known(aggrik8s: Lab) -> None:
    text = AGGRIK8S.read_text().splitlines()
    line = aggrik8s.line_of("vlans[VLAN1500].dhcp.pool[0]")
    assert "192.168.15.20-192.168.15.127" in text[line - 1]
    assert "VLAN1500" in text[aggrik8s.line_of("routeros.devices[crs328-01].trunks[2].vlans[1]") - 1]


def _errors(text: str) -> list:
    with pytest.raises(LabFileError) as info:
        parse_lab(text, "t.yaml")
    return info.value.findings


def test_schema_errors_are_all_collected_with_lab_paths() -> None:
    text = (EXAMPLE.read_text()
            .replace("vlan_filtering: true", "vlan_filterng: true")
            .replace("id: 100", "id: hundred")
            .replace("10.10.100.50-10.10.100.199", "10.10.100.199-10.10.100.50")
            .replace("  - {name: server-01, kind: server,", "  - {name: server-01, kind: server, nics: 2,"))
    found = {(f.check, f.path) for f in _errors(text)}
    assert found == {
        ("unknown-key", "routeros.devices[edge-01].bridge.vlan_filterng"),
        ("wrong-type", "vlans[VLAN100].id"),
        ("invalid-value", "vlans[VLAN100].dhcp.pool[0]"),
        ("unknown-key", "hosts[server-01].nics"),
    }


def test_a_large_labs_field_paths_are_as_each_path_alone_names_them() -> None:
    """Item labels are computed once per list, not once per YAML node (issue 21: 3,000 VLANs took 43 s to load):
    every line's field path, and every error's, is still the one labelling that path on its own gives, a name
    shared by two items falling back to their indices. (The time is `make bench`'s, never a unit test's.)"""
    import yaml

    from labsim.provisioners.lab.load import _lab_parts, read_yaml
    from labsim.provisioners.lab.model import format_path
    from tests.bench.fabric import lab_with_vlans

    data = lab_with_vlans(400)
    lab = parse_lab(yaml.safe_dump(data, sort_keys=False), "big.yaml")
    raw, lines, _ = read_yaml(yaml.safe_dump(data, sort_keys=False))
    assert lab._lines == {format_path(_lab_parts(p, raw)): line for p, line in lines.items()}
    assert lab.line_of("vlans[VLAN499].addresses.bench-04") == lines[("vlans", 399, "addresses", "bench-04")]
    assert lab.line_of("routeros.devices[bench-03].trunks[1].vlans[399]") is not None

    data["vlans"][51]["name"] = data["vlans"][50]["name"]   # VLAN150 twice: both go by index
    data["vlans"][51]["id"] = "one-fifty"
    data["vlans"][300]["id"] = "four hundred"
    data["routeros"]["devices"][2]["trunks"][1]["vlan"] = ["VLAN120"]
    found = {(f.check, f.path) for f in _errors(yaml.safe_dump(data, sort_keys=False))}
    assert found == {("wrong-type", "vlans[51].id"), ("wrong-type", "vlans[VLAN400].id"),
                     ("unknown-key", "routeros.devices[bench-03].trunks[1].vlan")}


def test_unknown_key_suggests_the_field_allowed_there() -> None:
    text = EXAMPLE.read_text().replace("{interface: ether2, vlans: [VLAN100]}", "{interface: ether2, vlan: [VLAN100]}")
    findings = {f.check: f for f in _errors(text)}
    assert findings["missing-key"].path == "routeros.devices[edge-01].trunks[0].vlans"
    f = findings["unknown-key"]
    assert f.path == "routeros.devices[edge-01].trunks[0].vlan"
    assert "did you mean 'vlans'?" in f.message
    assert "{interface: ether2, vlan: [VLAN100]}" in text.splitlines()[f.values["line"] - 1]


def test_index_is_used_when_the_name_is_missing() -> None:
    text = EXAMPLE.read_text().replace("identity: edge-01\n", "identity_: edge-01\n")
    paths = {f.path for f in _errors(text)}
    assert "routeros.devices[0].identity" in paths


def test_yaml_syntax_error_names_the_line() -> None:
    (f,) = _errors("lab:\n  name: x\nvlans: [\n  {name: a\n")
    assert f.check == "yaml-syntax" and f.path.startswith("line ") and "line" in f.message


def test_duplicate_keys_are_reported() -> None:
    (f,) = _errors("lab: {name: x}\nvlans: []\nvlans: []\n")
    assert f.check == "yaml-duplicate-key" and "lines 2 and 3" in f.message


def test_secret_values_are_never_echoed() -> None:
    text = EXAMPLE.read_text().replace("password: env:ROUTEROS_PASSWORD", "password: [hunter2, x]")
    text += "proxmox:\n  credentials: {user: root@pam, token_id: ci, token_secret: 12345678, pasword: sup3rs3cret}\n"
    findings = _errors(text)
    dump = json.dumps([f.as_dict() for f in findings], default=str)
    assert "hunter2" not in dump and "12345678" not in dump and "sup3rs3cret" not in dump
    assert {f.path for f in findings} >= {"routeros.defaults.password", "proxmox.credentials.token_secret",
                                          "proxmox.credentials.pasword"}


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(LabFileError) as info:
        load_lab(tmp_path / "missing.yaml")
    assert info.value.findings[0].check == "file-unreadable"
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    with pytest.raises(LabFileError) as info:
        load_lab(tmp_path / "empty.yaml")
    assert info.value.findings[0].check == "not-a-lab-file"


def test_json_schema_describes_the_format() -> None:
    schema = lab_json_schema()
    assert schema["type"] == "object" and "routeros" in schema["properties"]
    defs = schema["$defs"]
    assert defs["Bridge"]["additionalProperties"] is False
    assert "pattern" in json.dumps(defs["RouterOSDefaults"])  # secret fields carry the env:/file: pattern
    json.dumps(schema)
