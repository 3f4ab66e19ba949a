"""Custom resources against their CRD's structural schema (`spec.versions[].schema.openAPIV3Schema`), as
apiextensions-apiserver treats them: unknown fields are pruned (unless `x-kubernetes-preserve-unknown-fields`)
and reported per `fieldValidation`, values of the wrong type and missing `required` fields are refused with 422
and the OpenAPI validator's text (staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning/
algorithm.go, k8s.io/kube-openapi/pkg/validation/errors: `spec.replicas in body must be of type integer:
"string"`; a missing required field is `field.Required`, `spec.nodeSelector: Required value`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube import errors as E

if TYPE_CHECKING:
    from labsim.fakes.kube.decode import Decoded
    from labsim.fakes.kube.resources import ResourceType

_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def schema_of(cluster: Any, rt: ResourceType) -> dict[str, Any] | None:
    crd = cluster.store.get(("apiextensions.k8s.io", "customresourcedefinitions"), "", rt.crd or "")
    for v in ((crd or {}).get("spec") or {}).get("versions") or []:
        if v.get("name") == rt.version:
            return (v.get("schema") or {}).get("openAPIV3Schema")
    return None


def _type_ok(want: str, v: Any) -> bool:
    if want == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if want == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    t = _TYPES.get(want)
    return t is None or (isinstance(v, t) and not (t is not bool and isinstance(v, bool)))


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def walk(schema: dict[str, Any], v: Any, path: str, unknown: list[str], causes: list[E.Cause]) -> Any:
    """`v` pruned to the schema; wrong types become causes."""
    if v is None:
        return v
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(v, (int, str)) or isinstance(v, bool):
            causes.append(E.invalid_value(path, v, f"{path} in body must be of type integer,string: "
                                                    f'"{_json_type(v)}"'))
        return v
    want = schema.get("type")
    if want and not _type_ok(want, v):
        shown = f'"{_json_type(v)}"'
        causes.append(E.Cause(reason="FieldValueTypeInvalid",
                              message=f"Invalid value: {shown}: {path} in body must be of type {want}: {shown}",
                              field=path))
        return v
    if isinstance(v, dict):
        for r in schema.get("required") or ():      # kube-openapi's `required` failure, as apiextensions words it
            if r not in v:
                causes.append(E.required(f"{path}.{r}" if path else r))
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields")
        if props is None and extra is None:
            return v if preserve or schema.get("x-kubernetes-embedded-resource") or not want else {}
        out = {}
        for k, x in v.items():
            sub = f"{path}.{k}" if path else k
            if props is not None and k in props:
                out[k] = walk(props[k], x, sub, unknown, causes)
            elif isinstance(extra, dict):
                out[k] = walk(extra, x, sub, unknown, causes)
            elif extra is True or preserve:
                out[k] = x
            else:
                unknown.append(sub)
        return out
    if isinstance(v, list) and isinstance(schema.get("items"), dict):
        return [walk(schema["items"], x, f"{path}[{i}]", unknown, causes) for i, x in enumerate(v)]
    return v


def decode(cluster: Any, rt: ResourceType, doc: Any, mode: str, *, patch: bool = False) -> Decoded:
    """A create or update body (or, `patch`, a patched object) checked against the schema per `mode`."""
    from labsim.fakes.kube.decode import Decoded, cannot_handle
    schema = schema_of(cluster, rt)
    if not isinstance(doc, dict) or not schema:
        return Decoded(doc)
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    unknown: list[str] = []
    causes: list[E.Cause] = []
    props = dict(schema.get("properties") or {})
    for k in ("apiVersion", "kind", "metadata"):
        props.pop(k, None)
    required = [r for r in schema.get("required") or () if r not in ("apiVersion", "kind", "metadata")]
    pruned = walk(dict(schema, properties=props, required=required), body, "", unknown, causes)
    if unknown and mode == "Strict":
        version = (doc.get("apiVersion") or "").rpartition("/")[2]
        joined = ", ".join(f'unknown field "{u}"' for u in unknown)
        if patch:     # handlers/patch.go: the strict error has no `cannot be handled` prefix there
            raise E.bad_request(f"strict decoding error: {joined}")
        raise cannot_handle(doc.get("kind") or rt.kind, version, rt.kind, f"strict decoding error: {joined}", doc)
    if causes:
        raise E.invalid(rt.kind, rt.group, ((doc.get("metadata") or {}).get("name") or ""), causes)
    out = {k: doc[k] for k in ("apiVersion", "kind", "metadata") if k in doc}
    out.update(pruned if isinstance(pruned, dict) else {})
    return Decoded(out, [f'unknown field "{u}"' for u in unknown] if mode == "Warn" else [])


def applied(cluster: Any, rt: ResourceType, config: Any, namespace: str | None, name: str, mode: str) -> Any:
    """A server-side apply configuration of a custom resource: a field its schema lacks fails the typed conversion
    (structured-merge-diff, 500 as for built-in kinds, labsim/fakes/kube/decode.py applied) unless
    fieldValidation=Ignore, which drops it; a value of the wrong type is refused (422; the exact text of that
    refusal on a real server is [unv]). The configuration stays sparse: its `required` fields are not asked for."""
    schema = schema_of(cluster, rt)
    if not isinstance(config, dict) or not schema:
        return config
    props = {k: v for k, v in (schema.get("properties") or {}).items() if k not in ("apiVersion", "kind", "metadata")}
    body = {k: v for k, v in config.items() if k not in ("apiVersion", "kind", "metadata")}
    unknown: list[str] = []
    causes: list[E.Cause] = []
    pruned = walk(dict(schema, properties=props, required=[]), body, "", unknown, causes)
    if unknown and mode != "Ignore":
        where = f"{namespace}/{name}" if namespace else f"/{name}"
        raise E.KubeError(500, "", f"failed to create typed patch object ({where}; {rt.api_version}, "
                                   f"Kind={rt.kind}): .{unknown[0]}: field not declared in schema")
    if causes:
        raise E.invalid(rt.kind, rt.group, name, causes)
    out = {k: config[k] for k in ("apiVersion", "kind", "metadata") if k in config}
    out.update(pruned if isinstance(pruned, dict) else {})
    return out
