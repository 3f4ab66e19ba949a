"""Rook's face: the charts' objects, the operator's steps and CephCluster status, the prepare job's disk verdicts,
PodSecurity's refusal, and the toolbox through `kubectl exec`, on a simulated Kubernetes without Talos."""
from __future__ import annotations

import json

import pytest

from labsim.fakes.ceph import charts, podsecurity, rook_objects, toolbox
from labsim.fakes.ceph.disks import judge, prepare_log
from labsim.fakes.ceph.model import Disk
from labsim.fakes.ceph.rook import RookOperator
from labsim.fakes.ceph.tunables import GIB
from labsim.fakes.kube.testing import find_kubectl, start_kube_lab

NS = "rook-ceph"
RESOURCES = {"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps",
             "CustomResourceDefinition": "customresourcedefinitions.apiextensions.k8s.io",
             "ClusterRole": "clusterroles.rbac.authorization.k8s.io",
             "ClusterRoleBinding": "clusterrolebindings.rbac.authorization.k8s.io", "Deployment": "deployments.apps",
             "StorageClass": "storageclasses.storage.k8s.io", "CephCluster": "cephclusters.ceph.rook.io",
             "CephBlockPool": "cephblockpools.ceph.rook.io", "CephFilesystem": "cephfilesystems.ceph.rook.io",
             "CephObjectStore": "cephobjectstores.ceph.rook.io"}


def _install(kube, cluster_values: dict | None = None) -> None:
    """What `helm install` of both charts creates, straight into the store."""
    objs = charts.render_operator(charts.merge(charts.OPERATOR_DEFAULTS, {}), release="rook-ceph", namespace=NS,
                                  version="1.18.6")
    values = cluster_values or {"toolbox": {"enabled": True}}
    objs += charts.render_cluster(charts.merge(charts.CLUSTER_DEFAULTS, values),
                                  release="rook-ceph-cluster", namespace=NS, version="1.18.6")
    for o in objs:
        kube.create(RESOURCES[o["kind"]], o, o["metadata"].get("namespace"))


@pytest.fixture
def rook(tmp_path):
    with start_kube_lab(tmp_path, workers=3) as lab:
        kube = lab.cluster
        kube.create("namespaces", {"metadata": {"name": NS, "labels": {podsecurity.LABEL: "privileged"}}})
        disks = {f"worker-{i}": [Disk("/dev/vda", 24 * GIB, partitions=6, system=True), Disk("/dev/vdb", 64 * GIB)]
                 for i in (1, 2, 3)}
        lab.disks = disks
        lab.op = RookOperator(kube, disks=lambda n: disks.get(n, [])).start()
        toolbox.install(lab.op)
        yield lab


def _status(lab) -> dict:
    return lab.cluster.get("cephclusters.ceph.rook.io", NS, NS).get("status") or {}


def test_the_operator_walks_rooks_steps_to_ready_and_health_ok(rook):
    _install(rook.cluster)
    messages, healths = [], []
    for _ in range(120):
        rook.clock.sleep(5)
        st = _status(rook)
        if st.get("message") and (not messages or messages[-1] != st["message"]):
            messages.append(st["message"])
        if (st.get("ceph") or {}).get("health") and (not healths or healths[-1] != st["ceph"]["health"]):
            healths.append(st["ceph"]["health"])
        if st.get("phase") == "Ready" and st["ceph"]["health"] == "HEALTH_OK":
            break
    assert messages[:4] == ["Detecting Ceph version", "Configuring Ceph Mons", "Configuring Ceph Mgr(s)",
                            "Configuring Ceph OSDs"]
    assert any(m.startswith('Processing OSD ') and m.endswith('on node "worker-3"') for m in messages)
    assert messages[-1] == "Cluster created successfully"
    assert healths[0] == "HEALTH_WARN" and healths[-1] == "HEALTH_OK"
    st = _status(rook)
    assert (st["phase"], st["state"]) == ("Ready", "Created")
    assert st["conditions"][0]["type"] == "Ready" and st["conditions"][0]["reason"] == "ClusterCreated"
    ceph = st["ceph"]
    assert ceph["previousHealth"] == "HEALTH_WARN" and ceph["lastChanged"] == ceph["lastChecked"]
    assert ceph["capacity"]["bytesTotal"] == 3 * 64 * GIB
    assert ceph["fsid"] == rook.op.ceph().fsid and set(ceph["versions"]) == {"mon", "mgr", "osd", "overall"}
    assert st["storage"]["osd"] == {"storeType": {"bluestore": 3}}
    pools = {p.name for p in rook.op.ceph().pools.values()}
    assert {".mgr", "ceph-blockpool", "ceph-filesystem-metadata", "ceph-filesystem-data0", ".rgw.root",
            "ceph-objectstore.rgw.buckets.data"} <= pools
    assert sum(p.pg_num for p in rook.op.ceph().pools.values()) == 169
    bp = rook.cluster.get("cephblockpools.ceph.rook.io", "ceph-blockpool", NS)["status"]
    assert bp == {"phase": "Ready", "observedGeneration": 1, "info": {"type": "Replicated", "failureDomain": "host"}}


