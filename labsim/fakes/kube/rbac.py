"""Authorization as kube-apiserver does it with `--authorization-mode=Node,RBAC`: members of `system:masters`
may do anything (the privileged-group authorizer), everyone else only what a (Cluster)RoleBinding grants.

- Request attributes from the path (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): verb
  from the method (GET on a collection is list, with watch=true watch; DELETE on one is deletecollection),
  namespace, resource, subresource, name; `namespaces/NAME` has namespace NAME; anything outside /api and /apis
  is a non-resource request (verb = the method in lower case). pods/exec, attach and portforward over a
  WebSocket GET need `create` (AuthorizePodWebsocketUpgradeCreatePermission, on by default since 1.31).
- Rules (plugin/pkg/auth/authorizer/rbac/rbac.go, rule_resolver.go): verbs, apiGroups, resources (`*`,
  `pods/*`, `*/scale`), resourceNames, nonResourceURLs (a trailing `*` is a prefix); aggregated ClusterRoles
  take the rules of every ClusterRole their aggregationRule selects.
- The answer: allowed with "RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to Group "z"", or
  denied, the reason naming the roles a binding refers to that do not exist.
- The 403 text (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage):
  `pods is forbidden: User "system:serviceaccount:default:probe" cannot list resource "pods" in API group ""
  in the namespace "default"`.

The bootstrap roles and bindings (data/bootstrap-rbac.yaml) exist as objects, as in a real cluster.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from labsim.fakes.kube import errors as E
from labsim.fakes.kube.auth import SA_PREFIX, UserInfo
from labsim.fakes.kube.selectors import from_object

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

RBAC = "rbac.authorization.k8s.io"
PRIVILEGED_GROUP = "system:masters"
WEBSOCKET_CREATE = {"exec", "attach", "portforward"}
DATA = Path(__file__).with_name("data") / "bootstrap-rbac.yaml"


@dataclass(frozen=True)
class Attributes:
    verb: str
    resource_request: bool
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


def attributes(method: str, path: str, query: dict[str, str]) -> Attributes:
    """RequestInfoFactory.NewRequestInfo, for the paths this server serves."""
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] not in ("api", "apis") or (parts[0] == "api" and len(parts) < 2) or \
            (parts[0] == "apis" and len(parts) < 3):
        return Attributes(method.lower(), False, path=path)
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return Attributes(method.lower(), False, path=path)
    verb = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete"}.get(method, method.lower())
    watch_path = False
    if rest[0] == "watch":
        watch_path, rest = True, rest[1:]
        verb = "watch"
    ns = ""
    if rest and rest[0] == "namespaces":
        if len(rest) > 1:
            ns = rest[1]
            if len(rest) > 2 and rest[2] not in ("status", "finalize"):
                rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if not name:
        if verb == "get":
            verb = "watch" if query.get("watch", "").lower() in ("true", "1") else "list"
        elif verb == "delete":
            verb = "deletecollection"
    elif verb == "get" and query.get("watch", "").lower() in ("true", "1") and not watch_path:
        verb = "watch"
    if sub in WEBSOCKET_CREATE and verb == "get":
        verb = "create"
    return Attributes(verb, True, group, version, resource, sub, ns, name, path)


# --- bootstrap ---------------------------------------------------------------------------------------------------
@cache
def _bootstrap() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text())


def bootstrap(cluster: KubeCluster) -> None:
    """Create the default ClusterRoles and ClusterRoleBindings (what the apiserver's RBAC post-start hook does)."""
    data = _bootstrap()
    meta = {"annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
            "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}}
    for role in data["clusterroles"]:
        md = {"name": role["name"], "annotations": dict(meta["annotations"]),
              "labels": {**meta["labels"], **(role.get("labels") or {})}}
        obj: dict[str, Any] = {"metadata": md}
        if role.get("aggregate"):
            obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {role["aggregate"]: "true"}}]}
            obj["rules"] = []
        else:
            obj["rules"] = [dict(r) for r in role["rules"]]
        cluster.create("clusterroles", obj)
    for crb in data["clusterrolebindings"]:
        cluster.create("clusterrolebindings", {
            "metadata": {"name": crb["name"], "annotations": dict(meta["annotations"]),
                         "labels": dict(meta["labels"])},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": crb["role"]},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": g} for g in crb["groups"]]})
    for role in data["clusterroles"]:
        if role.get("aggregate"):
            live = cluster.live("clusterroles", role["name"])
            new = dict(live, rules=cluster_role_rules(cluster, live))
            cluster.put("clusterroles", new)


# --- evaluation ----------------------------------------------------------------------------------------------
def cluster_role_rules(cluster: KubeCluster, role: dict[str, Any], seen: frozenset[str] = frozenset()) -> list:
    """A ClusterRole's rules, its aggregationRule's selections included (the aggregation controller's union)."""
    agg = role.get("aggregationRule")
    if not agg:
        return list(role.get("rules") or [])
    rules: list = []
    name = role["metadata"]["name"]
    for sel in agg.get("clusterRoleSelectors") or []:
        s = from_object(sel)
        for other in cluster.select(cluster.rtype("clusterroles"), None):
            oname = other["metadata"]["name"]
            if oname == name or oname in seen or not s.matches(other["metadata"].get("labels")):
                continue
            for r in cluster_role_rules(cluster, other, seen | {name}):
                if r not in rules:
                    rules.append(r)
    return rules


