"""The built-in types as kube-apiserver holds them: Go structs. A request body is decoded into the Go type and
what is stored is what Go's encoders make of it again, whichever wire format the client used.

`data/types.json` (built by `gen_types.py` from kubernetes/api's generated.proto and types.go) says, per
message, each field's JSON name, protobuf number and type, and what Go does with it: a pointer is absent when
nil, a non-pointer `omitempty` scalar is dropped when zero, a non-pointer struct is always written, `Time`
writes `null` when zero. `decode_json` applies exactly that to a JSON body, as sigs.k8s.io/json does:

- keys the type does not have are dropped and reported (the `fieldValidation` modes decide what follows:
  `strict decoding error: unknown field "spec.bogusField"` in Strict, a warning in Warn, nothing in Ignore);
- a value of the wrong JSON type fails as encoding/json's UnmarshalTypeError does
  (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`).

The special types are those with their own JSON marshalling in apimachinery: Time, MicroTime (RFC 3339),
Duration (Go duration text), IntOrString (a number or a string), Quantity (a string), FieldsV1 and
RawExtension (any JSON), `[]byte` (base64), and `type X []string` wrappers such as ExtraValue (a list).
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("data") / "types.json"
TIME = "meta/v1.Time"
MICROTIME = "meta/v1.MicroTime"
DURATION = "meta/v1.Duration"
INTORSTR = "intstr.IntOrString"
QUANTITY = "resource.Quantity"
RAW = {"meta/v1.FieldsV1", "runtime.RawExtension"}
SPECIAL = {TIME, MICROTIME, DURATION, INTORSTR, QUANTITY, *RAW}
INTS = {"int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
        "uint32": (0, (1 << 32) - 1), "uint64": (0, (1 << 64) - 1)}
GO_SCALAR = {"string": "string", "int32": "int32", "int64": "int64", "bool": "bool", "bytes": "[]uint8",
             "double": "float64", "float": "float32", "uint32": "uint32", "uint64": "uint64"}
ZERO_TIME_SECONDS = -62135596800      # Go's time.Time{}.Unix()
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")

# group -> the kubernetes/api package it lives in (`rbac.authorization.k8s.io` -> rbac)
_PACKAGE = {"": "core", "flowcontrol.apiserver.k8s.io": "flowcontrol"}


class DecodeError(Exception):
    """The body cannot be decoded into the Go type: the text after `... cannot be handled as a Kind: `."""


@cache
def table() -> dict[str, dict[str, Any]]:
    return json.loads(DATA.read_text())


def message_for(group: str, version: str, kind: str) -> str | None:
    """The table's message for a built-in kind (`apps`, `v1`, `Deployment` -> `apps/v1.Deployment`)."""
    pkg = _PACKAGE.get(group, group.split(".")[0])
    name = f"{pkg}/{version}.{kind}"
    return name if name in table() else None


def fields(msg: str) -> list[dict[str, Any]]:
    return table()[msg]["fields"]


@cache
def by_json(msg: str) -> dict[str, dict[str, Any]]:
    """JSON name -> field, inline members promoted as Go promotes embedded structs' fields."""
    out: dict[str, dict[str, Any]] = {}
    for f in fields(msg):
        if f.get("inline"):
            for k, sub in by_json(f["t"]).items():
                out.setdefault(k, sub)
        else:
            out[f["json"]] = f
    return out


def go_type(f: dict[str, Any], element: bool = False) -> str:
    """How encoding/json names a field's Go type in its errors (`int32`, `[]v1.Container`, `map[string]string`)."""
    if f["t"] == "map":
        return f"map[{_go_name(f['k'])}]{_go_name(f['v'])}"
    name = _go_name(f["t"])
    if f.get("rep") and not element:
        return "[]" + name
    return name


def _go_name(t: str) -> str:
    if t in GO_SCALAR:
        return GO_SCALAR[t]
    pkg, _, name = t.partition(".")
    return f"{pkg.rsplit('/', 1)[-1]}.{name}"


def _struct(msg: str) -> str:
    return msg.partition(".")[2]


def _json_kind(v: Any) -> str:
    """encoding/json's word for a JSON value in UnmarshalTypeError (`string`, `number`, `object`...)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _type_error(v: Any, struct: str, path: str, typ: str, literal: bool = False) -> DecodeError:
    """encoding/json's UnmarshalTypeError; `literal`: a number that does not fit the integer type."""
    value = f"number {_go_number(v)}" if literal else _json_kind(v)
    if struct:
        return DecodeError(f"json: cannot unmarshal {value} into Go struct field {struct}.{path} of type {typ}")
    return DecodeError(f"json: cannot unmarshal {value} into Go value of type {typ}")


