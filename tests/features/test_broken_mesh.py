"""Every mesh scenario passes on a healthy simulated lab and fails on a lab broken the way it describes.

Same method as test_broken_lab.py: the real feature runs in a subprocess with `--sim-break NAME`; mesh breakages
strike right after the mesh is built (or after the step labsim/steps/mesh_breakages.py names).
"""
from __future__ import annotations


import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, scenario_names

FEATURE = ROOT / "features" / "mesh_failover.feature"

CONNECTED = ("Every member reports every node connected to the others, and a second run of the mesh provisioner "
             "changes nothing")
AFFINITY = ("Affinity local keeps traffic in the client's cluster, fails over when its local backends go, and comes "
            "back with them")
CANARY = ("The canary holds over 1,000 requests in both constructions, and goes all to one side when the other "
          "loses its backends")
STRESS = ("Cilium CI's clustermesh-apiserver stress recipe keeps established traffic and stops new endpoints until the "
          "apiserver returns")
TTL_UNSET = ("A member lost with clustermesh.cacheTTL unset: the other keeps its last-known backends and requests "
             "to them fail")
TTL_15M = "A member lost with clustermesh.cacheTTL 15m: traffic from the other recovers once the cache expires"
ROUTING = ("Inter-VLAN routing removed on the fabric disconnects the mesh, and the status says which nodes lost which "
           "cluster")

CASES = [
    # (scenario name, breakage, text the failure must contain)
    ("A mesh whose prerequisites are broken in the lab file is refused before any cluster is touched",
     "mesh-plan-checks-skipped", "the broken lab file was not refused"),
    ("cilium clustermesh connect refuses clusters whose Cilium identity is broken, with Cilium's own messages",
     "mesh-west-ca-shared-early", "connect was accepted with nothing"),
    (CONNECTED, "mesh-routing-removed", "is not connected to cluster talos-west"),
    (CONNECTED, "mesh-settings-drift", "talos-east: cilium mesh settings upgraded"),
    (AFFINITY, "mesh-echo-local-affinity-none", "not every request was answered by talos-east"),
    (AFFINITY, "mesh-west-echo-local-gone", "traffic did not settle on talos-west"),
    (CANARY, "mesh-canary-weights-even", "is not 25% +/- 5 points"),
    (CANARY, "mesh-echo-replicas-even", "is not 25% +/- 5 points"),
    (STRESS, "mesh-east-apiserver-unschedulable", "cilium clustermesh status --wait failed on talos-east"),
    (TTL_UNSET, "mesh-cache-ttl-set-by-hand", "is not about 75%"),
    (TTL_15M, "mesh-cache-ttl-reset", "not every request was answered by talos-east"),
    (ROUTING, "mesh-static-route-between-vlans", "still reports talos-west connected"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[b for _, b, _ in CASES])
def test_mesh_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected)


def test_every_mesh_scenario_has_a_breaking_case():
    """test_broken_lab.py runs every feature on a healthy lab; here every scenario must have a case."""
    scenarios = scenario_names(FEATURE)
    assert sorted(set(scenarios)) == sorted({s for s, _, _ in CASES})
