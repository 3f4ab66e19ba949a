"""`application/vnd.kubernetes.protobuf`: what kubectl and client-go send for built-in types, and what the
apiserver answers them with when they ask for it first.

The envelope (staging/src/k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go): the 4 bytes
`k8s\\x00`, then a `runtime.Unknown` message (pkg/runtime/generated.proto: typeMeta=1 {apiVersion=1, kind=2},
raw=2, contentEncoding=3, contentType=4) whose `raw` is the object's own message. A watch stream frames each
`meta.v1.WatchEvent` envelope with a 4-byte big-endian length (protobuf.LengthDelimitedFramer).

The messages' field numbers and types come from the generated table (`gotypes.table()`, built from
kubernetes/api's generated.proto files); the special types are apimachinery's own Marshal/Unmarshal:
Time/MicroTime (Timestamp{seconds=1, nanos=2}, empty when zero; time_proto.go, micro_time_proto.go),
Duration (duration=1, nanoseconds), IntOrString (type=1, intVal=2, strVal=3), Quantity (string=1), FieldsV1
(Raw=1, JSON bytes), RawExtension (raw=1). Decoding produces exactly what Go's JSON encoder would write for
the decoded struct (`gotypes.decode_json` over the wire values), so a protobuf body and a JSON body of the
same object are stored alike.
"""
from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from labsim.fakes.kube import gotypes as G

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
WATCH_CONTENT_TYPE = "application/vnd.kubernetes.protobuf;stream=watch"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ProtobufError(Exception):
    """A body that is not a valid protobuf envelope or message."""


# --- wire primitives ------------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ProtobufError("proto: unexpected EOF")
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _key(num: int, wire: int) -> bytes:
    return _varint((num << 3) | wire)


def _ld(num: int, payload: bytes) -> bytes:
    return _key(num, 2) + _varint(len(payload)) + payload


def parse(data: bytes) -> list[tuple[int, int, Any]]:
    """The (number, wire type, value) triples of one message, in wire order."""
    out = []
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(data, i)
        elif wire == 1:
            if i + 8 > len(data):
                raise ProtobufError("proto: unexpected EOF")
            v, i = data[i:i + 8], i + 8
        elif wire == 2:
            n, i = _read_varint(data, i)
            if i + n > len(data):
                raise ProtobufError("proto: unexpected EOF")
            v, i = data[i:i + n], i + n
        elif wire == 5:
            if i + 4 > len(data):
                raise ProtobufError("proto: unexpected EOF")
            v, i = data[i:i + 4], i + 4
        else:
            raise ProtobufError(f"proto: illegal wireType {wire}")
        if num <= 0:
            raise ProtobufError(f"proto: illegal tag {num} (wire type {wire})")
        out.append((num, wire, v))
    return out