def _ready(rook, install: bool = True) -> None:
    if install:
        _install(rook.cluster)
    for _ in range(120):
        rook.clock.sleep(5)
        st = _status(rook)
        if st.get("phase") == "Ready" and (st.get("ceph") or {}).get("health") == "HEALTH_OK":
            return
    raise AssertionError(f"not ready: {_status(rook)}")


def test_the_status_follows_a_lost_node_once_a_minute(rook):
    _ready(rook)
    rook.op.host_down("worker-2")
    rook.clock.sleep(90)
    ceph = _status(rook)["ceph"]
    assert ceph["health"] == "HEALTH_WARN"
    assert ceph["details"]["OSD_DOWN"] == {"severity": "HEALTH_WARN", "message": "1 osds down"}
    assert ceph["details"]["MON_DOWN"]["message"].startswith("1/3 mons down, quorum ")
    assert ceph["previousHealth"] == "HEALTH_OK"


def test_without_quorum_the_status_is_an_urgent_error(rook):
    _ready(rook)
    rook.op.host_down("worker-1")
    rook.op.host_down("worker-2")
    rook.clock.sleep(70)
    st = _status(rook)
    assert st["ceph"]["health"] == "HEALTH_ERR"
    assert st["ceph"]["details"]["error"]["severity"] == "Urgent"
    assert (st["phase"], st["state"], st["message"]) == ("Ready", "Error", "Failed to configure ceph cluster")
    assert st["conditions"][0]["status"] == "False"


def test_a_disk_that_is_not_blank_gets_no_osd_and_the_prepare_log_says_why(rook):
    rook.disks["worker-3"][1] = Disk("/dev/vdb", 64 * GIB, filesystem="xfs")
    _install(rook.cluster)
    rook.clock.sleep(400)
    ceph = rook.op.ceph()
    assert sorted(o.host for o in ceph.osds.values()) == ["worker-1", "worker-2"]
    assert _status(rook)["ceph"]["details"]["TOO_FEW_OSDS"]["message"] == "OSD count 2 < osd_pool_default_size 3"
    pod = rook.cluster.list("pods", NS, labels="app=rook-ceph-osd-prepare",
                            fields="spec.nodeName=worker-3")[0]["metadata"]["name"]
    log = "\n".join(line for _, line in rook.cluster.logs[(NS, pod, "provision")])
    assert 'cephosd: skipping device "vdb" because it contains a filesystem "xfs"' in log
    assert 'skipping OSD configuration as no devices matched the storage settings for this node "worker-3"' in log


