"""Kubernetes objects made to match, the way an engineer's `kubectl apply` would leave them, with exact accounting:
each object is read first and written only when the fields the lab cares about differ (a second run writes
nothing). Through the `kubernetes` client's dynamic API (discovery, then the object's own endpoint)."""
from __future__ import annotations

from typing import Any

from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException

COMPARED = ("spec", "data", "stringData", "rules", "roleRef", "subjects", "type")


def client(api) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api)


def _subset(want: Any, have: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(_subset(w, h) for w, h in zip(want, have))
    return want == have or (isinstance(want, (int, float)) and str(want) == str(have))


def ensure(dyn: dynamic.DynamicClient, obj: dict[str, Any]) -> str | None:
    """Create `obj` or bring the fields it gives to match; returns "created", "updated" or None (unchanged)."""
    res = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    md = obj["metadata"]
    ns = md.get("namespace") if res.namespaced else None
    try:
        have = res.get(name=md["name"], namespace=ns).to_dict()
    except ApiException as exc:
        if exc.status != 404:
            raise
        res.create(body=obj, namespace=ns)
        return "created"
    want = {k: v for k, v in obj.items() if k in COMPARED}
    if md.get("labels"):
        want["metadata"] = {"labels": md["labels"]}
    if obj["kind"] == "Secret" and "stringData" in want:      # the API returns data (base64), never stringData
        import base64
        want["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in want.pop("stringData").items()}
    if _subset(want, have):
        return None
    res.patch(body=obj, name=md["name"], namespace=ns, content_type="application/merge-patch+json")
    return "updated"


def get(dyn: dynamic.DynamicClient, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
    res = dyn.resources.get(api_version=api_version, kind=kind)
    try:
        return res.get(name=name, namespace=namespace if res.namespaced else None)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
