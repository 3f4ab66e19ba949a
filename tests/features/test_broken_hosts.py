"""Every host and piCluster scenario passes on a healthy simulated lab and fails on one broken the way
it describes (`--sim-break`, applied after the SSH step or the intent-check step; see labsim/steps/breakages.py)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labsim.steps.breakages import AGENTS, NODES_READY, PVE_BRIDGES, PVE_SERVICES, SERVERS
from tests.features.test_broken_lab import assert_scenario_fails, cases, ran, run_pytest

ROOT = Path(__file__).resolve().parents[2]

PLANNED = ("the lab file plans \"<cluster>\" with Cilium cluster id <cluster.id>, unique among the mesh's clusters, its "
           "pod CIDR apart from theirs, its kube-proxy replacement and Cilium version fit for a mesh with them")
CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this step]])
    ("The Proxmox hosts run their API services", "pveproxy-stopped", "pveproxy is not running", PVE_SERVICES),
    ("The Proxmox hosts run their API services", "pveproxy-stopped", "nothing listens on TCP 8006", PVE_SERVICES),
    ("The Proxmox hosts' bridges carry their clusters' VLANs", "pve-bridge-vids-narrowed",
     "bridge-vids is 2-1499, want 2-4094; does not carry VLAN1500 (1500), VLAN2000 (2000)", PVE_BRIDGES),
    ("Each RKE2 server of <cluster> has its config, runs rke2-server and serves the API", "rke2-config-mode-changed",
     "config.yaml is root:root 0644, want root:root 0640", SERVERS),
    ("Each RKE2 server of <cluster> has its config, runs rke2-server and serves the API", "api-port-closed",
     "[pi-master-03 :6443]: nothing listens on TCP 6443", SERVERS),
    ("Each RKE2 agent of <cluster> has its config with token and server, and runs rke2-agent", "rke2-agent-stopped",
     "[pi-worker-01 rke2-agent]: rke2-agent is not running", AGENTS),
    ("Every node of <cluster> is Ready through the Kubernetes API", "rke2-agent-down-past-grace",
     "pi-worker-01 Ready=Unknown", NODES_READY),
    ("<cluster> is planned as a mesh member", "lab:picluster-cluster-id-reused", "cluster id 2 is also talos-west's",
     PLANNED),
    ("<cluster> is planned as a mesh member", "lab:picluster-keeps-kube-proxy",
     "piCluster does not replace kube-proxy, talos-east, talos-west do", PLANNED),
    ("<cluster> is planned as a mesh member", "lab:picluster-cilium-two-minors-behind",
     "Cilium 1.16.9 on piCluster is more than one minor version from talos-east 1.18.5, talos-west 1.18.5", PLANNED),
    # @lab_only: run against a stand-in workstation (tests/features/test_broken_lab.py `_workstation`)
    ("The operator's workstation has the lab's tools", "workstation:first-pinned-tool-missing",
     "talosctl is not on PATH", "the workstation has <tools> at the versions the lab file pins"),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_host_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case)


def test_host_scenarios_pass_on_a_healthy_lab_and_declare_their_skips(tmp_path):
    junit = tmp_path / "junit.xml"
    code, out = run_pytest(["features/", "-q", "-p", "no:cacheprovider", "-rs", "-m", "hosts or picluster",
                            f"--junitxml={junit}", "--signoff", str(tmp_path / "bundle")])
    assert code == 0, out[-3000:]
    names = {c.get("name") for c in ET.parse(junit).getroot().iter("testcase")}
    for scenario, *_ in CASES:
        assert ran(names, scenario), scenario
    # the workstation is skipped as a declared deviation, never silently; the Kubernetes scenario runs
    assert "@lab_only" in out and "@kube_api" not in out
    assert "Sign-off: PARTIAL" in out   # -m: a part of the suite, never a plain ACCEPTED
