"""Managed fields: which manager owns which field, the basis of server-side apply (sigs.k8s.io/structured-merge-
diff: fieldpath sets, merge/update.go; staging/src/k8s.io/apiserver/pkg/endpoints/handlers/fieldmanager).

A field set is a set of paths; a path is a tuple of elements `("f", name)`, `("k", {key fields})` (an element
of a list of type map, by its keys), `("v", value)` (an element of a set list), as FieldsV1 spells them
(`f:spec`, `k:{"name":"nginx"}`, `v:"a"`, `.` for the element itself). Lists are maps, sets or atomic as the
Go types mark them (`+listType`, `+listMapKey` in the type table) or as a CRD's schema says
(`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`); anything else is atomic: owned as a whole.

- An update (create, PUT, a non-apply PATCH) gives its manager the fields whose value it changed and takes them
  from every other manager.
- An apply owns exactly the fields of its configuration. A field it sets to a value other than the live one,
  owned by another manager, is a conflict: 409 with the apiserver's text (fieldmanager/internal/conflict.go):
  `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas` (an Update manager
  is named with its apiVersion, an Apply manager alone), unless `force`, which takes the field over.
"""
from __future__ import annotations

import json
from typing import Any

from labsim.fakes.kube import errors as E
from labsim.fakes.kube import gotypes as G

Path = tuple
META_SKIP = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
             "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", "generateName"}


class Schema:
    """Where the list types come from: a built-in message, or a CRD's openAPIV3Schema (None: atomic lists)."""

    def __init__(self, msg: str | None = None, openapi: dict[str, Any] | None = None):
        self.msg, self.openapi = msg, openapi

    def child(self, key: str) -> tuple[Schema, str, list[str]]:
        """(the child's schema, its list type: map/set/atomic/'' (not a list), map keys)."""
        if self.msg and self.msg in G.table():
            f = G.by_json(self.msg).get(key)
            if f is None:
                return Schema(), "", []
            if f["t"] == "map":
                return Schema(_mapval(f["v"])), "", []
            sub = Schema(f["t"] if f["t"] in G.table() else None)
            if f.get("rep"):
                lt = f.get("listType") or ("map" if f.get("mergeKey") else "atomic")
                keys = list(f.get("mapKeys") or ([f["mergeKey"]] if f.get("mergeKey") else []))
                return sub, lt, keys
            return sub, "", []
        if self.openapi:
            props = self.openapi.get("properties") or {}
            s = props.get(key) or (self.openapi.get("additionalProperties")
                                   if isinstance(self.openapi.get("additionalProperties"), dict) else None)
            if s is None:
                return Schema(), "", []
            if s.get("type") == "array":
                return (Schema(openapi=s.get("items") or {}), s.get("x-kubernetes-list-type", "atomic"),
                        list(s.get("x-kubernetes-list-map-keys") or []))
            return Schema(openapi=s), "", []
        return Schema(), "", []

    @property
    def is_map(self) -> bool:
        """A map[string]X (labels, data): its keys are fields, but the schema has no properties for them."""
        return bool(self.msg and self.msg.startswith("map:")) or bool(
            self.openapi and "additionalProperties" in self.openapi and "properties" not in self.openapi)

    def value_schema(self) -> Schema:
        if self.msg and self.msg.startswith("map:"):
            inner = self.msg[4:]
            return Schema(inner if inner in G.table() else None)
        if self.openapi and isinstance(self.openapi.get("additionalProperties"), dict):
            return Schema(openapi=self.openapi["additionalProperties"])
        return Schema()


def _mapval(t: str) -> str:
    return f"map:{t}"


def _key_of(item: dict[str, Any], keys: list[str]) -> str:
    return json.dumps({k: item.get(k) for k in keys if k in item}, separators=(",", ":"), sort_keys=True)


def field_set(obj: Any, schema: Schema, prefix: Path = ()) -> set[Path]:
    """The leaf paths a configuration sets (list-map elements and set values included as their own paths)."""
    out: set[Path] = set()
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if v is None and prefix:
            continue
        p = prefix + (("f", k),)
        if schema.is_map:
            child, lt, keys = schema.value_schema(), "", []
        else:
            child, lt, keys = schema.child(k)
        if isinstance(v, dict) and v and not (child.msg in G.SPECIAL if child.msg else False):
            out |= field_set(v, child, p)
            if not any(x[:len(p)] == p and len(x) > len(p) for x in out):
                out.add(p)
        elif isinstance(v, list) and lt == "map" and keys and all(isinstance(x, dict) for x in v):
            out.add(p) if not v else None
            for item in v:
                ep = p + (("k", _key_of(item, keys)),)
                out.add(ep)
                out |= field_set(item, child, ep)
        elif isinstance(v, list) and lt == "set":
            out.add(p) if not v else None
            for x in v:
                out.add(p + (("v", json.dumps(x, separators=(",", ":"))),))
        else:
            out.add(p)
    return out


def value_at(obj: Any, path: Path) -> Any:
    cur = obj
    for kind, key in path:
        if kind == "f":
            if not isinstance(cur, dict) or key not in cur:
                return _MISSING
            cur = cur[key]
        elif kind == "k":
            want = json.loads(key)
            if not isinstance(cur, list):
                return _MISSING
            cur = next((x for x in cur if isinstance(x, dict) and all(x.get(a) == b for a, b in want.items())),
                       _MISSING)
            if cur is _MISSING:
                return cur
        elif kind == "v":
            val = json.loads(key)
            return val if isinstance(cur, list) and val in cur else _MISSING
    return cur


