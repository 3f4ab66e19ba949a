"""OpenAPI v2 (`/openapi/v2`) and v3 (`/openapi/v3`, one document per group-version) generated, not written:

- built-in types: the descriptions and the `required` lists from the `kubernetes` Python package's models
  (their class docstrings, `model_fields` descriptions and required fields, which the Python client was
  generated from the apiserver's own OpenAPI), read once into data/model-docs.json by gen_models.py; the
  structure, formats and list markers from the Go type table (`gotypes.table()`, from kubernetes/api's
  generated.proto and types.go), whose field comments also describe the struct-typed fields the models
  leave undescribed;
- custom resources: their CRD's `openAPIV3Schema`, named `<reversed group>.<version>.<Kind>` as
  apiextensions-apiserver publishes them.

Names and shapes are the apiserver's (`io.k8s.api.core.v1.Pod`, `x-kubernetes-group-version-kind`,
`x-kubernetes-list-type`/`-list-map-keys`/`-patch-merge-key`/`-patch-strategy`, `allOf` + `default: {}` for
non-pointer structs in v3), which is what `kubectl explain` reads. Each path carries the `fieldValidation`
query parameter and the patch content types: kubectl reads those to decide that the server validates fields
and which patch type `kubectl apply` may send (staging/src/k8s.io/cli-runtime/pkg/resource/
query_param_verifier_v3.go, kubectl/pkg/cmd/apply/patcher.go).
"""
from __future__ import annotations

import copy
import hashlib
import json
import weakref
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube import gotypes as G
from labsim.fakes.kube.resources import ResourceType

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

MODEL_DOCS = Path(__file__).with_name("data") / "model-docs.json"
# per cluster: (group, version) -> (registry generation, document, its hash): a document is built once per
# set of served types (a CRD added or changed makes a new generation), not on every kubectl call
_DOCS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], tuple[int, dict, str]]] = weakref.WeakKeyDictionary()
_PREFIX = {"meta/v1": "io.k8s.apimachinery.pkg.apis.meta.v1", "intstr": "io.k8s.apimachinery.pkg.util.intstr",
           "resource": "io.k8s.apimachinery.pkg.api.resource", "runtime": "io.k8s.apimachinery.pkg.runtime"}
_SCALAR = {"string": {"type": "string"}, "int32": {"type": "integer", "format": "int32"},
           "int64": {"type": "integer", "format": "int64"}, "bool": {"type": "boolean"},
           "bytes": {"type": "string", "format": "byte"}, "double": {"type": "number", "format": "double"},
           "float": {"type": "number", "format": "float"}, "uint32": {"type": "integer", "format": "int32"},
           "uint64": {"type": "integer", "format": "int64"}}
_SPECIAL = {
    G.TIME: {"type": "string", "format": "date-time",
             "description": "Time is a wrapper around time.Time which supports correct marshaling to YAML and "
                            "JSON.  Wrappers are provided for many of the factory methods that the time "
                            "package offers."},
    G.MICROTIME: {"type": "string", "format": "date-time",
                  "description": "MicroTime is version of Time with microsecond level precision."},
    G.DURATION: {"type": "string", "description": "Duration is a wrapper around time.Duration which supports "
                                                  "correct marshaling to YAML and JSON."},
    G.INTORSTR: {"type": "string", "format": "int-or-string",
                 "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON "
                                "or YAML marshalling and unmarshalling, it produces or consumes the inner type. "
                                " This allows you to have, for example, a JSON field that can accept a name or "
                                "number."},
    G.QUANTITY: {"type": "string", "description": "Quantity is a fixed-point representation of a number. It "
                                                  "provides convenient marshaling/unmarshaling in JSON and "
                                                  "YAML, in addition to String() and AsInt64() accessors."},
    "meta/v1.FieldsV1": {"type": "object", "description": "FieldsV1 stores a set of fields in a data structure "
                                                          "like a Trie, in JSON format."},
    "runtime.RawExtension": {"type": "object", "description": "RawExtension is used to hold extensions in "
                                                              "external versions."},
}


def schema_name(msg: str) -> str:
    pkg, _, name = msg.partition(".")
    return f"{_PREFIX.get(pkg, 'io.k8s.api.' + pkg.replace('/', '.'))}.{name}"


def crd_schema_name(group: str, version: str, kind: str) -> str:
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


# --- the Python models: descriptions and required fields (data/model-docs.json, gen_models.py) ------------
@cache
def _models() -> dict[str, Any]:
    return json.loads(MODEL_DOCS.read_text())


