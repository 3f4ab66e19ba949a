"""The simulated controllers, scheduler and kubelets of the Kubernetes fake, in virtual time (no sockets)."""
from __future__ import annotations

import pytest

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import KubeCluster, PodBehaviour, no_cni_admission


def node_names(c: KubeCluster) -> list[str]:
    return [n["metadata"]["name"] for n in c.list("nodes")]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def cluster(clock) -> KubeCluster:
    c = KubeCluster("ctl", clock)
    c.register_node("cp-1", addresses=[("InternalIP", "192.168.15.11")], control_plane=True)
    for i in (1, 2):
        c.register_node(f"w-{i}", addresses=[("InternalIP", f"192.168.15.2{i}")])
    clock.sleep(1)
    return c


def deployment(name: str = "web", replicas: int = 3, image: str = "nginx:1.27", **tspec) -> dict:
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "containers": [{"name": "main", "image": image, "ports": [{"containerPort": 80, "name": "http"}]}],
            **tspec}}}}


def pods(c: KubeCluster, sel: str, ns: str = "default") -> list[dict]:
    return c.list("pods", ns, labels=sel)


def running_ready(p: dict) -> bool:
    return p["status"].get("phase") == "Running" and any(
        x["type"] == "Ready" and x["status"] == "True" for x in p["status"].get("conditions", []))


def test_deployment_scales_up_and_down_in_virtual_time(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=3), "default")
    assert pods(cluster, "app=web") == []           # nothing happens until virtual time moves
    clock.sleep(0)
    ps = pods(cluster, "app=web")
    assert len(ps) == 3 and all(p["status"]["phase"] == "Pending" for p in ps)
    clock.sleep(5)
    ps = pods(cluster, "app=web")
    assert all(running_ready(p) for p in ps)
    assert {p["spec"]["nodeName"] for p in ps} <= {"w-1", "w-2"}      # control plane is tainted NoSchedule
    d = cluster.get("deployments.apps", "web", "default")
    assert d["status"]["readyReplicas"] == d["status"]["availableReplicas"] == d["status"]["updatedReplicas"] == 3
    conds = {c["type"]: (c["status"], c["reason"]) for c in d["status"]["conditions"]}
    assert conds == {"Available": ("True", "MinimumReplicasAvailable"),
                     "Progressing": ("True", "NewReplicaSetAvailable")}
    cluster.patch("deployments.apps", "web", {"spec": {"replicas": 1}}, "default")
    clock.sleep(5)
    assert len(pods(cluster, "app=web")) == 1
    d = cluster.get("deployments.apps", "web", "default")
    assert d["status"]["replicas"] == 1 and d["status"]["observedGeneration"] == d["metadata"]["generation"]


def test_rolling_update_replaces_pods_through_a_new_replicaset(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=4), "default")
    clock.sleep(10)
    old_rs = cluster.list("replicasets.apps", "default")
    cluster.patch("deployments.apps", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "nginx:1.28"}]}}}}, "default", patch_type="strategic")
    clock.sleep(0)
    total = len([p for p in pods(cluster, "app=web") if not p["metadata"].get("deletionTimestamp")])
    assert total <= 5                                  # 25% surge of 4
    clock.sleep(60)
    rss = {r["metadata"]["name"]: r for r in cluster.list("replicasets.apps", "default")}
    assert len(rss) == 2 and rss[old_rs[0]["metadata"]["name"]]["spec"]["replicas"] == 0
    ps = pods(cluster, "app=web")
    assert len(ps) == 4 and all(p["spec"]["containers"][0]["image"] == "nginx:1.28" for p in ps)
    d = cluster.get("deployments.apps", "web", "default")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


