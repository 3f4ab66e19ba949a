"""Request bodies as the apiserver decodes them: JSON, YAML or protobuf into the Go type of a built-in kind
(unknown fields dropped, wrong types refused), then `fieldValidation` (Strict, Warn, Ignore; Warn is the
default since 1.27) decides what the dropped fields do.

Texts (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go transformDecodeError,
.../handlers/create.go, .../runtime/serializer/json/json.go, the strict decoding error of
staging/src/k8s.io/apimachinery/pkg/runtime/error.go):

  Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct
      field DeploymentSpec.spec.replicas of type int32
  ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogusField"
  Warning: 299 - "unknown field \\"bogusField\\""          (fieldValidation=Warn, the default)

Custom resources are checked against their CRD's openAPIV3Schema (`crdschema`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from labsim import yamlbounds
from labsim.fakes.kube import errors as E
from labsim.fakes.kube import gotypes as G
from labsim.fakes.kube import protobuf as P
from labsim.fakes.kube.resources import ResourceType

JSON_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
VALIDATION = ("Ignore", "Warn", "Strict")


@dataclass
class Decoded:
    obj: Any
    warnings: list[str] = field(default_factory=list)


def content_type(headers: dict[str, str]) -> str:
    return (headers.get("content-type") or "application/json").split(";")[0].strip().lower()


def validation_mode(query: dict[str, str]) -> str:
    mode = query.get("fieldValidation", "") or "Warn"
    if mode not in VALIDATION:
        raise E.bad_request(f'fieldValidation parameter unsupported: "{mode}" (must be one of "Ignore", '
                            f'"Warn", "Strict")' if mode else "")
    return mode


def raw(body: bytes, ct: str) -> Any:
    """The body as JSON values (JSON or YAML); protobuf is decoded by `body`."""
    if not body:
        return {}
    try:
        if ct.endswith("yaml"):   # aliases within a budget (a YamlLimitError is a ValueError)
            return yamlbounds.safe_load(body.decode()) or {}
        return json.loads(body.decode())
    except RecursionError:   # nesting deeper than Python's stack: Go's decoder stops at depth 10000 too
        raise E.bad_request("error decoding request body: exceeded max depth") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise E.bad_request(f"error decoding request body: {exc}") from None


def message(rt: ResourceType, sub: str | None = None) -> str | None:
    if rt.crd is not None:
        return None
    if sub == "scale":
        return "autoscaling/v1.Scale"
    return G.message_for(rt.group, rt.version, rt.kind)


def body(rt: ResourceType, headers: dict[str, str], data: bytes, query: dict[str, str], *,
         sub: str | None = None, msg: str | None = None, cluster: Any = None) -> Decoded:
    """Decode a create/update body for `rt` (or its subresource; `msg`: another message, such as a
    subresource's TokenRequest), applying field validation."""
    ct = content_type(headers)
    msg = msg or message(rt, sub)
    if ct == P.CONTENT_TYPE:
        if msg is None:
            raise E.unsupported_media_type(ct, ["application/json", "application/yaml"])
        try:
            obj, _, _ = P.decode(data, msg)
        except P.ProtobufError as exc:
            raise E.bad_request(str(exc)) from None
        return Decoded(obj)
    if ct not in ("application/json", "application/yaml", "*/*"):
        raise E.unsupported_media_type(ct, list(JSON_TYPES) if msg else ["application/json", "application/yaml"])
    doc = raw(data, ct)
    mode = validation_mode(query)
    if msg is None:
        if rt.crd is not None and cluster is not None:
            from labsim.fakes.kube import crdschema
            return crdschema.decode(cluster, rt, doc, mode)
        return Decoded(doc)
    return typed(msg, doc, mode)


def typed(msg: str, doc: Any, mode: str) -> Decoded:
    """A JSON document decoded into a built-in message, with the unknown fields handled per `mode`."""
    kind = doc.get("kind") if isinstance(doc, dict) else None
    version = (doc.get("apiVersion") or "").rpartition("/")[2] if isinstance(doc, dict) else ""
    me = msg.partition(".")[2]
    try:
        obj, unknown = G.decode_json(msg, doc)
    except G.DecodeError as exc:
        raise cannot_handle(kind, version, me, str(exc), doc) from None
    if unknown and mode == "Strict":
        joined = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise cannot_handle(kind, version, me, f"strict decoding error: {joined}", doc)
    return Decoded(obj, [f'unknown field "{u}"' for u in unknown] if mode == "Warn" else [])


def patched(msg: str, obj: Any, mode: str) -> Decoded:
    """The result of a JSON, merge or strategic patch, decoded into the Go type (handlers/patch.go: the
    strict error has no `cannot be handled` prefix there)."""
    try:
        out, unknown = G.decode_json(msg, obj)
    except G.DecodeError as exc:
        raise E.bad_request(str(exc)) from None
    if unknown and mode == "Strict":
        raise E.bad_request("strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown))
    return Decoded(out, [f'unknown field "{u}"' for u in unknown] if mode == "Warn" else [])


def applied(msg: str, rt: ResourceType, config: Any, namespace: str | None, name: str, mode: str) -> Any:
    """A server-side apply configuration against the type: a field the type lacks fails the typed conversion
    (structured-merge-diff; a plain error, so 500 with no reason, kubernetes/kubernetes#122480) unless
    fieldValidation=Ignore, which drops it. The configuration itself stays sparse: it says what its manager
    owns."""
    if not isinstance(config, dict):
        return config
    unknown = list(G._unknown(msg, config, "", root=True))
    if not unknown:
        return config
    if mode != "Ignore":
        where = f"{namespace}/{name}" if namespace else f"/{name}"
        raise E.KubeError(500, "", f"failed to create typed patch object ({where}; {rt.api_version}, "
                                   f"Kind={rt.kind}): .{unknown[0]}: field not declared in schema")
    return G.prune(msg, config)


def cannot_handle(kind: str | None, version: str, me: str, why: str, doc: Any) -> E.KubeError:
    if kind:
        return E.bad_request(f'{kind} in version "{version}" cannot be handled as a {me}: {why}')
    summary = json.dumps(doc, separators=(",", ":"))
    summary = summary[:30] + "..." if len(summary) > 30 else summary
    return E.bad_request(f"the object provided is unrecognized (must be of type {me}): {why} ({summary})")


def warning_headers(warnings: list[str]) -> list[tuple[str, str]]:
    """`Warning: 299 - "text"` per warning (RFC 7234 warn-text, quotes escaped as the apiserver does)."""
    out = []
    for w in warnings:
        text = w.replace("\\", "\\\\").replace('"', '\\"')
        out.append(("Warning", f'299 - "{text}"'))
    return out
