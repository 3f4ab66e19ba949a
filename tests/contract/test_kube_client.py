"""The Kubernetes fake through the official `kubernetes` client (37.x: strict pydantic models) over verified HTTPS
with a client certificate from the lab CA: typed APIs, CustomObjectsApi, the dynamic client, watches with resume
and 410, every patch kind, conflicts, status subresources, logs, CRDs, authentication and faults."""
from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from labsim.fakes.kube.testing import start_kube_lab

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.fixture
def lab(tmp_path):
    with start_kube_lab(tmp_path) as lab:
        yield lab


@pytest.fixture
def api(lab):
    return lab.api_client()


def status_body(err: ApiException) -> dict:
    return json.loads(err.body)


def web_deployment(replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
             "env": [{"name": "A", "value": "1"}]}]}}}}


def test_typed_reads_parse_into_strict_models(lab, api):
    v1 = client.CoreV1Api(api)
    nodes = v1.list_node()
    assert [n.metadata.name for n in nodes.items] == ["cp-1", "worker-1", "worker-2"]
    assert isinstance(nodes.metadata.resource_version, str)
    cp = nodes.items[0]
    assert cp.status.node_info.kubelet_version == "v1.34.1"
    assert {(a.type, a.address) for a in cp.status.addresses} == {("InternalIP", "192.168.15.11"),
                                                                   ("Hostname", "cp-1")}
    assert [t.key for t in cp.spec.taints] == ["node-role.kubernetes.io/control-plane"]
    pods = v1.list_namespaced_pod("kube-system", label_selector="k8s-app in (kube-dns,kube-proxy)")
    assert len(pods.items) == 5
    for p in pods.items:
        cs = p.status.container_statuses[0]
        assert p.status.phase == "Running" and cs.ready and cs.restart_count == 0 and cs.image_id
    assert v1.list_namespaced_config_map("default", label_selector="nothing=here").items == []
    assert client.VersionApi(api).get_code().git_version == "v1.34.1"
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        "kube-system", label_selector="kubernetes.io/service-name=kube-dns")
    (sl,) = slices.items
    assert sl.address_type == "IPv4" and len(sl.endpoints) == 2 and all(e.conditions.ready for e in sl.endpoints)
    assert {(p.name, p.port, p.protocol) for p in sl.ports} == {("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"),
                                                                 ("metrics", 9153, "TCP")}


def test_field_selectors_and_paging(lab, api):
    v1 = client.CoreV1Api(api)
    on_cp = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=cp-1,status.phase=Running")
    assert {p.metadata.name for p in on_cp.items} >= {"kube-apiserver-cp-1", "kube-scheduler-cp-1"}
    first = v1.list_pod_for_all_namespaces(limit=3)
    assert len(first.items) == 3 and first.metadata._continue and first.metadata.remaining_item_count > 0
    rest = v1.list_pod_for_all_namespaces(limit=100, _continue=first.metadata._continue)
    names = [p.metadata.name for p in first.items + rest.items]
    assert len(names) == len(set(names)) == len(v1.list_pod_for_all_namespaces().items)
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map("default", field_selector="spec.nodeName=x")
    assert err.value.status == 400 and status_body(err.value)["message"] == "field label not supported: spec.nodeName"


