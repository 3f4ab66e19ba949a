"""Intent checks: the real labs are clean, the registry is consistent, and findings read like an engineer
wrote them (check name, lab-file path, the offending values)."""
from __future__ import annotations

from pathlib import Path

import pytest

from labsim.provisioners.lab.checks import CHECKS, run_checks
from labsim.provisioners.lab.checks_core import PRODUCERS, Finding
from labsim.provisioners.lab.load import LabFileError, load_lab, parse_lab

ROOT = Path(__file__).resolve().parents[2]
AGGRIK8S = ROOT / "labs" / "aggrik8s.yaml"
EXAMPLE = ROOT / "labs" / "example.yaml"
MESH = ROOT / "tests" / "labs" / "valid" / "mesh.yaml"


def _checks(findings: list[Finding], severity: str = "error") -> set[str]:
    return {f.check for f in findings if f.severity == severity}


def test_aggrik8s_has_no_errors_and_only_the_known_warnings() -> None:
    findings = run_checks(load_lab(AGGRIK8S))
    assert _checks(findings) == set(), [str(f) for f in findings if f.severity == "error"]
    # The owners' own configuration: the PXE file is Talos 1.11.2 while the clusters run 1.11.3, and the
    # Pi static leases (.91-.102) sit inside VLAN10's pool (.20-.127).
    assert sorted((f.check, f.path) for f in findings) == sorted(
        [("pxe-talos-version-mismatch", "vlans[VLAN1500].dhcp.boot_file")]
        + [("static-lease-in-pool", f"vlans[VLAN10].dhcp.static_leases[{i}].address") for i in range(5)])


def test_example_and_mesh_are_clean() -> None:
    assert run_checks(load_lab(EXAMPLE)) == []
    assert run_checks(load_lab(MESH)) == []


def test_registry_is_consistent() -> None:
    assert len(CHECKS) >= 60
    required = {
        "overlapping-subnets", "gateway-outside-subnet", "pool-outside-subnet", "static-lease-outside-subnet",
        "device-address-outside-subnet", "pool-overlaps-device-address", "pools-overlap", "duplicate-vlan-id",
        "duplicate-vlan-name", "vlan-id-out-of-range", "port-tagged-and-untagged", "port-untagged-in-two-vlans",
        "unknown-port", "unknown-model", "unknown-device", "cable-port-reused", "bond-slave-also-bridge-port",
        "vlan-interface-also-bridge-port", "vlan-not-carried", "duplicate-device-identity",
        "duplicate-management-address", "secret-inline", "cluster-id-out-of-range", "cluster-id-duplicate",
        "max-connected-clusters", "mesh-pod-cidr-overlap", "cluster-subnet-overlaps-vlan", "control-plane-count-even",
        "ceph-size-exceeds-osd-hosts", "vm-memory-below-talos-minimum", "vm-disk-below-talos-minimum",
        "vm-id-duplicate", "vm-name-duplicate", "disks-exceed-storage", "storage-missing", "cluster-vlan-unknown",
        "mesh-cluster-unknown", "vip-outside-subnet", "vip-in-dhcp-pool", "endpoint-host-not-vip-or-node",
        "static-lease-in-pool",
    }
    assert required <= set(CHECKS), required - set(CHECKS)
    assert CHECKS["control-plane-count-even"].severity == "warning"
    assert CHECKS["static-lease-in-pool"].severity == "warning"
    for spec in CHECKS.values():
        assert spec.question.endswith("?"), spec
    declared = {c for p in PRODUCERS for c in p.checks}
    assert declared == set(CHECKS)


def test_finding_format() -> None:
    f = Finding("pool-outside-subnet", "error", "vlans[VLAN1500].dhcp.pool[0]", "pool x is not inside y", {"pool": "x"})
    assert str(f) == "error  pool-outside-subnet  vlans[VLAN1500].dhcp.pool[0]: pool x is not inside y"
    assert f.as_dict()["values"] == {"pool": "x"}


