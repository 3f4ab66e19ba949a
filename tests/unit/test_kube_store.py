"""The Kubernetes fake's object store, selectors, patch kinds and error texts, without a socket."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import KubeCluster, KubeError, watch
from labsim.fakes.kube import patch as P
from labsim.fakes.kube.selectors import parse_fields, parse_labels


@pytest.fixture
def cluster() -> KubeCluster:
    return KubeCluster("unit", VirtualClock(), controllers=False)


# --- label and field selectors ---------------------------------------------------------------------------

@pytest.mark.parametrize("sel, labels, want", [
    ("app=web", {"app": "web"}, True),
    ("app==web", {"app": "db"}, False),
    ("app!=web", {}, True),
    ("app!=web", {"app": "web"}, False),
    ("env in (a,b)", {"env": "b"}, True),
    ("env in (a, b),tier", {"env": "a"}, False),
    ("env notin (a,b)", {"env": "c"}, True),
    ("env notin (a,b)", {}, True),
    ("tier", {"tier": ""}, True),
    ("!tier", {"tier": "x"}, False),
    ("!tier,app=web", {"app": "web"}, True),
    ("", {"anything": "x"}, True),
])
def test_label_selector_grammar(sel, labels, want):
    assert parse_labels(sel).matches(labels) is want


@pytest.mark.parametrize("bad", ["app in a,b", "=web", "app in (a"])
def test_malformed_label_selector_is_a_bad_request(bad):
    with pytest.raises(KubeError) as err:
        parse_labels(bad)
    assert err.value.code == 400 and err.value.message.startswith("unable to parse requirement")


def test_field_selectors_know_their_fields():
    pod = {"metadata": {"name": "p", "namespace": "x"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}}
    assert parse_fields("spec.nodeName=n1,status.phase!=Succeeded", "pods").matches(pod, "pods")
    assert not parse_fields("metadata.name==q", "pods").matches(pod, "pods")
    with pytest.raises(KubeError) as err:
        parse_fields("spec.nodeName=n1", "configmaps")
    assert err.value.code == 400 and err.value.message == "field label not supported: spec.nodeName"


# --- patches ----------------------------------------------------------------------------------------------

def test_json_merge_patch_rfc7386():
    assert P.merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None, "d": 3}, "l": [2]}) == \
        {"a": {"c": 2, "d": 3}, "l": [2]}


def test_json_patch_rfc6902_and_failed_test_op():
    doc = {"spec": {"replicas": 1, "list": ["a", "b"]}}
    out = P.json_patch(doc, [{"op": "replace", "path": "/spec/replicas", "value": 3},
                             {"op": "add", "path": "/spec/list/-", "value": "c"},
                             {"op": "remove", "path": "/spec/list/0"},
                             {"op": "copy", "from": "/spec/replicas", "path": "/spec/copy"},
                             {"op": "test", "path": "/spec/copy", "value": 3}])
    assert out == {"spec": {"replicas": 3, "list": ["b", "c"], "copy": 3}}
    with pytest.raises(KubeError) as err:
        P.json_patch(doc, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert err.value.code == 422
    with pytest.raises(KubeError) as err:
        P.json_patch(doc, [{"op": "replace", "path": "/spec/missing/x", "value": 1}])
    assert err.value.code == 422


def test_strategic_merge_uses_patch_merge_keys():
    live = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}], "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "b:1"}]}}}}
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a:2", "env": [{"name": "Y", "value": "2"}], "ports": [{"containerPort": 81}]},
        {"name": "b", "$patch": "delete"}, {"name": "c", "image": "c:1"}]}}}}
    out = P.strategic_merge(live, patch, "Deployment")
    cs = out["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in cs] == ["a", "c"]
    assert cs[0]["image"] == "a:2"
    assert cs[0]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert cs[0]["ports"] == [{"containerPort": 80}, {"containerPort": 81}]


def test_strategic_merge_directives_from_kubectl_apply():
    live = {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "tolerations": [{"key": "x"}]},
            "metadata": {"finalizers": ["f1"]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "a", "image": "i"}], "tolerations": [{"key": "y"}]},
             "metadata": {"finalizers": ["f2"]}}
    out = P.strategic_merge(live, patch, "Pod")
    assert out["spec"]["containers"] == [{"name": "b"}, {"name": "a", "image": "i"}]
    assert out["spec"]["tolerations"] == [{"key": "y"}]            # no merge key: replaced
    assert out["metadata"]["finalizers"] == ["f1", "f2"]            # patchStrategy merge on a primitive list
    assert P.strategic_merge({"a": {"b": 1, "c": 2}}, {"a": {"$patch": "replace", "d": 3}}, "Pod") == {"a": {"d": 3}}
    assert P.strategic_merge({"spec": {"ports": [{"port": 80, "name": "h"}]}},
                             {"spec": {"ports": [{"port": 443, "name": "s"}]}}, "Service")["spec"]["ports"] == \
        [{"port": 80, "name": "h"}, {"port": 443, "name": "s"}]


# --- store semantics through the Python API ----------------------------------------------------------------

def test_status_texts(cluster):
    cluster.create("configmaps", {"metadata": {"name": "x"}}, "default")
    with pytest.raises(KubeError) as err:
        cluster.create("configmaps", {"metadata": {"name": "x"}}, "default")
    assert err.value.status() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": 'configmaps "x" already exists', "reason": "AlreadyExists",
                                  "details": {"name": "x", "kind": "configmaps"}, "code": 409}
    with pytest.raises(KubeError) as err:
        cluster.get("deployments.apps", "nope", "default")
    assert err.value.message == 'deployments.apps "nope" not found'
    assert err.value.details == {"name": "nope", "group": "apps", "kind": "deployments"}
    with pytest.raises(KubeError) as err:
        cluster.create("pods", {"metadata": {"name": "p"}, "spec": {"containers": []}}, "default")
    assert err.value.code == 422 and err.value.message == 'Pod "p" is invalid: spec.containers: Required value'
    with pytest.raises(KubeError) as err:
        cluster.create("pods", {"metadata": {}, "spec": {"containers": [{"name": "c", "image": "i"}]}}, "default")
    assert err.value.message == 'Pod "" is invalid: metadata.name: Required value: name or generateName is required'
    with pytest.raises(KubeError) as err:
        cluster.create("configmaps", {"metadata": {"name": "x"}}, "nowhere")
    assert err.value.code == 404 and err.value.message == 'namespaces "nowhere" not found'


def test_stale_update_is_a_conflict_and_noop_updates_keep_the_version(cluster):
    cm = cluster.create("configmaps", {"metadata": {"name": "x"}, "data": {"a": "1"}}, "default")
    same = cluster.update("configmaps", cm, "default")
    assert same["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]
    cm2 = dict(cm, data={"a": "2"})
    newer = cluster.update("configmaps", cm2, "default")
    assert int(newer["metadata"]["resourceVersion"]) > int(cm["metadata"]["resourceVersion"])
    with pytest.raises(KubeError) as err:
        cluster.update("configmaps", dict(cm, data={"a": "3"}), "default")
    assert err.value.code == 409 and err.value.message == (
        'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your '
        "changes to the latest version and try again")


def test_status_subresource_rules(cluster):
    cluster.create("deployments.apps", {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                                                             "spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"replicas": 7}}, "default")
    d = cluster.get("deployments.apps", "d", "default")
    assert d["status"] == {} and d["metadata"]["generation"] == 1          # create drops status
    d["status"] = {"replicas": 3}
    d["spec"]["replicas"] = 2
    d = cluster.update("deployments.apps", d, "default")
    assert d["status"] == {} and d["metadata"]["generation"] == 2          # main update ignores status
    d["status"] = {"replicas": 3}
    d["spec"]["replicas"] = 5
    d = cluster.update("deployments.apps", d, "default", subresource="status")
    assert d["status"] == {"replicas": 3} and d["spec"]["replicas"] == 2   # /status ignores spec
    assert d["metadata"]["generation"] == 2


def test_strategic_patch_on_a_custom_resource_is_415(cluster):
    cluster.create("customresourcedefinitions", {
        "metadata": {"name": "things.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster", "names": {"plural": "things", "kind": "Thing"},
                 "versions": [{"name": "v1", "served": True, "storage": True}]}})
    cluster.create("things.example.com", {"metadata": {"name": "t"}, "spec": {"a": 1}})
    with pytest.raises(KubeError) as err:
        cluster.patch("things.example.com", "t", {"spec": {"a": 2}}, patch_type="strategic")
    assert err.value.code == 415 and err.value.reason == "UnsupportedMediaType"
    assert cluster.patch("things.example.com", "t", {"spec": {"b": 2}})["spec"] == {"a": 1, "b": 2}
    with pytest.raises(KubeError) as err:
        cluster.get("things.example.com", "nope")
    assert err.value.message == 'things.example.com "nope" not found' and err.value.details["group"] == "example.com"


def test_server_side_apply_drops_fields_the_manager_stopped_applying(cluster):
    cfg = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1", "y": "2"}},
           "data": {"k": "v", "old": "o"}}
    out = cluster.patch("configmaps", "a", cfg, "default", patch_type="apply", field_manager="me")
    assert out["data"] == {"k": "v", "old": "o"}
    assert out["metadata"]["managedFields"][0]["manager"] == "me"
    assert out["metadata"]["managedFields"][0]["operation"] == "Apply"
    cfg2 = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"x": "1"}},
            "data": {"k": "v2"}}
    out = cluster.patch("configmaps", "a", cfg2, "default", patch_type="apply", field_manager="me")
    assert out["data"] == {"k": "v2"} and out["metadata"]["labels"] == {"x": "1"}
    with pytest.raises(KubeError) as err:
        cluster.patch("configmaps", "a", cfg2, "default", patch_type="apply")
    assert err.value.code == 400


# --- the property: resourceVersions and watch replay --------------------------------------------------------

OPS = st.lists(st.tuples(st.sampled_from(["create", "update", "delete"]), st.integers(0, 4), st.text("ab", max_size=3)),
               min_size=1, max_size=25)


def _drain(cluster: KubeCluster, rv: str) -> list[tuple[str, str, str]]:
    rt = cluster.rtype("configmaps")
    out = []
    for chunk in watch.stream(cluster, rt, "default", parse_labels(""), parse_fields("", "configmaps"), rv,
                              timeout=0, bookmarks=False, initial=None, render=lambda o, first: o,
                              stopping=lambda: False):
        for line in chunk.decode().splitlines():
            ev = json.loads(line)
            out.append((ev["type"], ev["object"]["metadata"]["name"], ev["object"]["metadata"]["resourceVersion"]))
    return out


@settings(max_examples=60, deadline=None)
@given(OPS, st.integers(0, 24))
def test_resource_versions_increase_and_a_watch_replays_exactly_the_later_events(ops, cut):
    cluster = KubeCluster("prop", VirtualClock(), controllers=False)
    events: list[tuple[str, str, str]] = []
    marks: list[str] = [str(cluster.store.rv)]
    last = cluster.store.rv
    for op, idx, val in ops:
        name = f"cm-{idx}"
        try:
            if op == "create":
                o = cluster.create("configmaps", {"metadata": {"name": name}, "data": {"v": val}}, "default")
                kind = "ADDED"
            elif op == "update":
                cur = cluster.get("configmaps", name, "default")
                before = cur["metadata"]["resourceVersion"]
                o = cluster.update("configmaps", dict(cur, data={"v": val + "!"}), "default")
                kind = "MODIFIED"
                if cur.get("data") == {"v": val + "!"}:      # a no-op update writes nothing
                    assert o["metadata"]["resourceVersion"] == before
                    continue
            else:
                o = cluster.delete("configmaps", name, "default")
                kind = "DELETED"
        except KubeError as err:
            assert err.code in (404, 409)
            continue
        rv = int(o["metadata"]["resourceVersion"])
        assert rv > last
        last = rv
        events.append((kind, name, o["metadata"]["resourceVersion"]))
        marks.append(o["metadata"]["resourceVersion"])
    start = marks[min(cut, len(marks) - 1)]
    assert _drain(cluster, start) == [e for e in events if int(e[2]) > int(start)]


def test_a_watch_from_before_the_history_window_is_410(cluster):
    for i in range(3):
        cluster.create("configmaps", {"metadata": {"name": f"c{i}"}}, "default")
    old = str(cluster.store.rv - 2)
    cluster.store.compact()
    lines = list(watch.stream(cluster, cluster.rtype("configmaps"), "default", parse_labels(""),
                              parse_fields("", "configmaps"), old, timeout=0, bookmarks=False, initial=None,
                              render=lambda o, f: o, stopping=lambda: False))
    ev = json.loads(lines[0])
    assert ev["type"] == "ERROR" and ev["object"]["code"] == 410 and ev["object"]["reason"] == "Expired"
    assert ev["object"]["message"] == f"too old resource version: {old} ({cluster.store.rv})"


def test_lists_keep_name_order_as_objects_come_and_go(cluster: KubeCluster) -> None:
    """The store keeps each kind's sorted names between writes: a list after any create or delete is still the
    whole kind (or namespace) in name order."""
    def names(ns=None):
        return [(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in cluster.list("configmaps", ns)]
    for ns in ("a", "b"):
        cluster.create("namespaces", {"metadata": {"name": ns}})
    for ns, name in [("b", "m"), ("a", "z"), ("b", "a")]:
        cluster.create("configmaps", {"metadata": {"name": name}}, ns)
    assert names() == [("a", "z"), ("b", "a"), ("b", "m")] and names("b") == [("b", "a"), ("b", "m")]
    cluster.create("configmaps", {"metadata": {"name": "c"}}, "b")
    cluster.delete("configmaps", "z", "a")
    assert names() == [("b", "a"), ("b", "c"), ("b", "m")] and names("a") == []
    assert names("b") == [("b", "a"), ("b", "c"), ("b", "m")]
