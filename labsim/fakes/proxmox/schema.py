"""Parameter verification the way PVE's JSONSchema does it (pve-common src/PVE/JSONSchema.pm).

Every API method declares its parameters; a request is checked against them before the handler runs,
and all problems are reported together as `400 Parameter verification failed.` with one message per
parameter. Booleans accept only `0` and `1` (so Python's `True`, which `requests` sends as `True`, is
rejected, as a real PVE does), integers must look like integers, strings may carry a *format*: either a
check function or a *property string* (`virtio,bridge=vmbr0,tag=1500`) with its own fields.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.proxmox import errors as E


class FormatError(ValueError):
    """A value does not match its format; `detail` is what follows 'invalid format - '."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail if detail.endswith("\n") else detail + "\n"


@dataclass(frozen=True)
class P:
    """One parameter (or one field of a property string)."""

    type: str = "string"                      # string | integer | boolean | number
    optional: bool = True
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    fmt: Callable[[str], Any] | PropString | None = None
    max_length: int | None = None
    pattern: str | None = None
    default_key: bool = False                 # property strings: the value given without `key=`
    size: bool = False                        # property strings: a disk size (`16G`)


def _is_integer(v: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", v) is not None


def _is_number(v: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?", v) is not None


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_value(value: str, p: P, path: str, errors: dict[str, str]) -> Any:
    """Check one present value; add an error under `path` and return None when it fails.

    Returns the converted value (int for integer and boolean, float for number, str otherwise).
    """
    t = p.type
    if t == "boolean":
        if value not in ("0", "1"):
            add_error(errors, path, E.TYPE_CHECK.format(type=t, value=value))
            return None
        out: Any = int(value)
    elif t == "integer":
        if not _is_integer(value):
            add_error(errors, path, E.TYPE_CHECK.format(type=t, value=value))
            return None
        out = int(value)
    elif t == "number":
        if not _is_number(value):
            add_error(errors, path, E.TYPE_CHECK.format(type=t, value=value))
            return None
        out = float(value)
    else:
        out = value
    if p.fmt is not None:
        try:
            if isinstance(p.fmt, PropString):
                p.fmt.parse(value, path)
            else:
                p.fmt(value)
        except FormatError as exc:
            add_error(errors, path, E.INVALID_FORMAT.format(detail=exc.detail))
            return None
    if p.pattern is not None and not re.fullmatch(p.pattern, value):
        add_error(errors, path, E.PATTERN)
        return None
    if p.max_length is not None and len(value) > p.max_length:
        add_error(errors, path, E.MAX_LENGTH.format(max=p.max_length))
        return None
    if _is_number(value):
        if p.maximum is not None and float(value) > p.maximum:
            add_error(errors, path, E.MAXIMUM.format(max=_fmt_num(p.maximum)))
            return None
        if p.minimum is not None and float(value) < p.minimum:
            add_error(errors, path, E.MINIMUM.format(min=_fmt_num(p.minimum)))
            return None
    if p.enum is not None and value not in p.enum:
        add_error(errors, path, E.ENUM.format(value=value, values=", ".join(p.enum)))
        return None
    return out


def add_error(errors: dict[str, str], path: str, msg: str) -> None:
    path = path or "_root"
    if path in errors:
        errors[path] = errors[path] + "\\n" + msg   # sic: PVE joins with a literal backslash-n
    else:
        errors[path] = msg


@dataclass
class Schema:
    """The parameters of one API method."""

    props: dict[str, P] = field(default_factory=dict)
    patterns: list[tuple[re.Pattern[str], P]] = field(default_factory=list)

    def lookup(self, key: str) -> P | None:
        if key in self.props:
            return self.props[key]
        for rx, p in self.patterns:
            if rx.fullmatch(key):
                return p
        return None

    def validate(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Check `params` (all strings, as they came off the wire); raise ParamError or return converted values."""
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for key, p in self.props.items():
            if key not in params and not p.optional:
                add_error(errors, key, E.MISSING)
        for key, value in params.items():
            p = self.lookup(key)
            if p is None:
                add_error(errors, key, E.NOT_IN_SCHEMA)
                continue
            v = check_value(value, p, key, errors)
            if v is not None:
                out[key] = v
        if errors:
            raise E.ParamError(errors)
        return out

    def extend(self, other: Schema) -> Schema:
        return Schema({**self.props, **other.props}, [*self.patterns, *other.patterns])


def schema(props: Mapping[str, P] | None = None, patterns: Iterable[tuple[str, P]] = ()) -> Schema:
    return Schema(dict(props or {}), [(re.compile(rx), p) for rx, p in patterns])


# --- property strings ------------------------------------------------------------------------------
@dataclass
class PropString:
    """A comma-separated `key=value` format (PVE parse_property_string / print_property_string)."""

    fields: dict[str, P]
    # key aliases: `virtio=MAC` means model=virtio, macaddr=MAC  ->  {"virtio": ("model", "macaddr")}
    key_aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    validator: Callable[[dict[str, Any]], None] | None = None

    @property
    def default_key(self) -> str | None:
        for k, p in self.fields.items():
            if p.default_key:
                return k
        return None

    def parse(self, data: str, path: str = "") -> dict[str, str]:
        """Parse into a dict of raw strings; raise FormatError with PVE's wording when it does not fit."""
        res: dict[str, str] = {}
        default_key = None
        for part in data.split(","):
            if not part.strip():
                continue
            m = re.fullmatch(r"([^=]+)=(.+)", part, re.DOTALL)
            if m:
                k, v = m.group(1), m.group(2)
                if k in res:
                    raise FormatError(E.DUPLICATE_KEY.format(key=k))
                if k in self.key_aliases:
                    key_field, alias = self.key_aliases[k]
                    if key_field in res:
                        raise FormatError(f"key alias '{key_field}' is already defined")
                    res[key_field] = k
                    k = alias
                if k not in self.fields:
                    raise FormatError(E.INVALID_KEY.format(key=k))
                if self.fields[k].type == "boolean":
                    v = _parse_boolean(v)
                res[k] = v
            elif "=" not in part:
                dk = self.default_key
                if default_key or dk is None:
                    if dk is None:
                        raise FormatError(E.NO_DEFAULT_KEY)
                    raise FormatError(E.DUPLICATE_KEY.format(key=dk))
                default_key = dk
                if dk in res:
                    raise FormatError(E.DUPLICATE_KEY.format(key=dk))
                res[dk] = part
            else:
                raise FormatError("missing key in comma-separated list property")
        errors: dict[str, str] = {}
        for k, p in self.fields.items():
            sub = f"{path}.{k}" if path else k
            if k not in res:
                if not p.optional:
                    add_error(errors, sub, E.MISSING)
                continue
            check_value(res[k], p, sub, errors)
        if errors:
            raise FormatError(E.FORMAT_ERROR + "\n" + "".join(f"{k}: {v}\n" for k, v in sorted(errors.items())))
        if self.validator:
            self.validator(res)
        return res

    def print(self, data: Mapping[str, Any]) -> str:
        """Print like PVE: the default key (or `model=MAC` for a key alias) first, then keys sorted."""
        parts: list[str] = []
        skip: set[str] = set()
        dk = self.default_key
        if dk is not None and dk in data:
            alias_field = next((a for kf, a in self.key_aliases.values() if kf == dk), None)
            if alias_field and data.get(alias_field) is not None:
                parts.append(f"{data[dk]}={data[alias_field]}")
                skip |= {dk, alias_field}
            else:
                parts.append(str(data[dk]))
                skip.add(dk)
        for k in sorted(data):
            if k in skip or data[k] is None:
                continue
            v = data[k]
            if self.fields.get(k, P()).size and isinstance(v, int):
                v = format_size(v)
            parts.append(f"{k}={v}")
        return ",".join(parts)


def _parse_boolean(v: str) -> str:
    if re.fullmatch(r"(?i)1|on|yes|true", v):
        return "1"
    if re.fullmatch(r"(?i)0|off|no|false", v):
        return "0"
    return v


# --- sizes -----------------------------------------------------------------------------------------
def parse_size(value: str) -> int | None:
    """`16G` -> bytes (PVE JSONSchema::parse_size); a bare number is bytes."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])?", value)
    if not m:
        return None
    size = float(m.group(1))
    mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}.get(m.group(2) or "", 1)
    return int(size * mult)


def format_size(size: int) -> str:
    """bytes -> `16G` (PVE JSONSchema::format_size)."""
    size = int(size)
    kb = size // 1024
    if kb * 1024 != size:
        return str(size)
    mb = kb // 1024
    if mb * 1024 != kb:
        return f"{kb}K"
    gb = mb // 1024
    if gb * 1024 != mb:
        return f"{mb}M"
    tb = gb // 1024
    if tb * 1024 != gb:
        return f"{gb}G"
    return f"{tb}T"


# --- simple formats --------------------------------------------------------------------------------
def fmt_regex(rx: str, msg: str) -> Callable[[str], None]:
    compiled = re.compile(rx)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise FormatError(msg.format(value=value))
    return check


DNS_NAME_RE = r"(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)"
fmt_dns_name = fmt_regex(DNS_NAME_RE, E.DNS_NAME)
fmt_node = fmt_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?", "value does not look like a valid node name")
fmt_storage_id = fmt_regex(r"[a-z][a-z0-9\-_.]*[a-z0-9]", "storage ID '{value}' contains illegal characters")
fmt_iface = fmt_regex(r"[a-zA-Z][a-zA-Z0-9_.\-]{1,20}", "invalid name")
fmt_iface_list = fmt_regex(r"(?:[a-zA-Z][a-zA-Z0-9_.\-]{1,20})(?:[ ,;]+[a-zA-Z][a-zA-Z0-9_.\-]{1,20})*",
                           "invalid name")
fmt_configid_list = fmt_regex(r"[a-z][a-z0-9_\-]*(?:[ ,;\0]+[a-z][a-z0-9_\-]*)*",
                              "invalid configuration ID")
fmt_mac = fmt_regex(r"[a-fA-F0-9]{2}(?::[a-fA-F0-9]{2}){5}", "value does not look like a valid MAC address")
fmt_ipv4 = fmt_regex(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)",
                     "value does not look like a valid IPv4 address")
fmt_cidrv4 = fmt_regex(r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)/(?:3[0-2]|[12]?\d)",
                       "value does not look like a valid IPv4 network configuration")
fmt_tags = fmt_regex(r"(?:[a-z0-9_][a-z0-9_\-+.]*)(?:[;, ]+[a-z0-9_][a-z0-9_\-+.]*)*", "invalid characters in tag")
