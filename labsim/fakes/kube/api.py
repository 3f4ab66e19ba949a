"""The REST surface: paths to verbs (staging/src/k8s.io/apiserver/pkg/endpoints/installer.go), content
negotiation (JSON, `as=Table`, `as=PartialObjectMetadata[List]`, aggregated discovery), list paging, watch,
the status/scale/log/binding/eviction subresources. Transport-free: `handle(Request) -> Response`.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote


from labsim.fakes.kube import decode, discovery, health, rbac, reviews, tables, watch
from labsim.fakes.kube.auth import UserInfo
from labsim.fakes.kube import errors as E
from labsim.fakes.kube import protobuf as P
from labsim.fakes.kube.logs import pod_log
from labsim.fakes.kube.resources import ResourceType
from labsim.fakes.kube.selectors import parse_fields, parse_labels

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

JSON = "application/json"
TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
PUBLIC = ("/version", "/healthz", "/livez", "/readyz")


def public(path: str) -> bool:
    """What system:public-info-viewer lets anyone read (the health endpoints' own checks included)."""
    return path in PUBLIC or path.startswith(("/healthz/", "/livez/", "/readyz/"))


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]          # lower-case names
    body: bytes = b""
    user: str = ""
    info: UserInfo | None = None     # who asks; None: an in-process caller, not authorized (tests, tools)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterator[bytes] | None = None


def json_response(obj: Any, status: int = 200, content_type: str = JSON) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(), content_type)


def error_response(err: E.KubeError) -> Response:
    return json_response(err.status(), err.code)


# --- content negotiation ---------------------------------------------------------------------------------------

def _accepts(header: str | None) -> list[tuple[str, dict[str, str]]]:
    out = []
    for part in (header or "").split(","):
        bits = [b.strip() for b in part.split(";") if b.strip()]
        if not bits:
            continue
        params = {}
        for b in bits[1:]:
            k, _, v = b.partition("=")
            params[k.strip()] = v.strip()
        out.append((bits[0].lower(), params))
    return out


