"""Every mesh scenario passes on a healthy simulated lab and fails on a lab broken the way it describes.

Same method as test_broken_lab.py: the real feature runs in a subprocess with `--sim-break NAME`; mesh breakages
strike right after the mesh is built (or after the step labsim/steps/mesh_breakages.py names).
"""
from __future__ import annotations


import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, cases, scenario_names

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
AS_FOUND = ("Every member reports every node connected to the others, and every global service has ready backends in "
            "each")
VALUES = ("Every member runs Cilium with the values the lab file asks for, and its clustermesh-apiserver is available")
STATUS_CONNECTED = "cilium clustermesh status of every member reports all nodes connected to all clusters"
ROUTING = ("Inter-VLAN routing removed on the fabric disconnects the mesh, and the status says which nodes lost which "
           "cluster")
THREE = ("In a mesh of three, each member answers its share of a global service, and a member that loses its backends "
         "hands its share to the two others as the affinity says")
HYBRID = str(ROOT / "labs" / "aggrik8s-hybrid.yaml")
POLICY_FAILOVER = ("Failover keeps the policy: <app> follows the backends of \"<app.local>\" to the other member, a pod "
                   "without its labels stays denied")

CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    ("A mesh whose prerequisites are broken in the lab file is refused before any cluster is touched",
     "mesh-broken-copy-put-right", "the broken lab file was not refused", 'the mesh is refused with "<message>"'),
    ("cilium clustermesh connect refuses clusters whose Cilium identity is broken, with Cilium's own messages",
     "mesh-ca-shared-early", "connect was accepted with nothing",
     "cilium clustermesh connect from <pair.a> to <pair.b> is refused when <pair.b>'s Cilium is broken by hand:", None,
     (("nothing was written to either cluster's cilium release", "cilium releases got new revisions"),)),
    (CONNECTED, "mesh-routing-removed", "is not connected to cluster talos-west", STATUS_CONNECTED),
    (CONNECTED, "mesh-settings-drift", "talos-east: cilium mesh settings upgraded",
     "the second mesh run changed nothing and no cilium release got a new revision"),
    (AFFINITY, "mesh-local-affinity-none", "not every request was answered by talos-east",
     "every request before that was answered by <pair.a>", None,
     (("the traffic is answered by <pair.a> within 10 seconds, with no failed request after that",
       "traffic did not settle on talos-east within 10 s"),)),
    (AFFINITY, "mesh-second-local-backends-gone", "traffic did not settle on talos-west",
     "the traffic is answered by <pair.b> within 5 seconds, with no failed request after that"),
    (CANARY, "mesh-canary-weights-even", "is not 25% +/- 5 points",
     "the requests were answered <canary.shares>, within 5 points at 95% confidence"),
    (CANARY, "mesh-none-replicas-even", "is not 25% +/- 5 points",
     "the requests were answered <any.shares>, within 5 points at 95% confidence"),
    (STRESS, "mesh-apiserver-unschedulable", "cilium clustermesh status --wait failed on talos-east",
     "cilium clustermesh status --wait of every member reports all nodes connected", None,
     (('the new <pair.a> backend of "<any>" answers requests from <pair.b> within 30 seconds',
       "the new talos-east backend answered no request from talos-west within 30 s"),)),
    (TTL_UNSET, "mesh-cache-ttl-set-by-hand", "is not about 75%",
     "about <any.b share>% of the requests after the loss fail, until the end of the probe"),
    (TTL_UNSET, "mesh-lost-member-powered-on", "talos-west",
     "cilium clustermesh status of <pair.a> names <pair.b> as not connected"),
    (TTL_15M, "mesh-cache-ttl-reset", "not every request was answered by talos-east",
     "every request was answered by <any.answering without b>"),
    (ROUTING, "mesh-static-route-between-vlans", "still reports talos-west connected",
     "cilium clustermesh status of <router.a> reports its nodes not connected to <router.b> within 60 seconds", None,
     (('its errors name the KVStoreMesh replica "not able to connect to any etcd endpoints"',
       "no clustermesh-apiserver error with 'not able to connect to any etcd endpoints'"),
      ('200 requests from <router.a> to "<remote>" all fail', "200 of 200 requests were still answered"))),
    (CONNECTED, "mesh-local-affinity-none", "annotations",
     "every global service under test exists in every member with its annotations and ready backends"),
    (CANARY, "mesh-stray-backends-by-hand", "not every request was answered by talos-west",
     "every request was answered by <pair.b>", None,
     (("every request was answered by <pair.a>", "not every request was answered by talos-east"),)),
    (STRESS, "mesh-apiserver-back-by-gitops", "although talos-east's clustermesh-apiserver is away",
     'the new <pair.a> backend of "<any>" gets no request from <pair.b>'),
    (STRESS, "mesh-backends-restarted-while-apiserver-away", "curl: (28) Connection timed out",
     "no request of the probe failed"),
    (TTL_15M, "mesh-none-replicas-even", "is not about 75%", "about <any.b share>% of them failed"),
    (AS_FOUND, "mesh-routing-removed", "is not connected to cluster talos-west", STATUS_CONNECTED),
    (AS_FOUND, "mesh-local-affinity-none", "annotations",
     "every global service under test exists in every member with its annotations and ready backends"),
    (VALUES, "mesh-cilium-config-edited-by-hand", "max-connected-clusters='511'",
     "the Cilium agents of every mesh member are ready with the cluster name, id and values the lab file asks for"),
    (VALUES, "mesh-apiserver-scaled-to-zero-by-hand", "clustermesh-apiserver 0/0 available",
     "the clustermesh-apiserver of every mesh member is available"),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_mesh_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


