"""CustomResourceDefinitions: which types a CRD serves, and the status the apiextensions controllers give it
(`NamesAccepted`, `Established`; staging/src/k8s.io/apiextensions-apiserver/pkg/controller/establish and
.../status/naming_controller.go).

A CRD is established as soon as it is created (the real controllers take milliseconds); its served
versions share one store, converted with strategy `None` (only `apiVersion` changes).
"""
from __future__ import annotations

from typing import Any

from labsim.fakes.kube.resources import ResourceType

DEFAULT_COLUMNS = ()


def types_of(crd: dict[str, Any]) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    namespaced = spec.get("scope", "Namespaced") == "Namespaced"
    versions = spec.get("versions") or []
    storage = next((v["name"] for v in versions if v.get("storage")), versions[0]["name"] if versions else "v1")
    out = []
    for v in versions:
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        sub = tuple(s for s in ("status", "scale") if s in subs)
        out.append(ResourceType(
            group=group, version=v["name"], plural=names.get("plural", ""), kind=names.get("kind", ""),
            namespaced=namespaced, short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()), subresources=sub, strategic=False,
            reset_status="status" in sub, generation=True, crd=crd["metadata"]["name"],
            printer_columns=tuple(v.get("additionalPrinterColumns") or ()), storage_version=storage))
    return out


def established_status(crd: dict[str, Any], now: str) -> dict[str, Any]:
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    stored = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    return {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
             "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"},
        ],
        "storedVersions": stored,
    }


def check_name(crd: dict[str, Any]) -> str | None:
    """The CRD's name must be `<plural>.<group>` (apiextensions validation)."""
    spec = crd.get("spec") or {}
    want = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
    if crd["metadata"].get("name") != want:
        return 'must be spec.names.plural+"."+spec.group'
    return None
