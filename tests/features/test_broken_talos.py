"""Every Talos scenario passes on a healthy simulated lab and fails on a lab broken the way it describes.

Same method as test_broken_lab.py: the real feature runs in a subprocess with `--sim-break NAME`. Talos
breakages strike right after 'the Talos cluster "talos-east" is provisioned' (or, for the ones that change
how the simulated machines behave, after the fabric): see labsim/steps/talos_breakages.py.
"""
from __future__ import annotations


import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, cases, scenario_names

FEATURE = ROOT / "features" / "talos_clusters.feature"

MEMBERS = "<cluster> runs the members, versions and machine configs the lab file plans"
CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    ("<cluster> goes from maintenance mode to a healthy cluster with Cilium", "talos-worker-powered-off",
     "connect: no route to host", 'every talosctl health check of "<cluster>" passes', None,
     (('every node of "<cluster>" is Ready with Cilium and CoreDNS running and kube-proxy as the lab file says',
       "k8s-node-ready [talos-east wrk-e-2]: NotReady"),
      ('kubectl with the kubeconfig talosctl wrote lists every node of "<cluster>" Ready',
       "kubectl-node-ready [wrk-e-2]: NotReady"))),
    (MEMBERS, "talos-worker-powered-off", "talos-member [talos-east wrk-e-2]: not a member",
     'talosctl get members of "<cluster>" lists every machine of the lab file with its planned role and Talos '
     'version', None,
     (('a plan of "<cluster>" has nothing to do: every machine config, etcd and the Cilium release as the lab file '
       'plans', "waiting for an address for every machine of talos-east"),)),
    ("The VIP of <cluster> is held by exactly one control plane", "talos-vip-holder-powered-off",
     "held by no control plane", 'the VIP of "<cluster>" is held by exactly one control plane'),
    ("A second run changes nothing on the cluster", "talos-config-changed-by-hand", "cp-e-2: config updated",
     'nothing was applied, bootstrapped or upgraded on "<cluster>"'),
    ("A second bootstrap is refused with Talos's own message", "talos-etcd-data-wiped",
     "talosctl accepted the second bootstrap", 'talosctl refuses with "error executing bootstrap: rpc error: code = '
     'AlreadyExists desc = etcd data directory is not empty"'),
    ("Losing one of three control planes keeps the API and moves the VIP, losing two loses both",
     "talos-control-plane-lost", "API no longer answers after losing", 'the Kubernetes API of "<cluster>" still answers',
     None, (('the VIP of "<cluster>" moves to another control plane within 90 seconds', "held by no control plane"),)),
    ("Losing one of three control planes keeps the API and moves the VIP, losing two loses both",
     "talos-lost-control-plane-powered-on", "answers", 'the Kubernetes API of "<cluster>" no longer answers', None,
     (('no control plane of "<cluster>" holds the VIP', "held by"),)),
    ("A worker powered off goes NotReady and its pods are evicted after the default toleration",
     "talos-worker-powered-on-at-once", "still Ready after 90 s",
     'the node "<worker>" of "<worker.cluster>" is NotReady within 90 seconds'),
    ("A worker powered off goes NotReady and its pods are evicted after the default toleration",
     "talos-workers-cordoned", "did not move off wrk-e-1",
     'the pods of "probe" on "<worker>" are evicted after the default toleration and run on other workers'),
    ("A machine below the Talos minimums is reported as talosctl health reports it", "talos-workers-given-room",
     "talosctl health passed, expected it to fail at 'all nodes memory sizes'",
     'talosctl health of "<cluster>" fails at "<check>" with "<message>"'),
    ("Cilium with SYS_MODULE in the agent's capabilities fails the way it does on Talos",
     "talos-sys-module-removed-by-hand", "no agent reports 'unable to apply caps: operation not permitted'",
     'the Cilium agents of "<cluster>" fail with "unable to apply caps: operation not permitted"', None,
     (('the nodes of "<cluster>" stay NotReady for 120 seconds', "nodes became Ready without a CNI running on them"),)),
    ("Without a CNI the nodes stay NotReady, talosctl health names the check it waits at, and Talos reboots them",
     "talos-cilium-installed-by-hand", "nodes became Ready without a CNI running on them",
     'the nodes of "<cluster>" stay NotReady for 120 seconds', None,
     (('talosctl health of "<cluster>" fails at "all nodes to finish boot sequence" with "nodes are not running: '
       'booting: ["', "talosctl health passed, expected it to fail at 'all nodes to finish boot sequence'"),
      ('the nodes of "<cluster>" reboot once the 10 minutes the Talos guide gives for installing a CNI are over',
       "no reboot recorded within 720 s"))),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_talos_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


def test_every_talos_scenario_has_a_breaking_case():
    """test_broken_lab.py runs every feature on a healthy lab; here every scenario must have a case."""
    scenarios = scenario_names(FEATURE)
    assert sorted(set(scenarios)) == sorted({c[0] for c in CASES})