def _mutated(old: str, new: str, base: Path = AGGRIK8S) -> list[Finding]:
    text = base.read_text()
    assert old in text, old
    return run_checks(parse_lab(text.replace(old, new, 1)))


def test_pool_outside_subnet_names_the_pool_as_the_feature_expects() -> None:
    findings = _mutated("pool: [192.168.15.20-192.168.15.127]", "pool: [192.168.16.20-192.168.16.127]")
    (f,) = [f for f in findings if f.severity == "error"]
    assert (f.check, f.path) == ("pool-outside-subnet", "vlans[VLAN1500].dhcp.pool[0]")
    assert f.message == "pool 192.168.16.20-192.168.16.127 is not inside VLAN1500's subnet 192.168.15.0/24"
    assert f.values == {"pool": "192.168.16.20-192.168.16.127", "vlan": "VLAN1500", "subnet": "192.168.15.0/24",
                        "line": 136}


def test_vlan_removed_from_a_trunk_is_traced_to_that_hop() -> None:
    findings = _mutated("        - {interface: sfp-sfpplus3, vlans: [VLAN10, VLAN1500, VLAN2000]}\n        - {interface: sfp-sfpplus4",
                        "        - {interface: sfp-sfpplus3, vlans: [VLAN10, VLAN2000]}\n        - {interface: sfp-sfpplus4")
    (f,) = [f for f in findings if f.severity == "error"]
    assert f.check == "vlan-not-carried" and f.path == "clusters[talos-east].vlan"
    assert f.values["stopped_at"] == "crs328-01 sfp-sfpplus3"
    assert ("crs328-01 sfp-sfpplus3: VLAN 1500 not in the tagged or untagged list of the bridge VLAN table"
            in f.message)


def test_bridge_not_tagged_on_the_dhcp_device() -> None:
    # rb5009-01 loses its VLAN1500 address: no VLAN interface there, so VLAN1500's DHCP cannot serve.
    findings = _mutated("addresses: {rb5009-01: 192.168.15.2, ", "addresses: {")
    assert "dhcp-server-without-address" in _checks(findings)
    assert "gateway-unassigned" in _checks(findings, "warning")


def test_cluster_checks_on_the_real_lab() -> None:
    findings = _mutated("pod_subnet: 10.245.0.0/16", "pod_subnet: 10.244.0.0/16")
    assert _checks(findings) == {"mesh-pod-cidr-overlap"}
    findings = _mutated("cluster_id: 2,", "cluster_id: 1,")
    assert _checks(findings) == {"cluster-id-duplicate"}
    findings = _mutated("    cilium: {version: 1.18.5, cluster_id: 1,", "    cilium: {version: 1.18.5, cluster_id: 300,")
    assert _checks(findings) == {"cluster-id-out-of-range"}
    findings = _mutated("max_connected_clusters: 255", "max_connected_clusters: 511")
    assert _checks(findings) == set()
    findings = _mutated("max_connected_clusters: 255", "max_connected_clusters: 300")
    assert _checks(findings) == {"max-connected-clusters"}
    findings = _mutated("pools: [{name: ceph-blockpool, size: 3, failure_domain: host}]",
                        "pools: [{name: ceph-blockpool, size: 4, failure_domain: host}]")
    (f,) = [f for f in findings if f.severity == "error"]
    assert f.check == "ceph-size-exceeds-osd-hosts" and "only 3 hosts with a Ceph disk (wrk-e-1, wrk-e-2, wrk-e-3)" in f.message
    findings = _mutated("names: [cp-e-1, cp-e-2, cp-e-3]", "names: [cp-e-1, cp-e-2, cp-e-3, cp-e-4]")
    assert "control-plane-count-even" in _checks(findings, "warning") and _checks(findings) == set()
    findings = _mutated("        memory_mib: 32768\n        cpu: x86-64-v2-AES\n        disks: [{slot: virtio0, storage: cluster-lvm, size_gib: 16}]",
                        "        memory_mib: 1024\n        cpu: x86-64-v2-AES\n        disks: [{slot: virtio0, storage: cluster-lvm, size_gib: 8}]")
    assert _checks(findings) == {"vm-memory-below-talos-minimum", "vm-disk-below-talos-minimum"}