def _has(values: list[str] | None, want: str) -> bool:
    return bool(values) and ("*" in values or want in values)


def _resource_match(resources: list[str] | None, resource: str, sub: str) -> bool:
    if not resources:
        return False
    combined = f"{resource}/{sub}" if sub else resource
    for r in resources:
        if r == "*" or r == combined:
            return True
        if sub and (r == f"{resource}/*" or r == f"*/{sub}"):
            return True
    return False


def _url_match(urls: list[str] | None, path: str) -> bool:
    for u in urls or []:
        if u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1])):
            return True
    return False


def rule_allows(rule: dict[str, Any], a: Attributes) -> bool:
    if not _has(rule.get("verbs"), a.verb):
        return False
    if not a.resource_request:
        return _url_match(rule.get("nonResourceURLs"), a.path)
    if not _has(rule.get("apiGroups"), a.group) or not _resource_match(rule.get("resources"), a.resource,
                                                                        a.subresource):
        return False
    names = rule.get("resourceNames")
    return not names or a.name in names


def _subject_matches(s: dict[str, Any], user: UserInfo, binding_ns: str) -> bool:
    kind = s.get("kind")
    if kind == "User":
        return s.get("name") == user.name
    if kind == "Group":
        return s.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = s.get("namespace") or binding_ns
        return user.name == f"{SA_PREFIX}{ns}:{s.get('name')}"
    return False


def _describe(s: dict[str, Any], binding_ns: str) -> str:
    if s.get("kind") == "ServiceAccount":
        return f'{s["kind"]} "{s.get("name")}/{s.get("namespace") or binding_ns}"'
    return f'{s.get("kind")} "{s.get("name")}"'


RBAC_KINDS = ("clusterrolebindings", "rolebindings", "clusterroles", "roles")


def authorize(cluster: KubeCluster, user: UserInfo, a: Attributes) -> tuple[bool, str]:
    """(allowed, reason) for `user` doing `a`. An answer is kept until a role or binding changes: the apiserver
    asks for every request and the Cilium agents on every tick, and walking the bindings was a tenth of a run."""
    if PRIVILEGED_GROUP in user.groups:
        return True, ""
    with cluster.lock:
        changed = cluster.store.changed_at
        stamp = tuple(changed.get(cluster.rtype(kind).store_key, 0) for kind in RBAC_KINDS)
        key = (user.name, user.groups, a)
        kept = cluster.authz.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        answer = _authorize(cluster, user, a)
        if len(cluster.authz) >= 4096:
            cluster.authz.clear()
        cluster.authz[key] = (stamp, answer)
        return answer


def _authorize(cluster: KubeCluster, user: UserInfo, a: Attributes) -> tuple[bool, str]:
    errors: list[str] = []
    sources = [(b, "") for b in cluster.select(cluster.rtype("clusterrolebindings"), None)]
    if a.namespace:
        sources += [(b, a.namespace) for b in cluster.select(cluster.rtype("rolebindings"), a.namespace)]
    for binding, ns in sources:
        subject = next((s for s in binding.get("subjects") or [] if _subject_matches(s, user, ns)), None)
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            role = cluster.live("clusterroles", ref.get("name", ""))
            if role is None:
                errors.append(f'clusterrole.rbac.authorization.k8s.io "{ref.get("name")}" not found')
                continue
            rules = cluster_role_rules(cluster, role)
        else:
            role = cluster.live("roles", ref.get("name", ""), ns)
            if role is None:
                errors.append(f'role.rbac.authorization.k8s.io "{ref.get("name")}" not found')
                continue
            rules = role.get("rules") or []
        if any(rule_allows(r, a) for r in rules):
            bname = binding["metadata"]["name"] + (f"/{ns}" if ns else "")
            kind = "RoleBinding" if ns else "ClusterRoleBinding"
            return True, (f'RBAC: allowed by {kind} "{bname}" of {ref.get("kind")} "{ref.get("name")}" '
                          f"to {_describe(subject, ns)}")
    if not errors:
        return False, ""
    return False, "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")


def forbidden(user: UserInfo, a: Attributes, reason: str = "") -> E.KubeError:
    """The 403 the apiserver answers (responsewriters.Forbidden)."""
    if not a.resource_request:
        msg = f'User "{user.name}" cannot {a.verb} path "{a.path}"'
    else:
        res = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
        where = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
        msg = f'User "{user.name}" cannot {a.verb} resource "{res}" in API group "{a.group}" {where}'
    if reason:
        msg = f"{msg}: {reason}"
    qualified = f"{a.resource}.{a.group}" if a.group else a.resource
    if not a.resource_request:
        return E.KubeError(403, "Forbidden", f"forbidden: {msg}", {})
    text = f'{qualified} "{a.name}" is forbidden: {msg}' if a.name else f"{qualified} is forbidden: {msg}"
    details: dict[str, Any] = {}
    if a.name:
        details["name"] = a.name
    if a.group:
        details["group"] = a.group
    details["kind"] = a.resource
    return E.KubeError(403, "Forbidden", text, details)
