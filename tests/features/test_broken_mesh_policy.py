"""Every policy scenario passes on a healthy simulated lab and fails on a lab broken the way it describes: a policy
applied or deleted by hand (labsim/steps/mesh_breakages.py), never a change to our code."""
from __future__ import annotations

import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, scenario_names

FEATURE = ROOT / "features" / "mesh_policy.feature"

ACROSS = ("<app> reaches the backends of the other member through \"<app.remote>\", and a pod without its labels is "
          "denied either way")
FAILOVER = ("Failover keeps the policy: <app> follows the backends of \"<app.local>\" to the other member, a pod "
            "without its labels stays denied")
BY_HAND = "An access policy deleted by hand is found by the verification and put back by the next mesh run"
CONNECTIVITY = "The owners' verification: cilium connectivity test across <pair> passes every test the lab can run"

CASES = [
    (ACROSS, "mesh-policy-deleted-by-hand", "is missing"),
    (ACROSS, "mesh-policy-allow-all-by-hand", "requests were still answered"),
    (FAILOVER, "mesh-policy-deny-first-member-by-hand", "not every request was answered by talos-west"),
    (BY_HAND, "mesh-policy-allow-all-by-hand", "requests were still answered"),
    (CONNECTIVITY, "mesh-clusterwide-deny-first-member-by-hand", "no-policies failed"),
    (CONNECTIVITY, "mesh-routing-removed", "cilium-test-1/echo-other-node to be synchronized"),
]


@pytest.mark.parametrize("scenario,breakage,expected", CASES, ids=[f"{b}-{i}" for i, (_, b, _) in enumerate(CASES)])
def test_policy_scenario_fails_when_lab_is_broken(tmp_path, scenario, breakage, expected):
    assert_scenario_fails(tmp_path, scenario, breakage, expected)


def test_every_policy_scenario_has_a_breaking_case():
    assert sorted(set(scenario_names(FEATURE))) == sorted({s for s, _, _ in CASES})
