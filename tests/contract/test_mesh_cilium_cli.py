"""The fake `cilium` against two served clusters (Cilium installed by the fake helm): its lines, errors and JSON,
the way cilium-cli prints them, and the Helm values `enable`/`connect`/`disconnect` leave in the releases."""
from __future__ import annotations

import json

import pytest

from labsim.fakes.cilium import texts as T
from labsim.fakes.cilium.direct import Spec
from tests.unit.mesh_world import ServedMesh

EAST, WEST = "admin@talos-east", "admin@talos-west"
SPECS = [Spec("talos-east", 1, node_port=30001), Spec("talos-west", 2, node_port=30002)]


@pytest.fixture(scope="module")
def sm(tmp_path_factory):
    m = ServedMesh(tmp_path_factory.mktemp("mesh"), SPECS)
    yield m
    m.stop()


def values(sm, ctx: str) -> dict:
    r = sm.helm("get", "values", "cilium", "-n", "kube-system", "-o", "json", "--kube-context", ctx)
    return json.loads(r.stdout)


def test_version():
    import contextlib
    import io

    from labsim.fakes.tools.cilium import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["version", "--client"]) == 0
    assert out.getvalue().startswith("cilium-cli: v0.18.9 compiled with go")


def test_status_before_connect_says_no_cluster_connected(sm):
    r = sm.cilium("clustermesh", "status", "--context", EAST)
    assert r.rc == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:6] == [T.NODEPORT_DETECTED, '✅ Service "clustermesh-apiserver" of type "NodePort" found',
                         "✅ Cluster access information is available:", "  - 192.168.100.20:30001",
                         "✅ Deployment clustermesh-apiserver is ready", "ℹ️  KVStoreMesh is enabled"]
    assert "🔌 No cluster connected" in lines


def test_connect_refuses_different_cas_until_the_ca_is_shared(sm):
    other = ServedMesh(sm.tmp / "own-ca", SPECS, shared_ca=False)
    try:
        r = other.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST)
        assert r.rc == 1
        assert r.stderr.strip() == "Error: " + T.CONNECT_FAILED.format(
            err=T.CA_MISMATCH.format(local="talos-east", remote="talos-west"))
        r = other.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST,
                         "--allow-mismatching-ca")
        assert r.rc == 0, r.stderr
        assert T.CA_MISMATCH_ALLOWED in r.stdout and "ℹ️ Updating CA bundle on cluster talos-east" in r.stdout
        assert values(other, WEST)["tls"]["caBundle"]["enabled"] is True
        other.clock.sleep(20)
        r = other.cilium("clustermesh", "status", "--context", WEST, "--wait")
        assert r.rc == 0 and "✅ All 3 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]" in r.stdout
    finally:
        other.stop()


@pytest.mark.parametrize("key,value,message", [
    ("cluster-id", "2", T.SAME_ID.format(id="2")),
    ("cluster-id", "0", T.REMOTE_NOT_UNIQUE.format(name="talos-west", id="0")),
    ("cluster-id", "256", T.REMOTE_ID_RANGE.format(id=256, max=255)),
    ("cluster-id", "x", T.REMOTE_NON_NUMERIC.format(id="x")),
    ("max-connected-clusters", "511", T.MAX_MISMATCH.format(remote=511, local=255)),
    ("cluster-name", "talos-east", T.SAME_NAME.format(name="talos-east")),
])
def test_connect_validation_errors(sm, key, value, message):
    if key == "cluster-id" and value == "2":   # the same id as the local cluster: edit east's instead
        target, ctx = "talos-east", EAST
        message = T.SAME_ID.format(id="2")
    else:
        target, ctx = "talos-west", WEST
    kube = sm.kube(target)
    with sm.clock.lock:
        cm = kube.get("configmaps", "cilium-config", "kube-system")
        saved = dict(cm["data"])
        cm["data"][key] = value
        kube.update("configmaps", cm, "kube-system")
    try:
        r = sm.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST)
    finally:
        with sm.clock.lock:
            cm = kube.get("configmaps", "cilium-config", "kube-system")
            cm["data"] = saved
            kube.update("configmaps", cm, "kube-system")
    assert r.rc == 1 and r.stderr.strip() == f"Error: {T.CONNECT_FAILED.format(err=message)}", (ctx, r.stderr)


