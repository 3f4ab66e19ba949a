"""Checks that a deliberate bug in the lab code must break (issue 13), with expected answers from the real systems'
documentation and sources, not from our fakes.

- CoreDNS readiness: a Deployment is ready when status.readyReplicas equals spec.replicas. readyReplicas is
  omitted (None in the Python client) when no pod is ready: k8s.io/api apps/v1 types.go, DeploymentStatus
  `ReadyReplicas int32 json:"readyReplicas,omitempty"`. A check that always reports CoreDNS ready fails here.
- Reordered list members: RouterOS prints a /interface/bridge/vlan entry's `tagged` and `untagged` lists in its own
  order (by interface, not as they were written: help.mikrotik.com "Bridging and Switching", VLAN table), so the
  same members in another order are the same configuration. A comparison in order fails here.
- Tagged vs untagged arrival, and the lease from the VLAN's own DHCP server: see the sections below (a check that
  ignores how a VLAN arrives, or which server holds the lease, fails there).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from labsim.provisioners.fabric.rows import Row, same
from labsim.provisioners.lab import load_lab
from labsim.provisioners.talos import verify as V
from labsim.provisioners.talos.nodes import Machine

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"


class StubKube:
    """What the Kubernetes API answers, as the `kubernetes` client's objects (attribute access, None when omitted)."""

    def __init__(self, machines, dns_replicas, dns_ready):
        self._nodes = [NS(metadata=NS(name=m.name), spec=NS(unschedulable=None),
                          status=NS(addresses=[NS(type="InternalIP", address=m.address)],
                                    conditions=[NS(type="Ready", status="True")])) for m in machines]
        self._dns = NS(spec=NS(replicas=dns_replicas), status=NS(ready_replicas=dns_ready))

    def nodes(self):
        return self._nodes

    def deployment(self, name, ns="kube-system"):
        return self._dns if name == "coredns" else None

    def daemonset(self, name, ns="kube-system"):
        return None

    def configmap(self, name, ns="kube-system"):
        return None


def _coredns(dns_replicas, dns_ready):
    lab = load_lab(LAB)
    cluster = lab.clusters[0].name
    machines = [Machine(name=m.name, role=m.role, address=f"192.0.2.{i + 10}")
                for i, m in enumerate(lab.cluster(cluster).members())]
    results = V.kube_results(lab, cluster, StubKube(machines, dns_replicas, dns_ready), machines)
    return next(r for r in results if r.check == "coredns-ready")


@pytest.mark.parametrize("replicas,ready,ok", [(2, 2, True), (2, 1, False), (2, None, False), (0, None, False)])
def test_coredns_is_ready_only_with_every_replica_ready(replicas, ready, ok):
    r = _coredns(replicas, ready)
    assert r.ok is ok, r
    assert r.message == f"{ready or 0}/{replicas} CoreDNS replicas ready"


def test_reordered_bridge_vlan_members_are_the_same_configuration():
    assert same("tagged", "bridge1,ether1,sfp-sfpplus1", "sfp-sfpplus1,bridge1,ether1")
    assert same("untagged", "ether2,ether3", "ether3,ether2")
    assert not same("tagged", "bridge1,ether1,sfp-sfpplus1", "sfp-sfpplus1,bridge1")
    row = Row(menu="/interface/bridge/vlan", key=("bridge", "vlan-ids"),
              fields={"bridge": "bridge1", "vlan-ids": "1500", "tagged": "bridge1,ether1,sfp-sfpplus1"},
              label="VLAN1500 on bridge1", phase=2)
    assert row.differences({"bridge": "bridge1", "vlan-ids": "1500", "tagged": "ether1,sfp-sfpplus1,bridge1"}) == {}
    assert row.differences({"bridge": "bridge1", "vlan-ids": "1500", "tagged": "ether1,bridge1"}) == {
        "tagged": ("bridge1,ether1,sfp-sfpplus1", "ether1,bridge1")}


# --- tagged vs untagged arrival -----------------------------------------------------------------------------------
# Expected answers from the real systems, not from our fakes:
# - Proxmox VE puts a VM NIC with `tag=N` on a VLAN-aware Linux bridge into VLAN N (pve-docs "Network Configuration",
#   VLAN awareness on the Linux bridge); at the bridge's uplink port an untagged frame is classified into that port's
#   PVID, VLAN 1 unless `bridge-pvid` says otherwise (bridge(8), `bridge vlan add ... pvid`: "any untagged frames will
#   be assigned to this VLAN"). So a VLAN that reaches a Proxmox node untagged never reaches its VMs: not carried.
# - A host whose NIC is not VLAN-aware (the piCluster's eth0) only takes untagged frames: tagged, it is not carried.
# - RouterOS: a bridge port's pvid VLAN leaves it untagged; a VLAN in a /interface/bridge/vlan entry's `tagged`
#   list leaves it tagged (help.mikrotik.com "Bridging and Switching", Bridge VLAN Filtering).
def _lab_where(edit) -> "Lab":  # noqa: F821
    import yaml
    data = yaml.safe_load(LAB.read_text())
    edit(data)
    path = Path(__import__("tempfile").mkdtemp()) / "lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_lab(path)