def test_proxmox_capacity_on_the_real_lab() -> None:
    findings = _mutated("{name: cluster-lvm, type: lvmthin, content: [images, rootdir], size_gib: 2048}",
                        "{name: cluster-lvm, type: lvmthin, content: [images, rootdir], size_gib: 800}")
    (f,) = [f for f in findings if f.severity == "error"]
    assert f.check == "disks-exceed-storage" and f.path == "proxmox.nodes[pve].storage[cluster-lvm].size_gib"
    assert "add up to 816 GiB (talos-east 504 GiB, talos-west 312 GiB), more than its 800 GiB" in f.message
    findings = _mutated("content: [images, rootdir]", "content: [rootdir]")
    assert _checks(findings) == {"storage-missing"}
    findings = _mutated("memory_gib: 768", "memory_gib: 512")
    assert "vms-exceed-node-memory" in _checks(findings, "warning")


def test_secret_inline_never_echoes_the_value() -> None:
    findings = _mutated("token_secret: env:PVE_TOKEN_SECRET", "token_secret: 0123456789abcdef")
    (f,) = [f for f in findings if f.severity == "error"]
    assert f.check == "secret-inline" and f.path == "proxmox.credentials.token_secret"
    assert "<redacted, 16 characters>" in f.message
    assert "0123456789abcdef" not in str(f) + str(f.values)


def test_native_vlan_mismatch_is_named() -> None:
    text = EXAMPLE.read_text().replace("{interface: ether3, vlan: VLAN100}", "{interface: ether3, vlan: VLAN1}")
    findings = run_checks(parse_lab(text))
    (f,) = [f for f in findings if f.severity == "error"]
    assert f.check == "vlan-not-carried" and "edge-01 ether3: VLAN 100 not in the tagged or untagged list" in f.message


def test_unknown_port_for_a_bond_in_a_cable() -> None:
    findings = _mutated("[rb5009-01:ether5, crs328-01:ether17]", "[rb5009-01:bond-crs328, crs328-01:ether17]")
    msgs = [f.message for f in findings if f.check == "unknown-port"]
    assert msgs == ["bond-crs328 is a bond on rb5009-01; cable (or bond) its slave ports (ether5, ether6, ether7, ether8)"]


def test_unknown_model_skips_port_checks_but_is_reported() -> None:
    findings = _mutated("model: CRS305-1G-4S+IN", "model: CRS309-1G-8S+IN")
    assert _checks(findings) == {"unknown-model"}


@pytest.mark.parametrize("old,new,check", [
    ("mode: 802.3ad, lacp_rate: 1sec}\n      trunks:\n        - {interface: ether2, vlans: [VLAN10, VLAN1500, VLAN2000]}",
     "mode: 802.3ad, lacp_rate: 1sec}\n      trunks:\n        - {interface: ether5, vlans: [VLAN10, VLAN1500, VLAN2000]}",
     "bond-slave-also-bridge-port"),
    ("[rb5009-02:ether8, crs328-01:ether24]", "[rb5009-02:ether8, crs328-01:ether23]", "cable-port-reused"),
    ("endpoint: https://192.168.15.10:6443", "endpoint: https://192.168.15.11:6443", "endpoint-host-not-vip-or-node"),
    ("vip: 192.168.20.10", "vip: 192.168.20.50", "vip-in-dhcp-pool"),
    ("mesh:\n  clusters: [talos-east, talos-west]", "mesh:\n  clusters: [talos-east, talos-west, piCluster, bouquet2]",
     "mesh-cluster-unknown"),
    ("service_subnet: 10.112.0.0/12", "service_subnet: 192.168.0.0/16", "cluster-subnet-overlaps-vlan"),
    ("first_vmid: 2011", "first_vmid: 1512", "vm-id-duplicate"),
])
def test_single_mutations_of_the_real_lab(old: str, new: str, check: str) -> None:
    findings = _mutated(old, new)
    assert check in _checks(findings), [str(f) for f in findings]



