"""The generic part of the simulated RouterOS menu engine: field types, the schema and the trap texts.

The engine that reads the menus: behaviour that is data lives in two YAML files next to this module:
- `schema.yaml`: per menu its id space, commands, fields (types, defaults, ranges, choices, references,
  version limits) and read-only columns;
- `errors.yaml`: the trap texts and categories, each with its source.

This module turns API text into typed values and back (RouterOS prints booleans as `true`/`false`, durations
like `30m`, priorities like `0x8000`), and raises `RouterOSTrap` with the right text when a value does not
parse. Everything that crosses menus (shared interface ids, dynamic rows, connected routes, cascades, rule
order) lives in `device.py`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from .api import Trap

HERE = Path(__file__).resolve().parent
SCHEMA_FILE = HERE / "schema.yaml"
ERRORS_FILE = HERE / "errors.yaml"


# ---------------------------------------------------------------------------------------------- errors


@lru_cache(maxsize=1)
def error_catalog() -> dict[str, Any]:
    with open(ERRORS_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


class RouterOSTrap(Exception):
    """A command failed: the device answers these traps (then `!done`) and changes nothing."""

    def __init__(self, traps: list[Trap]):
        super().__init__("; ".join(t.message for t in traps))
        self.traps = traps


def trap(key: str, **values: Any) -> RouterOSTrap:
    """Build the trap(s) named `key` in errors.yaml, formatting `{placeholders}` with `values`."""
    entry = error_catalog()[key]
    entries = entry if isinstance(entry, list) else [entry]
    return RouterOSTrap([Trap(e["message"].format(**values), e.get("category")) for e in entries])


# --------------------------------------------------------------------------------------------- version


@dataclass(frozen=True, order=True)
class Version:
    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> Version:
        """`7.16.2` -> (7, 16, 2); `7.16.2 (stable)` -> (7, 16, 2); `7.18beta6` -> (7, 18)."""
        parts: list[int] = []
        for piece in (str(text).split() or ["0"])[0].split("."):
            m = re.match(r"\d+", piece)
            if not m:
                break
            parts.append(int(m.group()))
            if m.end() != len(piece):
                break
        return cls(tuple(parts) or (0,))

    @property
    def major(self) -> int:
        return self.parts[0]

    def at_least(self, other: str) -> bool:
        return self.parts >= Version.parse(other).parts


# ---------------------------------------------------------------------------------------- value helpers

_DURATION_UNITS = {"w": 604_800_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}


def parse_duration(text: str) -> int:
    """RouterOS time text -> milliseconds: `30m`, `1h30m`, `100ms`, `1d 00:30:00`, `00:30:00`, `90` (seconds)."""
    t = text.strip().lower().replace(" ", "")
    if not t:
        raise ValueError(text)
    if re.fullmatch(r"\d+", t):
        return int(t) * 1000
    total = 0
    m = re.fullmatch(r"((?:\d+(?:ms|w|d|h|m|s))*)(?:(\d+):(\d{1,2}):(\d{1,2})(?:\.(\d{1,3}))?)?", t)
    if not m or not t:
        raise ValueError(text)
    for num, unit in re.findall(r"(\d+)(ms|w|d|h|m|s)", m.group(1) or ""):
        total += int(num) * _DURATION_UNITS[unit]
    if m.group(2) is not None:
        total += (int(m.group(2)) * 3600 + int(m.group(3)) * 60 + int(m.group(4))) * 1000
        if m.group(5):
            total += int(m.group(5).ljust(3, "0"))
    return total


def format_duration(ms: int, zero: str = "0s") -> str:
    """Milliseconds -> RouterOS text (`30m`, `1w2d3h4m5s`, `100ms`)."""
    if ms <= 0:
        return zero
    out = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = _DURATION_UNITS[unit]
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


def parse_vlan_ids(text: str) -> tuple[int, ...]:
    """`10`, `10,20`, `100-110` (and mixes) -> sorted unique VLAN ids. Raises ValueError on bad syntax.

    Exposed for the world model: `/interface/bridge/vlan` rows print `vlan-ids` in this compressed form.
    """
    ids: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ValueError(text)
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        if lo > hi:
            raise ValueError(text)
        ids.update(range(lo, hi + 1))
    return tuple(sorted(ids))


def format_vlan_ids(ids: tuple[int, ...] | list[int]) -> str:
    parts: list[str] = []
    ids = sorted(ids)
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(f"{ids[i]}-{ids[j]}" if j > i else str(ids[i]))
        i = j + 1
    return ",".join(parts)


def parse_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in ("yes", "true"):
        return True
    if t in ("no", "false"):
        return False
    raise ValueError(text)


def fmt_bool(value: bool) -> str:
    return "true" if value else "false"


def split_list(text: str) -> list[str]:
    return [p.strip() for p in str(text).split(",") if p.strip()]


def _ip(text: str) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(text.strip())


def _ip_range_piece(piece: str) -> str:
    if "/" in piece:
        return str(ipaddress.IPv4Network(piece, strict=False))
    if "-" in piece:
        lo, hi = piece.split("-", 1)
        a, b = _ip(lo), _ip(hi)
        if a > b:
            raise ValueError(piece)
        return f"{a}-{b}"
    return str(_ip(piece))


# ---------------------------------------------------------------------------------------------- fields


class RefResolver(Protocol):
    def resolve_ref(self, ref: str, text: str) -> int | None: ...
    def ref_name(self, ref: str, ident: int) -> str: ...
    def interface_exists(self, name: str) -> bool: ...


@dataclass
class FieldSpec:
    name: str
    type: str
    default: Any = None  # the default as RouterOS text (already chosen for the device's version), or None
    required: bool = False
    range: tuple[int, int] | None = None
    choices: list[str] | None = None
    ref: str | None = None
    what: str | None = None
    literals: list[str] = field(default_factory=list)
    write_only: bool = False

    @property
    def optional(self) -> bool:
        """No default and not required: printed only once set."""
        return self.default is None and not self.required

    @property
    def zero(self) -> str:
        return "0ms" if isinstance(self.default, str) and self.default.endswith("ms") else "0s"

    # -- text -> value

    def parse(self, text: str, ctx: RefResolver) -> Any:
        text = "" if text is None else str(text)
        t = self.type
        try:
            if t in ("string",):
                return text
            if t == "name":
                if not text.strip():
                    raise ValueError(text)
                return text
            if t == "int":
                value = int(text.strip(), 0) if text.strip().lower().startswith("0x") else int(text.strip())
                return self._ranged(value)
            if t == "hexint":
                s = text.strip().lower()
                value = int(s, 16) if s.startswith("0x") else int(s)
                return self._ranged(value)
            if t == "mtu":
                if text.strip().lower() == "auto":
                    return "auto"
                return self._ranged(int(text.strip()), (0, 65536))
            if t == "bool":
                return parse_bool(text)
            if t == "enum":
                if text not in (self.choices or []):
                    raise ValueError(text)
                return text
            if t == "duration":
                return parse_duration(text)
            if t == "mac":
                s = text.strip().upper().replace("-", ":")
                if not re.fullmatch(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}", s):
                    raise ValueError(text)
                return s
            if t == "ip":
                return str(_ip(text))
            if t == "ip-prefix":
                return str(ipaddress.IPv4Interface(text.strip() if "/" in text else text.strip() + "/32"))
            if t == "ipv6-prefix":
                return str(ipaddress.IPv6Interface(text.strip() if "/" in text else text.strip() + "/128"))
            if t == "network":
                return str(ipaddress.IPv4Network(text.strip() if "/" in text else text.strip() + "/32", strict=False))
            if t == "ip-list":
                return [str(_ip(p)) for p in split_list(text)]
            if t == "ip-ranges":
                pieces = [_ip_range_piece(p) for p in split_list(text)]
                if not pieces:
                    raise ValueError(text)
                return pieces
            if t == "vlan-ids":
                ids = parse_vlan_ids(text)
                if not ids:
                    raise ValueError(text)
                if ids[0] < 1 or ids[-1] > 4094:
                    raise trap("out_of_range", name=self.name, low=1, high=4094)
                return ids
            if t == "ref":
                if text in self.literals:
                    return text
                ident = ctx.resolve_ref(self.ref or "", text)
                if ident is None:
                    raise trap("no_match", what=self.what or self.ref)
                return ident
            if t == "ref-list":
                out: list[int] = []
                for name in split_list(text):
                    ident = ctx.resolve_ref(self.ref or "", name)
                    if ident is None:
                        raise trap("no_match", what=self.what or self.ref)
                    if ident not in out:
                        out.append(ident)
                return out
            if t == "addr-match":
                s = text.strip()
                body = s.removeprefix("!")
                _ip_range_piece(body)
                return s
            if t == "port-list":
                s = text.strip()
                body = s.removeprefix("!")
                for p in split_list(body):
                    lo, _, hi = p.partition("-")
                    a, b = int(lo), int(hi or lo)
                    if not (0 <= a <= b <= 65535):
                        raise ValueError(text)
                if not split_list(body):
                    raise ValueError(text)
                return s
            if t == "iface-match":
                s = text.strip()
                body = s.removeprefix("!")
                if not ctx.interface_exists(body):
                    raise trap("no_match", what="interface")
                return s
            if t == "gateway":
                pieces = split_list(text)
                if not pieces:
                    raise ValueError(text)
                for p in pieces:
                    ip_part, _, iface = p.partition("%")
                    try:
                        _ip(ip_part)
                    except ValueError:
                        if iface or not ctx.interface_exists(p):
                            raise
                    if iface and not ctx.interface_exists(iface):
                        raise ValueError(text)
                return ",".join(pieces)
        except RouterOSTrap:
            raise
        except (ValueError, TypeError, ipaddress.AddressValueError, ipaddress.NetmaskValueError):
            raise trap("invalid_value", name=self.name) from None
        raise AssertionError(f"unknown field type {t!r} for {self.name}")

    def _ranged(self, value: int, rng: tuple[int, int] | None = None) -> int:
        lo, hi = rng or self.range or (-(2**63), 2**63)
        if not lo <= value <= hi:
            raise trap("out_of_range", name=self.name, low=lo, high=hi)
        return value

    # -- value -> text

    def format(self, value: Any, ctx: RefResolver) -> str:
        t = self.type
        if value is None:
            return ""
        if t == "bool":
            return fmt_bool(bool(value))
        if t == "hexint":
            return f"0x{int(value):x}"
        if t == "duration":
            return format_duration(int(value), self.zero)
        if t in ("ip-list", "ip-ranges"):
            return ",".join(value)
        if t == "vlan-ids":
            return format_vlan_ids(value)
        if t == "ref":
            return value if isinstance(value, str) else ctx.ref_name(self.ref or "", value)
        if t == "ref-list":
            return ",".join(ctx.ref_name(self.ref or "", v) for v in value)
        return str(value)


@dataclass
class MenuSpec:
    path: str
    table: str | None
    commands: list[str]
    fields: dict[str, FieldSpec]
    readonly: list[str]
    kind: str | None = None
    id_by: str | None = None
    name_prefix: str | None = None
    ordered: bool = False
    single: bool = False
    view: str | None = None
    settable: list[str] = field(default_factory=list)
    listen: bool = False
    initial: list[dict[str, Any]] = field(default_factory=list)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for w in self.path.split("/") if w)


def _pick_default(raw: Any, version: Version) -> Any:
    if isinstance(raw, dict):
        return raw.get(f"v{version.major}", raw.get("v7"))
    return raw


def _default_text(spec: FieldSpec, raw: Any) -> Any:
    """Defaults are written in YAML as RouterOS would print them; keep booleans/ints as text too."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return str(raw)