def negotiate(header: str | None, allowed: tuple[str, ...]) -> str:
    """The first of the client's choices we can answer: 'json', 'table', 'pom' (PartialObjectMetadata),
    'discovery' (aggregated v2). No Accept header means JSON; nothing acceptable is a 406."""
    choices = _accepts(header)
    if not choices:
        return "json"
    for mt, params in choices:
        if mt == P.CONTENT_TYPE and "protobuf" in allowed and params.get("as") is None:
            return "protobuf"
        if mt not in ("application/json", "*/*", "application/*"):
            continue
        as_ = params.get("as")
        if as_ is None:
            return "json"
        if as_ == "Table" and "table" in allowed and params.get("g") == "meta.k8s.io":
            return "table"
        if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and "pom" in allowed:
            return "pom"
        if as_ == "APIGroupDiscoveryList" and params.get("v") == "v2" and "discovery" in allowed:
            return "discovery"
    raise E.not_acceptable(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"])


# --- routing ---------------------------------------------------------------------------------------------------

@dataclass
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None
    watch_path: bool = False


def impersonate(cluster: KubeCluster, req: Request) -> None:
    """`Impersonate-User` / `-Group` / `-Uid` (kubectl --as, --as-group): the requester must be allowed the
    `impersonate` verb on users, groups or serviceaccounts (staging/src/k8s.io/apiserver/pkg/endpoints/filters/
    impersonation.go); then the request is the impersonated user's. Raises the 403 otherwise."""
    user = req.headers.pop("impersonate-user", None)     # once: the request is then the impersonated user's
    if not user or req.info is None:
        return
    groups = [v.strip() for k, v in req.headers.items() if k == "impersonate-group" for v in v.split(",")]
    checks = []
    if user.startswith("system:serviceaccount:") and user.count(":") == 3:
        _, _, ns, name = user.split(":")
        checks.append(rbac.Attributes("impersonate", True, "", "v1", "serviceaccounts", "", ns, name))
        groups = groups or ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
    else:
        checks.append(rbac.Attributes("impersonate", True, "", "v1", "users", "", "", user))
    checks += [rbac.Attributes("impersonate", True, "", "v1", "groups", "", "", g) for g in groups]
    for a in checks:
        allowed, reason = rbac.authorize(cluster, req.info, a)
        if not allowed:
            raise rbac.forbidden(req.info, a, reason)
    req.info = UserInfo.of(user, tuple(groups), req.headers.get("impersonate-uid", ""))
    req.user = user


def authorization_error(cluster: KubeCluster, req: Request) -> E.KubeError | None:
    """The 403 for a request its user may not make (RBAC, impersonation included), or None."""
    path = req.path.rstrip("/") or "/"
    if req.info is None or public(path):
        return None
    try:
        impersonate(cluster, req)
    except E.KubeError as err:
        return err
    attrs = rbac.attributes(req.method, path, req.query)
    allowed, reason = rbac.authorize(cluster, req.info, attrs)
    return None if allowed else rbac.forbidden(req.info, attrs, reason)


def handle(cluster: KubeCluster, req: Request, *, server_address: str = "127.0.0.1:6443",
           stopping: Callable[[], bool] = lambda: False) -> Response:
    path = req.path.rstrip("/") or "/"
    try:
        denied = authorization_error(cluster, req)
        if denied is not None:
            raise denied
        got = health.check(path, req.query)
        if got is not None:
            return Response(got[0], got[1].encode(), "text/plain; charset=utf-8")
        if path == "/metrics":
            return Response(200, health.metrics(cluster, cluster.request_counts).encode(),
                            "text/plain; version=0.0.4; charset=utf-8")
        if path == "/version":
            return json_response(discovery.version(cluster))
        if path.startswith("/openapi/"):
            return _openapi(cluster, path, req)
        if path == "/api":
            if negotiate(req.headers.get("accept"), ("discovery",)) == "discovery":
                return json_response(discovery.aggregated(cluster, True), content_type=discovery.AGGREGATED_V2)
            return json_response(discovery.api_versions(server_address))
        if path == "/apis":
            if negotiate(req.headers.get("accept"), ("discovery",)) == "discovery":
                return json_response(discovery.aggregated(cluster, False), content_type=discovery.AGGREGATED_V2)
            return json_response(discovery.api_group_list(cluster))
        parts = [unquote(p) for p in path.split("/")[1:]]
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                g = discovery.api_group(cluster, parts[1])
                if g is None:
                    raise E.resource_not_found()
                return json_response(g)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")
        if not rest:
            rl = discovery.resource_list(cluster, group, version)
            if rl is None:
                raise E.resource_not_found()
            return json_response(rl)
        target = _target(cluster, group, version, rest)
        return _dispatch(cluster, req, target, stopping)
    except E.KubeError as err:
        return error_response(err)


def _target(cluster: KubeCluster, group: str, version: str, rest: list[str]) -> Target:
    watch_path = False
    if rest and rest[0] == "watch":
        watch_path, rest = True, rest[1:]
    ns = None
    if rest and rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        ns, rest = rest[1], rest[2:]
    if not rest:
        raise E.resource_not_found()
    rt = cluster.registry.get(group, version, rest[0])
    if rt is None:
        raise E.resource_not_found()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3 or (sub and sub not in rt.subresources):
        raise E.resource_not_found()
    if ns is not None and not rt.namespaced:
        raise E.resource_not_found()
    if ns is None and rt.namespaced and name is not None:
        raise E.resource_not_found()
    return Target(rt, ns, name, sub, watch_path)


def _openapi(cluster: KubeCluster, path: str, req: Request | None = None) -> Response:
    from labsim.fakes.kube import openapi
    if path == "/openapi/v2":
        accept = (req.headers.get("accept") if req else None) or ""
        if accept and "json" not in accept and "*/*" not in accept:
            # the protobuf (gnostic) form of v2 is not served: clients that accept only it get the 406
            raise E.not_acceptable(["application/json"])
        return json_response(openapi.v2_doc(cluster))
    if path == "/openapi/v3":
        return json_response(openapi.v3_index(cluster))
    if path.startswith("/openapi/v3/"):
        rel = path[len("/openapi/v3/"):].split("/")
        if rel[0] == "api" and len(rel) == 2:
            doc = openapi.v3_doc(cluster, "", rel[1])
        elif rel[0] == "apis" and len(rel) == 3:
            doc = openapi.v3_doc(cluster, rel[1], rel[2])
        else:
            doc = None
        if doc is not None:
            return json_response(doc)
    return Response(404, b"404 page not found\n", "text/plain; charset=utf-8")


BODY_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]