def test_create_conflicts_and_status_bodies(lab, api):
    v1 = client.CoreV1Api(api)
    svc = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    created = v1.create_namespaced_service("default", svc)          # 37.0.2 POSTs with no Content-Type
    assert created.spec.cluster_ip.startswith("10.") and created.spec.ports[0].target_port == 80
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_service("default", svc)
    assert err.value.status == 409
    assert status_body(err.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                      "message": 'services "web" already exists', "reason": "AlreadyExists",
                                      "details": {"name": "web", "kind": "services"}, "code": 409}
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_service("nope", "default")
    assert err.value.status == 404 and status_body(err.value)["message"] == 'services "nope" not found'
    stale = v1.read_namespaced_service("web", "default")
    v1.patch_namespaced_service("web", "default", {"metadata": {"labels": {"a": "b"}}})
    stale.metadata.labels = {"c": "d"}
    with pytest.raises(ApiException) as err:
        v1.replace_namespaced_service("web", "default", stale)
    body = status_body(err.value)
    assert err.value.status == 409 and body["reason"] == "Conflict"
    assert body["message"] == ('Operation cannot be fulfilled on services "web": the object has been modified; '
                               "please apply your changes to the latest version and try again")
    with pytest.raises(ApiException) as err:
        v1.create_namespaced_pod("default", {"metadata": {"name": "bad"}, "spec": {"containers": []}})
    assert err.value.status == 422 and status_body(err.value)["reason"] == "Invalid"
    assert status_body(err.value)["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}]


def test_patch_kinds(lab, api):
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment("default", web_deployment())
    # a dict body goes as strategic merge: containers merge by name, env by name
    d = apps.patch_namespaced_deployment("web", "default", {"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "env": [{"name": "B", "value": "2"}]}]}}}})
    c = d.spec.template.spec.containers
    assert len(c) == 1 and c[0].image == "nginx:1.27" and [e.name for e in c[0].env] == ["A", "B"]
    # a list body goes as JSON patch
    d = apps.patch_namespaced_deployment("web", "default", [{"op": "replace", "path": "/spec/replicas", "value": 3}])
    assert d.spec.replicas == 3 and d.metadata.generation == 3
    d = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 1}},
                                         _content_type="application/merge-patch+json")
    assert d.spec.replicas == 1
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}}
    out = v1.patch_namespaced_config_map("cfg", "default", cm, field_manager="labsim-test",
                                         _content_type="application/apply-patch+yaml")
    assert out.data == {"a": "1", "b": "2"} and out.metadata.managed_fields[0].operation == "Apply"
    cm["data"] = {"a": "1"}
    out = v1.patch_namespaced_config_map("cfg", "default", cm, field_manager="labsim-test",
                                         _content_type="application/apply-patch+yaml")
    assert out.data == {"a": "1"}
    scale = apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4 and apps.read_namespaced_deployment("web", "default").spec.replicas == 4
    assert apps.read_namespaced_deployment_scale("web", "default").status.selector == "app=web"


def test_status_subresource(lab, api):
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_service("default", {"metadata": {"name": "lb"}, "spec": {
        "type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 443}]}})
    svc = v1.patch_namespaced_service_status("lb", "default", {"status": {"loadBalancer": {"ingress": [
        {"ip": "192.168.15.200"}]}}, "spec": {"type": "ClusterIP"}})
    assert svc.status.load_balancer.ingress[0].ip == "192.168.15.200" and svc.spec.type == "LoadBalancer"
    assert 30000 <= svc.spec.ports[0].node_port <= 32767
    svc = v1.patch_namespaced_service("lb", "default", {"status": {"loadBalancer": {}}})
    assert svc.status.load_balancer.ingress[0].ip == "192.168.15.200"      # main resource ignores status


def test_custom_resources_through_custom_objects_api(lab, api):
    client.ApiextensionsV1Api(api).create_custom_resource_definition(WIDGET_CRD)
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("widgets.example.com")
    assert {c.type: c.status for c in crd.status.conditions} == {"NamesAccepted": "True", "Established": "True"}
    co = client.CustomObjectsApi(api)
    w = co.create_namespaced_custom_object("example.com", "v1", "default", "widgets", {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 1},
        "status": {"ignored": True}})
    assert w["metadata"]["generation"] == 1 and "status" not in w
    w = co.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1", {"spec": {"color": "red"}})
    assert w["spec"] == {"size": 1, "color": "red"} and w["metadata"]["generation"] == 2
    w = co.patch_namespaced_custom_object_status("example.com", "v1", "default", "widgets", "w1",
                                                 {"status": {"phase": "Ready"}})
    assert w["status"] == {"phase": "Ready"} and w["metadata"]["generation"] == 2
    listed = co.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert listed["kind"] == "WidgetList" and [i["metadata"]["name"] for i in listed["items"]] == ["w1"]
    with pytest.raises(ApiException) as err:
        co.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1", {"spec": {"a": 1}},
                                          _content_type="application/strategic-merge-patch+json")
    assert err.value.status == 415 and status_body(err.value)["reason"] == "UnsupportedMediaType"
    with pytest.raises(ApiException) as err:
        co.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w2")
    body = status_body(err.value)
    assert body["message"] == 'widgets.example.com "w2" not found' and body["details"]["group"] == "example.com"
    with pytest.raises(ApiException) as err:
        co.list_namespaced_custom_object("example.com", "v1", "default", "gadgets")
    assert err.value.status == 404 and status_body(err.value)["message"] == \
        "the server could not find the requested resource"
    client.ApiextensionsV1Api(api).delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(ApiException) as err:
        co.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert err.value.status == 404


def test_dynamic_client_discovers_builtins_and_crds(lab, api, tmp_path):
    client.ApiextensionsV1Api(api).create_custom_resource_definition(WIDGET_CRD)
    dyn = DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))
    deploys = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    coredns = deploys.get(name="coredns", namespace="kube-system")
    assert coredns.status.readyReplicas == 2
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                         "spec": {"n": 1}}, namespace="default")
    assert [w.metadata.name for w in widgets.get(namespace="default").items] == ["w"]
    assert dyn.resources.get(api_version="v1", kind="Pod").namespaced is True