@lru_cache(maxsize=1)
def _raw_schema() -> dict[str, Any]:
    with open(SCHEMA_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=8)
def load_schema(version_text: str) -> dict[str, MenuSpec]:
    """All menus for one RouterOS version, keyed by path (`/interface/bridge/vlan`)."""
    version = Version.parse(version_text)
    menus: dict[str, MenuSpec] = {}
    for path, raw in _raw_schema()["menus"].items():
        if not _in_version(raw, version):
            continue
        fields: dict[str, FieldSpec] = {}
        for fname, f in (raw.get("fields") or {}).items():
            if "since" in f and not version.at_least(str(f["since"])):
                continue
            if "until" in f and version.at_least(str(f["until"])):
                continue
            spec = FieldSpec(
                name=fname,
                type=f["type"],
                required=bool(f.get("required", False)),
                range=tuple(f["range"]) if "range" in f else None,
                choices=[str(c) for c in f["choices"]] if "choices" in f else None,
                ref=f.get("ref"),
                what=f.get("what"),
                literals=list(f.get("literals", [])),
                write_only=bool(f.get("write_only", False)),
            )
            spec.default = _default_text(spec, _pick_default(f.get("default"), version))
            fields[fname] = spec
        menus[path] = MenuSpec(
            path=path,
            table=raw.get("table"),
            commands=list(raw.get("commands", [])),
            fields=fields,
            readonly=list(raw.get("readonly", [])),
            kind=raw.get("kind"),
            id_by=raw.get("id_by"),
            name_prefix=raw.get("name_prefix"),
            ordered=bool(raw.get("ordered", False)),
            single=bool(raw.get("single", False)),
            view=raw.get("view"),
            settable=list(raw.get("settable", [])),
            listen=bool(raw.get("listen", False)),
            initial=[r for r in raw.get("initial", []) if _in_version(r, version)],
        )
    return menus


def _in_version(raw: dict[str, Any], version: Version) -> bool:
    if "since" in raw and not version.at_least(str(raw["since"])):
        return False
    return not ("until" in raw and version.at_least(str(raw["until"])))


def normalize_menu_path(menu: str) -> str:
    """`interface bridge vlan`, `/interface/bridge/vlan/`, `interface/bridge/vlan` -> `/interface/bridge/vlan`."""
    words = [w for w in re.split(r"[/\s]+", menu.strip()) if w]
    return "/" + "/".join(words)


def unknown_word(command_words: list[str], menus: dict[str, MenuSpec]) -> str:
    """The first word of a command that names no menu or command (for "no such command or directory (w)")."""
    known: set[tuple[str, ...]] = set()
    for spec in menus.values():
        w = spec.words
        for i in range(1, len(w) + 1):
            known.add(w[:i])
        for verb in spec.commands:
            known.add(w + (verb,))
    for i in range(1, len(command_words) + 1):
        if tuple(command_words[:i]) not in known:
            return command_words[i - 1]
    return command_words[-1] if command_words else ""
