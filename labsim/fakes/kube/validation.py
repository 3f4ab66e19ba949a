"""Validation that turns obviously broken objects into `422 Invalid`, with the apiserver's field paths and
texts (pkg/apis/core/validation/validation.go, pkg/apis/apps/validation/validation.go,
staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go, .../util/validation/validation.go).

Only what a lab's tooling plausibly gets wrong is checked: names, required lists and fields, selectors that
do not match their template, ports. Custom resources are not checked against their openAPIV3Schema.
"""
from __future__ import annotations

import re
from typing import Any

from labsim.fakes.kube import errors as E
from labsim.fakes.kube.resources import ResourceType
from labsim.fakes.kube.selectors import from_object

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                 "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
             "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
             "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
               "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")

# kinds whose names are DNS labels / DNS-1035 labels rather than subdomains
_LABEL_NAMES = {"Namespace"}
_DNS1035_NAMES = {"Service"}
_PATH_SEGMENT_NAMES = {"Event"}      # events are named `<object>.<hex>`; any path segment name is fine


def check(rt: ResourceType, obj: dict[str, Any], *, creating: bool) -> None:
    causes = _meta(rt, obj, creating) + _spec(rt, obj)
    if causes:
        raise E.invalid(rt.kind, rt.group, obj.get("metadata", {}).get("name") or "", causes)


def _meta(rt: ResourceType, obj: dict[str, Any], creating: bool) -> list[E.Cause]:
    md = obj.get("metadata") or {}
    name = md.get("name")
    if not name:
        return [E.required("metadata.name", "name or generateName is required")]
    if rt.kind in _PATH_SEGMENT_NAMES or rt.crd is None and rt.group == "rbac.authorization.k8s.io":
        if name in (".", "..") or "/" in name or "%" in name:
            return [E.invalid_value("metadata.name", name, 'may not contain "/"')]
        return []
    if rt.kind in _DNS1035_NAMES:
        regex, msg, limit = DNS1035_LABEL, DNS1035_MSG, 63
    elif rt.kind in _LABEL_NAMES:
        regex, msg, limit = DNS1123_LABEL, LABEL_MSG, 63
    else:
        regex, msg, limit = DNS1123_SUBDOMAIN, SUBDOMAIN_MSG, 253
    out = []
    if not regex.fullmatch(name):
        out.append(E.invalid_value("metadata.name", name, msg))
    elif len(name) > limit:
        out.append(E.invalid_value("metadata.name", name, f"must be no more than {limit} characters"))
    for v in (md.get("labels") or {}).values():
        if not isinstance(v, str):
            out.append(E.invalid_value("metadata.labels", v, "label values must be strings"))
    return out


def _containers(spec: dict[str, Any], prefix: str) -> list[E.Cause]:
    out: list[E.Cause] = []
    containers = spec.get("containers")
    if not containers:
        return [E.required(f"{prefix}.containers")]
    seen = set()
    for i, c in enumerate(containers):
        p = f"{prefix}.containers[{i}]"
        if not c.get("name"):
            out.append(E.required(f"{p}.name"))
        elif c["name"] in seen:
            out.append(E.Cause(reason="FieldValueDuplicate", message=f'Duplicate value: "{c["name"]}"',
                               field=f"{p}.name"))
        seen.add(c.get("name"))
        if not c.get("image"):
            out.append(E.required(f"{p}.image"))
        for j, port in enumerate(c.get("ports") or []):
            cp = port.get("containerPort")
            if not isinstance(cp, int) or not 0 < cp < 65536:
                out.append(E.invalid_value(f"{p}.ports[{j}].containerPort", cp,
                                           "must be between 1 and 65535, inclusive"))
    return out


def _spec(rt: ResourceType, obj: dict[str, Any]) -> list[E.Cause]:
    if rt.crd is not None:
        return []
    spec = obj.get("spec") or {}
    k = rt.kind
    if k == "Pod":
        return _containers(spec, "spec")
    if k in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet"):
        out: list[E.Cause] = []
        sel = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if sel is None:
            out.append(E.required("spec.selector"))
        elif not from_object(sel).empty() and not from_object(sel).matches(labels):
            out.append(E.invalid_value("spec.template.metadata.labels", labels,
                                       "`selector` does not match template `labels`"))
        elif from_object(sel).empty():
            out.append(E.invalid_value("spec.selector", sel, "empty selector is invalid for deployment"
                                       if k == "Deployment" else "empty selector is not valid"))
        out += _containers((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
        reps = spec.get("replicas")
        if reps is not None and (not isinstance(reps, int) or reps < 0):
            out.append(E.invalid_value("spec.replicas", reps, "must be greater than or equal to 0"))
        return out
    if k == "Job":
        return _containers(((spec.get("template") or {}).get("spec") or {}), "spec.template.spec")
    if k == "Service":
        out = []
        typ = spec.get("type", "ClusterIP")
        if typ not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            out.append(E.unsupported_value("spec.type", typ, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
        ports = spec.get("ports") or []
        if not ports and typ != "ExternalName" and spec.get("clusterIP") != "None":
            out.append(E.required("spec.ports"))
        for i, p in enumerate(ports):
            port = p.get("port")
            if not isinstance(port, int) or not 0 < port < 65536:
                out.append(E.invalid_value(f"spec.ports[{i}].port", port, "must be between 1 and 65535, inclusive"))
            if len(ports) > 1 and not p.get("name"):
                out.append(E.required(f"spec.ports[{i}].name"))
        return out
    if k in ("ConfigMap", "Secret"):
        out = []
        for key, val in (obj.get("data") or {}).items():
            if not isinstance(val, str):
                out.append(E.invalid_value(f"data[{key}]", val, "must be a string"))
        return out
    return []
