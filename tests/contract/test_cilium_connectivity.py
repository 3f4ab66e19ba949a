"""The fake `cilium connectivity test --multi-cluster` against two served, meshed clusters: cilium-cli's progress
and summary, --test with `!` exclusions, the junit file, and named failures under a policy applied by hand."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from labsim.fakes.cilium.direct import Spec
from tests.unit.mesh_world import ServedMesh

EAST, WEST = "admin@talos-east", "admin@talos-west"
SPECS = [Spec("talos-east", 1, node_port=30001), Spec("talos-west", 2, node_port=30002)]


@pytest.fixture(scope="module")
def sm(tmp_path_factory):
    m = ServedMesh(tmp_path_factory.mktemp("conn"), SPECS)
    for ctx in (EAST, WEST):
        assert m.cilium("clustermesh", "enable", "--context", ctx, "--service-type", "NodePort").rc == 0
    m.clock.sleep(30)
    r = m.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST)
    assert r.rc == 0, r.stderr
    m.clock.sleep(60)
    yield m
    m.stop()


def test_multi_cluster_run_passes_with_cilium_cli_summary_and_junit(sm, tmp_path):
    junit = tmp_path / "junit.xml"
    r = sm.cilium("--context", EAST, "connectivity", "test", "--multi-cluster", WEST, "--junit-file", str(junit))
    assert r.rc == 0, r.stdout + r.stderr
    out = r.stdout
    assert f"✨ [{WEST}] Creating namespace cilium-test-1 for connectivity check..." in out
    assert "[=] [cilium-test-1] Test [no-policies] [1/" in out
    assert "[=] [cilium-test-1] Skipping test [client-ingress]" in out and "(not simulated: client-to-client is ICMP" \
        in out
    assert "[=] [cilium-test-1] Test [cluster-entity-multi-cluster]" in out
    assert out.rstrip().splitlines()[-1].startswith("✅ [cilium-test-1] All 7 tests (50 actions) successful, 4 tests skipped, 5 scenarios skipped.")
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = {c.get("name"): c.get("status") for c in suite.iter("testcase")}
    assert cases["no-policies"] == "passed" and cases["client-ingress"] == "skipped"
    assert suite.get("package") == "cilium"


def test_test_filter_with_exclusions(sm):
    r = sm.cilium("--context", EAST, "connectivity", "test", "--multi-cluster", WEST, "--test",
                  "no-policies,all-ingress-deny,!no-policies-extra")
    assert r.rc == 0, r.stdout
    assert "Skipping test [no-policies-extra] [2/" in r.stdout and "(skipped by user)" in r.stdout
    assert "✅ [cilium-test-1] All 2 tests (" in r.stdout


def test_a_policy_applied_by_hand_fails_the_named_tests(sm):
    kube = sm.kube("talos-west")
    with sm.clock.lock:
        kube.create("ciliumnetworkpolicies.cilium.io", {
            "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
            "metadata": {"name": "deny-east", "namespace": "cilium-test-1"},
            "spec": {"endpointSelector": {}, "ingressDeny": [{"fromEndpoints": [
                {"matchLabels": {"io.cilium.k8s.policy.cluster": "talos-east"}}]}]}}, "cilium-test-1")
    try:
        r = sm.cilium("--context", EAST, "connectivity", "test", "--multi-cluster", WEST, "--test", "no-policies")
    finally:
        with sm.clock.lock:
            kube.delete("ciliumnetworkpolicies.cilium.io", "deny-east", "cilium-test-1")
    assert r.rc == 1
    assert "📋 Test Report [cilium-test-1]" in r.stdout
    assert "Test [no-policies]:" in r.stdout and "echo-other-node" in r.stdout
    assert "command terminated with exit code 28" in r.stdout
    assert r.stdout.rstrip().endswith("[cilium-test-1] 1 tests failed")