def test_endpointslices_follow_pod_readiness(cluster, clock):
    cluster.pod_behaviour.append(lambda pod: PodBehaviour(ready_delay=30))
    cluster.create("deployments.apps", deployment(replicas=2), "default")
    cluster.create("services", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}, "default")
    clock.sleep(5)
    (sl,) = cluster.list("endpointslices", "default", labels="kubernetes.io/service-name=web")
    assert sl["addressType"] == "IPv4" and sl["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    assert [e["conditions"] for e in sl["endpoints"]] == [{"ready": False, "serving": False, "terminating": False}] * 2
    assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    ep = cluster.get("endpoints", "web", "default")
    assert "addresses" not in ep["subsets"][0] and len(ep["subsets"][0]["notReadyAddresses"]) == 2
    clock.sleep(30)
    (sl,) = cluster.list("endpointslices", "default", labels="kubernetes.io/service-name=web")
    assert all(e["conditions"]["ready"] for e in sl["endpoints"])
    assert {e["targetRef"]["name"] for e in sl["endpoints"]} == {p["metadata"]["name"] for p in pods(cluster, "app=web")}
    assert all(e["addresses"][0].startswith("10.244.") for e in sl["endpoints"])
    victim = sl["endpoints"][0]["targetRef"]["name"]
    cluster.delete("pods", victim, "default")
    clock.sleep(0)
    (sl,) = cluster.list("endpointslices", "default", labels="kubernetes.io/service-name=web")
    term = next(e for e in sl["endpoints"] if e["targetRef"]["name"] == victim)
    assert term["conditions"] == {"ready": False, "serving": True, "terminating": True}


def test_pods_on_an_unreachable_node_are_evicted_after_300_seconds(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=2, nodeSelector={"kubernetes.io/hostname": "w-1"}),
                   "default")
    clock.sleep(5)
    first = {p["metadata"]["name"] for p in pods(cluster, "app=web")}
    assert len(first) == 2
    cluster.set_node_ready("w-1", None)                                        # the VM stopped: kubelet silent
    clock.sleep(1)
    node = cluster.get("nodes", "w-1")
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute")}
    assert all(not running_ready(p) for p in pods(cluster, "app=web"))        # marked not ready
    clock.sleep(298)                                                           # 299 s after the taint
    assert all(not p["metadata"].get("deletionTimestamp") for p in pods(cluster, "app=web"))
    clock.sleep(1.5)
    ps = pods(cluster, "app=web")
    evicted = [p for p in ps if p["metadata"].get("deletionTimestamp")]
    assert {p["metadata"]["name"] for p in evicted} == first                  # Terminating: nothing confirms it
    replacements = [p for p in ps if p["metadata"]["name"] not in first]
    assert len(replacements) == 2 and all(p["status"]["phase"] == "Pending" for p in replacements)
    reasons = [e["reason"] for e in cluster.list("events", "default")]
    assert "TaintManagerEviction" in reasons
    cluster.set_node_ready("w-1", True)                                        # the kubelet returns
    clock.sleep(10)
    ps = pods(cluster, "app=web")
    assert len(ps) == 2 and all(running_ready(p) for p in ps)


def test_pods_on_a_not_ready_node_are_evicted_and_removed_by_its_kubelet(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=2, nodeSelector={"kubernetes.io/hostname": "w-1"}),
                   "default")
    clock.sleep(5)
    first = {p["metadata"]["name"] for p in pods(cluster, "app=web")}
    cluster.set_node_ready("w-1", False, message="container runtime is down")
    clock.sleep(299)
    assert {p["metadata"]["name"] for p in pods(cluster, "app=web")} == first
    clock.sleep(5)
    names = {p["metadata"]["name"] for p in pods(cluster, "app=web")}
    assert len(names) == 2 and not names & first                                # replaced, old ones gone


def test_unreachable_node_uses_unknown_and_the_unreachable_taint(cluster, clock):
    cluster.set_node_ready("w-2", None)
    clock.sleep(0)
    node = cluster.get("nodes", "w-2")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "Unknown" and ready["message"] == "Kubelet stopped posting node status."
    assert ("node.kubernetes.io/unreachable", "NoExecute") in {(t["key"], t["effect"]) for t in node["spec"]["taints"]}


