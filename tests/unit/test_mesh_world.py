"""The mesh world on clusters built directly (labsim/fakes/cilium/direct.py): connectivity computed from the network,
the trust between CAs and the clustermesh-apiserver, KVStoreMesh, caches and cacheTTL, and the datapath as probes
see it (splits, affinity, failover, dead backends, overlapping pod CIDRs, the Envoy canary)."""
from __future__ import annotations

import pytest

from labsim.fakes.cilium import texts as T
from labsim.fakes.cilium.direct import DirectMesh, Spec
from labsim.provisioners.mesh import demo
from tests.unit.mesh_world import deploy, probe, put, read, scale


def mesh(*specs: Spec, connect: bool = True, **kw) -> DirectMesh:
    dm = DirectMesh(list(specs) or [Spec("east", 1), Spec("west", 2)], **kw)
    dm.clock.sleep(10)
    if connect:
        dm.full_mesh()
        dm.clock.sleep(15)
    return dm


def statuses(dm: DirectMesh, cluster: str) -> dict[str, dict]:
    m = dm.layer.mesh
    v = m.view(dm.members[cluster])
    with dm.clock.lock:
        return {p.name: m.pod_status(cluster, p.name) for p in v.agent_pods + v.apiservers}


def test_connected_agents_and_kvstoremesh_report_ready():
    dm = mesh()
    for pod, st in statuses(dm, "east").items():
        assert st["clusters"]["west"]["ready"], (pod, st)
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    # with KVStoreMesh the agents read the remote cluster from their own clustermesh-apiserver
    assert "clustermesh-apiserver.kube-system.svc:2379" in agent["clusters"]["west"]["status"]


def test_without_kvstoremesh_agents_dial_the_remote_nodeport():
    dm = mesh(Spec("east", 1, kvstoremesh=False), Spec("west", 2, kvstoremesh=False))
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert agent["clusters"]["west"]["ready"]
    assert "https://west.mesh.cilium.io:30002" in agent["clusters"]["west"]["status"]


def test_a_cut_network_disconnects_with_the_etcd_client_error():
    dm = mesh(Spec("east", 1, kvstoremesh=False), Spec("west", 2, kvstoremesh=False))
    for a in dm.members["east"].addresses.values():
        dm.network.cut[frozenset((a, "192.168.101.20"))] = "cut by the test"
    dm.clock.sleep(5)
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert agent["clusters"]["west"] == {"name": "west", "connected": False, "ready": False,
                                         "status": T.ETCD_UNREACHABLE}


def test_kvstoremesh_cut_shows_as_missing_configuration_in_the_agents():
    dm = mesh()
    for a in dm.members["east"].addresses.values():
        dm.network.cut[frozenset((a, "192.168.101.20"))] = "cut"
    dm.clock.sleep(5)
    st = statuses(dm, "east")
    agent = next(s for pod, s in st.items() if pod.startswith("cilium-"))
    kvs = next(s for pod, s in st.items() if pod.startswith("clustermesh-apiserver"))
    assert agent["clusters"]["west"]["connected"] and agent["clusters"]["west"]["config"]["retrieved"] is False
    assert kvs["clusters"]["west"]["status"] == T.ETCD_UNREACHABLE


def test_the_same_nodeport_in_both_clusters_reaches_the_local_apiserver():
    """cilium/cilium#24692: with kube-proxy replacement the local socket LB takes the shared NodePort."""
    dm = mesh(Spec("east", 1, node_port=32379, kvstoremesh=False), Spec("west", 2, node_port=32379, kvstoremesh=False))
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert agent["clusters"]["west"]["connected"] and not agent["clusters"]["west"]["config"]["retrieved"]


def test_clusters_with_different_cas_cannot_connect():
    dm = mesh(Spec("east", 1, kvstoremesh=False), Spec("west", 2, kvstoremesh=False), shared_ca=False)
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert not agent["clusters"]["west"]["connected"]


def test_one_to_three_replicas_split_about_25_75_and_requests_all_succeed():
    dm = mesh()
    deploy(dm, "echo", {"east": 1, "west": 3})
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "echo", 1000)
    assert res.summary == {"requests": 1000, "ok": 1000, "failed": 0}
    east = res.counts()["east"] / 1000
    assert 0.21 < east < 0.29, res.counts()


def test_affinity_local_stays_local_then_fails_over_when_local_backends_go():
    dm = mesh()
    deploy(dm, "echo-local", {"east": 2, "west": 2}, affinity="local")
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "echo-local", 100)
    assert res.counts() == {"east": 100}
    scale(dm, "east", "echo-local", 0)
    dm.clock.sleep(5)
    _, res = probe(dm, "east", "echo-local", 100)
    assert res.counts() == {"west": 100}


def test_a_lost_cluster_keeps_failing_without_cache_ttl_and_recovers_with_it():
    for ttl, recovered in (("0s", False), ("1m", True)):
        dm = mesh(Spec("east", 1, values={"clustermesh": {"cacheTTL": ttl}}), Spec("west", 2))
        deploy(dm, "echo", {"east": 1, "west": 3})
        dm.clock.sleep(10)
        dm.members["west"].down |= set(dm.members["west"].addresses)
        dm.members["west"].api = False
        dm.clock.sleep(5)
        _, res = probe(dm, "east", "echo", 200)
        assert 0.6 < len(res.failed) / 200 < 0.9, res.counts()
        assert T.CURL_TIMEOUT.format(ms=2002) in res.failed[0].error
        dm.clock.sleep(120)
        _, res = probe(dm, "east", "echo", 100)
        assert (res.counts() == {"east": 100}) is recovered, (ttl, res.counts())