def _doc(msg: str) -> str:
    return (_models().get(msg) or {}).get("doc", "")


@cache
def _model_fields(msg: str) -> dict[str, tuple[str, bool]]:
    """JSON name -> (description, required) from the Python model."""
    return {k: (d, r) for k, (d, r) in ((_models().get(msg) or {}).get("fields") or {}).items()}


# --- built-in schemas --------------------------------------------------------------------------------------------
def _ref(msg: str, v3: bool) -> dict[str, Any]:
    if v3:
        return {"allOf": [{"$ref": f"#/components/schemas/{schema_name(msg)}"}]}
    return {"$ref": f"#/definitions/{schema_name(msg)}"}


def _elem(t: str, v3: bool, ptr: bool = True) -> dict[str, Any]:
    if t in _SCALAR:
        return dict(_SCALAR[t])
    out = _ref(t, v3)
    if v3 and not ptr and t in G.table():
        out["default"] = {}
    return out


def _field_schema(f: dict[str, Any], v3: bool) -> dict[str, Any]:
    if f["t"] == "map":
        return {"type": "object", "additionalProperties": _elem(f["v"], v3, ptr=False)}
    if f.get("rep"):
        if f["t"] == "bytes" and not f.get("rep"):
            return dict(_SCALAR["bytes"])
        s = {"type": "array", "items": _elem(f["t"], v3, ptr=False)}
        if f.get("listType"):
            s["x-kubernetes-list-type"] = f["listType"]
        if f.get("mapKeys"):
            s["x-kubernetes-list-map-keys"] = list(f["mapKeys"])
        return s
    return _elem(f["t"], v3, ptr=bool(f.get("ptr")))


@cache
def component(msg: str, v3: bool) -> dict[str, Any]:
    if msg in _SPECIAL:
        out = dict(_SPECIAL[msg])
        if v3 and msg == G.INTORSTR:
            out = {"description": out["description"], "x-kubernetes-int-or-string": True,
                   "anyOf": [{"type": "integer"}, {"type": "string"}]}
        return out
    entry = G.table()[msg]
    if entry.get("slice"):
        return {"type": "array", "items": dict(_SCALAR.get(entry["fields"][0]["t"], {"type": "string"}))}
    props: dict[str, Any] = {}
    required: list[str] = []
    _properties(msg, v3, props, required)
    out: dict[str, Any] = {"description": _doc(msg), "type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _properties(msg: str, v3: bool, props: dict[str, Any], required: list[str]) -> None:
    info = _model_fields(msg)
    top = any(f["json"] == "metadata" and f["t"] == "meta/v1.ObjectMeta" for f in G.fields(msg))
    if top or msg.endswith("List") and any(f["json"] == "metadata" for f in G.fields(msg)):
        for k in ("apiVersion", "kind"):
            props[k] = {"type": "string", "description": info.get(k, ("", False))[0]}
    for f in G.fields(msg):
        if f.get("inline"):
            _properties(f["t"], v3, props, required)
            continue
        s = _field_schema(f, v3)
        desc, req = info.get(f["json"], ("", False))
        desc = desc or f.get("doc", "")      # the models leave struct-typed fields undescribed
        if desc:
            s["description"] = desc
        if f.get("mergeKey"):
            s["x-kubernetes-patch-merge-key"] = f["mergeKey"]
        if f.get("patchStrategy"):
            s["x-kubernetes-patch-strategy"] = f["patchStrategy"]
        props[f["json"]] = s
        if req:
            required.append(f["json"])


def _closure(roots: list[str]) -> list[str]:
    seen: list[str] = []
    todo = list(roots)
    while todo:
        m = todo.pop()
        if m in seen or (m not in G.table() and m not in _SPECIAL):
            continue
        seen.append(m)
        if m in G.table():
            for f in G.fields(m):
                for t in (f["t"], f.get("v", "")):
                    if t in G.table() or t in _SPECIAL:
                        todo.append(t)
    return sorted(seen)


def _kinds(types: list[ResourceType]) -> dict[str, ResourceType]:
    out = {}
    for t in types:
        if t.crd is None:
            msg = G.message_for(t.group, t.version, t.kind)
            if msg:
                out[msg] = t
    return out


def _schemas(cluster: KubeCluster, types: list[ResourceType], v3: bool) -> dict[str, Any]:
    kinds = _kinds(types)
    roots = list(kinds) + [m + "List" for m in kinds if m + "List" in G.table()]
    if any(t.crd for t in types):
        roots.append("meta/v1.ObjectMeta")
    out: dict[str, Any] = {}
    for m in _closure(roots + ["meta/v1.Status", "meta/v1.DeleteOptions", "meta/v1.Patch"]
                      if "meta/v1.Patch" in G.table() else roots + ["meta/v1.Status", "meta/v1.DeleteOptions"]):
        s = copy.deepcopy(component(m, v3))
        t = kinds.get(m)
        if t is not None:
            s["x-kubernetes-group-version-kind"] = [{"group": t.group, "kind": t.kind, "version": t.version}]
        elif m.endswith("List") and m[:-4] in kinds:
            t = kinds[m[:-4]]
            s["x-kubernetes-group-version-kind"] = [{"group": t.group, "kind": t.list_kind, "version": t.version}]
        out[schema_name(m)] = s
    for t in types:
        if t.crd is not None:
            out[crd_schema_name(t.group, t.version, t.kind)] = _crd_component(cluster, t, v3)
    return out


def _crd_component(cluster: KubeCluster, t: ResourceType, v3: bool) -> dict[str, Any]:
    from labsim.fakes.kube.crdschema import schema_of
    s = copy.deepcopy(schema_of(cluster, t) or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    props = s.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": _model_fields("core/v1.Pod").get(
        "apiVersion", ("", False))[0]}
    props["kind"] = {"type": "string", "description": _model_fields("core/v1.Pod").get("kind", ("", False))[0]}
    props["metadata"] = _ref("meta/v1.ObjectMeta", v3)
    s["x-kubernetes-group-version-kind"] = [{"group": t.group, "kind": t.kind, "version": t.version}]
    return s