def test_watch_streams_events_and_resumes_after_a_dropped_connection(lab, api):
    v1 = client.CoreV1Api(api)
    start = v1.list_namespaced_config_map("default").metadata.resource_version
    v1.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    w = watch.Watch()
    seen: list[tuple[str, str]] = []

    def later() -> None:
        time.sleep(0.3)
        lab.server.faults.drop_watches()          # the stream ends; the client re-requests from its last rv
        time.sleep(0.3)
        v1.create_namespaced_config_map("default", {"metadata": {"name": "b"}})
    writer = threading.Thread(target=later, daemon=True)
    writer.start()
    for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=start):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["object"].metadata.name == "b":
            w.stop()
    writer.join(10)   # its create may still be reading the answer: the lab must not stop under it
    assert seen == [("ADDED", "a"), ("ADDED", "b")]
    assert isinstance(ev["object"], client.V1ConfigMap)


def test_watch_with_timeout_replays_from_a_resource_version(lab, api):
    v1 = client.CoreV1Api(api)
    cm = v1.create_namespaced_config_map("default", {"metadata": {"name": "a"}, "data": {"v": "1"}})
    v1.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})
    v1.delete_namespaced_config_map("a", "default")
    events = [(e["type"], e["raw_object"]["data"]["v"]) for e in
              watch.Watch().stream(v1.list_namespaced_config_map, "default",
                                   resource_version=cm.metadata.resource_version, timeout_seconds=1)]
    assert events == [("MODIFIED", "2"), ("DELETED", "2")]


def test_watch_410_is_retried_once_then_raised(lab, api):
    v1 = client.CoreV1Api(api)
    cm = v1.create_namespaced_config_map("default", {"metadata": {"name": "a"}})
    v1.patch_namespaced_config_map("a", "default", {"data": {"v": "2"}})
    lab.server.faults.expire_watch_history()
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(v1.list_namespaced_config_map, "default",
                                      resource_version=cm.metadata.resource_version):
            pass
    assert err.value.status == 410
    assert err.value.reason == f"Expired: too old resource version: {cm.metadata.resource_version} " \
                               f"({lab.cluster.store.rv})"
    gets = [p for m, p, s in lab.server.access_log if "watch=true" in p and "configmaps" in p]
    assert len(gets) == 2                                    # the first 410 was retried once