def _signed(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


# --- envelope -------------------------------------------------------------------------------------------------
def unwrap(body: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, raw object message) of an enveloped body."""
    if not body.startswith(MAGIC):
        raise ProtobufError("provided data does not appear to be a protobuf message, expected prefix "
                            "[107 56 115 0]")
    api_version = kind = ""
    raw = b""
    for num, wire, v in parse(body[len(MAGIC):]):
        if num == 1 and wire == 2:
            for n2, w2, v2 in parse(v):
                if n2 == 1 and w2 == 2:
                    api_version = v2.decode()
                elif n2 == 2 and w2 == 2:
                    kind = v2.decode()
        elif num == 2 and wire == 2:
            raw = v
    return api_version, kind, raw


def wrap(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _ld(1, api_version.encode()) + _ld(2, kind.encode())
    return MAGIC + _ld(1, type_meta) + _ld(2, raw) + _ld(3, b"") + _ld(4, b"")


# --- decode: wire -> JSON values ------------------------------------------------------------------------------
def _scalar(t: str, wire: int, v: Any) -> Any:
    if t == "string":
        return v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)
    if t == "bytes":
        return base64.b64encode(v).decode()
    if t == "bool":
        return bool(v)
    if t == "int32":
        return _signed(v, 32)
    if t == "int64":
        return _signed(v, 64)
    if t in ("uint32", "uint64"):
        return v
    if t == "double":
        return struct.unpack("<d", v)[0]
    if t == "float":
        return struct.unpack("<f", v)[0]
    raise ProtobufError(f"unsupported scalar type {t}")


def _go_duration(ns: int) -> str:
    """time.Duration.String(): 1h0m0s, 1m30s, 1.5s, 100ms, 0s."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _trim(ns / size) + unit
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    s = _trim(rest / 1e9) + "s"
    if h:
        return f"{sign}{h}h{m}m{s}"
    if m:
        return f"{sign}{m}m{s}"
    return sign + s


def _trim(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def _special(t: str, data: bytes) -> Any:
    f = {n: v for n, _, v in parse(data)}
    if t in (G.TIME, G.MICROTIME):
        if not data:
            return None
        secs = _signed(f.get(1, 0), 64)
        nanos = _signed(f.get(2, 0), 32) if t == G.MICROTIME else 0
        when = _EPOCH + timedelta(seconds=secs, microseconds=nanos // 1000)
        return G.format_time(when, micro=t == G.MICROTIME)
    if t == G.DURATION:
        return _go_duration(_signed(f.get(1, 0), 64))
    if t == G.INTORSTR:
        if f.get(1, 0) == 1:
            return f.get(3, b"").decode()
        return _signed(f.get(2, 0), 32)
    if t == G.QUANTITY:
        return f.get(1, b"").decode() or "0"
    raw = f.get(1, b"")
    if not raw:
        return None
    if raw.startswith(MAGIC):
        api_version, kind, inner = unwrap(raw)
        msg = _message_of(api_version, kind)
        return {"apiVersion": api_version, "kind": kind, **(wire_values(msg, inner) if msg else {})}
    try:
        return json.loads(raw)
    except ValueError:
        raise ProtobufError(f"{t}: raw data is not JSON") from None


def wire_values(msg: str, data: bytes) -> Any:
    """The message's fields present on the wire, as JSON values under their JSON names."""
    if msg in G.SPECIAL:
        return _special(msg, data)
    entry = G.table()[msg]
    by_num = {f["n"]: f for f in entry["fields"]}
    out: dict[str, Any] = {}
    for num, wire, v in parse(data):
        f = by_num.get(num)
        if f is None:
            continue                     # a field this table does not know: dropped, as gogo does
        t = f["t"]
        if t == "map":
            kv = {n: x for n, _, x in parse(v)}
            kt = f["k"]
            k = _scalar(kt, 2, kv.get(1, b"")) if kt in ("string", "bytes") else _scalar(kt, 0, kv.get(1, 0))
            vt = f["v"]
            if vt in G.table() or vt in G.SPECIAL:
                val = wire_values(vt, kv.get(2, b""))
            else:
                val = _scalar(vt, 2, kv.get(2, b"" if vt in ("string", "bytes") else 0))
            out.setdefault(f["json"], {})[k] = val
            continue
        if t in G.table() or t in G.SPECIAL:
            val = wire_values(t, v)
        elif wire == 2 and t not in ("string", "bytes"):       # packed repeated scalars
            i, vals = 0, []
            while i < len(v):
                if t in ("double", "float"):
                    size = 8 if t == "double" else 4
                    vals.append(_scalar(t, 1, v[i:i + size]))
                    i += size
                else:
                    x, i = _read_varint(v, i)
                    vals.append(_scalar(t, 0, x))
            out.setdefault(f["json"] or f["name"], []).extend(vals)
            continue
        else:
            val = _scalar(t, wire, v)
        if f.get("inline"):
            out.update(val)
        elif f.get("rep"):
            out.setdefault(f["json"], []).append(val)
        else:
            out[f["json"]] = val
    if entry.get("slice"):
        return out.get(entry["fields"][0]["json"], [])
    return out


def _message_of(api_version: str, kind: str) -> str | None:
    group, _, version = api_version.rpartition("/")
    return G.message_for(group, version, kind)


def decode(body: bytes, msg: str | None = None) -> tuple[dict[str, Any], str, str]:
    """An enveloped body as the apiserver stores it: (object, apiVersion, kind). `msg` overrides the type the
    envelope names (the request path decides)."""
    api_version, kind, raw = unwrap(body)
    msg = msg or _message_of(api_version, kind)
    if msg is None:
        raise ProtobufError(f"no kind \"{kind}\" is registered for version \"{api_version}\"")
    obj, _unknown = G.decode_json(msg, wire_values(msg, raw))
    head = {k: v for k, v in (("kind", kind), ("apiVersion", api_version)) if v}
    return {**head, **obj}, api_version, kind


# --- encode: JSON values -> wire ------------------------------------------------------------------------------
def _enc_scalar(t: str, v: Any) -> tuple[int, bytes] | None:
    try:
        if t == "string":
            return 2, str(v).encode() if not isinstance(v, (dict, list)) else None
        if t == "bytes":
            return 2, base64.b64decode(v) if isinstance(v, str) else bytes(v)
        if t == "bool":
            return 0, _varint(1 if v else 0)
        if t in ("int32", "int64", "uint32", "uint64"):
            return 0, _varint(int(v))
        if t == "double":
            return 1, struct.pack("<d", float(v))
        if t == "float":
            return 5, struct.pack("<f", float(v))
    except (TypeError, ValueError):
        return None
    return None


def _parse_time(v: Any) -> datetime | None:
    if not isinstance(v, str) or not v:
        return None
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _parse_duration(text: str) -> int:
    import re
    units = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000, "us": 1_000,
             "µs": 1_000, "ns": 1}
    total = 0
    for num, unit in re.findall(r"([\d.]+)(h|ms|m|s|us|µs|ns)", text):
        total += int(float(num) * units[unit])
    return -total if text.startswith("-") else total


def _enc_special(t: str, v: Any) -> bytes:
    if t in (G.TIME, G.MICROTIME):
        when = _parse_time(v)
        if when is None:
            return b""
        delta = when - _EPOCH
        secs = delta.days * 86400 + delta.seconds
        out = _key(1, 0) + _varint(secs)
        if t == G.MICROTIME and delta.microseconds:
            out += _key(2, 0) + _varint(delta.microseconds * 1000)
        return out
    if t == G.DURATION:
        return _key(1, 0) + _varint(_parse_duration(str(v)))
    if t == G.INTORSTR:
        if isinstance(v, str):
            return _key(1, 0) + _varint(1) + _key(2, 0) + _varint(0) + _ld(3, v.encode())
        return _key(1, 0) + _varint(0) + _key(2, 0) + _varint(int(v or 0)) + _ld(3, b"")
    if t == G.QUANTITY:
        return _ld(1, str(v).encode())
    if v is None:
        return b""
    return _ld(1, json.dumps(v, separators=(",", ":")).encode())


def encode_message(msg: str, obj: Any, *, full: bool = True) -> bytes:
    """A message's bytes. `full`: write every non-pointer field, zero or not, as gogo's generated Marshal does."""
    if msg in G.SPECIAL:
        return _enc_special(msg, obj)
    entry = G.table()[msg]
    if entry.get("slice"):
        f = entry["fields"][0]
        return b"".join(_enc_field(f, x) for x in obj or [])
    if not isinstance(obj, dict):
        return b""
    out = bytearray()
    for f in entry["fields"]:
        if f.get("inline"):
            out += _ld(f["n"], encode_message(f["t"], obj, full=full))
            continue
        v = obj.get(f["json"])
        t = f["t"]
        if t == "map":
            for k, x in sorted((v or {}).items()) if isinstance(v, dict) else ():
                if x is None and f["v"] not in G.table():
                    continue
                kb = _enc_scalar(f["k"], k)
                entry_bytes = _key(1, kb[0]) + (_varint(len(kb[1])) + kb[1] if kb[0] == 2 else kb[1])
                if f["v"] in G.table() or f["v"] in G.SPECIAL:
                    entry_bytes += _ld(2, encode_message(f["v"], x, full=full))
                else:
                    vb = _enc_scalar(f["v"], x)
                    if vb is None:
                        continue
                    entry_bytes += _key(2, vb[0]) + (_varint(len(vb[1])) + vb[1] if vb[0] == 2 else vb[1])
                out += _ld(f["n"], entry_bytes)
            continue
        if f.get("rep"):
            for x in v if isinstance(v, list) else ():
                out += _enc_field(f, x, full)
            continue
        if v is None:
            if f.get("ptr") or not full:
                continue
            if t in G.table():
                v = {}
            elif t in G.SPECIAL:
                if t in G.RAW:
                    continue
                v = {G.TIME: None, G.MICROTIME: None, G.INTORSTR: 0}.get(t, G.zero(f))
            else:
                v = G.zero(f)
                if v is None:
                    continue
        out += _enc_field(f, v, full)
    return bytes(out)


def _enc_field(f: dict[str, Any], v: Any, full: bool = True) -> bytes:
    t = f["t"]
    if t in G.table() or t in G.SPECIAL:
        return _ld(f["n"], encode_message(t, v, full=full))
    enc = _enc_scalar(t, v)
    if enc is None:
        return b""
    wire, payload = enc
    if wire == 2:
        return _ld(f["n"], payload)
    return _key(f["n"], wire) + payload


def encode(obj: dict[str, Any], msg: str | None = None, *, full: bool = True) -> bytes:
    """An object (JSON form) as an enveloped protobuf body."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    msg = msg or _message_of(api_version, kind)
    if msg is None:
        raise ProtobufError(f"no protobuf message for {api_version} {kind}")
    return wrap(api_version, kind, encode_message(msg, obj, full=full))


def watch_frame(event_type: str, obj: dict[str, Any], msg: str) -> bytes:
    """One length-prefixed frame of a protobuf watch stream: a meta.v1.WatchEvent in its envelope."""
    inner = encode(obj, msg)
    event = _ld(1, event_type.encode()) + _ld(2, _ld(1, inner))
    frame = wrap("v1", "WatchEvent", event)
    return struct.pack(">I", len(frame)) + frame
