"""Pod and template helpers the workload controllers share (pkg/controller/controller_utils.go, podutil)."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.meta import (
    deep,
    fnv32a,
    get_condition,
    is_owned_by,
    owner_ref,
    parse_time,
    safe_encode,
    terminating,
)

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster
    from labsim.fakes.kube.store import Key


class Watching:
    """A control loop that has work only when a kind it watches (its informers, WATCHES) changed since it last ran."""
    WATCHES: tuple[Key, ...] = ()
    cluster: KubeCluster

    def due(self, since: int) -> bool:
        return self.cluster.store.changed_since(self.WATCHES, since)


def pod_ready(pod: dict[str, Any]) -> bool:
    c = get_condition(pod, "Ready")
    return bool(c and c.get("status") == "True")


def pod_available(pod: dict[str, Any], min_ready: int, now) -> bool:
    """Ready for at least minReadySeconds (`now` is the virtual UTC datetime)."""
    if not pod_ready(pod):
        return False
    if not min_ready:
        return True
    since = parse_time(get_condition(pod, "Ready").get("lastTransitionTime"))
    return since is not None and (now - since).total_seconds() >= min_ready


def active(pod: dict[str, Any]) -> bool:
    """Counts toward a controller's replicas: not terminating and not finished."""
    return not terminating(pod) and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def owned_pods(cluster: KubeCluster, owner: dict[str, Any]) -> list[dict[str, Any]]:
    ns = owner["metadata"].get("namespace", "")
    return [p for p in cluster.store.items(("", "pods"), ns) if is_owned_by(p, owner)]


def template_hash(template: dict[str, Any], collisions: int = 0) -> str:
    """controller.ComputeHash spelled with SafeEncodeString (the pod-template-hash label)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collisions:
        data += str(collisions).encode()
    return safe_encode(str(fnv32a(data)))


def pod_from_template(cluster: KubeCluster, owner: dict[str, Any], template: dict[str, Any], *,
                      name: str | None = None, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    t = deep(template or {})
    md = t.get("metadata") or {}
    labels = dict(md.get("labels") or {})
    labels.update(extra_labels or {})
    meta: dict[str, Any] = {"labels": labels, "ownerReferences": [owner_ref(owner)]}
    if md.get("annotations"):
        meta["annotations"] = dict(md["annotations"])
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = owner["metadata"]["name"] + "-"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": t.get("spec") or {}}


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    """v1helper.TolerationsTolerateTaint."""
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator", "Equal")
        if not t.get("key") and op == "Exists":
            return True
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def untolerated(tolerations: list[dict[str, Any]], taints: list[dict[str, Any]], effects: tuple[str, ...]) \
        -> dict[str, Any] | None:
    for taint in taints or []:
        if taint.get("effect") in effects and not tolerates(tolerations, taint):
            return taint
    return None


def _expr_match(expr: dict[str, Any], values: dict[str, str]) -> bool:
    key, op, vals = expr.get("key"), expr.get("operator"), expr.get("values") or []
    has = key in values
    v = values.get(key)
    if op == "In":
        return has and v in vals
    if op == "NotIn":
        return not has or v not in vals
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        try:
            return (int(v) > int(vals[0])) if op == "Gt" else (int(v) < int(vals[0]))
        except (TypeError, ValueError, IndexError):
            return False
    return False


def node_matches(pod_spec: dict[str, Any], node: dict[str, Any]) -> bool:
    """nodeSelector plus required node affinity (matchExpressions on labels, matchFields on metadata.name)."""
    labels = node["metadata"].get("labels") or {}
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        if all(_expr_match(e, labels) for e in term.get("matchExpressions") or []) and \
                all(_expr_match(e, fields) for e in term.get("matchFields") or []):
            return True
    return False