def _go_number(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# --- JSON -> Go -> JSON ------------------------------------------------------------------------------------
class Decoder:
    """One decode of a JSON document into a message; `unknown` collects the dropped fields' paths."""

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def message(self, msg: str, value: Any, path: str, struct: str, root: bool = False) -> Any:
        if value is None:
            return None
        if msg in SPECIAL:
            return self.special(msg, value, path, struct)
        entry = table()[msg]
        if entry.get("slice"):
            f = entry["fields"][0]
            if not isinstance(value, list):
                raise _type_error(value, struct, path, "[]" + _go_name(f["t"]))
            return [self.scalar(f, x, path, struct) for x in value]
        if not isinstance(value, dict):
            raise _type_error(value, struct, path, _go_name(msg))
        me = _struct(msg)
        if root:
            self.unknown = list(_unknown(msg, value, "", root=True))
        out: dict[str, Any] = {}
        if root:
            for k in ("kind", "apiVersion"):
                v = value.get(k)
                if v is not None and not isinstance(v, str):
                    raise _type_error(v, me, k, "string")
                if v:
                    out[k] = v
        self._fields(msg, value, path, me, out)
        return out

    def _fields(self, msg: str, value: dict[str, Any], path: str, me: str, out: dict[str, Any]) -> None:
        for f in fields(msg):
            if f.get("inline"):
                self._fields(f["t"], value, path, _struct(f["t"]), out)
                continue
            key = f["json"]
            sub = f"{path}.{key}" if path else key
            v = value.get(key)
            if f["t"] == "map":
                if v is None:
                    if not f.get("omit"):
                        out[key] = None
                    continue
                if not isinstance(v, dict):
                    raise _type_error(v, me, sub, go_type(f))
                vf = {"t": f["v"]}
                m = {k: self.value(vf, x, sub, me) for k, x in v.items()}
                if m or not f.get("omit"):       # empty is nil once stored (etcd holds protobuf): null
                    out[key] = m or None
                continue
            if f.get("rep"):
                if v is None:
                    if not f.get("omit"):
                        out[key] = None
                    continue
                if not isinstance(v, list):
                    raise _type_error(v, me, sub, go_type(f))
                items = [self.value(f, x, sub, me) for x in v]
                if items or not f.get("omit"):
                    out[key] = items or None
                continue
            if v is None:
                if f.get("ptr"):
                    if not f.get("omit"):
                        out[key] = None
                    continue
                out_v = zero(f)
                if out_v is _OMIT or (f.get("omit") and _scalar(f) and is_zero(f, out_v)):
                    continue
                out[key] = out_v
                continue
            got = self.value(f, v, sub, me)
            if not f.get("ptr") and f.get("omit") and (_scalar(f) or f["t"] == INTORSTR) and is_zero(f, got):
                continue       # (an IntOrString 0 is what an absent one is, and what defaulting replaces)
            out[key] = got

    def value(self, f: dict[str, Any], v: Any, path: str, struct: str) -> Any:
        t = f["t"]
        if t in table() or t in SPECIAL:
            return self.message(t, v, path, struct)
        return self.scalar(f, v, path, struct)

    def scalar(self, f: dict[str, Any], v: Any, path: str, struct: str) -> Any:
        t = f["t"]
        if v is None:
            return zero({"t": t})
        if t == "string":
            if not isinstance(v, str):
                raise _type_error(v, struct, path, "string")
            return v
        if t == "bool":
            if not isinstance(v, bool):
                raise _type_error(v, struct, path, "bool")
            return v
        if t in INTS:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _type_error(v, struct, path, t)
            if isinstance(v, float) and not v.is_integer() or not INTS[t][0] <= v <= INTS[t][1]:
                raise _type_error(v, struct, path, t, literal=True)
            return int(v)
        if t in ("double", "float"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _type_error(v, struct, path, GO_SCALAR[t])
            return v
        if t == "bytes":
            if not isinstance(v, str):
                raise _type_error(v, struct, path, "[]uint8")
            try:
                base64.b64decode(v, validate=True)
            except (binascii.Error, ValueError):
                raise DecodeError(f"illegal base64 data at input byte {_bad_b64(v)}") from None
            return v
        return v

    def special(self, msg: str, v: Any, path: str, struct: str) -> Any:
        if msg in (TIME, MICROTIME):
            if not isinstance(v, str):
                raise _type_error(v, struct, path, _go_name(msg))
            if not RFC3339.fullmatch(v):
                raise DecodeError(f'parsing time "{v}" as "2006-01-02T15:04:05Z07:00": cannot parse "{v}" as '
                                  f'"2006"')
            when = datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC)
            return format_time(when, micro=msg == MICROTIME)
        if msg == INTORSTR:
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                raise DecodeError(f"json: cannot unmarshal {_json_kind(v)} into Go value of type int32")
            return v
        if msg in (QUANTITY, DURATION):
            if not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise DecodeError("quantities must match the regular expression "
                                  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" if msg == QUANTITY
                                  else f"json: cannot unmarshal {_json_kind(v)} into Go value of type string")
            return str(v) if not isinstance(v, str) else v
        return v      # FieldsV1, RawExtension: any JSON


def _bad_b64(v: str) -> int:
    for i, c in enumerate(v):
        if not (c.isalnum() or c in "+/="):
            return i
    return len(v)


def _unknown(msg: str, value: Any, path: str, root: bool = False):
    """The paths of fields the type does not have, in document order, depth first (as the strict decoder
    meets them)."""
    if msg in SPECIAL or msg not in table() or not isinstance(value, dict) or table()[msg].get("slice"):
        return
    known = by_json(msg)
    for k, v in value.items():
        sub = f"{path}.{k}" if path else k
        f = known.get(k)
        if f is None:
            if not (root and k in ("kind", "apiVersion")):
                yield sub
            continue
        if f["t"] == "map":
            if isinstance(v, dict) and f["v"] in table():
                for mk, mv in v.items():
                    yield from _unknown(f["v"], mv, f"{sub}.{mk}")
        elif f.get("rep"):
            if isinstance(v, list):
                for i, x in enumerate(v):
                    yield from _unknown(f["t"], x, f"{sub}[{i}]")
        else:
            yield from _unknown(f["t"], v, sub)


def prune(msg: str, value: Any, root: bool = True) -> Any:
    """`value` without the fields the type does not have (and nothing else changed)."""
    if msg in SPECIAL or msg not in table() or not isinstance(value, dict) or table()[msg].get("slice"):
        return value
    known = by_json(msg)
    out = {}
    for k, v in value.items():
        f = known.get(k)
        if f is None:
            if root and k in ("kind", "apiVersion"):
                out[k] = v
            continue
        if f["t"] == "map" and isinstance(v, dict) and f["v"] in table():
            out[k] = {mk: prune(f["v"], mv, False) for mk, mv in v.items()}
        elif f.get("rep") and isinstance(v, list):
            out[k] = [prune(f["t"], x, False) for x in v]
        else:
            out[k] = prune(f["t"], v, False)
    return out


class _Omit:
    pass


_OMIT = _Omit()


def zero(f: dict[str, Any]) -> Any:
    """What Go's json.Marshal writes for a field's zero value (`_OMIT`: nothing at all)."""
    t = f["t"]
    if t in (TIME, MICROTIME):
        return None
    if t == INTORSTR:      # Go writes 0, and defaulting replaces an int 0 (ServicePort.targetPort) anyway
        return _OMIT
    if t == QUANTITY:
        return "0"
    if t == DURATION:
        return "0s"
    if t in RAW:
        return _OMIT
    if t in table():
        out: dict[str, Any] = {}
        Decoder()._fields(t, {}, "", _struct(t), out)
        return out
    return {"string": "", "bool": False, "bytes": None}.get(t, 0)


def _scalar(f: dict[str, Any]) -> bool:
    return f["t"] not in table() and f["t"] not in SPECIAL


def is_zero(f: dict[str, Any], v: Any) -> bool:
    return v in ("", 0, False, None) and not (v is False and f["t"] != "bool") or v == [] or v == {}


def format_time(t: datetime, micro: bool = False) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def decode_json(msg: str, obj: Any) -> tuple[dict[str, Any], list[str]]:
    """`obj` as Go decodes and re-encodes it: (the canonical object, the unknown fields' paths)."""
    d = Decoder()
    out = d.message(msg, obj, "", _struct(msg), root=True)
    return out, d.unknown
