"""The create-only APIs that answer questions instead of storing objects: authorization.k8s.io reviews
(`kubectl auth can-i`), authentication.k8s.io SelfSubjectReview (`kubectl auth whoami`) and TokenReview, and
the `serviceaccounts/token` subresource (TokenRequest: `kubectl create token`).

Shapes and texts: staging/src/k8s.io/api/authorization/v1/types.go, authentication/v1/types.go,
pkg/registry/authorization/*, pkg/registry/core/serviceaccount/storage/token.go (expirationSeconds defaults to
3600 and must be at least 600: "may not specify a duration less than 10 minutes").
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube import errors as E
from labsim.fakes.kube.auth import UserInfo, issue_token, service_account_user
from labsim.fakes.kube.rbac import Attributes, authorize, cluster_role_rules
from labsim.fakes.kube.resources import ResourceType

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

AUTHZ, AUTHN = "authorization.k8s.io", "authentication.k8s.io"
REVIEW_TYPES = (
    ResourceType(AUTHZ, "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", namespaced=False,
                 verbs=("create",), generation=False),
    ResourceType(AUTHZ, "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", namespaced=False,
                 verbs=("create",), generation=False),
    ResourceType(AUTHZ, "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False,
                 verbs=("create",), generation=False),
    ResourceType(AUTHZ, "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", verbs=("create",),
                 generation=False),
    ResourceType(AUTHN, "v1", "selfsubjectreviews", "SelfSubjectReview", namespaced=False, verbs=("create",),
                 generation=False),
    ResourceType(AUTHN, "v1", "tokenreviews", "TokenReview", namespaced=False, verbs=("create",),
                 generation=False),
)
REVIEW_KINDS = {t.plural for t in REVIEW_TYPES}


def _attrs(spec: dict[str, Any]) -> Attributes:
    ra = spec.get("resourceAttributes")
    if ra:
        return Attributes(ra.get("verb", ""), True, ra.get("group", ""), ra.get("version", ""),
                          ra.get("resource", ""), ra.get("subresource", ""), ra.get("namespace", ""),
                          ra.get("name", ""))
    nra = spec.get("nonResourceAttributes") or {}
    return Attributes(nra.get("verb", ""), False, path=nra.get("path", ""))


def _meta() -> dict[str, Any]:
    return {"creationTimestamp": None}


def review(cluster: KubeCluster, rt: ResourceType, body: dict[str, Any], user: UserInfo,
           namespace: str | None) -> dict[str, Any]:
    spec = body.get("spec") or {}
    head = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": _meta()}
    if rt.plural == "selfsubjectreviews":
        return {**head, "status": {"userInfo": user.as_status()}}
    if rt.plural == "tokenreviews":
        token = spec.get("token") or ""
        who = service_account_user(cluster, token)
        status: dict[str, Any] = {"user": {}}
        if who is not None:
            status = {"authenticated": True, "user": who.as_status(),
                      "audiences": spec.get("audiences") or [cluster.sa_keys.issuer]}
        return {**head, "spec": spec, "status": status}
    if rt.plural in ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews"):
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise E.invalid(rt.kind, rt.group, "", [E.invalid_value(
                "spec.resourceAttributes", None, "exactly one of nonResourceAttributes or resourceAttributes "
                                                 "must be specified")])
        who = user
        if rt.plural != "selfsubjectaccessreviews":
            who = UserInfo(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
        a = _attrs(spec)
        if rt.plural == "localsubjectaccessreviews":
            ra = spec.get("resourceAttributes") or {}
            if ra.get("namespace") and ra["namespace"] != namespace:
                raise E.invalid(rt.kind, rt.group, "", [E.invalid_value(
                    "spec.resourceAttributes.namespace", ra["namespace"], "must match metadata.namespace")])
            a = Attributes(a.verb, True, a.group, a.version, a.resource, a.subresource, namespace or "", a.name)
        allowed, reason = authorize(cluster, who, a)
        status = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        out = {**head, "spec": spec, "status": status}
        if namespace:
            out["metadata"]["namespace"] = namespace
        return out
    if rt.plural == "selfsubjectrulesreviews":
        return {**head, "spec": spec, "status": rules_review(cluster, user, spec.get("namespace", ""))}
    raise E.method_not_allowed()


def rules_review(cluster: KubeCluster, user: UserInfo, namespace: str) -> dict[str, Any]:
    """SelfSubjectRulesReview: the rules every binding of the user grants (`kubectl auth can-i --list`)."""
    if "system:masters" in user.groups:
        rules = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]
    else:
        from labsim.fakes.kube.rbac import _subject_matches
        rules = []
        with cluster.lock:
            sources = [(b, "") for b in cluster.select(cluster.rtype("clusterrolebindings"), None)]
            if namespace:
                sources += [(b, namespace) for b in cluster.select(cluster.rtype("rolebindings"), namespace)]
            for b, ns in sources:
                if not any(_subject_matches(s, user, ns) for s in b.get("subjects") or []):
                    continue
                ref = b.get("roleRef") or {}
                role = cluster.live("clusterroles", ref.get("name", "")) if ref.get("kind") == "ClusterRole" \
                    else cluster.live("roles", ref.get("name", ""), ns)
                if role is not None:
                    for r in cluster_role_rules(cluster, role) if ref.get("kind") == "ClusterRole" \
                            else role.get("rules") or []:
                        if r not in rules:
                            rules.append(r)
    resource_rules = [{k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if r.get(k)}
                      for r in rules if not r.get("nonResourceURLs")]
    nonresource = [{"verbs": r["verbs"], "nonResourceURLs": r["nonResourceURLs"]} for r in rules
                   if r.get("nonResourceURLs")]
    return {"resourceRules": resource_rules, "nonResourceRules": nonresource, "incomplete": False}


def token_request(cluster: KubeCluster, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST serviceaccounts/NAME/token."""
    spec = dict(body.get("spec") or {})
    seconds = spec.get("expirationSeconds")
    seconds = 3600 if seconds is None else int(seconds)
    if seconds < 600:
        raise E.invalid("TokenRequest", AUTHN, name, [E.invalid_value(
            "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")])
    if seconds > 1 << 32:
        raise E.invalid("TokenRequest", AUTHN, name, [E.invalid_value(
            "spec.expirationSeconds", seconds, "may not specify a duration larger than 2^32 seconds")])
    with cluster.lock:
        sa = cluster.get("serviceaccounts", name, namespace)
    audiences = spec.get("audiences") or [cluster.sa_keys.issuer]
    token, exp = issue_token(cluster, namespace, sa, seconds=seconds, audiences=audiences,
                             bound=spec.get("boundObjectRef"))
    spec.update({"audiences": audiences, "expirationSeconds": seconds})
    spec.setdefault("boundObjectRef", None)
    when = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": cluster.now()},
            "spec": {k: v for k, v in spec.items() if v is not None},
            "status": {"token": token, "expirationTimestamp": when}}