def _body(req: Request) -> Any:
    if not req.body:
        return {}
    ct = (req.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if ct == P.CONTENT_TYPE:     # DeleteOptions, Eviction, ...: the envelope names the type
        try:
            return P.decode(req.body)[0]
        except P.ProtobufError as exc:
            raise E.bad_request(str(exc)) from None
    if ct == "application/cbor":
        raise E.unsupported_media_type(ct, BODY_TYPES)
    return decode.raw(req.body, ct)


def _flag(q: dict[str, str], key: str) -> bool:
    return q.get(key, "").lower() in ("true", "1")


def _dispatch(cluster: KubeCluster, req: Request, t: Target, stopping: Callable[[], bool]) -> Response:
    m, q, rt = req.method, req.query, t.rt
    dry = q.get("dryRun") == "All"
    manager = q.get("fieldManager") or _manager(req)
    if t.name is None:
        if m == "GET":
            if _flag(q, "watch") or t.watch_path:
                return _watch(cluster, req, t, stopping)
            return _list(cluster, req, t)
        if m == "POST" and rt.plural in reviews.REVIEW_KINDS and rt.group in (reviews.AUTHZ, reviews.AUTHN):
            dec = decode.body(rt, req.headers, req.body, q, cluster=cluster)
            info = req.info or UserInfo.of(req.user or "system:anonymous")
            return object_response(req, rt, reviews.review(cluster, rt, dec.obj, info, t.namespace), 201)
        if m == "POST":
            dec = decode.body(rt, req.headers, req.body, q, cluster=cluster)
            out = cluster.create(rt, dec.obj, t.namespace, dry_run=dry, field_manager=manager)
            return object_response(req, rt, out, 201, dec.warnings)
        if m == "DELETE":
            opts = _delete_options(req)
            deleted = cluster.delete_collection(rt, t.namespace, labels=q.get("labelSelector"),
                                                fields=q.get("fieldSelector"),
                                                propagation=opts.get("propagationPolicy"),
                                                grace_period=opts.get("gracePeriodSeconds"))
            return json_response({"kind": rt.list_kind, "apiVersion": rt.api_version,
                                  "metadata": {"resourceVersion": str(cluster.store.rv)}, "items": deleted})
        raise E.method_not_allowed()
    if t.watch_path:
        if m != "GET":
            raise E.method_not_allowed()
        q = dict(q, fieldSelector=",".join(x for x in (q.get("fieldSelector"), f"metadata.name={t.name}") if x))
        return _watch(cluster, Request(m, req.path, q, req.headers, req.body, req.user),
                      Target(rt, t.namespace, None, None, True), stopping)
    if t.sub == "log":
        if m != "GET":
            raise E.method_not_allowed()
        return pod_log(cluster, t.namespace or "", t.name, q, stopping)
    if t.sub == "token" and rt.kind == "ServiceAccount":
        if m != "POST":
            raise E.method_not_allowed()
        dec = decode.body(rt, req.headers, req.body, q, msg="authentication/v1.TokenRequest")
        token_rt = cluster.rtype("serviceaccounts")
        out = reviews.token_request(cluster, t.namespace or "default", t.name, dec.obj)
        return object_response(req, token_rt, out, 201, msg="authentication/v1.TokenRequest")
    if t.sub == "binding" or t.sub == "eviction":
        if m != "POST":
            raise E.method_not_allowed()
        return _pod_action(cluster, req, t)
    if m == "GET":
        obj = cluster.get(rt, t.name, t.namespace)
        if t.sub == "scale":
            with cluster.lock:
                return json_response(cluster.scale_of(rt, cluster.live(rt, t.name, t.namespace or "")))
        return _single(cluster, req, rt, obj)
    if m == "PUT":
        dec = decode.body(rt, req.headers, req.body, q, sub=t.sub, cluster=cluster)
        if t.sub == "scale":
            out = cluster.update(rt, dec.obj, t.namespace, name=t.name, subresource="scale", dry_run=dry)
            return object_response(req, rt, out, 200, dec.warnings, msg="autoscaling/v1.Scale")
        out = cluster.update(rt, dec.obj, t.namespace, name=t.name, subresource=t.sub, dry_run=dry,
                             field_manager=manager)
        return object_response(req, rt, out, 200, dec.warnings)
    if m == "PATCH":
        ct = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
        if not ct:
            raise E.unsupported_media_type("", cluster.patch_types(rt))
        existed = cluster.try_get(rt, t.name, t.namespace) is not None
        body, warnings = _body(req), []
        msg = decode.message(rt) if t.sub in (None, "status") else None
        canonical = None
        if msg and "apply" in ct:
            body = decode.applied(msg, rt, body, t.namespace, t.name, decode.validation_mode(q))
        elif msg:
            def canonical(obj: dict[str, Any], mode: str = decode.validation_mode(q)) -> dict[str, Any]:
                dec = decode.patched(msg, obj, mode)
                warnings.extend(dec.warnings)
                return dec.obj
        elif rt.crd is not None and t.sub in (None, "status"):     # a custom resource: its CRD's schema
            from labsim.fakes.kube import crdschema
            if "apply" in ct:
                body = crdschema.applied(cluster, rt, body, t.namespace, t.name, decode.validation_mode(q))
            else:
                def canonical(obj: dict[str, Any], mode: str = decode.validation_mode(q)) -> dict[str, Any]:
                    dec = crdschema.decode(cluster, rt, obj, mode, patch=True)
                    warnings.extend(dec.warnings)
                    return dec.obj
        out = cluster.patch(rt, t.name, body, t.namespace, patch_type=ct, subresource=t.sub,
                            field_manager=q.get("fieldManager") or (None if "apply" in ct else manager),
                            force=_flag(q, "force"), dry_run=dry, canonical=canonical)
        return object_response(req, rt, out, 200 if existed or t.sub else 201, warnings,
                               msg="autoscaling/v1.Scale" if t.sub == "scale" else None)
    if m == "DELETE":
        if t.sub:
            raise E.method_not_allowed()
        opts = _delete_options(req)
        pre = opts.get("preconditions") or {}
        out = cluster.delete(rt, t.name, t.namespace, propagation=opts.get("propagationPolicy"),
                             grace_period=opts.get("gracePeriodSeconds"), preconditions=pre,
                             dry_run=dry or opts.get("dryRun") == ["All"])
        return object_response(req, rt, out, 200)
    raise E.method_not_allowed()


def _manager(req: Request) -> str:
    """The default field manager: the user agent's first word (`kubectl-client-side-apply`, `kubectl`)."""
    ua = req.headers.get("user-agent") or "unknown"
    return ua.split("/")[0].split(" ")[0] or "unknown"


def _delete_options(req: Request) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if req.body:
        body = _body(req)
        if isinstance(body, dict):
            opts.update(body)
    q = req.query
    if "propagationPolicy" in q:
        opts["propagationPolicy"] = q["propagationPolicy"]
    if "gracePeriodSeconds" in q:
        opts["gracePeriodSeconds"] = E.int_param(q, "gracePeriodSeconds")
    if opts.get("orphanDependents") is True:
        opts.setdefault("propagationPolicy", "Orphan")
    if opts.get("gracePeriodSeconds") is not None:
        opts["gracePeriodSeconds"] = int(opts["gracePeriodSeconds"])
    return opts


def _pod_action(cluster: KubeCluster, req: Request, t: Target) -> Response:
    body = _body(req)
    if t.rt.kind != "Pod":
        raise E.resource_not_found()
    if t.sub == "binding":
        node = ((body.get("target") or {}).get("name"))
        if not node:
            raise E.invalid("Binding", "", t.name or "", [E.required("target.name")])
        with cluster.lock:
            pod = cluster.get("pods", t.name, t.namespace)
            if pod["spec"].get("nodeName"):
                raise E.conflict("pods", t.name, "", f"pod {t.name} is already assigned to node "
                                                     f"\"{pod['spec']['nodeName']}\"")
            live = cluster.live("pods", t.name, t.namespace or "")
            import copy
            new = copy.deepcopy(live)
            new["spec"]["nodeName"] = node
            cluster.put("pods", new)
        return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
                             201)
    opts = body.get("deleteOptions") or {}
    cluster.delete("pods", t.name, t.namespace, grace_period=opts.get("gracePeriodSeconds"))
    return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201)