def test_job_runs_to_completion_with_logs_from_a_hook(cluster, clock):
    cluster.pod_behaviour.append(lambda pod: PodBehaviour(run_for=30, logs="migrated 3 tables\n")
                                 if pod["metadata"].get("labels", {}).get("job-name") == "migrate" else None)
    cluster.create("jobs.batch", {"metadata": {"name": "migrate"}, "spec": {"template": {"spec": {
        "containers": [{"name": "m", "image": "busybox:1.36"}]}}}}, "default")
    clock.sleep(10)
    job = cluster.get("jobs.batch", "migrate", "default")
    assert job["status"]["active"] == 1 and "succeeded" not in job["status"]
    (pod,) = pods(cluster, "job-name=migrate")
    assert [line for _, line in cluster.logs[("default", pod["metadata"]["name"], "m")]] == ["migrated 3 tables"]
    clock.sleep(30)
    job = cluster.get("jobs.batch", "migrate", "default")
    assert job["status"]["succeeded"] == 1 and "active" not in job["status"]
    assert [(c["type"], c["status"]) for c in job["status"]["conditions"]] == [("SuccessCriteriaMet", "True"),
                                                                              ("Complete", "True")]
    (pod,) = pods(cluster, "job-name=migrate")
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert pod["status"]["phase"] == "Succeeded" and term["exitCode"] == 0 and term["reason"] == "Completed"


def test_failing_job_stops_at_its_backoff_limit(cluster, clock):
    cluster.pod_behaviour.append(lambda pod: PodBehaviour(run_for=1, exit_code=2))
    cluster.create("jobs.batch", {"metadata": {"name": "bad"}, "spec": {"backoffLimit": 1, "template": {"spec": {
        "containers": [{"name": "m", "image": "busybox"}]}}}}, "default")
    clock.sleep(60)
    job = cluster.get("jobs.batch", "bad", "default")
    assert job["status"]["failed"] == 2
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded" and failed["message"] == "Job has reached the specified backoff limit"