# One mutation per check that no lab file in tests/labs exercises: the check fires with that message.
REMAINING = [
    (EXAMPLE, 'addresses: {edge-01: 10.10.100.1}',
     'addresses: {edge-01: 10.10.100.1, edge-02: 10.10.100.255}',
     'address-not-usable', "edge-02's address 10.10.100.255 is the broadcast address of VLAN100's subnet 10.10.100.0/24"),
    (EXAMPLE, 'addresses: {edge-01: 10.10.100.1}',
     'addresses: {edge-01: 10.10.100.1/16}',
     'address-prefix-mismatch', "edge-01's address 10.10.100.1/16 has prefix /16, but VLAN100's subnet is 10.10.100.0/24"),
    (AGGRIK8S, '[rb5009-01:ether8, crs328-01:ether23]',
     '[rb5009-01:ether8, crs328-01:ether16]',
     'bond-cabling-mismatch', 'bond bond-crs328 on rb5009-01 reaches crs328-01 ports ether16 (no bond), ether17 (bond-rb5009-01)'),
    (AGGRIK8S, '{name: bond-rb5009-02, slaves: [ether18,',
     '{name: bond-rb5009-02, slaves: [ether17, ether18,',
     'bond-slave-in-two-bonds', 'ether17 on crs328-01 is a slave of both bond-rb5009-01 and bond-rb5009-02'),
    (AGGRIK8S, 'weights: {echo-local: 25, echo-remote: 75}',
     'weights: {echo-local: 25, echo-remot: 75}',
     'canary-service-unknown', 'canary echo-canary weighs echo-remot, which is not a global service'),
    (AGGRIK8S, 'weights: {echo-local: 25, echo-remote: 75}',
     'weights: {echo-local: 25, echo-remote: 70}',
     'canary-weights-not-100', "canary echo-canary's weights add up to 95, not 100"),
    (AGGRIK8S, 'pools: [{name: ceph-blockpool, size: 3, failure_domain: host}]',
     'pools: [{name: ceph-blockpool, size: 3, min_size: 4, failure_domain: host}]',
     'ceph-min-size-invalid', 'pool ceph-blockpool has min_size 4; it must be between 1 and its size 3'),
    (AGGRIK8S, 'ceph: {mons: 3, mgrs: 2,',
     'ceph: {mons: 2, mgrs: 2,',
     'ceph-mon-count-even', '2 mons tolerate no more failures than 1'),
    (AGGRIK8S, 'pools: [{name: ceph-blockpool, size: 3, failure_domain: host}]',
     'pools: [{name: ceph-blockpool, size: 1, failure_domain: host}]',
     'ceph-pool-no-redundancy', 'pool ceph-blockpool keeps one copy'),
    (AGGRIK8S, 'cluster_id: 3, cluster_name: picluster,',
     'cluster_id: 3,',
     'cilium-cluster-name-invalid', "'piCluster' is not a valid Cilium cluster name"),
    (MESH, '    dhcp: {server: edge-01, pool: [10.10.200.50-10.10.200.199]}\n',
     '',
     'cluster-vlan-no-dhcp', "cluster west's VMs boot with DHCP on VLAN200, which has no DHCP server"),
    (MESH, 'clustermesh_node_port: 30002',
     'clustermesh_node_port: 30001',
     'clustermesh-nodeport-shared', 'west and east both expose the clustermesh-apiserver on NodePort 30001'),
    (EXAMPLE, '    gateway: 10.10.100.1\n',
     '',
     'dhcp-without-gateway', 'VLAN100 has a DHCP server but no gateway'),
    (MESH, 'disks: [{slot: virtio0, storage: local-lvm, size_gib: 10}]\n      workers:\n        names: [w-w-1',
     'disks: [{slot: virtio0, storage: local-lvm, size_gib: 10}, {slot: virtio0, storage: local-lvm, size_gib: 5, purpose: data}]\n      workers:\n        names: [w-w-1',
     'disk-slot-duplicate', 'slot virtio0 is used by disks[0] and disks[1]'),
    (MESH, '  - name: west\n',
     '  - name: east\n',
     'duplicate-cluster-name', 'cluster name east is used by clusters[0] and clusters[1]'),
    (EXAMPLE, '{name: server-01, kind: server,',
     '{name: edge-01, kind: server,',
     'duplicate-node-name', 'edge-01 names both a RouterOS device (routeros.devices[edge-01]) and a host'),
    (EXAMPLE, '        - {interface: ether2, vlans: [VLAN100]}',
     '        - {interface: ether2, vlans: [VLAN100]}\n        - {interface: ether2, vlans: [VLAN100]}',
     'duplicate-port-entry', 'ether2 on edge-01 is listed twice in trunks (trunks[0] and trunks[1])'),
    (AGGRIK8S, '{host: pi-worker-02, mac: "D8:3A:DD:00:11:02"',
     '{host: pi-worker-02, mac: "D8:3A:DD:00:11:01"',
     'duplicate-static-lease', 'MAC D8:3A:DD:00:11:01 (pi-worker-02) already has static_leases[3]'),
    (AGGRIK8S, 'install_disk: /dev/vda',
     'install_disk: /dev/sda',
     'install-disk-not-system-disk', "install_disk is /dev/sda, but the control plane VMs' system disk virtio0 shows up as /dev/vda"),
    (EXAMPLE, '      trunks:\n',
     '      bonds:\n        - {name: ether5, slaves: [ether4]}\n      trunks:\n',
     'interface-name-conflict', 'bond ether5 on edge-01 has the name of a physical port'),
    (MESH, '    cilium: {version: 1.18.5, cluster_id: 2, clustermesh_node_port: 30002}\n',
     '',
     'mesh-cluster-without-cilium', 'mesh member west has no cilium settings'),
    (MESH, '  ca: {source: east}',
     '  ca: {source: east}\n  topology: hub-and-spoke',
     'mesh-hub-missing', 'a hub-and-spoke mesh needs hub'),
    (MESH, 'pod_subnet: 10.245.0.0/16',
     'pod_subnet: 10.96.0.0/16',
     'mesh-pod-service-overlap', 'pod subnet 10.96.0.0/16 of west overlaps service subnet 10.96.0.0/12 of east'),
    (MESH, '  clusters: [east, west]\n',
     '  clusters: [east]\n',
     'mesh-too-small', 'a mesh of 1 cluster(s) connects nothing'),
    (EXAMPLE, '  - name: VLAN100\n    id: 100\n',
     '  - name: VLAN100\n    id: 100\n    native: true\n',
     'multiple-native-vlans', 'VLAN100 is marked native, but VLAN1 already is'),
    (MESH, '        names: [w-cp-1]\n',
     '        names: []\n',
     'no-control-plane', 'cluster west has no control planes'),
    (MESH, 'clustermesh_node_port: 30002',
     'clustermesh_node_port: 2379',
     'nodeport-out-of-range', 'clustermesh NodePort 2379 of west is outside the Kubernetes NodePort range 30000-32767'),
    (MESH, 'pod_subnet: 10.245.0.0/16',
     'pod_subnet: 10.245.0.0/16\n    service_subnet: 10.245.128.0/20',
     'pod-service-subnet-overlap', "cluster west's service subnet 10.245.128.0/20 overlaps its pod subnet 10.245.0.0/16"),
    (MESH, 'talos_version: 1.11.3}',
     'talos_version: 1.10.7}',
     'talos-image-missing', "cluster east runs Talos 1.11.3, but pve's images have 1.10.7"),
    (AGGRIK8S, 'servers: [pi-master-01, pi-master-02, pi-master-03]',
     'servers: [pi-master-01, pi-master-02, pi-master-04]',
     'unknown-host', 'cluster piCluster names host pi-master-04, which is not in hosts'),
    (EXAMPLE, '{interface: ether2, vlans: [VLAN100]}',
     '{interface: ether2, vlans: [VLAN100, VLAN101]}',
     'unknown-vlan', 'trunk ether2 on edge-01 names VLAN VLAN101, which is not in vlans (VLAN1, VLAN100)'),
    (EXAMPLE, 'bridge: {name: bridge, vlan_filtering: true, pvid: 1}',
     'bridge: {name: bridge, vlan_filtering: false, pvid: 1}',
     'vlan-filtering-off', 'edge-01 has trunks or access ports but its bridge bridge has vlan_filtering off'),
    (EXAMPLE, '    addresses: {edge-01: 10.10.100.1}\n    dhcp:\n      server: edge-01\n      pool: [10.10.100.50-10.10.100.199]\n      dns: [10.10.100.1]\n',
     '',
     'vlan-without-router', 'VLAN100 is needed by host server-01 (10.10.100.10), but no RouterOS device has an address in it'),
    (MESH, '        names: [w-cp-1]\n        first_vmid: 201\n        cores: 2',
     '        names: [w-cp-1]\n        first_vmid: 201\n        cores: 1',
     'vm-cores-below-talos-minimum', "control plane VMs (w-cp-1) get 1 core(s); Talos' minimum for a control plane is 2"),
    (MESH, 'first_vmid: 101',
     'first_vmid: 99',
     'vm-id-out-of-range', 'e-cp-1 would get VM id 99; Proxmox VM ids are 100-999999999'),
    (MESH, 'names: [w-w-1, w-w-2, w-w-3]',
     'names: [w_w_1, w-w-2, w-w-3]',
     'vm-name-invalid', "'w_w_1' is not a valid VM/host name"),
    (MESH, 'memory_gib: 64',
     'memory_gib: 8',
     'vms-exceed-node-memory', 'the VMs planned on pve need 16384 MiB, more than its 8 GiB (8192 MiB)'),
    (EXAMPLE, '- {interface: ether2, vlans: [VLAN100]}',
     '- {interface: ether2, vlans: [VLAN100, VLAN100]}',
     'vlan-listed-twice', 'trunk ether2 on edge-01 lists VLAN100 twice (vlans[0] and vlans[1])'),
    (EXAMPLE, '    password: env:ROUTEROS_PASSWORD\n', '',
     'routeros-password-missing', 'edge-01 has no password reference'),
    (AGGRIK8S, '        - {interface: bond-crs328, vlans: [VLAN10, VLAN1500, VLAN2000]}\n', '',
     'bond-not-bridge-port', 'bond bond-crs328 on rb5009-01 is cabled (ether5, ether6, ether7, ether8) but is neither a '
                             'trunk nor an access port'),
    (AGGRIK8S, 'endpoint: https://192.168.15.10:6443', 'endpoint: https://192.168.15.50:6443',
     'endpoint-in-dhcp-pool', "cluster talos-east's endpoint https://192.168.15.50:6443 is inside VLAN1500's DHCP pool"),
    (AGGRIK8S, 'cilium: {version: 1.18.5, cluster_id: 1,', 'cilium: {version: 1.18.5, kube_proxy_replacement: false, cluster_id: 1,',
     'no-service-proxy', 'talos-east runs without kube-proxy and Cilium does not replace it'),
    (ROOT / "labs" / "bouquet2.yaml",
     'kube_proxy: false\n    hosts:\n      control_plane: [rose]\n      workers: [lily, tulip]\n'
     '    cilium: {version: 1.18.5, cluster_id: 1,',
     'kube_proxy: true\n    hosts:\n      control_plane: [rose]\n      workers: [lily, tulip]\n'
     '    cilium: {version: 1.18.5, kube_proxy_replacement: true, cluster_id: 1,',
     'kube-proxy-and-replacement', 'Cilium replaces kube-proxy on bouquet2, which keeps kube-proxy too'),
    (AGGRIK8S, 'ceph: {mons: 3, mgrs: 2,', 'ceph: {mons: 1, mgrs: 2,',
     'ceph-mons-not-ha', "cluster talos-east runs 1 mon(s): losing one loses the monitor quorum"),
    (AGGRIK8S, 'ceph: {mons: 3, mgrs: 2, allow_multiple_per_node: false,', 'ceph: {mons: 3, mgrs: 2, allow_multiple_per_node: true,',
     'ceph-mons-not-ha', "cluster talos-east allows several mons per node"),
    (AGGRIK8S, 'ceph: {mons: 3, mgrs: 2,', 'ceph: {mons: 3, mgrs: 1,',
     'ceph-mgr-not-ha', "cluster talos-east runs 1 mgr: while it restarts or its node is down there is no standby"),
    (AGGRIK8S, 'talosctl: "1.11"',
     'talosctl: "1.10.4"',
     'tools-talosctl-minor', 'talosctl 1.10.4 is pinned but cluster talos-east runs Talos 1.11.3: pin talosctl 1.11'),
    (AGGRIK8S, 'reaches: [echo, echo-local, echo-remote, echo-canary]', 'reaches: [echo, backend]',
     'application-service-unknown', 'application frontend reaches backend, which is not a global service'),
    (AGGRIK8S, 'cilium: {version: 1.18.5, cluster_id: 2,', 'cilium: {version: 1.18.5, kube_proxy_replacement: false, cluster_id: 2,',
     'mesh-kpr-mixed', 'mesh members talos-east replace kube-proxy, talos-west do not'),
    (AGGRIK8S, 'cilium: {version: 1.18.5, cluster_id: 2,', 'cilium: {version: 1.16.5, cluster_id: 2,',
     'mesh-cilium-versions', 'mesh members run Cilium 1.16 (talos-west) and 1.18 (talos-east): more than one minor'),
]