def test_enable_prints_the_nodeport_warning_and_refuses_unknown_types(sm):
    r = sm.cilium("clustermesh", "enable", "--context", EAST, "--service-type", "NodePort")
    assert r.rc == 0 and r.stdout.strip() == T.ENABLE_NODEPORT
    v = values(sm, EAST)["clustermesh"]
    assert v["useAPIServer"] is True and v["apiserver"]["service"] == {"type": "NodePort", "nodePort": 30001}
    r = sm.cilium("clustermesh", "enable", "--context", EAST, "--service-type", "ClusterIP")
    assert r.rc == 1 and r.stderr.strip() == 'Error: Unable to enable ClusterMesh: service type "ClusterIP" is not valid'
    r = sm.cilium("clustermesh", "enable", "--context", EAST)
    assert r.rc == 1 and T.ENABLE_AUTODETECT in r.stderr


def test_connect_then_status_waits_until_every_node_is_connected(sm):
    r = sm.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST)
    assert r.rc == 0, r.stderr
    assert r.stdout.splitlines()[-3:] == [
        "ℹ️ Configuring Cilium in cluster talos-east to connect to cluster talos-west",
        "ℹ️ Configuring Cilium in cluster talos-west to connect to cluster talos-east",
        "✅ Connected cluster talos-east <=> talos-west!"]
    assert values(sm, EAST)["clustermesh"]["config"]["clusters"] == [
        {"name": "talos-west", "ips": ["192.168.101.20"], "port": 30002}]
    r = sm.cilium("clustermesh", "status", "--context", EAST, "--wait")
    assert r.rc == 0, r.stderr
    assert "✅ All 3 nodes are connected to all clusters [min:1 / avg:1.0 / max:1]" in r.stdout
    assert "✅ All 1 KVStoreMesh replicas are connected to all clusters [min:1 / avg:1.0 / max:1]" in r.stdout
    assert "  - talos-west: 3/3 configured, 3/3 connected - KVStoreMesh: 1/1 configured, 1/1 connected" in r.stdout


def test_status_json_has_cilium_clis_fields(sm):
    r = sm.cilium("clustermesh", "status", "--context", WEST, "-o", "json")
    assert r.rc == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"access_information", "connectivity", "kvstoremesh"}
    ai = doc["access_information"]
    assert {k: ai[k] for k in ("service_type", "service_ips", "service_port", "cluster_id", "cluster_name",
                               "tunnel", "max_connected_clusters")} == {
        "service_type": "NodePort", "service_ips": ["192.168.101.20"], "service_port": 30002, "cluster_id": "2",
        "cluster_name": "talos-west", "tunnel": "vxlan", "max_connected_clusters": 255}
    assert doc["connectivity"] == {"connected": {"min": 1, "avg": 1.0, "max": 1},
                                   "clusters": {"talos-east": {"configured": 3, "connected": 3}}, "total": 3}
    assert doc["kvstoremesh"]["enabled"] is True and doc["kvstoremesh"]["status"]["total"] == 1
    assert T.NODEPORT_DETECTED in r.stderr          # log lines go to stderr with -o json


