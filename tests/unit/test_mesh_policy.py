"""Network policy on the mesh datapath (labsim/fakes/cilium/policy.py), on clusters built directly: Cilium and
Kubernetes policies, default deny once selected, the cluster label across the mesh, policy-default-local-cluster,
ports, deny rules, and the drops the agents count."""
from __future__ import annotations

from labsim.fakes import kube_exec as X
from labsim.fakes.cilium import policy as P
from labsim.fakes.cilium.direct import DirectMesh, Spec
from labsim.provisioners.mesh import demo
from labsim.provisioners.mesh import probe as probe_job
from tests.unit.mesh_world import PLURALS, deploy, put, read

PLURALS.setdefault("CiliumNetworkPolicy", "ciliumnetworkpolicies.cilium.io")
PLURALS.setdefault("CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies.cilium.io")
PLURALS.setdefault("NetworkPolicy", "networkpolicies")
FRONTEND = {"app": "frontend"}
_n = iter(range(1, 10_000))


def mesh() -> DirectMesh:
    dm = DirectMesh([Spec("east", 1), Spec("west", 2)])
    dm.clock.sleep(10)
    dm.full_mesh()
    dm.clock.sleep(15)
    deploy(dm, "echo", {"east": 0, "west": 2}, affinity="none")
    dm.clock.sleep(10)
    return dm


def run(dm, cluster: str, labels: dict[str, str], n: int = 20, service: str = "echo") -> dict[str, int]:
    name = f"p{next(_n)}"
    put(dm, cluster, probe_job.job(name, "mesh-demo", "curlimages/curl:8.10.1", demo.url(service, "mesh-demo"), n,
                                   pod_labels=labels))
    dm.clock.sleep(n * 0.1 + 15)
    return read(dm, cluster, name).counts()


def cnp(name: str, spec: dict, ns: str = "mesh-demo") -> dict:
    return {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def allow_frontend(clusters: list[str] | None = None, port: str = "8080") -> dict:
    peer: dict = {"matchLabels": dict(FRONTEND)}
    if clusters:
        peer["matchExpressions"] = [{"key": P.CLUSTER_LABEL, "operator": "In", "values": clusters}]
    return cnp("allow-frontend", {"endpointSelector": {"matchLabels": {"app": "echo"}},
                                  "ingress": [{"fromEndpoints": [peer],
                                               "toPorts": [{"ports": [{"port": port, "protocol": "TCP"}]}]}]})


def drops(dm, cluster: str) -> int:
    return sum(c for (d, r), c in dm.layer.datapath.drop_counts(cluster).items() if r == P.DENIED)


def test_no_policy_allows_everyone_and_a_selecting_policy_denies_all_but_its_peers():
    dm = mesh()
    assert run(dm, "east", {}) == {"west": 20}
    put(dm, "west", allow_frontend())
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"west": 20}
    assert run(dm, "east", {"app": "other"}) == {"failed": 20}
    assert drops(dm, "west") == 20 and drops(dm, "east") == 0     # dropped at the backend's ingress


def test_the_cluster_label_limits_peers_to_the_clusters_named():
    dm = mesh()
    put(dm, "west", allow_frontend(["west"]))
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"failed": 20}
    put(dm, "west", {**allow_frontend(["west", "east"]), "metadata": {"name": "both", "namespace": "mesh-demo"}})
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"west": 20}


def test_policy_default_local_cluster_keeps_unlabelled_selectors_in_their_cluster():
    dm = mesh()
    put(dm, "west", allow_frontend())
    with dm.clock.lock:
        kube = dm.members["west"].kube
        cm = kube.try_get("configmaps", "cilium-config", "kube-system")
        cm["data"]["policy-default-local-cluster"] = "true"
        kube.update("configmaps", cm, "kube-system")
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"failed": 20}


def test_a_wrong_port_denies_and_egress_policies_apply_in_the_clients_cluster():
    dm = mesh()
    put(dm, "west", allow_frontend(port="9090"))
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"failed": 20}
    dm2 = mesh()
    put(dm2, "east", cnp("egress", {"endpointSelector": {"matchLabels": FRONTEND},
                                    "egress": [{"toEntities": ["cluster"]}]}))
    dm2.clock.sleep(2)
    assert run(dm2, "east", FRONTEND) == {"failed": 20}          # the cluster entity is the local cluster only
    assert drops(dm2, "east") == 20


def test_ingress_deny_wins_and_empty_ingress_denies_everything():
    dm = mesh()
    put(dm, "west", cnp("all", {"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]}))
    put(dm, "west", cnp("deny-east", {"endpointSelector": {"matchLabels": {"app": "echo"}}, "ingressDeny": [
        {"fromEndpoints": [{"matchLabels": {"k8s:" + P.CLUSTER_LABEL: "east", P.NS_LABEL: "mesh-demo"}}]}]}))
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"failed": 20}
    assert dm.layer.datapath.drop_counts("west")[("INGRESS", P.DENYLIST)] == 20
    dm2 = mesh()
    put(dm2, "west", cnp("deny-all", {"endpointSelector": {}, "ingress": [{}]}))
    dm2.clock.sleep(2)
    assert run(dm2, "east", FRONTEND) == {"failed": 20}


def test_kubernetes_network_policy_and_clusterwide_policy():
    dm = mesh()
    put(dm, "west", {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "np", "namespace": "mesh-demo"},
                     "spec": {"podSelector": {"matchLabels": {"app": "echo"}},
                              "ingress": [{"from": [{"podSelector": {"matchLabels": FRONTEND}}],
                                           "ports": [{"port": 8080, "protocol": "TCP"}]}]}})
    dm.clock.sleep(2)
    assert run(dm, "east", FRONTEND) == {"west": 20}
    assert run(dm, "east", {}) == {"failed": 20}
    dm2 = mesh()
    put(dm2, "west", {"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                      "metadata": {"name": "ccnp"},
                      "spec": {"endpointSelector": {"matchLabels": {P.NS_LABEL: "mesh-demo"}},
                               "ingress": [{"fromEndpoints": [{"matchLabels": {P.NS_LABEL: "kube-system"}}]}]}})
    dm2.clock.sleep(2)
    assert run(dm2, "east", FRONTEND) == {"failed": 20}


def test_cilium_dbg_metrics_list_shows_the_drops_of_its_node():
    dm = mesh()
    put(dm, "west", allow_frontend())
    dm.clock.sleep(2)
    run(dm, "east", {})
    kube = dm.members["west"].kube
    with dm.clock.lock:
        pods = kube.list("pods", "kube-system", labels="k8s-app=cilium")
    texts = []
    for pod in pods:
        req = X.ExecRequest("kube-system", pod, "cilium-agent", ["cilium-dbg", "metrics", "list", "-p", "drop"])
        texts.append(X.run(req, X.registry(kube).image(pod, "cilium-agent")).stdout.decode())
    assert all(t.startswith("Metric") for t in texts)
    total = sum(float(line.split()[-1]) for t in texts for line in t.splitlines()[1:] if "Policy denied" in line)
    assert total == 20, texts
