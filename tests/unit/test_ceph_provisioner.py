"""labsim.provisioners.ceph without a lab: chart values from the lab file, planned OSDs, and verification's verdicts on
the documents the toolbox prints (a healthy cluster, and one with a worker down)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from labsim.fakes.ceph import cli
from labsim.fakes.ceph.testing import build
from labsim.provisioners.ceph import values as V
from labsim.provisioners.ceph import verify as VF
from labsim.provisioners.ceph.access import CephAccess
from labsim.provisioners.lab import load_lab
from labsim.provisioners.talos.cli import Ran, ToolError

LAB = Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml"


def test_values_follow_the_lab_file():
    cluster = load_lab(LAB).cluster("talos-east")
    vals = V.cluster_values(cluster.ceph)
    spec = vals["cephClusterSpec"]
    assert spec["mon"] == {"count": 3, "allowMultiplePerNode": False}
    assert spec["mgr"]["count"] == 2 and spec["storage"] == {"useAllNodes": True, "useAllDevices": True}
    assert vals["toolbox"] == {"enabled": True}
    pool = vals["cephBlockPools"][0]
    assert pool["name"] == "ceph-blockpool" and pool["spec"] == {"failureDomain": "host", "replicated": {"size": 3}}
    assert pool["storageClass"]["name"] == "ceph-block" and pool["storageClass"]["enabled"]
    assert vals["cephFileSystems"][0]["storageClass"]["name"] == "ceph-filesystem"
    assert vals["cephObjectStores"][0]["storageClass"]["name"] == "ceph-bucket"
    assert V.planned_osds(cluster) == {"wrk-e-1": 1, "wrk-e-2": 1, "wrk-e-3": 1}


class _Fake:
    """What verification reads, from a CephCluster built in the test (no Kubernetes)."""

    def __init__(self, c, phase="Ready", state="Created"):
        self.c, self.phase, self.state = c, phase, state

    def observe(self) -> dict:
        run = lambda *a: json.loads(cli.run(self.c, ["ceph", *a, "-f", "json"])[1])
        return {"cephcluster": {"status": {"phase": self.phase, "state": self.state, "message": "m"}},
                "status": run("status"), "health": run("health", "detail"), "tree": run("osd", "tree"),
                "pgs": run("pg", "stat")}


def _cluster():
    cluster = load_lab(LAB).cluster("talos-east")
    return cluster, build(hosts=3, pools=[("rbd", 16, 64)], names=["wrk-e-1", "wrk-e-2", "wrk-e-3"])


def test_a_healthy_cluster_verifies_clean():
    cluster, c = _cluster()
    results = VF.verify(cluster, None, _Fake(c).observe())
    assert [(r.check, r.ok) for r in results] == [("cephcluster-ready", True), ("ceph-health", True),
                                                 ("mon-quorum", True), ("osds-up-in", True), ("pgs-clean", True)]
    assert results[3].message == "3 OSDs up and in, one per planned disk"


def test_a_worker_down_fails_with_cephs_words():
    cluster, c = _cluster()
    c.host_down("wrk-e-2")
    c.clock.sleep(100)
    results = {r.check: r for r in VF.verify(cluster, None, _Fake(c, state="Created").observe())}
    assert not results["ceph-health"].ok
    assert "OSD_DOWN: 1 osds down" in results["ceph-health"].message
    assert "    osd.1 (root=default,host=wrk-e-2) is down" in results["ceph-health"].evidence["lines"]
    assert results["mon-quorum"].message.startswith("2 of 3 mons in quorum (a,c)")
    assert results["osds-up-in"].message == "osd.1 on wrk-e-2 is down and in"
    assert results["pgs-clean"].message.startswith("16 of 16 PGs not clean: 16 active+undersized+degraded")


def test_listed_devices_replace_all_devices():
    ceph = load_lab(LAB).cluster("talos-west").ceph.model_copy(update={"devices": ["vdb"]})
    assert V.cluster_values(ceph)["cephClusterSpec"]["storage"] == {
        "useAllNodes": True, "useAllDevices": False, "devices": [{"name": "vdb"}]}


class _Kubectl:
    """Tools that answer `kubectl exec ... ceph ... -f json` from a script of (rc, stdout, stderr)."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def run(self, argv, check=True):
        self.calls.append(argv)
        rc, out, err = self.answers.pop(0)
        return Ran(argv, rc, out, err)


DROPPED = "E1121 10:43:40.285703   22048 websocket.go:296] Unknown stream id 1, discarding message\n"


def test_a_query_kubectl_dropped_is_asked_again():
    tools = _Kubectl((0, "", DROPPED), (0, '{"status": "HEALTH_OK"}\n', ""))
    assert CephAccess(tools, "kc").ceph("health", "detail") == {"status": "HEALTH_OK"}
    assert len(tools.calls) == 2
    assert tools.calls[1][-7:] == ["deploy/rook-ceph-tools", "--", "ceph", "health", "detail", "-f", "json"]


def test_an_empty_answer_without_kubectls_word_is_an_error():
    tools = _Kubectl((0, "", ""))
    with pytest.raises(ToolError, match="not JSON"):
        CephAccess(tools, "kc").ceph("status")
    assert len(tools.calls) == 1


def test_the_lab_files_ceph_image_reaches_the_cephcluster():
    from types import SimpleNamespace

    from labsim.provisioners.ceph import values as V
    ceph = SimpleNamespace(namespace="rook-ceph", mons=3, mgrs=2, allow_multiple_per_node=False, use_all_devices=True,
                           devices=[], pools=[], storage_classes=[], image="quay.io/ceph/ceph:v16.2.15")
    assert V.cluster_values(ceph)["cephClusterSpec"]["cephVersion"] == {"image": "quay.io/ceph/ceph:v16.2.15"}
    ceph.image = None
    assert "cephVersion" not in V.cluster_values(ceph)["cephClusterSpec"]