def test_status_json_is_cilium_clis_struct_as_encoding_json_writes_it(sm):
    """cilium/cilium cilium-cli/clustermesh/clustermesh.go: Status{access_information, connectivity, kvstoremesh},
    accessInformation's fields in struct order (no client certificate or key since the CLI stopped exporting them),
    `connected` always present (a struct), whole float64s without a fraction, json.MarshalIndent(s, "", " ")."""
    r = sm.cilium("clustermesh", "status", "--context", EAST, "-o", "json")
    assert r.rc == 0, r.stderr
    doc = json.loads(r.stdout)
    assert list(doc) == ["access_information", "connectivity", "kvstoremesh"]
    assert list(doc["access_information"]) == ["service_type", "service_ips", "service_port", "cluster_id",
                                               "cluster_name", "ca", "tunnel", "max_connected_clusters"]
    assert list(doc["connectivity"]) == ["connected", "clusters", "total"]
    assert list(doc["kvstoremesh"]) == ["enabled", "status"]
    assert '\n   "avg": 1,\n' in r.stdout and r.stdout.startswith('{\n "access_information": {\n  "service_type"')
    for a in sm.dm.members["talos-east"].addresses.values():          # now every node loses talos-west
        sm.dm.network.cut[frozenset((a, "192.168.101.20"))] = "cut"
    try:
        sm.clock.sleep(5)
        r = sm.cilium("clustermesh", "status", "--context", EAST, "-o", "json", "--wait", "--wait-duration", "10s")
        assert r.rc == 0, r.stderr          # -o json: the JSON is printed and the command succeeds regardless
        conn = json.loads(r.stdout)["connectivity"]
        assert conn["connected"] == {} and conn["not_ready"] == 3 and conn["total"] == 3
        assert list(conn["errors"]) == sorted(conn["errors"])
        first = next(iter(conn["errors"].values()))
        assert first == {"talos-west": {"Errors": [{}], "Warnings": None, "Disabled": False}}
        assert "⌛ Waiting (" in r.stderr
    finally:
        sm.dm.network.cut.clear()
        sm.clock.sleep(10)


def test_status_with_identities_in_an_external_kvstore_skips_the_clustermesh_apiserver(sm):
    """GetClusterConfig: `identity-allocation-mode` other than crd means an external etcd, so Status prints that
    instead of the clustermesh-apiserver's Service, access information and Deployment, and KVStoreMesh is off."""
    kube = sm.kube("talos-east")
    with sm.clock.lock:
        cm = kube.get("configmaps", "cilium-config", "kube-system")
        assert cm["data"]["identity-allocation-mode"] == "crd"        # what the chart renders by default
        cm["data"]["identity-allocation-mode"] = "kvstore"
        kube.update("configmaps", cm, "kube-system")
    try:
        r = sm.cilium("clustermesh", "status", "--context", EAST)
        assert r.rc == 0, r.stderr
        assert r.stdout.splitlines()[0] == T.EXTERNAL_KVSTORE and "clustermesh-apiserver" not in r.stdout
        assert "✅ All 3 nodes are connected to all clusters" in r.stdout
        doc = json.loads(sm.cilium("clustermesh", "status", "--context", EAST, "-o", "json").stdout)
        assert list(doc) == ["connectivity", "kvstoremesh"] and doc["kvstoremesh"] == {"enabled": False}
    finally:
        with sm.clock.lock:
            cm = kube.get("configmaps", "cilium-config", "kube-system")
            cm["data"]["identity-allocation-mode"] = "crd"
            kube.update("configmaps", cm, "kube-system")


def test_status_names_the_nodes_not_connected_and_why(sm):
    for a in sm.dm.members["talos-east"].addresses.values():
        sm.dm.network.cut[frozenset((a, "192.168.101.20"))] = "cut"
    try:
        sm.clock.sleep(5)
        r = sm.cilium("clustermesh", "status", "--context", EAST)
        out = r.stdout
        assert "⚠️  3/3 nodes are not connected to all clusters [min:0 / avg:0.0 / max:0]" in out
        assert "⚠️  1/1 KVStoreMesh replicas are not connected to all clusters [min:0 / avg:0.0 / max:0]" in out
        assert T.ERRORS.format(count=4) in out
        kvs = [line for line in out.splitlines() if line.startswith("  ❌ clustermesh-apiserver-")]
        assert kvs and kvs[0].endswith(f"is not connected to cluster talos-west: {T.ETCD_UNREACHABLE}")
        assert "-c kvstoremesh -- clustermesh-apiserver kvstoremesh-dbg troubleshoot talos-west' to investigate" in out
        agents = [line for line in out.splitlines() if line.startswith("  ❌ cilium-")]
        assert len(agents) == 3 and all(line.endswith(T.CONFIG_REQUIRED) for line in agents)
        assert T.HINT_KVSTOREMESH in out
        r = sm.cilium("clustermesh", "status", "--context", EAST, "--wait", "--wait-duration", "30s")
        assert r.rc == 1 and "⌛ Waiting (" in r.stdout
        assert r.stderr.strip().endswith("1 KVStoreMesh replicas are not ready: context deadline exceeded")
    finally:
        sm.dm.network.cut.clear()
        sm.clock.sleep(10)


