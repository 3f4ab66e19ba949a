"""Every policy scenario passes on a healthy simulated lab and fails on a lab broken the way it describes: a policy
applied or deleted by hand (labsim/steps/mesh_breakages.py), never a change to our code."""
from __future__ import annotations

import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, cases, scenario_names

FEATURE = ROOT / "features" / "mesh_policy.feature"

ACROSS = ("<app> reaches the backends of the other member through \"<app.remote>\", and a pod without its labels is "
          "denied either way")
FAILOVER = ("Failover keeps the policy: <app> follows the backends of \"<app.local>\" to the other member, a pod "
            "without its labels stays denied")
BY_HAND = "An access policy deleted by hand is found by the verification and put back by the next mesh run"
CONNECTIVITY = "The owners' verification: cilium connectivity test across <pair> passes every test the lab can run"

HAS_POLICIES = "every member has the access policies of the lab file's applications"
DENIED_B = "every request failed, and <pair.b>'s Cilium agents count them as \"Policy denied\""

CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    (ACROSS, "mesh-policy-deleted-by-hand", "is missing", HAS_POLICIES),
    (ACROSS, "mesh-policy-allow-all-by-hand", "requests were still answered", DENIED_B),
    (FAILOVER, "mesh-policy-deny-first-member-by-hand", "not every request was answered by talos-west",
     "every request was answered by <pair.b>", None,
     (("every request failed, and <pair.b>'s Cilium agents count them as \"Policy denied\"",
       "talos-west's Cilium agents counted 0 drops as 'Policy denied'"),)),
    (ACROSS, "mesh-app-affinities-swapped-by-hand", "not every request was answered by talos-west",
     "every request was answered by <pair.b>", None,
     (("every request was answered by <pair.a>", "not every request was answered by talos-east"),
      ("every request failed, and <pair.a>'s Cilium agents count them as \"Policy denied\"",
       "talos-east's Cilium agents counted 0 drops as 'Policy denied'"))),
    (FAILOVER, "mesh-app-affinities-swapped-by-hand", "not every request was answered by talos-east",
     "every request was answered by <pair.a>"),
    (BY_HAND, "mesh-policy-allow-all-by-hand", "requests were still answered", DENIED_B),
    (BY_HAND, "mesh-policy-put-back-by-hand", "talos-west",
     'the mesh verification finds the access policy of "<app.remote>" missing in <pair.b>'),
    (BY_HAND, "mesh-policy-deleted-by-hand", "is missing", HAS_POLICIES, HAS_POLICIES),
    (CONNECTIVITY, "mesh-clusterwide-deny-first-member-by-hand", "no-policies failed",
     "cilium connectivity test from <pair.a> with --multi-cluster <pair.b> passes every test it runs, its junit in the "
     "evidence"),
    (CONNECTIVITY, "mesh-routing-removed", "cilium-test-1/echo-other-node to be synchronized"),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_policy_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


def test_every_policy_scenario_has_a_breaking_case():
    assert sorted(set(scenario_names(FEATURE))) == sorted({c[0] for c in CASES})