_MISSING = object()


def path_string(path: Path) -> str:
    """fieldpath.Path.String(): `.spec.replicas`, `.spec.containers[name="nginx"].image`."""
    out = ""
    for kind, key in path:
        if kind == "f":
            out += f".{key}"
        elif kind == "k":
            items = json.loads(key)
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in items.items()) + "]"
        elif kind == "v":
            out += f"[={key}]"
    return out


# --- FieldsV1 -------------------------------------------------------------------------------------------------
def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for p in sorted(paths, key=lambda x: [f"{a}:{b}" for a, b in x]):
        node = root
        for i, (kind, key) in enumerate(p):
            name = f"{kind}:{key}"
            node = node.setdefault(name, {})
            if i == len(p) - 1 and kind == "k":
                node.setdefault(".", {})
    return root


def from_fields_v1(fv1: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for name, sub in (fv1 or {}).items():
        if name == ".":
            out.add(prefix)
            continue
        kind, _, key = name.partition(":")
        p = prefix + ((kind, key),)
        if not sub:
            out.add(p)
        else:
            out |= from_fields_v1(sub, p)
    return out


def _trim(paths: set[Path], sub: str | None) -> set[Path]:
    """Drop what no manager owns: identity metadata, apiVersion/kind, and status or spec by subresource."""
    keep = set()
    for p in paths:
        if not p:
            continue
        top = p[0][1]
        if top in ("apiVersion", "kind"):
            continue
        if top == "metadata" and (len(p) < 2 or p[1][1] in META_SKIP):
            continue
        if (sub == "status") != (top == "status"):
            continue
        keep.add(p)
    return keep


def entries(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _entry(manager: str, op: str, api_version: str, now: str, sub: str | None, paths: set[Path]) -> dict:
    e = {"manager": manager, "operation": op, "apiVersion": api_version, "time": now, "fieldsType": "FieldsV1",
         "fieldsV1": to_fields_v1(paths)}
    if sub:
        e["subresource"] = sub
    return e


def _same(e: dict[str, Any], manager: str, op: str, sub: str | None) -> bool:
    return e.get("manager") == manager and e.get("operation") == op and (e.get("subresource") or None) == sub


def updated(old: dict[str, Any] | None, new: dict[str, Any], schema: Schema, manager: str | None,
            api_version: str, now: str, sub: str | None) -> list[dict[str, Any]]:
    """managedFields after an update of `old` (None: a create) into `new` by `manager`."""
    mfs = entries(old) if old else []
    new_set = _trim(field_set(new, schema), sub)
    if old is None:
        changed = new_set
        removed: set[Path] = set()
    else:
        old_set = _trim(field_set(old, schema), sub)
        changed = {p for p in new_set if value_at(old, p) != value_at(new, p) or p not in old_set}
        removed = old_set - new_set
    out = []
    mine: set[Path] = set()
    for e in mfs:
        paths = from_fields_v1(e.get("fieldsV1") or {})
        if manager and _same(e, manager, "Update", sub):
            mine = paths
            continue
        paths -= changed | removed
        paths = {p for p in paths if not any(p[:len(r)] == r for r in removed)}
        if paths:
            out.append(dict(e, fieldsV1=to_fields_v1(paths)))
    if manager:
        mine = (mine | changed) - removed
        if mine:
            out.append(_entry(manager, "Update", api_version, now, sub, mine))
    return out


def applied(live: dict[str, Any] | None, merged: dict[str, Any], config: dict[str, Any], schema: Schema,
            manager: str, api_version: str, now: str, sub: str | None, force: bool) -> list[dict[str, Any]]:
    """managedFields after `manager` applied `config` (merged result `merged`); raises the 409 on conflicts."""
    cfg = _trim(field_set(config, schema), sub)
    mfs = entries(live) if live else []
    conflicts: list[tuple[dict, Path]] = []
    for e in mfs:
        if _same(e, manager, "Apply", sub):
            continue
        for p in sorted(from_fields_v1(e.get("fieldsV1") or {}) & cfg, key=path_string):
            if live is not None and value_at(live, p) != value_at(merged, p):
                conflicts.append((e, p))
    if conflicts and not force:
        raise conflict_error(conflicts)
    taken = {p for _, p in conflicts}
    out = []
    for e in mfs:
        if _same(e, manager, "Apply", sub):
            continue
        paths = from_fields_v1(e.get("fieldsV1") or {}) - taken
        if paths:
            out.append(dict(e, fieldsV1=to_fields_v1(paths)))
    out.append(_entry(manager, "Apply", api_version, now, sub, cfg))
    return out


def _manager_text(e: dict[str, Any]) -> str:
    """printManager: `"kubectl"`, `"kubectl" with subresource "scale"`, `"x" using apps/v1`."""
    text = json.dumps(e.get("manager", ""))
    if e.get("subresource"):
        text += f' with subresource "{e["subresource"]}"'
    if e.get("operation") == "Update":
        text += f" using {e.get('apiVersion', '')}"
    return text


def conflict_error(conflicts: list[tuple[dict, Path]]) -> E.KubeError:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_manager_text(e)}",
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {_manager_text(e)}: {path_string(p)}"
    else:
        by: dict[str, list[str]] = {}
        for e, p in conflicts:
            by.setdefault(_manager_text(e), []).append(path_string(p))
        lines = []
        for m in sorted(by):
            lines.append(f"conflicts with {m}:")
            lines += [f"- {p}" for p in by[m]]
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return E.KubeError(409, "Conflict", msg, {"causes": causes})