def _trunk_to_proxmox(data) -> dict:
    """The trunk the aggrik8s lab file cables to the Proxmox node (crs328-01 sfp-sfpplus3 -> pve enp1s0f0)."""
    dev = next(d for d in data["routeros"]["devices"] if d["identity"] == "crs328-01")
    return next(t for t in dev["trunks"] if t["interface"] == "sfp-sfpplus3")


def _untagged_on_proxmox_trunk(data) -> None:
    t = _trunk_to_proxmox(data)
    t["vlans"] = [v for v in t["vlans"] if v != "VLAN1500"]
    t["native"] = "VLAN1500"


def _observed_as_configured(lab) -> dict:
    """What each device would print once configured as the lab file says (its desired rows, one row per key)."""
    from labsim.provisioners.fabric.desired import desired_rows
    from labsim.provisioners.fabric.observed import Observed
    out = {}
    for d in lab.routeros.devices:
        menus: dict[str, list[dict]] = {}
        for r in desired_rows(lab, d.identity):
            rows = menus.setdefault(r.menu, [])
            same_key = next((x for x in rows if all(x.get(k) == r.fields.get(k) for k in r.key)), None)
            same_key.update(r.fields) if same_key is not None else rows.append(dict(r.fields))
        out[d.identity] = Observed(d.identity, menus)
    return out


def _carried(lab, vlan: str):
    from labsim.provisioners.fabric.verify import vlans_carried
    return next(r for r in vlans_carried(lab, _observed_as_configured(lab)) if r.subject.startswith(f"{vlan} "))


def test_a_vlan_arriving_untagged_at_a_vlan_aware_proxmox_bridge_is_not_carried():
    good = _carried(load_lab(LAB), "VLAN1500")
    assert good.ok and "reaches pve:enp1s0f0 tagged" in good.message, good
    bad = _carried(_lab_where(_untagged_on_proxmox_trunk), "VLAN1500")
    assert not bad.ok, bad
    assert "arrives untagged, but vmbr0 is VLAN-aware so it must arrive tagged" in bad.message, bad


def test_the_intent_check_refuses_a_lab_file_that_sends_a_vm_vlan_untagged():
    from labsim.provisioners.lab import run_checks
    assert not [r for r in run_checks(load_lab(LAB)) if r.check == "vlan-not-carried"]
    hits = [r for r in run_checks(_lab_where(_untagged_on_proxmox_trunk))
            if r.check == "vlan-not-carried" and r.message.startswith("VLAN1500 ")]
    assert hits and "reaches pve:enp1s0f0 untagged" in hits[0].message and "needs it tagged" in hits[0].message, hits


def test_a_vlan_arriving_tagged_at_a_host_nic_that_is_not_vlan_aware_is_not_carried():
    def tagged_to_pi(data):
        dev = next(d for d in data["routeros"]["devices"] if d["identity"] == "crs328-01")
        port = next(a for a in dev["access"] if a["interface"] == "ether9")
        dev["access"].remove(port)
        dev["trunks"].append({"interface": "ether9", "vlans": [port["vlan"]]})
    bad = _carried(_lab_where(tagged_to_pi), "VLAN10")
    assert not bad.ok and "arrives tagged" in bad.message and "must arrive untagged" in bad.message, bad


# --- the lease comes from the VLAN's own DHCP server ----------------------------------------------------------------
# RouterOS /ip/dhcp-server/lease print: `server` is "the server name which serves the lease", `status` one of waiting,
# testing, authorizing, busy, offered, bound (help.mikrotik.com "DHCP", Leases). A VM in the right subnet whose lease
# another server (a second, rogue server on the same device) handed out is not served by its VLAN's server.
def _lease_problems(server: str, status: str = "bound", address: str = "192.168.15.50"):
    from labsim.provisioners.proxmox.leases import LeaseTable, _lease_check
    lab = load_lab(LAB)
    vm = NS(plan=next(v for c in lab.clusters for v in c.vms() if v.vlan == "VLAN1500"))
    vlan = lab.vlan("VLAN1500")
    mac = "BC:24:11:00:15:50"
    table = LeaseTable(
        by_mac={mac: [{".id": "*1", "address": address, "mac-address": mac, "server": server, "status": status,
                       "dynamic": "true"}]},
        servers=[{".id": "*1", "name": "dhcp-VLAN1500", "interface": "VLAN1500", "address-pool": "pool-VLAN1500"},
                 {".id": "*2", "name": "rogue", "interface": "VLAN2000", "address-pool": "rogue-pool"}])
    return _lease_check(lab, vm, address, vlan.subnet.prefixlen, mac, {vlan.dhcp.server: table})


def test_a_lease_from_the_vlans_own_server_is_accepted():
    assert _lease_problems("dhcp-VLAN1500") == []


def test_a_lease_in_the_right_subnet_from_another_server_is_refused():
    problems = _lease_problems("rogue")
    assert problems and "the lease comes from rb5009-01 rogue, not VLAN1500's server (dhcp-VLAN1500)" in problems[0]


def test_a_lease_that_is_only_offered_is_refused():
    problems = _lease_problems("dhcp-VLAN1500", status="offered")
    assert problems == ["rb5009-01 lease 192.168.15.50 is offered, not bound"]
