"""Every cloud scenario (features/cloud_cluster.feature, backups.feature; the failover ones in
test_broken_failover.py, a file of its own so that the two spread over the test workers) passes on the healthy
simulated bouquet2 lab and fails on a lab broken the way it describes, at the step and with the words expected, every
Then step shown failing under some breakage (test_every_then_step.py).

Same method as test_broken_lab.py: the real feature runs in a subprocess on labs/bouquet2.yaml with `--sim-break
NAME`; the breakages (labsim/steps/cloud_breakages.py) act at a provider's API, on the cluster, or as the world, on
the subjects the lab file names: `TRIO_CASES` run them on labs/hetzner-trio.yaml (other servers, zone, firewall and
round-robin name) too.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.features.test_broken_lab import ROOT, assert_scenario_fails, cases, ran, run_pytest

LAB = "labs/bouquet2.yaml"
TRIO = "labs/hetzner-trio.yaml"
FEATURES = [ROOT / "features" / f for f in ("cloud_cluster.feature", "backups.feature")]
SERVERS = "The cloud servers of <cluster> are created as the lab file says, and a second run changes nothing"
TAILNET = "Every node of <cluster> joins the tailnet, and its Talos API answers there and only there"
HEALTHY = "<cluster> comes up healthy over the tailnet"
BACKUP = "A backup of an app's namespace goes to the bucket and restores elsewhere with the same objects"
TAILNET_ONLY = ('the Talos API of every node of "<cluster>" answers on its tailnet address and is refused on its '
                'public address')
CASES = [
    # (scenario, breakage, text the failure must contain[, the Then step that fails with it[, strike before this
    #  step[, further (Then step, text) the same run shows failing]]])
    # A label added in the Hetzner console: the server differs from the lab file, and the second run puts it back
    # (a write, where a clean second run writes nothing).
    (SERVERS, "cloud-server-labels-edited", "FAIL hcloud-server [lily]: labels",
     'every cloud server of "<cluster>" runs as the lab file says, behind its firewalls', None,
     (('nothing was created or changed at the providers, on the tailnet, in the zone or on the nodes of "<cluster>"',
       "writes accepted during the second run: {'cloud:hetzner': 1}"),)),
    # lily's tailscale service stopped: the Tailscale API shows its device offline (lastSeen frozen), and its Talos API
    # has no tailnet address to answer on.
    (TAILNET, "cloud-tailscale-stopped", "FAIL tailnet-device [lily]: offline",
     'every node of "<cluster>" is online on the tailnet with the lab file\'s tags, its control planes serving the '
     'lab file\'s routes', None,
     ((TAILNET_ONLY, "FAIL talos-api-tailnet [lily]: no tailnet address (its device is offline)"),)),
    # TCP 50000 opened on the Hetzner firewall: apid answers on the public address of every server behind it.
    (TAILNET, "cloud-talos-port-opened", "ANSWERS on its public address", TAILNET_ONLY),
    # The endpoint name pointed elsewhere at Cloudflare: the resolver answers with the new content.
    (HEALTHY, "cloud-endpoint-record-edited", "resolves to 100.64.99.99",
     'the endpoint of "<cluster>" resolves to its control planes\' tailnet addresses'),
    # A worker off the tailnet: Kubernetes still has its Node, which talosctl health (given the nodes reachable over
    # the tailnet) reports as unexpected (Talos pkg/cluster NodesMatch: "unexpected nodes with IPs %q"); past the
    # node monitor's grace its Node and its Cilium agent are not Ready.
    (HEALTHY, "cloud-tailscale-stopped", "unexpected nodes with IPs",
     'every talosctl health check of the cloud cluster "<cluster>" passes over the tailnet', None,
     (('every node of "<cluster>" is Ready, with Cilium replacing kube-proxy through KubePrism on 7445',
       "2/3 agents ready"),)),
    # The access key revoked at the provider: S3 answers 403 to HeadBucket, before anything is backed up.
    (BACKUP, "s3-key-revoked", "refused the lab's credentials (object_storage.access_key env:S3_ACCESS_KEY)"),
    # A ConfigMap of the backup deleted from the bucket: the listing lacks it, and the restore cannot bring it back.
    (BACKUP, "s3-backup-object-deleted", "FAIL backed-up-object [ConfigMap/guestbook]: missing from the bucket",
     "the bucket holds every object of the namespace under the backup", None,
     (("the new namespace holds the same objects as the one backed up",
       "FAIL restored-object [ConfigMap/guestbook]: missing in labsim-backup-demo-restored"),)),
]
# The same breakages on another cloud lab file: their subjects come from it, not from bouquet2.
TRIO_CASES = [
    (TAILNET, "cloud-talos-port-opened", "FAIL talos-api-public-refused [birch]: ANSWERS on its public address",
     TAILNET_ONLY),
]


@pytest.mark.parametrize("case", cases(CASES))
def test_cloud_scenario_fails_when_lab_is_broken(tmp_path, case):
    assert_scenario_fails(tmp_path, *case, lab=LAB)


@pytest.mark.parametrize("case", cases(TRIO_CASES))
def test_cloud_breakages_work_on_another_cloud_lab(tmp_path, case):
    assert_scenario_fails(tmp_path, *case, lab=TRIO)


def test_every_cloud_scenario_passes_on_a_healthy_lab_and_has_a_breaking_case(tmp_path):
    assert_features_pass(tmp_path, FEATURES, CASES)


def assert_features_pass(tmp_path, features, cases) -> None:
    """Every scenario of `features` runs on healthy bouquet2 (none skipped) and passes; each has a case in `cases`."""
    junit = tmp_path / "junit.xml"
    code, out = run_pytest([*map(str, features), f"--lab={LAB}", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"])
    assert code == 0, out[-3000:]
    ran_cases = list(ET.parse(junit).getroot().iter("testcase"))
    names = {c.get("name") for c in ran_cases}
    skipped = [c.get("name") for c in ran_cases if c.find("skipped") is not None]
    assert skipped == [], f"not run on bouquet2: {skipped}"
    scenarios = [s for f in features for s in re.findall(r"^\s*Scenario(?: Outline)?: (.+?)\s*$", f.read_text(),
                                                          re.MULTILINE)]
    assert len(names) == len(scenarios), sorted(names)
    for scenario in scenarios:
        assert ran(names, scenario), f"{scenario!r} did not run"
    assert sorted(set(scenarios)) == sorted({c[0] for c in cases}), "every scenario needs a breaking case"
