"""Label and field selectors: the string forms of list/watch queries and the `LabelSelector` objects
that workloads carry.

Grammar and semantics: staging/src/k8s.io/apimachinery/pkg/labels/selector.go (=, ==, !=, in, notin,
exists, !exists, gt/lt) and pkg/fields/selector.go (=, ==, != joined by commas). Which field labels each
kind accepts: pkg/registry/core/pod/strategy.go ToSelectableFields, pkg/registry/core/event/strategy.go,
pkg/registry/core/node/strategy.go, pkg/registry/core/secret/strategy.go, pkg/registry/batch/job/strategy.go.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labsim.fakes.kube import errors as E

_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|>|<|[^\s!=,()<>]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str            # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        val = labels.get(self.key)
        if self.op in ("=", "in"):
            return has and val in self.values
        if self.op in ("!=", "notin"):
            return not has or val not in self.values
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("gt", "lt"):
            try:
                n, lim = int(val or ""), int(self.values[0])
            except ValueError:
                return False
            return n > lim if self.op == "gt" else n < lim
        return False


class LabelSelector:
    def __init__(self, reqs: list[Requirement] | None = None, *, nothing: bool = False):
        self.reqs = reqs or []
        self.nothing = nothing     # a nil selector in a controller selects nothing

    def matches(self, labels: dict[str, str] | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.reqs)

    def empty(self) -> bool:
        return not self.reqs and not self.nothing

    def __str__(self) -> str:
        parts = []
        for r in self.reqs:
            if r.op == "=":
                parts.append(f"{r.key}={r.values[0]}")
            elif r.op == "!=":
                parts.append(f"{r.key}!={r.values[0]}")
            elif r.op in ("in", "notin"):
                parts.append(f"{r.key} {r.op} ({','.join(r.values)})")
            elif r.op == "exists":
                parts.append(r.key)
            elif r.op == "!":
                parts.append(f"!{r.key}")
        return ",".join(parts)


def parse_labels(text: str | None) -> LabelSelector:
    """Parse `app=web,tier!=db,env in (a,b),!canary`; a malformed one is a 400 like the apiserver's."""
    if not text or not text.strip():
        return LabelSelector()
    toks = _TOKEN.findall(text)
    if "".join(toks) != re.sub(r"\s+", "", text):
        raise E.bad_request(f"unable to parse requirement: found '{text}', expected: identifier")
    reqs: list[Requirement] = []
    i = 0

    def fail(msg: str) -> E.KubeError:
        return E.bad_request(f"unable to parse requirement: {msg}")

    while i < len(toks):
        t = toks[i]
        if t == "!":
            if i + 1 >= len(toks):
                raise fail("found '', expected: identifier")
            reqs.append(Requirement(toks[i + 1], "!"))
            i += 2
        else:
            key = t
            if key in ("=", "==", "!=", "(", ")", ","):
                raise fail(f"found '{key}', expected: !, identifier, or 'end of string'")
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is None or nxt == ",":
                reqs.append(Requirement(key, "exists"))
                i += 1
            elif nxt in ("=", "==", "!="):
                val = toks[i + 2] if i + 2 < len(toks) and toks[i + 2] not in (",", "(", ")") else ""
                reqs.append(Requirement(key, "!=" if nxt == "!=" else "=", (val,)))
                i += 3 if val else 2
            elif nxt in (">", "<"):
                val = toks[i + 2] if i + 2 < len(toks) else ""
                if not val.lstrip("-").isdigit():
                    raise fail("for 'Gt', 'Lt' operators, the value must be an integer")
                reqs.append(Requirement(key, "gt" if nxt == ">" else "lt", (val,)))
                i += 3
            elif nxt in ("in", "notin"):
                if i + 2 >= len(toks) or toks[i + 2] != "(":
                    raise fail(f"found '{toks[i + 2] if i + 2 < len(toks) else ''}', expected: '('")
                j, vals = i + 3, []
                while j < len(toks) and toks[j] != ")":
                    if toks[j] != ",":
                        vals.append(toks[j])
                    j += 1
                if j >= len(toks):
                    raise fail("found '', expected: ')'")
                reqs.append(Requirement(key, nxt, tuple(vals)))
                i = j + 1
            else:
                raise fail(f"found '{nxt}', expected: '=', '!=', '==', 'in', notin'")
        if i < len(toks):
            if toks[i] != ",":
                raise fail(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
    return LabelSelector(reqs)


def from_object(sel: dict[str, Any] | None) -> LabelSelector:
    """A `metav1.LabelSelector` (matchLabels + matchExpressions); None selects nothing, {} everything."""
    if sel is None:
        return LabelSelector(nothing=True)
    reqs = [Requirement(k, "=", (str(v),)) for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for ex in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(ex.get("operator"), "in")
        reqs.append(Requirement(ex["key"], op, tuple(ex.get("values") or ())))
    return LabelSelector(reqs)


def selector_string(sel: dict[str, Any] | None) -> str:
    """`metav1.FormatLabelSelector`: what `status.selector` of a Scale and kubectl wide columns show."""
    if sel is None:
        return "<none>"
    s = str(from_object(sel))
    return s or "<none>"


# --- field selectors ------------------------------------------------------------------------------------

def _path(obj: dict[str, Any], dotted: str) -> Any:
    cur: Any = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "pods": ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
             "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName"),
    "events": ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
               "reason", "reportingComponent", "source", "type"),
    "nodes": ("spec.unschedulable",),
    "namespaces": ("status.phase",),
    "secrets": ("type",),
    "jobs": ("status.successful",),
    "replicasets": ("status.replicas",),
    "persistentvolumeclaims": (),
}


def _field_value(plural: str, obj: dict[str, Any], label: str) -> str:
    if label == "source" and plural == "events":
        return _s(_path(obj, "source.component"))
    if label == "status.podIPs":
        return _s(_path(obj, "status.podIP"))
    if label == "spec.unschedulable":
        return _s(bool(_path(obj, label)))
    if label == "spec.hostNetwork":
        return _s(bool(_path(obj, label)))
    return _s(_path(obj, label))


class FieldSelector:
    def __init__(self, terms: list[tuple[str, str, str]]):
        self.terms = terms     # (label, op "=" or "!=", value)

    def matches(self, obj: dict[str, Any], plural: str) -> bool:
        for label, op, value in self.terms:
            got = _field_value(plural, obj, label)
            if (got == value) != (op == "="):
                return False
        return True

    def empty(self) -> bool:
        return not self.terms


def parse_fields(text: str | None, plural: str, extra: tuple[str, ...] = ()) -> FieldSelector:
    if not text or not text.strip():
        return FieldSelector([])
    allowed = {"metadata.name", "metadata.namespace", *FIELD_LABELS.get(plural, ()), *extra}
    terms = []
    for part in _split_unescaped(text):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^=!]+?)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise E.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        label, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if label not in allowed:
            raise E.bad_request(f"field label not supported: {label}")
        terms.append((label, "!=" if op == "!=" else "=", value.replace("\\,", ",").replace("\\=", "=")))
    return FieldSelector(terms)


def _split_unescaped(text: str) -> list[str]:
    out, cur, esc = [], "", False
    for ch in text:
        if esc:
            cur += "\\" + ch
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


Matcher = Callable[[dict[str, Any]], bool]