@pytest.mark.skipif(find_kubectl() is None, reason="kubectl is not installed")
def test_the_toolbox_answers_through_kubectl_exec(rook):
    _install(rook.cluster)
    rook.clock.sleep(20)
    r = rook.kubectl("-n", NS, "exec", "deploy/rook-ceph-tools", "--", "ceph", "status")
    assert r.returncode == 1 and "RADOS object not found" in r.stderr        # no cluster config yet
    _ready(rook, install=False)
    r = rook.kubectl("-n", NS, "exec", "deploy/rook-ceph-tools", "--", "ceph", "status", "-f", "json")
    doc = json.loads(r.stdout)
    assert doc["health"]["status"] == "HEALTH_OK" and doc["pgmap"]["num_pgs"] == 169
    r = rook.kubectl("-n", NS, "get", "cephcluster")
    head, row = r.stdout.splitlines()[:2]
    assert head.split()[:8] == ["NAME", "DATADIRHOSTPATH", "MONCOUNT", "AGE", "PHASE", "MESSAGE", "HEALTH", "EXTERNAL"]
    assert "Ready   Cluster created successfully   HEALTH_OK" in row


@pytest.mark.parametrize("disk,verdict", [
    (Disk("/dev/vdb", 64 * GIB), 'cephosd: device "vdb" is available.'),
    (Disk("/dev/vdb", 64 * GIB, filesystem="ext4"), ('cephosd: skipping device "vdb" because it contains a '
                                                    'filesystem "ext4"')),
    (Disk("/dev/vdb", 64 * GIB, partitions=2), ('cephosd: skipping device "vdb": ["Has GPT headers", '
                                               '"Has partitions"].')),
    (Disk("/dev/vdc", 4 * GIB), 'cephosd: skipping device "vdc": ["Insufficient space (<5GB)"].'),
])
def test_prepare_verdicts(disk, verdict):
    assert judge(disk).log == verdict


def test_only_listed_devices_when_not_all():
    ok, log = prepare_log("n1", [Disk("/dev/vdb", 64 * GIB), Disk("/dev/vdc", 64 * GIB)], use_all=False,
                          devices=["vdc"])
    assert [d.dev for d in ok] == ["/dev/vdc"]
    assert 'skipping device "vdb" that does not match the device filter/list' in log


def test_podsecurity_refuses_rooks_daemons_without_the_privileged_label():
    osd = rook_objects.osd(NS, 0, "wrk-e-1", "/dev/vdb", "quay.io/ceph/ceph:v19.2.3", "f", "u")
    pod = {"metadata": {"name": "rook-ceph-osd-0-5d8f9c7b8-abcde"}, "spec": osd["spec"]["template"]["spec"]}
    msg = podsecurity.refusal(pod, {"metadata": {"name": NS}})
    assert msg.startswith('pods "rook-ceph-osd-0-5d8f9c7b8-abcde" is forbidden: violates PodSecurity '
                          '"baseline:latest": privileged (containers "activate", "osd" must not set '
                          'securityContext.privileged=true), hostPath volumes (volumes "rook-ceph-log", ')
    ns = {"metadata": {"name": NS, "labels": {podsecurity.LABEL: "privileged"}}}
    assert podsecurity.refusal(pod, ns) is None
    op = charts.render_operator(charts.merge(charts.OPERATOR_DEFAULTS, {}), release="r", namespace=NS, version="1.18.6")
    dep = next(o for o in op if o["kind"] == "Deployment")
    assert podsecurity.refusal({"metadata": {"name": "op"}, "spec": dep["spec"]["template"]["spec"]}, None) is None