def test_overlapping_pod_cidrs_break_pod_traffic_to_the_other_cluster():
    dm = mesh(Spec("east", 1, pod_subnet="10.244.0.0/16"), Spec("west", 2, pod_subnet="10.244.0.0/16"))
    deploy(dm, "echo", {"west": 2})
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "echo", 50)
    assert not res.ok and len(res.failed) == 50


def test_a_service_without_backends_refuses_and_an_unknown_one_does_not_resolve():
    dm = mesh()
    deploy(dm, "echo", {})
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "echo", 5)
    assert res.failed[0].error == T.CURL_REFUSED.format(host="echo.mesh-demo.svc.cluster.local", port=8080)
    _, res = probe(dm, "east", "nothing", 5)
    assert res.failed[0].error == T.CURL_RESOLVE.format(host="nothing.mesh-demo.svc.cluster.local")


def test_the_envoy_canary_splits_by_weight_and_falls_back_through_affinity():
    dm = mesh()
    deploy(dm, "echo-local", {"east": 2, "west": 2}, affinity="local")
    deploy(dm, "echo-remote", {"east": 2, "west": 2}, affinity="remote")
    for c in dm.members:
        put(dm, c, demo.entry_service("echo-canary", "mesh-demo"))
        put(dm, c, demo.envoy_config("echo-canary", "mesh-demo", {"echo-local": 25, "echo-remote": 75}))
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "echo-canary", 1000)
    assert not res.failed and 0.21 < res.counts()["east"] / 1000 < 0.29, res.counts()
    scale(dm, "west", "echo-local", 0)
    scale(dm, "west", "echo-remote", 0)
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "echo-canary", 200)
    assert res.counts() == {"east": 200}


def test_the_envoy_canary_answers_503_when_a_weighted_cluster_has_no_backend():
    dm = mesh()
    deploy(dm, "echo-local", {"east": 1}, affinity="local")
    deploy(dm, "echo-none", {})
    put(dm, "east", demo.entry_service("canary", "mesh-demo"))
    put(dm, "east", demo.envoy_config("canary", "mesh-demo", {"echo-local": 50, "echo-none": 50}))
    dm.clock.sleep(10)
    _, res = probe(dm, "east", "canary", 200)
    assert {r.error for r in res.failed} == {"no healthy upstream"} and {r.code for r in res.failed} == {503}
    assert 60 < len(res.failed) < 140


def test_apiserver_scaled_to_zero_keeps_existing_backends_but_syncs_no_new_ones():
    dm = mesh()
    deploy(dm, "echo", {"east": 1, "west": 3})
    dm.clock.sleep(10)
    scale(dm, "east", "clustermesh-apiserver", 0, ns="kube-system")
    dm.clock.sleep(10)
    scale(dm, "east", "echo", 2)
    dm.clock.sleep(10)
    _, res = probe(dm, "west", "echo", 400)
    east_pods = {r.pod for r in res.ok if r.cluster == "east"}
    assert not res.failed and len(east_pods) == 1
    scale(dm, "east", "clustermesh-apiserver", 1, ns="kube-system")
    dm.clock.sleep(20)
    _, res = probe(dm, "west", "echo", 400)
    assert len({r.pod for r in res.ok if r.cluster == "east"}) == 2


def test_probe_lines_are_written_at_their_virtual_times():
    dm = mesh()
    deploy(dm, "echo", {"east": 1})
    dm.clock.sleep(10)
    job, _ = probe(dm, "east", "echo", 30, wait=False)
    dm.clock.sleep(2.0 + 1.55)
    res = read(dm, "east", job)
    assert [r.seq for r in res.requests] == list(range(1, len(res.requests) + 1))
    assert 14 <= len(res.requests) <= 17 and res.summary is None
    dm.clock.sleep(10)
    assert read(dm, "east", job).summary == {"requests": 30, "ok": 30, "failed": 0}


@pytest.mark.parametrize("n", [16])
def test_a_full_mesh_of_many_clusters_connects(n):
    dm = mesh(*[Spec(f"c{i}", i + 1, nodes=2) for i in range(n)])
    m = dm.layer.mesh
    assert len(m.cache) == n * (n - 1)


def test_a_loadbalancer_apiserver_is_reached_at_its_address_while_the_network_routes_to_it():
    """clustermesh.apiserver.service.type LoadBalancer: connect records the Service's ingress IP and port 2379;
    the agents reach it only while the fabric routes them there and a node of that cluster serves it."""
    lb = {"clustermesh": {"apiserver": {"service": {"type": "LoadBalancer"}}}}
    dm = mesh(Spec("east", 1, kvstoremesh=False), Spec("west", 2, kvstoremesh=False, values=lb), connect=False)
    west = dm.members["west"].kube
    with dm.clock.lock:                # what an LB controller (Cilium LB IPAM, MetalLB) writes
        svc = west.get("services", "clustermesh-apiserver", "kube-system")
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.168.101.240"}]}}
        west.update("services", svc, "kube-system", subresource="status")
    dm.connect("east", "west")
    cfg = dm.values["east"]["clustermesh"]["config"]
    cfg["clusters"] = [{"name": "west", "ips": ["192.168.101.240"], "port": 2379}]
    dm.render("east")
    dm.clock.sleep(15)
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert agent["clusters"]["west"]["ready"], agent
    for a in dm.members["east"].addresses.values():
        dm.network.cut[frozenset((a, "192.168.101.240"))] = "cut"
    dm.clock.sleep(5)
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert agent["clusters"]["west"]["status"] == T.ETCD_UNREACHABLE
    dm.network.cut.clear()
    dm.members["west"].down |= set(dm.members["west"].addresses)       # every west node off
    dm.clock.sleep(5)
    agent = next(st for pod, st in statuses(dm, "east").items() if pod.startswith("cilium-"))
    assert not agent["clusters"]["west"]["connected"]