def test_daemonset_runs_one_pod_per_eligible_node(cluster, clock):
    ds = {"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {
        "metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}}
    cluster.create("daemonsets.apps", ds, "default")
    clock.sleep(5)
    assert sorted(p["spec"]["nodeName"] for p in pods(cluster, "app=agent")) == ["w-1", "w-2"]   # cp is tainted
    st = cluster.get("daemonsets.apps", "agent", "default")["status"]
    assert st["desiredNumberScheduled"] == st["numberReady"] == 2
    cluster.patch("daemonsets.apps", "agent", {"spec": {"template": {"spec": {"tolerations": [
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}}}},
        "default", patch_type="strategic")
    clock.sleep(30)
    ps = pods(cluster, "app=agent")
    assert sorted(p["spec"]["nodeName"] for p in ps) == ["cp-1", "w-1", "w-2"]
    assert len({p["metadata"]["labels"]["controller-revision-hash"] for p in ps}) == 1     # rolled to the new template
    cluster.register_node("w-3", addresses=[("InternalIP", "192.168.15.23")])
    clock.sleep(5)
    assert len(pods(cluster, "app=agent")) == 4


def test_statefulset_creates_pods_in_order(cluster, clock):
    sts = {"metadata": {"name": "db"}, "spec": {"replicas": 3, "serviceName": "db",
                                                "selector": {"matchLabels": {"app": "db"}}, "template": {
        "metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "pg:16"}]}}}}
    cluster.create("statefulsets.apps", sts, "default")
    clock.sleep(0.5)
    assert [p["metadata"]["name"] for p in pods(cluster, "app=db")] == ["db-0"]
    clock.sleep(30)
    ps = pods(cluster, "app=db")
    assert [p["metadata"]["name"] for p in ps] == ["db-0", "db-1", "db-2"] and all(running_ready(p) for p in ps)
    assert ps[1]["spec"]["hostname"] == "db-1" and ps[1]["spec"]["subdomain"] == "db"
    cluster.patch("statefulsets.apps", "db", {"spec": {"replicas": 1}}, "default")
    clock.sleep(30)
    assert [p["metadata"]["name"] for p in pods(cluster, "app=db")] == ["db-0"]


def test_scheduler_explains_why_a_pod_is_pending(cluster, clock):
    cluster.create("pods", {"metadata": {"name": "p"}, "spec": {"nodeSelector": {"disk": "ssd"},
                                                                 "containers": [{"name": "c", "image": "i"}]}},
                   "default")
    clock.sleep(1)
    pod = cluster.get("pods", "p", "default")
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert cond["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not "
        "helpful for scheduling.")
    ev = [e for e in cluster.list("events", "default") if e["reason"] == "FailedScheduling"]
    assert ev and ev[0]["type"] == "Warning"


def test_cordoned_node_gets_no_new_pods(cluster, clock):
    cluster.patch("nodes", "w-1", {"spec": {"unschedulable": True}})
    cluster.create("deployments.apps", deployment(replicas=2), "default")
    clock.sleep(5)
    assert {p["spec"]["nodeName"] for p in pods(cluster, "app=web")} == {"w-2"}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in {
        (t["key"], t["effect"]) for t in cluster.get("nodes", "w-1")["spec"]["taints"]}


def test_without_cni_only_host_network_pods_start(cluster, clock):
    cluster.pod_admission.append(no_cni_admission)
    cluster.create("pods", {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
                   "default")
    cluster.create("pods", {"metadata": {"name": "agent"}, "spec": {"hostNetwork": True,
                                                                     "containers": [{"name": "c", "image": "i"}]}},
                   "default")
    clock.sleep(10)
    web, agent = cluster.get("pods", "web", "default"), cluster.get("pods", "agent", "default")
    assert web["status"]["phase"] == "Pending"
    assert web["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert agent["status"]["phase"] == "Running" and agent["status"]["podIP"] == agent["status"]["hostIP"]
    ev = [e for e in cluster.events_for(web) if e["reason"] == "NetworkNotReady"]
    assert ev and ev[0]["message"].startswith("network is not ready: container runtime network not ready")
    cluster.pod_admission.clear()                      # the CNI arrives
    clock.sleep(15)
    assert cluster.get("pods", "web", "default")["status"]["phase"] == "Running"


def test_deleting_a_deployment_cascades_to_replicasets_and_pods(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=2), "default")
    clock.sleep(5)
    cluster.delete("deployments.apps", "web", "default")
    clock.sleep(5)
    assert cluster.list("replicasets.apps", "default") == [] and pods(cluster, "app=web") == []


def test_orphan_propagation_keeps_the_dependents(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=1), "default")
    clock.sleep(5)
    cluster.delete("deployments.apps", "web", "default", propagation="Orphan")
    clock.sleep(5)
    (rs,) = cluster.list("replicasets.apps", "default")
    assert "ownerReferences" not in rs["metadata"] and len(pods(cluster, "app=web")) == 1


def test_a_loop_runs_only_when_a_kind_it_watches_changed(cluster, clock, monkeypatch):
    """As the real controllers run from informers: a ConfigMap written moves no workload controller, a Deployment
    scaled moves the loops that watch deployments, replicasets and pods (not the namespace controller); a timed
    wake-up runs them all."""
    cluster.create("deployments.apps", deployment(replicas=1), "default")
    clock.sleep(5)
    ran: list[str] = []
    for loop in cluster.controllers.loops:
        monkeypatch.setattr(loop, "sync", lambda f=loop.sync, n=type(loop).__name__: ran.append(n) or f())
    cluster.create("configmaps", {"metadata": {"name": "settings"}, "data": {"a": "1"}}, "default")
    clock.sleep(0)
    assert ran == ["NamespaceController"]
    ran.clear()
    d = cluster.get("deployments.apps", "web", "default")
    d["spec"]["replicas"] = 2
    cluster.update("deployments.apps", d, "default")
    clock.sleep(0)
    assert {"DeploymentController", "ReplicaSetController", "Scheduler", "Kubelets"} <= set(ran)
    assert "NamespaceController" not in ran
    ran.clear()
    clock.sleep(5)
    assert len([p for p in pods(cluster, "app=web") if running_ready(p)]) == 2
    assert "NamespaceController" in ran      # the wake-up at the pod's start ran every loop


def test_a_readiness_that_reads_the_cluster_follows_any_write(cluster, clock):
    """A probe that is a function of other objects (the Cilium agent's RBAC) is asked again after a write of a kind
    the kubelet does not watch."""
    cluster.pod_behaviour.append(lambda pod: PodBehaviour(
        ready=lambda p: cluster.store.get(("", "configmaps"), "default", "gate") is not None))
    cluster.create("deployments.apps", deployment(replicas=1), "default")
    clock.sleep(5)
    assert not any(running_ready(p) for p in pods(cluster, "app=web"))
    cluster.create("configmaps", {"metadata": {"name": "gate"}}, "default")
    clock.sleep(0)
    assert all(running_ready(p) for p in pods(cluster, "app=web"))
    cluster.delete("configmaps", "gate", "default")
    clock.sleep(0)
    assert not any(running_ready(p) for p in pods(cluster, "app=web"))


def test_the_garbage_collector_sees_owners_go_and_orphans_arrive(cluster, clock):
    cluster.create("deployments.apps", deployment(replicas=1), "default")
    clock.sleep(5)
    owner = cluster.get("deployments.apps", "web", "default")
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": owner["metadata"]["uid"]}
    cluster.create("configmaps", {"metadata": {"name": "owned", "ownerReferences": [ref]}}, "default")
    clock.sleep(1)
    assert cluster.try_get("configmaps", "owned", "default") is not None
    cluster.delete("deployments.apps", "web", "default")
    clock.sleep(5)
    assert cluster.try_get("configmaps", "owned", "default") is None
    # a dependent whose owner is already gone when it is written
    cluster.create("configmaps", {"metadata": {"name": "late", "ownerReferences": [ref]}}, "default")
    clock.sleep(0)
    assert cluster.try_get("configmaps", "late", "default") is None


def test_namespace_deletion_empties_it_first(cluster, clock):
    cluster.create("namespaces", {"metadata": {"name": "tmp"}})
    clock.sleep(0)
    assert cluster.get("serviceaccounts", "default", "tmp")
    cluster.create("deployments.apps", deployment(replicas=1), "tmp")
    clock.sleep(5)
    ns = cluster.delete("namespaces", "tmp")
    assert ns["status"]["phase"] == "Terminating"
    clock.sleep(10)
    assert cluster.try_get("namespaces", "tmp") is None and cluster.list("pods", "tmp") == []


def test_bootstrap_control_plane_looks_like_a_fresh_talos_cluster(clock):
    c = KubeCluster("talos", clock)
    for i in (1, 2, 3):
        c.register_node(f"cp-{i}", addresses=[("InternalIP", f"192.168.15.1{i}")], control_plane=True)
    c.register_node("w-1", addresses=[("InternalIP", "192.168.15.21")])
    c.bootstrap_control_plane(["cp-1", "cp-2", "cp-3"])
    clock.sleep(10)
    assert {n["metadata"]["name"] for n in c.list("namespaces")} >= {"default", "kube-system", "kube-public",
                                                                     "kube-node-lease"}
    static = c.list("pods", "kube-system", labels="tier=control-plane")
    assert len(static) == 9 and all(running_ready(p) for p in static)
    api = c.get("pods", "kube-apiserver-cp-2", "kube-system")
    assert api["metadata"]["labels"]["component"] == "kube-apiserver" and api["spec"]["nodeName"] == "cp-2"
    assert "kubernetes.io/config.mirror" in api["metadata"]["annotations"]
    assert api["metadata"]["ownerReferences"][0]["kind"] == "Node"
    dns = c.list("pods", "kube-system", labels="k8s-app=kube-dns")
    assert len(dns) == 2 and all(running_ready(p) for p in dns)
    assert c.get("services", "kube-dns", "kube-system")["spec"]["clusterIP"] == "10.96.0.10"
    assert c.get("services", "kubernetes", "default")["spec"]["clusterIP"] == "10.96.0.1"
    proxy = c.get("daemonsets.apps", "kube-proxy", "kube-system")["status"]
    assert proxy["desiredNumberScheduled"] == proxy["numberReady"] == 4
    eps = c.get("endpoints", "kubernetes", "default")
    assert [a["ip"] for a in eps["subsets"][0]["addresses"]] == ["192.168.15.11", "192.168.15.12", "192.168.15.13"]
    assert c.get("leases", "cp-1", "kube-node-lease")["spec"]["holderIdentity"] == "cp-1"


def test_bootstrap_without_kube_proxy_and_without_cni(clock):
    c = KubeCluster("nocni", clock)
    c.register_node("cp-1", addresses=[("InternalIP", "192.168.15.11")], control_plane=True, ready=False)
    c.pod_admission.append(no_cni_admission)
    c.bootstrap_control_plane(["cp-1"], kube_proxy=False)
    clock.sleep(30)
    assert c.try_get("daemonsets.apps", "kube-proxy", "kube-system") is None
    dns = c.list("pods", "kube-system", labels="k8s-app=kube-dns")
    assert all(p["status"]["phase"] == "Pending" and "nodeName" not in p["spec"] for p in dns)
    assert all(p["status"]["phase"] == "Running" for p in c.list("pods", "kube-system", labels="tier=control-plane"))
