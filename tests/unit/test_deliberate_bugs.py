"""Checks that a deliberate bug in the lab code must break (issue 13), with expected answers from the real systems'
documentation and sources, not from our fakes.

- CoreDNS readiness: a Deployment is ready when status.readyReplicas equals spec.replicas. readyReplicas is
  omitted (None in the Python client) when no pod is ready: k8s.io/api apps/v1 types.go, DeploymentStatus
  `ReadyReplicas int32 json:"readyReplicas,omitempty"`. A check that always reports CoreDNS ready fails here.
- Reordered list members: RouterOS prints a /interface/bridge/vlan entry's `tagged` and `untagged` lists in its own
  order (by interface, not as they were written: help.mikrotik.com "Bridging and Switching", VLAN table), so the
  same members in another order are the same configuration. A comparison in order fails here.
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