def _pom(obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def _single(cluster: KubeCluster, req: Request, rt: ResourceType, obj: dict[str, Any]) -> Response:
    kind = negotiate(req.headers.get("accept"), ("table", "pom"))
    if kind == "table":
        return json_response(tables.table(cluster, rt, [obj], rv=obj["metadata"].get("resourceVersion", ""),
                                          include=req.query.get("includeObject", "Metadata")), content_type=TABLE_CT)
    if kind == "pom":
        return json_response(_pom(obj), content_type="application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
    return object_response(req, rt, obj, 200)


def object_response(req: Request, rt: ResourceType, obj: dict[str, Any], status: int = 200,
                    warnings: list[str] | None = None, msg: str | None = None) -> Response:
    """An object in the encoding the client asked for first: protobuf (built-in types) or JSON."""
    msg = msg or decode.message(rt)
    allowed = ("protobuf",) if msg else ()
    try:
        kind = negotiate(req.headers.get("accept"), allowed + ("table", "pom"))
    except E.KubeError:
        kind = "json"
    if kind == "protobuf" and msg and obj.get("kind") != "Status":
        resp = Response(status, P.encode(obj, msg), P.CONTENT_TYPE)
    else:
        resp = json_response(obj, status)
    resp.headers.extend(decode.warning_headers(warnings or []))
    return resp


def _list(cluster: KubeCluster, req: Request, t: Target) -> Response:
    rt, q = t.rt, req.query
    kind = negotiate(req.headers.get("accept"), ("table", "pom"))
    lsel = parse_labels(q.get("labelSelector"))
    fsel = parse_fields(q.get("fieldSelector"), rt.plural)
    limit = max(0, E.int_param(q, "limit") or 0)   # a negative limit lists everything, as the apiserver's storage does
    start = ""
    if q.get("continue"):
        try:
            token = json.loads(base64.b64decode(q["continue"]).decode())
            start = token["start"]
        except (ValueError, KeyError):
            raise E.bad_request("continue key is not valid: incorrect encoded start resourceVersion") from None
    with cluster.lock:
        objs = cluster.select(rt, t.namespace, lsel, fsel)
        rv = str(cluster.store.rv)
        items = [cluster._out(rt, o) for o in objs]
    if start:
        items = [o for o in items if _key(o) > start]
    meta: dict[str, Any] = {"resourceVersion": rv}
    if limit and len(items) > limit:
        rest = len(items) - limit
        items = items[:limit]
        meta["continue"] = base64.b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": int(rv),
                                                        "start": _key(items[-1])}).encode()).decode()
        if not q.get("labelSelector") and not q.get("fieldSelector"):
            # the etcd3 store counts every key: with a selector that count would be wrong, so it is left out
            # (staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go, "Only set remainingItemCount if the
            # predicate is empty")
            meta["remainingItemCount"] = rest
    if kind == "table":
        return json_response(tables.table(cluster, rt, items, rv=rv, include=q.get("includeObject", "Metadata"),
                                          extra_meta={k: v for k, v in meta.items() if k != "resourceVersion"}),
                             content_type=TABLE_CT)
    if kind == "pom":
        return json_response({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                              "items": [_pom(o) for o in items]},
                             content_type="application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
    if rt.crd is None:   # typed lists carry kind/apiVersion once, not per item
        for o in items:
            o.pop("kind", None)
            o.pop("apiVersion", None)
    body = {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta, "items": items}
    msg = decode.message(rt)
    if msg and kind == "json" and negotiate(req.headers.get("accept"), ("protobuf",)) == "protobuf":
        return Response(200, P.encode(body, msg + "List"), P.CONTENT_TYPE)
    return json_response(body)


def _key(o: dict[str, Any]) -> str:
    return f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}"