def test_chart_values_shape_the_cluster():
    objs = charts.render_cluster(charts.merge(charts.CLUSTER_DEFAULTS, {"cephFileSystems": [], "cephObjectStores": [],
                                                                        "cephClusterSpec": {"mon": {"count": 1}}}),
                                 release="rook-ceph-cluster", namespace=NS, version="1.18.6")
    kinds = [o["kind"] for o in objs]
    assert kinds == ["StorageClass", "CephCluster", "CephBlockPool"]       # no toolbox unless enabled
    cc = objs[1]
    assert cc["metadata"]["name"] == NS and cc["spec"]["mon"] == {"count": 1, "allowMultiplePerNode": False}
    sc = objs[0]
    assert sc["provisioner"] == "rook-ceph.rbd.csi.ceph.com" and sc["parameters"]["pool"] == "ceph-blockpool"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_without_the_label_podsecurity_refuses_the_mons_and_rook_waits(tmp_path):
    with start_kube_lab(tmp_path, workers=3) as lab:
        kube = lab.cluster
        kube.admission.append(podsecurity.admission(kube))      # what Talos's API server enforces
        kube.create("namespaces", {"metadata": {"name": NS}})
        RookOperator(kube, disks=lambda n: [Disk("/dev/vdb", 64 * GIB)]).start()
        _install(kube)
        lab.clock.sleep(300)
        st = kube.get("cephclusters.ceph.rook.io", NS, NS)["status"]
        assert (st["phase"], st["message"]) == ("Progressing", "Configuring Ceph Mons")
        assert kube.list("pods", NS, labels="app=rook-ceph-mon") == []
        assert [p["status"]["phase"] for p in kube.list("pods", NS, labels="app=rook-ceph-operator")] == ["Running"]
        events = [e["message"] for e in kube.list("events", NS) if e["reason"] == "FailedCreate"]
        assert any(m.startswith('Error creating: pods "rook-ceph-mon-a-') and
                   'is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volumes "rook-ceph-log"'
                   in m for m in events), events


def test_the_toolbox_answers_the_kubernetes_clients_stream(rook):
    """The same toolbox through the `kubernetes` client's `stream()` (v5 over WebSocket), as lab code in Python
    would reach it."""
    from kubernetes import client
    from kubernetes.stream import stream
    _ready(rook)
    v1 = client.CoreV1Api(rook.api_client())
    pod = rook.cluster.list("pods", NS, labels="app=rook-ceph-tools")[0]["metadata"]["name"]
    out = stream(v1.connect_get_namespaced_pod_exec, pod, NS, command=["ceph", "health", "detail", "-f", "json"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert json.loads(out) == {"status": "HEALTH_OK", "checks": {}, "mutes": []}
    resp = stream(v1.connect_get_namespaced_pod_exec, pod, NS, command=["ceph", "osd", "frobnicate"], stderr=True,
                  stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=10)
    assert resp.returncode == 22 and resp.read_stderr().endswith("Error EINVAL: invalid command\n")


def test_the_cluster_runs_the_release_of_its_ceph_image(rook):
    """Rook's `cephVersion.image` sets the simulated release (labsim/fakes/ceph/versions.py): its version line,
    its mgr pool; a release the simulator does not model stops the CephCluster with a clear message."""
    _install(rook.cluster, {"toolbox": {"enabled": True},
                            "cephClusterSpec": {"cephVersion": {"image": "quay.io/ceph/ceph:v16.2.15"}}})
    for _ in range(120):
        rook.clock.sleep(5)
        if _status(rook).get("phase") == "Ready" and rook.op.ceph().active_mgr:
            break
    c = rook.op.ceph()
    assert _status(rook)["version"] == {"image": "quay.io/ceph/ceph:v16.2.15", "version": "16.2.15-0"}
    assert c.release.line.startswith("ceph version 16.2.15 ") and c.release.name == "pacific"
    assert "device_health_metrics" in {p.name for p in c.pools.values()}


def test_an_unmodelled_ceph_release_fails_the_cephcluster_in_words(tmp_path):
    with start_kube_lab(tmp_path, workers=3) as lab:
        lab.cluster.create("namespaces", {"metadata": {"name": NS, "labels": {podsecurity.LABEL: "privileged"}}})
        op = RookOperator(lab.cluster, disks=lambda n: []).start()
        _install(lab.cluster, {"cephClusterSpec": {"cephVersion": {"image": "quay.io/ceph/ceph:v12.2.13"}}})
        lab.clock.sleep(60)
        st = _status(lab)
        assert st["phase"] == "Failure" and "unsupported Ceph version '12.2.13'" in st["message"]
        assert op.ceph() is None