def test_apiserver_scaled_to_zero_fails_the_status_until_it_returns(sm):
    with sm.clock.lock:
        sm.kube("talos-east").patch("deployments", "clustermesh-apiserver", {"spec": {"replicas": 0}}, "kube-system")
    sm.clock.sleep(5)
    r = sm.cilium("clustermesh", "status", "--context", EAST)
    assert r.rc == 1 and r.stderr.strip() == ("Error: Unable to determine status:  deployment clustermesh-apiserver "
                                              "is not ready: replicas count is zero")
    with sm.clock.lock:
        sm.kube("talos-east").patch("deployments", "clustermesh-apiserver", {"spec": {"replicas": 1}}, "kube-system")
    r = sm.cilium("clustermesh", "status", "--context", EAST, "--wait")
    assert r.rc == 0 and "✅ All 3 nodes are connected to all clusters" in r.stdout


def test_cilium_status_summary(sm):
    r = sm.cilium("status", "--context", WEST)
    assert r.rc == 0
    assert " \\__/¯¯\\__/    Hubble Relay:       disabled" in r.stdout
    assert "    \\__/       ClusterMesh:        OK" in r.stdout
    assert "Helm chart version:    1.18.5" in r.stdout


def test_connect_to_endpoints_given_by_hand(sm):
    r = sm.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST,
                  "--destination-endpoint", "192.168.101.21:30002")
    assert r.rc == 0, r.stderr
    assert "ℹ️  Found ClusterMesh service IPs: [192.168.101.21]" in r.stdout
    assert values(sm, EAST)["clustermesh"]["config"]["clusters"] == [
        {"name": "talos-west", "ips": ["192.168.101.21"], "port": 30002}]
    r = sm.cilium("clustermesh", "status", "--context", EAST, "--wait", "--wait-duration", "1m")
    assert r.rc == 0 and "✅ All 3 nodes are connected to all clusters" in r.stdout, r.stdout + r.stderr
    r = sm.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST,
                  "--destination-endpoint", "192.168.101.21:30002,192.168.101.22:30003")
    assert r.rc == 1 and r.stderr.strip() == ("Error: Unable to connect cluster: port mismatch (30002 != 30003), all "
                                              "endpoints must use the same port number")
    r = sm.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST)     # back to the Service
    assert r.rc == 0 and values(sm, EAST)["clustermesh"]["config"]["clusters"][0]["ips"] == ["192.168.101.20"]


def test_disconnect_removes_both_sides(sm):
    r = sm.cilium("clustermesh", "disconnect", "--context", EAST, "--destination-context", WEST)
    assert r.rc == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "✅ Disconnected clusters talos-east <x> talos-west!"
    assert values(sm, EAST)["clustermesh"]["config"]["clusters"] == []
    assert values(sm, WEST)["clustermesh"]["config"]["clusters"] == []
    sm.clock.sleep(10)
    assert not sm.dm.layer.mesh.cache
    r = sm.cilium("clustermesh", "disconnect", "--context", EAST)
    assert r.rc == 1 and T.NO_DESTINATION in r.stderr


# --- the command line, as cobra takes it -------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,rc,stderr", [
    (["statsu"], 1, 'unknown command "statsu" for "cilium"\n\nDid you mean this?\n\tstatus\n\n'),
    (["frobnicate"], 1, 'unknown command "frobnicate" for "cilium"\n'),
    (["clustermesh", "status", "--foo"], 1, "unknown flag: --foo\n"),
    (["clustermesh", "status", "-x"], 1, "unknown shorthand flag: 'x' in -x\n"),
    (["clustermesh", "connect", "--destination-context"], 1, "flag needs an argument: --destination-context\n"),
    (["clustermesh", "status", "-o"], 1, "flag needs an argument: 'o' in -o\n"),
    (["clustermesh", "status", "--wait-duration", "soon"], 1,
     'invalid argument "soon" for "--wait-duration" flag: time: invalid duration "soon"\n'),
    (["clustermesh", "status", "--wait=maybe"], 1,
     'invalid argument "maybe" for "--wait" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n'),
    (["clustermesh", "connect", "--parallel", "two"], 1,
     'invalid argument "two" for "--parallel" flag: strconv.ParseInt: parsing "two": invalid syntax\n'),
])
def test_bad_command_lines_fail_with_cobras_errors(argv, rc, stderr):
    r = _run(argv)
    assert (r.rc, r.stderr, r.stdout) == (rc, stderr, ""), r