def test_watch_sees_controller_progress_in_virtual_time(lab, api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", web_deployment(replicas=2))
    ready = []
    w = watch.Watch()

    def drive() -> None:
        for _ in range(40):
            time.sleep(0.02)
            lab.clock.sleep(0.5)
    threading.Thread(target=drive, daemon=True).start()
    for ev in w.stream(apps.list_namespaced_deployment, "default", field_selector="metadata.name=web",
                       timeout_seconds=10):
        ready.append(ev["object"].status.ready_replicas)
        if ev["object"].status.ready_replicas == 2:
            w.stop()
    assert ready[-1] == 2 and ready[0] is None


def test_pod_logs(lab, api):
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_pod("default", {"metadata": {"name": "two"}, "spec": {"containers": [
        {"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}]}})
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod_log("two", "default", container="app")
    assert status_body(err.value)["message"] == 'container "app" in pod "two" is waiting to start: ContainerCreating'
    lab.clock.sleep(5)
    lab.cluster.append_log("default", "two", "app", "line 1\nline 2\nline 3")
    assert v1.read_namespaced_pod_log("two", "default", container="app") == "line 1\nline 2\nline 3\n"
    assert v1.read_namespaced_pod_log("two", "default", container="app", tail_lines=1) == "line 3\n"
    with pytest.raises(ApiException) as err:
        v1.read_namespaced_pod_log("two", "default")
    assert status_body(err.value)["message"] == \
        "a container name must be specified for pod two, choose one of: [app side]"
    resp = v1.read_namespaced_pod_log("two", "default", container="app", follow=True, _preload_content=False)
    threading.Timer(0.3, lambda: lab.cluster.append_log("default", "two", "app", "line 4")).start()
    threading.Timer(0.6, lambda: (lab.cluster.delete("pods", "two", "default", grace_period=0))).start()
    assert resp.read().decode() == "line 1\nline 2\nline 3\nline 4\n"


def test_deleting_a_deployment_removes_its_replicasets_and_pods(lab, api):
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment("default", web_deployment())
    lab.clock.sleep(5)
    assert len(v1.list_namespaced_pod("default", label_selector="app=web").items) == 2
    apps.delete_namespaced_deployment("web", "default", propagation_policy="Foreground")
    lab.clock.sleep(5)
    assert apps.list_namespaced_replica_set("default").items == []
    assert v1.list_namespaced_pod("default", label_selector="app=web").items == []
    with pytest.raises(ApiException):
        apps.read_namespaced_deployment("web", "default")


def test_token_and_anonymous_access(lab, tmp_path):
    kc = lab.server.kubeconfig(tmp_path / "token-kubeconfig", auth="token")
    api = lab.api_client(kc)
    assert next(n.metadata.name for n in client.CoreV1Api(api).list_node().items) == "cp-1"
    import requests
    r = requests.get(f"{lab.server.url}/api/v1/nodes", verify=lab.ca.cert_path, timeout=5)
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    r = requests.get(f"{lab.server.url}/version", verify=lab.ca.cert_path, timeout=5)
    assert r.status_code == 200 and r.json()["gitVersion"] == "v1.34.1"
    r = requests.get(f"{lab.server.url}/api/v1/nodes", verify=lab.ca.cert_path, timeout=5,
                     headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_http_faults(lab, api):
    v1 = client.CoreV1Api(api)
    lab.server.faults.http_error(r"^/api/v1/nodes$", 503, times=1)
    with pytest.raises(ApiException) as err:
        v1.list_node()
    assert err.value.status == 503 and status_body(err.value)["reason"] == "ServiceUnavailable"
    assert len(v1.list_node().items) == 3
    lab.server.faults.http_error(r"/configmaps", 500, method="POST", times=None)
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            v1.create_namespaced_config_map("default", {"metadata": {"name": "x"}})
        assert err.value.status == 500
    assert v1.list_namespaced_config_map("default").items[0].metadata.name == "kube-root-ca.crt"