# --- paths -------------------------------------------------------------------------------------------------------
def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _paths(cluster: KubeCluster, types: list[ResourceType], v3: bool) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for t in types:
        base = f"/{_gv_path(t.group, t.version)}"
        item = f"{base}/namespaces/{{namespace}}/{t.plural}/{{name}}" if t.namespaced else f"{base}/{t.plural}/{{name}}"
        gvk = {"group": t.group, "kind": t.kind, "version": t.version}
        msg = G.message_for(t.group, t.version, t.kind) if t.crd is None else None
        name = schema_name(msg) if msg else crd_schema_name(t.group, t.version, t.kind)
        ref = {"$ref": f"#/components/schemas/{name}"} if v3 else {"$ref": f"#/definitions/{name}"}
        params = [{"name": n, "in": "query", "uniqueItems": True,
                   **({"schema": {"type": "string"}} if v3 else {"type": "string"})}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        ok = {"description": "OK", **({"content": {"application/json": {"schema": ref}}} if v3 else {"schema": ref})}
        patch: dict[str, Any] = {"operationId": f"patch{t.kind}", "parameters": params,
                                 "responses": {"200": ok, "201": dict(ok, description="Created")},
                                 "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}
        if v3:
            patch["requestBody"] = {"content": {ct: {"schema": {"type": "object"}} for ct in cluster.patch_types(t)},
                                    "required": True}
        else:
            patch["consumes"] = cluster.patch_types(t)
        paths[item] = {
            "get": {"operationId": f"read{t.kind}", "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk, "responses": {"200": ok}},
            "patch": patch,
            "parameters": [{"name": "name", "in": "path", "required": True,
                            **({"schema": {"type": "string"}} if v3 else {"type": "string"})}],
        }
    return paths


def v3_index(cluster: KubeCluster) -> dict[str, Any]:
    paths = {}
    for group, versions in cluster.registry.groups().items():
        for v in versions:
            p = _gv_path(group, v)
            _, digest = _cached(cluster, group, v)
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={digest}"}
    return {"paths": paths}


def v3_doc(cluster: KubeCluster, group: str, version: str) -> dict[str, Any] | None:
    doc, _ = _cached(cluster, group, version)
    return doc


def _cached(cluster: KubeCluster, group: str, version: str) -> tuple[dict[str, Any] | None, str]:
    docs = _DOCS.setdefault(cluster, {})
    hit = docs.get((group, version))
    if hit is not None and hit[0] == cluster.registry.generation:
        return hit[1], hit[2]
    types = cluster.registry.in_group_version(group, version)
    if not types:
        return None, ""
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": cluster.version},
           "paths": _paths(cluster, types, True), "components": {"schemas": _schemas(cluster, types, True)}}
    digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:128].upper()
    docs[(group, version)] = (cluster.registry.generation, doc, digest)
    return doc, digest


def v2_doc(cluster: KubeCluster) -> dict[str, Any]:
    types = list(cluster.registry.all())
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": cluster.version},
            "paths": _paths(cluster, types, False), "definitions": _schemas(cluster, types, False)}
