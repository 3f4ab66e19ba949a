"""The apiserver's failure answers: `metav1.Status` bodies with the real reasons and message texts.

Sources (kubernetes/kubernetes):
  staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go   NewNotFound, NewAlreadyExists, NewConflict,
      NewInvalid ("%s %q is invalid: %v", kind qualified by group), NewBadRequest, NewMethodNotSupported,
      NewGone/NewResourceExpired, NewUnauthorized, NewForbidden, NewInternalError
  staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go   OptimisticLockErrorMsg
  staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go   404 "the server could not
      find the requested resource" for unknown paths under /api and /apis
  staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go   415 text with the accepted patch types
  staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go   "Required value", "Invalid value: %q: ..."
"""
from __future__ import annotations

import json
import re
from typing import Any

OPTIMISTIC_LOCK = "the object has been modified; please apply your changes to the latest version and try again"


class KubeError(Exception):
    """An error answer. `status()` is the JSON body the apiserver sends."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def __repr__(self) -> str:
        return f"KubeError({self.code}, {self.reason!r}, {self.message!r})"


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def _details(name: str, resource: str, group: str) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = resource
    return d


def not_found(resource: str, name: str, group: str = "") -> KubeError:
    return KubeError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found',
                     _details(name, resource, group))


def already_exists(resource: str, name: str, group: str = "") -> KubeError:
    return KubeError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
                     _details(name, resource, group))


def conflict(resource: str, name: str, group: str = "", why: str = OPTIMISTIC_LOCK) -> KubeError:
    return KubeError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {why}',
                     _details(name, resource, group))


class Cause(dict):
    """One field error: `{"reason": "FieldValueRequired", "message": "Required value", "field": "spec.x"}`."""

    @property
    def text(self) -> str:
        return f"{self['field']}: {self['message']}"


def required(field: str, detail: str = "") -> Cause:
    return Cause(reason="FieldValueRequired", message="Required value" + (f": {detail}" if detail else ""), field=field)


def invalid_value(field: str, value: Any, detail: str) -> Cause:
    shown = json.dumps(value) if isinstance(value, str) else _go_value(value)
    return Cause(reason="FieldValueInvalid", message=f"Invalid value: {shown}: {detail}", field=field)


def unsupported_value(field: str, value: Any, supported: list[str]) -> Cause:
    opts = ", ".join(json.dumps(s) for s in supported)
    return Cause(reason="FieldValueNotSupported", message=f"Unsupported value: {json.dumps(value)}: supported values: {opts}",
                 field=field)


def forbidden_field(field: str, detail: str) -> Cause:
    return Cause(reason="FieldValueForbidden", message=f"Forbidden: {detail}", field=field)


def _go_value(value: Any) -> str:
    if isinstance(value, dict):   # what Go's %#v prints for map[string]string
        inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> KubeError:
    qkind = f"{kind}.{group}" if group else kind
    texts = [c.text for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = kind
    details["causes"] = [dict(c) for c in causes]
    return KubeError(422, "Invalid", f'{qkind} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


def int_param(query: dict[str, str], name: str) -> int | None:
    """An integer query parameter as the apiserver's parameter codec reads it (apimachinery runtime/conversion.go:
    strconv.ParseInt, base 10, 64 bits; its error is the 400's message). Absent: None."""
    if name not in query:
        return None
    value = query[name]
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise bad_request(f"strconv.ParseInt: parsing {json.dumps(value)}: invalid syntax")
    number = int(value)
    if not -(1 << 63) <= number < (1 << 63):
        raise bad_request(f"strconv.ParseInt: parsing {json.dumps(value)}: value out of range")
    return number


def resource_not_found() -> KubeError:
    return KubeError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> KubeError:
    return KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def unsupported_media_type(content_type: str, accepted: list[str]) -> KubeError:
    return KubeError(415, "UnsupportedMediaType",
                     f"the body of the request was in an unknown format - accepted media types include: "
                     f"{', '.join(accepted)}", {})


def not_acceptable(accepted: list[str]) -> KubeError:
    return KubeError(406, "NotAcceptable",
                     f"only the following media types are accepted: {', '.join(accepted)}", {})


def expired(requested: int, oldest: int) -> KubeError:
    return KubeError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def unauthorized() -> KubeError:
    return KubeError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str, resource: str = "", name: str = "", group: str = "") -> KubeError:
    return KubeError(403, "Forbidden", message, _details(name, resource, group) if resource else {})


def internal(message: str) -> KubeError:
    return KubeError(500, "InternalError", f"Internal error occurred: {message}",
                     {"causes": [{"message": message}]})


def service_unavailable(message: str = "the server is currently unable to handle the request") -> KubeError:
    return KubeError(503, "ServiceUnavailable", message, {})


def timeout(message: str = "Timeout: request did not complete within the allotted timeout") -> KubeError:
    return KubeError(504, "Timeout", message, {})
