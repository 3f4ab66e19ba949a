"""The four PATCH kinds: JSON merge (RFC 7386), JSON patch (RFC 6902), strategic merge, server-side apply.

Strategic merge follows staging/src/k8s.io/apimachinery/pkg/util/strategicpatch/patch.go: maps merge, `null`
deletes, lists with a `patchMergeKey` merge element by element (`$patch: delete|replace|merge`,
`$setElementOrder/<f>`, `$deleteFromPrimitiveList/<f>`, `$retainKeys`), other lists are replaced. The keys are
the `patchMergeKey` tags of staging/src/k8s.io/api/core/v1/types.go and apps/v1/types.go, looked up by field
name (plus the one place where a name means two things: `ports`).

Server-side apply merges the applied configuration like a strategic patch, and removes fields that the same
manager applied before but left out now; who owns which field, and the conflicts between managers, are
managed.py's.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from labsim.fakes.kube import errors as E

_KEYED = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "imagePullSecrets": "name", "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "conditions": "type", "addresses": "type", "ownerReferences": "uid", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name", "schedulingGates": "name",
    "resizePolicy": "resourceName", "podIPs": "ip", "hostIPs": "ip",
}
_SET_LISTS = {"finalizers", "podCIDRs"}   # primitive lists with patchStrategy=merge
_CONTAINER_LISTS = {"containers", "initContainers", "ephemeralContainers"}


def merge_key(path: tuple[str, ...], name: str, kind: str) -> str | None:
    if name == "ports":
        if path and path[-1] in _CONTAINER_LISTS:
            return "containerPort"
        if kind == "Service" and path == ("spec",):
            return "port"
        return None
    return _KEYED.get(name)


# --- RFC 7386 ---------------------------------------------------------------------------------------------

def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# --- RFC 6902 ---------------------------------------------------------------------------------------------

def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise E.bad_request(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _unprocessable(msg: str) -> E.KubeError:
    return E.KubeError(422, "Invalid", msg, {})


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise E.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise E.bad_request("Unexpected kind: unknown")
        kind, path = op["op"], op.get("path", "")
        if kind == "add":
            doc = _add(doc, _pointer(path), copy.deepcopy(op.get("value")), path)
        elif kind == "remove":
            doc, _ = _remove(doc, _pointer(path), path, "remove")
        elif kind == "replace":
            doc, _ = _remove(doc, _pointer(path), path, "replace")
            doc = _add(doc, _pointer(path), copy.deepcopy(op.get("value")), path)
        elif kind == "move":
            doc, val = _remove(doc, _pointer(op.get("from", "")), op.get("from", ""), "move")
            doc = _add(doc, _pointer(path), val, path)
        elif kind == "copy":
            val = _get(doc, _pointer(op.get("from", "")), op.get("from", ""), "copy")
            doc = _add(doc, _pointer(path), copy.deepcopy(val), path)
        elif kind == "test":
            try:
                got = _get(doc, _pointer(path), path, "test")
            except E.KubeError:
                got = object()
            if got != op.get("value"):
                raise _unprocessable(f"testing value {path} failed: test failed")
        else:
            raise E.bad_request(f"Unexpected kind: {kind}")
    return doc


def _get(doc: Any, parts: list[str], path: str, op: str) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise _unprocessable(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    return cur


def _add(doc: Any, parts: list[str], value: Any, path: str) -> Any:
    if not parts:
        return value
    parent = _get(doc, parts[:-1], path, "add")
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _unprocessable(f"add operation does not apply: doc is missing path: \"{path}\": missing value")
    else:
        raise _unprocessable(f"add operation does not apply: doc is missing path: \"{path}\": missing value")
    return doc


def _remove(doc: Any, parts: list[str], path: str, op: str) -> tuple[Any, Any]:
    if not parts:
        return None, doc
    parent = _get(doc, parts[:-1], path, op)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return doc, parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return doc, parent.pop(int(last))
    raise _unprocessable(f"{op} operation does not apply: doc is missing key: {path}: missing value")


# --- strategic merge ----------------------------------------------------------------------------------------

def strategic_merge(original: Any, patch: Any, kind: str, path: tuple[str, ...] = ()) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(original, dict):
        original = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out = copy.deepcopy(original)
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        out = {k: v for k, v in out.items() if k in keep}
    orders: dict[str, list] = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v or []
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            name = k.split("/", 1)[1]
            drop = {json.dumps(x) for x in (v or [])}
            if isinstance(out.get(name), list):
                out[name] = [x for x in out[name] if json.dumps(x) not in drop]
            continue
        if v is None:
            out.pop(k, None)
            continue
        if isinstance(v, dict):
            merged = strategic_merge(out.get(k), v, kind, path + (k,))
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            out[k] = _merge_list(out.get(k), v, kind, path, k)
        else:
            out[k] = v
    for name, order in orders.items():
        if isinstance(out.get(name), list):
            out[name] = _apply_order(out[name], order, merge_key(path, name, kind))
    return out


def _merge_list(orig: Any, patch: list, kind: str, path: tuple[str, ...], name: str) -> list:
    orig = orig if isinstance(orig, list) else []
    key = merge_key(path, name, kind)
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and x.get("$patch") == "replace")]
    if name in _SET_LISTS:
        out = list(orig)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    if not key:
        return copy.deepcopy(patch)
    out = copy.deepcopy(orig)
    for item in patch:
        if not isinstance(item, dict):
            continue
        kv = item.get(key)
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        clean = {k: v for k, v in item.items() if k != "$patch"}
        if idx is None:
            out.append(_strip_directives(clean))
        else:
            out[idx] = strategic_merge(out[idx], clean, kind, path + (name,))
    return out


def _apply_order(items: list, order: list, key: str | None) -> list:
    def ident(x: Any) -> str:
        return json.dumps(x.get(key) if key and isinstance(x, dict) else x, sort_keys=True)
    pos = {ident(o): i for i, o in enumerate(order)}
    indexed = list(enumerate(items))
    indexed.sort(key=lambda p: (pos.get(ident(p[1]), len(pos) + p[0])))
    return [x for _, x in indexed]


def _strip_directives(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _strip_directives(x) for k, x in v.items()
                if not (k.startswith(("$setElementOrder/", "$deleteFromPrimitiveList/")) or k in ("$patch", "$retainKeys")) and x is not None}
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


# --- server-side apply ----------------------------------------------------------------------------------------

def apply_merge(live: dict, applied: dict, previous: dict | None, kind: str, keyed: bool) -> dict:
    """Merge an applied configuration into the live object, dropping what this manager applied before
    and no longer applies. `keyed`: built-in types merge keyed lists; custom resources replace lists."""
    base = copy.deepcopy(live)
    if previous:
        _prune(base, previous, applied, kind, (), keyed)
    if keyed:
        return strategic_merge(base, applied, kind)
    return _deep_merge_replace_lists(base, applied)


def _deep_merge_replace_lists(base: Any, applied: Any) -> Any:
    if not isinstance(applied, dict) or not isinstance(base, dict):
        return copy.deepcopy(applied)
    out = dict(base)
    for k, v in applied.items():
        out[k] = _deep_merge_replace_lists(base.get(k), v) if isinstance(v, dict) else copy.deepcopy(v)
    return out


def _prune(live: Any, old: Any, new: Any, kind: str, path: tuple[str, ...], keyed: bool) -> None:
    if not isinstance(live, dict) or not isinstance(old, dict):
        return
    new = new if isinstance(new, dict) else {}
    for k, ov in old.items():
        if k not in new:
            live.pop(k, None)
            continue
        nv = new[k]
        if isinstance(ov, dict):
            _prune(live.get(k), ov, nv, kind, path + (k,), keyed)
        elif isinstance(ov, list) and keyed and isinstance(live.get(k), list):
            key = merge_key(path, k, kind)
            if not key:
                continue
            new_keys = {x.get(key) for x in (nv or []) if isinstance(x, dict)}
            for item in ov:
                if not isinstance(item, dict):
                    continue
                if item.get(key) not in new_keys:
                    live[k] = [x for x in live[k] if not (isinstance(x, dict) and x.get(key) == item.get(key))]
                else:
                    match_new = next(x for x in nv if isinstance(x, dict) and x.get(key) == item.get(key))
                    for x in live[k]:
                        if isinstance(x, dict) and x.get(key) == item.get(key):
                            _prune(x, item, match_new, kind, path + (k,), keyed)