# The failover and canary scenarios in a mesh of three (labs/aggrik8s-hybrid.yaml: echo and echo-local have backends in
# talos-east, talos-west and the piCluster): "the others" are two members together, and the splits name all three.
HYBRID_CASES = [
    (AFFINITY, "mesh-second-local-backends-gone", "traffic did not settle on talos-west or picluster",
     "the traffic is answered by <pair.b> within 5 seconds, with no failed request after that"),
    (CANARY, "mesh-third-member-backends-changed-by-hand", "picluster",
     "the requests were answered <any.shares>, within 5 points at 95% confidence", None,
     (("the requests were answered <canary.shares>, within 5 points at 95% confidence", "is not 0% +/- 5 points"),)),
    (THREE, "mesh-third-member-backends-changed-by-hand", "is not 25% +/- 5 points",
     "the requests were answered <any.shares>, within 5 points at 95% confidence", None,
     (("the requests were answered <any.shares without b>, within 5 points at 95% confidence",
       "is not 50% +/- 5 points"),
      ("the requests were answered <local.shares without a>, within 5 points at 95% confidence",
       "is not 50% +/- 5 points"))),
    (THREE, "mesh-local-affinity-none", "is not 100% +/- 5 points",
     "the requests were answered <local.shares>, within 5 points at 95% confidence"),
    (TTL_15M, "mesh-cache-ttl-reset", "not every request was answered by talos-east or picluster",
     "every request was answered by <any.answering without b>"),
    (POLICY_FAILOVER, "mesh-policy-deny-first-member-by-hand", "not every request was answered by talos-west or picluster",
     "every request was answered by <pair.b>"),
    (POLICY_FAILOVER, "mesh-policy-allow-all-by-hand", "requests were still answered",
     "every request failed, and <pair.b>'s Cilium agents count them as \"Policy denied\""),
]


@pytest.mark.parametrize("case", cases(HYBRID_CASES))
def test_three_member_mesh_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case, lab=HYBRID)


def test_the_hybrid_mesh_fails_when_the_rke2_members_remotes_are_removed_by_hand(tmp_path):
    """The three-member mesh of labs/aggrik8s-hybrid.yaml (the piCluster joined through its rke2-cilium
    HelmChartConfig): its status scenario fails when that HelmChartConfig loses the remotes."""
    assert_scenario_fails(tmp_path, CONNECTED, "mesh-rke2-remotes-removed-by-hand",
                          "FAIL mesh-connected [piCluster]",
                          lab=str(ROOT / "labs" / "aggrik8s-hybrid.yaml"))


def test_every_mesh_scenario_has_a_breaking_case():
    """test_broken_lab.py runs every feature on a healthy lab; here every scenario must have a case."""
    scenarios = scenario_names(FEATURE)
    assert sorted(set(scenarios)) == sorted({c[0] for c in CASES} | {c[0] for c in HYBRID_CASES
                                                                      if c[0] != POLICY_FAILOVER})