def _watch(cluster: KubeCluster, req: Request, t: Target, stopping: Callable[[], bool]) -> Response:
    rt, q = t.rt, req.query
    kind = negotiate(req.headers.get("accept"), ("table", "pom"))
    lsel = parse_labels(q.get("labelSelector"))
    fsel = parse_fields(q.get("fieldSelector"), rt.plural)
    timeout = E.int_param(q, "timeoutSeconds") or None
    initial = None
    if "sendInitialEvents" in q:
        initial = _flag(q, "sendInitialEvents")

    def render(obj: dict[str, Any], first: bool) -> dict[str, Any]:
        out = cluster._out(rt, obj)
        if kind == "table":
            return tables.table(cluster, rt, [out], rv=out["metadata"].get("resourceVersion", ""),
                                include=q.get("includeObject", "Metadata"), headers=first)
        if kind == "pom":
            return _pom(out)
        return out

    gen = watch.stream(cluster, rt, t.namespace, lsel, fsel, q.get("resourceVersion"), timeout=timeout,
                       bookmarks=_flag(q, "allowWatchBookmarks"), initial=initial, render=render, stopping=stopping)
    ct = JSON if kind == "json" else (TABLE_CT if kind == "table" else JSON)
    return Response(200, b"", ct, stream=gen)