def test_a_group_without_a_known_subcommand_prints_its_help_and_succeeds():
    for argv in (["clustermesh"], ["clustermesh", "frobnicate"], ["clustermesh", "status", "--help"]):
        r = _run(argv)
        assert r.rc == 0 and r.stderr == "" and "Usage:\n  cilium clustermesh" in r.stdout, r
    assert "  connect     Connect to a remote cluster" in _run(["clustermesh"]).stdout
    usage = _run(["clustermesh", "status", "-h"]).stdout    # pflag's columns: 3 spaces after the longest
    assert "\n  -o, --output string            Output format. One of: json, summary (default \"summary\")\n" in usage
    assert "\n      --wait-duration duration   Maximum time to wait (default 15m0s)\n" in usage


def test_flags_go_anywhere_in_any_spelling(sm):
    for argv in (["--context", EAST, "clustermesh", "status", "-ojson"],
                 ["clustermesh", "--context=" + EAST, "status", "--output=json", "--wait=false"],
                 ["clustermesh", "status", "-o=json", "--context", EAST, "--", "ignored"]):
        r = sm.cilium(*argv)
        assert r.rc == 0 and json.loads(r.stdout)["access_information"]["cluster_name"] == "talos-east", argv


def test_a_bad_connection_mode_is_refused_with_the_modes_listed(sm):
    r = sm.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST,
                  "--connection-mode", "star")
    assert r.rc == 1 and r.stdout.splitlines() == ["❌ star is not a correct connection mode.",
                                                   "Available connection modes: bidirectional, mesh, unicast"]
    assert r.stderr.strip() == "Error: Unable to connect cluster: Bad connection mode"


def _run(argv):
    import contextlib
    import io

    from labsim.fakes.tools.cilium import main
    from tests.unit.mesh_world import Ran
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return Ran(rc, out.getvalue(), err.getvalue())


def test_connection_modes_unicast_and_mesh(tmp_path):
    """--connection-mode: unicast configures the local cluster only; mesh connects every given cluster to every
    other (cilium-cli ConnectWithHelm)."""
    specs = SPECS + [Spec("picluster", 3, node_port=30003)]
    three = ServedMesh(tmp_path, specs)
    try:
        def clusters(ctx):
            cfg = values(three, ctx)["clustermesh"].get("config") or {}
            return sorted(c["name"] for c in cfg.get("clusters") or [])
        r = three.cilium("clustermesh", "connect", "--context", EAST, "--destination-context", WEST,
                         "--connection-mode", "unicast")
        assert r.rc == 0, r.stderr
        assert (clusters(EAST), clusters(WEST)) == (["talos-west"], [])
        r = three.cilium("clustermesh", "connect", "--context", EAST, "--destination-context",
                         f"{WEST},admin@picluster", "--connection-mode", "mesh")
        assert r.rc == 0, r.stderr
        assert "ℹ️ Configuring Cilium in cluster talos-west to connect to cluster talos-east,picluster" in r.stdout
        assert [clusters(c) for c in (EAST, WEST, "admin@picluster")] == [
            ["picluster", "talos-west"], ["picluster", "talos-east"], ["talos-east", "talos-west"]]
        r = three.cilium("clustermesh", "status", "--context", "admin@picluster", "--wait", "--wait-duration", "2m")
        assert r.rc == 0 and "✅ All 3 nodes are connected to all clusters [min:2 / avg:2.0 / max:2]" in r.stdout
    finally:
        three.stop()