@pytest.mark.parametrize("base,old,new,check,text", REMAINING, ids=[c[3] for c in REMAINING])
def test_each_remaining_check_fires(base: Path, old: str, new: str, check: str, text: str) -> None:
    source = base.read_text()
    assert old in source, old
    findings = run_checks(parse_lab(source.replace(old, new, 1)))
    hits = [f for f in findings if f.check == check]
    assert hits and text in hits[0].message, [str(f) for f in findings]
    assert hits[0].severity == CHECKS[check].severity and hits[0].path


def test_every_registered_check_is_exercised() -> None:
    """Each check fires in some lab of tests/labs (or labs/) or in REMAINING, so none is dead code."""
    fired = {c[3] for c in REMAINING}
    for path in [*sorted((ROOT / "tests" / "labs").glob("*/*.yaml")), AGGRIK8S]:
        try:
            fired |= {f.check for f in run_checks(load_lab(path))}
        except LabFileError:
            continue
    # the cloud sections' checks are exercised in tests/unit/test_lab_cloud_checks.py
    assert {c for c in set(CHECKS) - fired if CHECKS[c].system != "cloud"} == set()


def test_talos_on_hosts_and_rke2_without_vlan_load_and_check() -> None:
    text = """
lab: {name: bouquet-like}
hosts:
  - {name: rose, kind: cloud-vm, provider: hetzner, arch: arm64, ssh: {user: root, key: "file:~/.ssh/id"}}
  - {name: lily, kind: cloud-vm, provider: hetzner, arch: arm64}
  - {name: tulip, kind: cloud-vm, provider: oci, arch: arm64}
clusters:
  - name: bouquet2
    distribution: talos
    version: v1.10.0
    endpoint: https://rose.example.net:6443
    cni: none
    kube_proxy: false
    hosts: {control_plane: [rose], workers: [lily, tulip]}
    cilium: {version: 1.17.0, cluster_id: 1, encryption: wireguard}
"""
    lab = parse_lab(text)
    assert [m.name for m in lab.cluster("bouquet2").workers()] == ["lily", "tulip"]
    assert run_checks(lab) == []
