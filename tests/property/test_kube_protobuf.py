"""Any built-in object, serialised by the `kubernetes` client as JSON, and the same object sent as protobuf
(through the `k8s\\x00` envelope, every non-pointer field written as gogo's generated Marshal writes it), is
answered and stored identically by the Kubernetes fake.

Objects are drawn from the Go type table (the kinds below, every field optional or not, nested structs,
lists, maps, the special types), made into the Python client's models (`Model.from_dict`) and serialised
by its ApiClient: what a lab's own code would send. Each body goes to its own cluster (same seed, same
epoch, controllers off): the answers and the stored objects must be equal.
"""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import count

import kubernetes.client.models as models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes.client import ApiClient

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube import api
from labsim.fakes.kube import gotypes as G
from labsim.fakes.kube import protobuf as P
from labsim.fakes.kube.cluster import KubeCluster
from labsim.fakes.kube.gen_models import _model
from labsim.fakes.kube.openapi import _model_fields

KINDS = [("", "v1", "ConfigMap", "configmaps"), ("", "v1", "Secret", "secrets"), ("", "v1", "Service", "services"),
         ("", "v1", "Pod", "pods"), ("", "v1", "ServiceAccount", "serviceaccounts"),
         ("apps", "v1", "Deployment", "deployments"), ("batch", "v1", "Job", "jobs"),
         ("rbac.authorization.k8s.io", "v1", "Role", "roles"), ("coordination.k8s.io", "v1", "Lease", "leases"),
         ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices")]
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_names = count()

WORD = st.text(alphabet="abcxyz019-", min_size=0, max_size=6)
KEY = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)
SCALAR = {
    "string": WORD, "bool": st.booleans(), "int32": st.integers(-(1 << 31), (1 << 31) - 1),
    "int64": st.integers(-(1 << 53), 1 << 53), "double": st.floats(-1e6, 1e6, allow_nan=False),
    "float": st.just(0.5), "bytes": st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode()),
}
SPECIAL = {
    G.TIME: st.integers(0, 10 ** 9).map(lambda s: (EPOCH + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ")),
    G.MICROTIME: st.integers(0, 10 ** 12).map(
        lambda us: (EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    G.INTORSTR: st.one_of(st.integers(0, 65535), st.sampled_from(["http", "25%", "metrics"])),
    G.QUANTITY: st.sampled_from(["1", "100m", "2Gi", "0", "512Mi"]),
    G.DURATION: st.sampled_from(["1s", "5m0s", "1h0m0s"]),
}


def value(t: str, depth: int) -> st.SearchStrategy:
    if t in SCALAR:
        return SCALAR[t]
    if t in SPECIAL:
        return SPECIAL[t]
    if t in G.RAW:
        return st.just(None)
    return message(t, depth + 1)


def field_value(f: dict, depth: int) -> st.SearchStrategy:
    if f["t"] == "map":
        return st.dictionaries(KEY, value(f["v"], depth), max_size=2)
    if f.get("rep"):
        return st.lists(value(f["t"], depth), max_size=2)
    return value(f["t"], depth)


@cache
def message(msg: str, depth: int = 0) -> st.SearchStrategy:
    entry = G.table()[msg]
    if entry.get("slice"):
        return st.lists(WORD, max_size=2)
    required = {k for k, (_, req) in _model_fields(msg).items() if req}
    fixed, optional = {}, {}
    for f in G.fields(msg):
        if f["t"] in G.RAW or f.get("inline") or f["json"] in ("kind", "apiVersion", "metadata") and depth == 0:
            continue
        if f["json"] in required:
            fixed[f["json"]] = field_value(f, depth)
        elif depth < 2:
            optional[f["json"]] = field_value(f, depth)
    return st.fixed_dictionaries(fixed, optional=optional)


def objects() -> st.SearchStrategy:
    def build(kind: tuple, body: dict, labels: dict) -> tuple:
        group, version, k, _ = kind
        obj = dict(body, apiVersion=f"{group}/{version}" if group else version, kind=k,
                   metadata={"name": f"obj-{next(_names)}", "labels": labels})
        return kind, obj
    return st.sampled_from(KINDS).flatmap(
        lambda kind: st.tuples(st.just(kind), message(G.message_for(*kind[:3])),
                               st.dictionaries(KEY, KEY, max_size=2)).map(lambda t: build(*t)))


def client_json(obj: dict) -> dict:
    """The object as the `kubernetes` client sends it: its model, then its serialiser."""
    msg = G.message_for(*(obj["apiVersion"].rpartition("/")[0], obj["apiVersion"].rpartition("/")[2], obj["kind"]))
    model = _model(models, msg)
    return ApiClient().sanitize_for_serialization(model.from_dict(obj))


def clusters() -> list[KubeCluster]:
    """Two fresh clusters, alike in everything (seed, epoch): whatever one assigns, the other assigns too."""
    return [KubeCluster("prop", VirtualClock(epoch=EPOCH), seed=7, controllers=False) for _ in range(2)]


def _post(cluster: KubeCluster, kind: tuple, body: bytes, content_type: str) -> tuple[int, dict]:
    group, version, _, plural = kind
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    req = api.Request("POST", f"{base}/namespaces/default/{plural}", {}, {"content-type": content_type,
                                                                         "accept": "application/json"}, body)
    resp = api.handle(cluster, req)
    return resp.status, json.loads(resp.body)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(objects())
def test_json_and_protobuf_bodies_are_stored_alike(drawn):
    kind, obj = drawn
    try:
        sent = client_json(obj)
    except (ValueError, TypeError):   # the client's own model refuses it: nothing a lab could send
        return
    js, pb = clusters()
    status_j, answer_j = _post(js, kind, json.dumps(sent).encode(), "application/json")
    status_p, answer_p = _post(pb, kind, P.encode(sent), P.CONTENT_TYPE)
    assert (status_p, answer_p) == (status_j, answer_j)
    if status_j == 201:
        name = sent["metadata"]["name"]
        assert pb.get(kind[3], name, "default") == js.get(kind[3], name, "default")


def test_the_envelope_round_trips_a_deployment():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "labels": {"app": "web"}, "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                    "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx",
                                                          "resources": {"limits": {"cpu": "100m"}}}]}}}}
    body = P.encode(dep)
    assert body.startswith(b"k8s\x00")
    decoded, api_version, kind = P.decode(body)
    assert (api_version, kind) == ("apps/v1", "Deployment")
    assert decoded["spec"]["replicas"] == 0                       # a pointer's zero survives
    assert decoded["spec"]["template"]["metadata"]["creationTimestamp"] is None     # Go writes a zero Time as null
    assert decoded["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": "25%"}
    assert decoded["status"] == {}
    assert decoded == G.decode_json("apps/v1.Deployment", dep)[0]
