"""Flags as spf13/pflag defines, parses, prints and refuses them, for the fake Go CLIs (labsim/fakes/tools/cobra.py).

Spellings pflag accepts: `--flag value`, `--flag=value`, `-f value`, `-fvalue`, `-f=value`, bool flags without a value
(`--wait`, `-abc` for several one-letter bools), slice flags comma-separated and repeatable, `--` ends the flags.
No abbreviations: `--wait-tim` is an unknown flag. The refusals, worded as pflag words them (errors.go, flag.go):

    unknown flag: --foo
    unknown shorthand flag: 'x' in -x
    flag needs an argument: --timeout             flag needs an argument: 'o' in -o
    invalid argument "x" for "--wait-timeout" flag: time: invalid duration "x"
    bad flag syntax: ---x

Help lines as FlagUsages prints them: `  -o, --output string   usage (default "table")`, a back-quoted word in the usage
naming the value, type names (`strings` for a string slice), defaults only when not the zero value.
Sources: spf13/pflag v1.0.5-v1.0.7 flag.go (parseArgs, parseLongArg, parseSingleShortArg, FlagUsagesWrapped,
UnquoteUsage, defaultIsZeroValue), errors.go, bool.go, duration.go, int.go, string_slice.go (CSV parsing).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.tools.gofmt import go_duration, parse_duration

TRUE = ("1", "t", "T", "TRUE", "true", "True")
FALSE = ("0", "f", "F", "FALSE", "false", "False")
INT_BITS = {"int": 64, "int32": 32, "int64": 64}
TYPE_NAMES = {"stringSlice": "strings", "bool": "", "float32": "float32", "float64": "float", "int64": "int"}


class FlagError(Exception):
    """A command line pflag refuses (cobra returns it from Execute; the tool prints it)."""


@dataclass
class Flag:
    name: str
    kind: str              # bool | string | int | int32 | duration | float32 | stringSlice | stringArray | enum
    default: Any
    usage: str = ""
    short: str = ""
    hidden: bool = False
    dest: str = ""
    choices: tuple[str, ...] = ()     # enum: the values a flag.Value of its own accepts (its Type() lists them)
    no_opt: str | None = None         # NoOptDefVal: the value of a bare `--flag` (bool flags: "true")
    required: bool = False            # cobra's MarkFlagRequired: `required flag(s) "x" not set`
    value_type: str = ""              # a flag.Value of the tool's own: its Type() (helm's `format`)
    invalid: str = ""                 # ... and the error its Set returns for a value it refuses

    def __post_init__(self) -> None:
        self.dest = self.dest or self.name.replace("-", "_")
        if self.no_opt is None and self.kind == "bool":
            self.no_opt = "true"

    # --- what pflag knows of the value ---------------------------------------------------------------------------
    @property
    def type_name(self) -> str:
        """flag.Value.Type()."""
        if self.value_type:
            return self.value_type
        if self.kind == "enum":
            return ", ".join(sorted(self.choices))
        return self.kind

    @property
    def def_value(self) -> str:
        """DefValue: the default as the Value's String() prints it."""
        d = self.default
        if self.kind == "bool":
            return "true" if d else "false"
        if self.kind == "duration":
            return go_duration(parse_duration(d) if isinstance(d, str) else float(d))
        if self.kind in ("stringSlice", "stringArray"):
            return "[" + ",".join(d or []) + "]"
        if self.kind == "stringToString":
            return "[" + ",".join(f"{k}={v}" for k, v in (d or {}).items()) + "]"
        if self.kind == "float32":
            return f"{d:g}"
        return "" if d is None else str(d)

    def zero_default(self) -> bool:
        """defaultIsZeroValue: whether the help line leaves `(default ...)` out."""
        v = self.def_value
        if self.kind == "bool":
            return v in ("false", "")
        if self.kind == "duration":
            return v in ("0", "0s")
        if self.kind in INT_BITS or self.kind in ("float32", "uint"):
            return v == "0"
        if self.kind == "string":
            return v == ""
        if self.kind in ("stringSlice", "stringArray", "stringToString"):
            return v == "[]"
        return v in ("false", "<nil>", "", "0")

    @property
    def spelled(self) -> str:    # how an invalid-argument error names the flag
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"

    def initial(self) -> Any:
        if self.kind == "stringToString":
            return dict(self.default or {})
        return list(self.default or []) if self.kind in ("stringSlice", "stringArray") else self.default

    # --- setting it ------------------------------------------------------------------------------------------------
    def convert(self, raw: str, current: Any, changed: bool) -> Any:
        try:
            return self._convert(raw, current, changed)
        except ValueError as exc:
            raise FlagError(f'invalid argument "{raw}" for "{self.spelled}" flag: {exc}') from None

    def _convert(self, raw: str, current: Any, changed: bool) -> Any:
        kind = self.kind
        if kind == "bool":
            if raw in TRUE:
                return True
            if raw in FALSE:
                return False
            raise ValueError(f'strconv.ParseBool: parsing "{raw}": invalid syntax')
        if kind == "duration":
            parse_duration(raw)
            return raw
        if kind == "uint":
            if not raw.isdigit():
                raise ValueError(f'strconv.ParseUint: parsing "{raw}": invalid syntax')
            return int(raw)
        if kind == "stringToString":     # string_to_string.go: CSV of key=value pairs
            out = dict(current) if changed else {}
            for pair in next(csv.reader([raw])) if raw else []:
                key, eq, value = pair.partition("=")
                if not eq:
                    raise ValueError(f"{pair} must be formatted as key=value")
                out[key] = value
            return out
        if kind in INT_BITS:
            try:
                value = int(raw, 0)
            except ValueError:
                raise ValueError(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
            bits = INT_BITS[kind]
            if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
                raise ValueError(f'strconv.ParseInt: parsing "{raw}": value out of range')
            return value
        if kind == "float32":
            try:
                return float(raw)
            except ValueError:
                raise ValueError(f'strconv.ParseFloat: parsing "{raw}": invalid syntax') from None
        if kind == "stringSlice":     # a CSV record; the first Set replaces the default, later ones append
            items = [] if raw == "" else next(csv.reader([raw]))
            return [*(current if changed else []), *items]
        if kind == "stringArray":
            return [*(current if changed else []), raw]
        if kind == "enum" and raw not in self.choices:
            raise ValueError(self.invalid or f"possible options are: {', '.join(sorted(self.choices))}")
        return raw

    # --- the help line ---------------------------------------------------------------------------------------------
    def usage_parts(self) -> tuple[str, str]:
        """(left part, usage) of FlagUsagesWrapped's line before the padding is known."""
        line = f"  -{self.short}, --{self.name}" if self.short else f"      --{self.name}"
        varname, usage = _unquote_usage(self)
        if varname:
            line += " " + varname
        if self.no_opt and self.kind != "bool":
            line += f'[="{self.no_opt}"]' if self.kind == "string" else f"[={self.no_opt}]"
        if not self.zero_default():
            usage += f' (default "{self.def_value}")' if self.kind == "string" else f" (default {self.def_value})"
        return line, usage


def _unquote_usage(f: Flag) -> tuple[str, str]:
    usage = f.usage
    i = usage.find("`")
    if i >= 0:
        j = usage.find("`", i + 1)
        if j > i:
            name = usage[i + 1:j]
            return name, usage[:i] + name + usage[j + 1:]
    return TYPE_NAMES.get(f.type_name, f.type_name), usage


def flag_usages(flags: list[Flag]) -> str:
    """FlagUsages (no wrapping): one line per visible flag, sorted by name, usages aligned after the longest left."""
    rows = [f.usage_parts() for f in sorted(flags, key=lambda f: f.name) if not f.hidden]
    if not rows:
        return ""
    width = max(len(left) for left, _ in rows) + 1      # + the \x00 pflag pads from
    out = []
    for left, usage in rows:
        # fmt.Fprintln(buf, left, spacing, usage): operands joined by single spaces
        out.append(f"{left} {' ' * (width - len(left))} " + usage.replace("\n", "\n" + " " * (width + 2)) + "\n")
    return "".join(out)


@dataclass
class Parsed:
    values: dict[str, Any]
    changed: set[str] = field(default_factory=set)
    args: list[str] = field(default_factory=list)


def parse(flags: list[Flag], argv: list[str]) -> Parsed:
    """FlagSet.Parse (interspersed): the values by dest, which were set, and the positional arguments."""
    longs = {f.name: f for f in flags}
    shorts = {f.short: f for f in flags if f.short}
    out = Parsed({f.dest: f.initial() for f in flags})

    def set_(f: Flag, raw: str) -> None:
        out.values[f.dest] = f.convert(raw, out.values[f.dest], f.dest in out.changed)
        out.changed.add(f.dest)

    args = list(argv)
    while args:
        s = args.pop(0)
        if len(s) < 2 or s[0] != "-":
            out.args.append(s)
            continue
        if s[1] == "-":
            if len(s) == 2:                  # "--" ends the flags
                out.args += args
                break
            name = s[2:]
            if name[0] in "-=":
                raise FlagError(f"bad flag syntax: {s}")
            name, eq, raw = name.partition("=")
            f = longs.get(name)
            if f is None:
                raise FlagError(f"unknown flag: --{name}")
            if eq:
                set_(f, raw)
            elif f.no_opt is not None:
                set_(f, f.no_opt)
            elif args:
                set_(f, args.pop(0))
            else:
                raise FlagError(f"flag needs an argument: --{name}")
            continue
        shorthands = s[1:]
        while shorthands:
            c = shorthands[0]
            f = shorts.get(c)
            if f is None:
                raise FlagError(f"unknown shorthand flag: '{c}' in -{shorthands}")
            if len(shorthands) > 2 and shorthands[1] == "=":
                set_(f, shorthands[2:])
                shorthands = ""
            elif f.no_opt is not None:
                set_(f, f.no_opt)
                shorthands = shorthands[1:]
            elif len(shorthands) > 1:
                set_(f, shorthands[1:])
                shorthands = ""
            elif args:
                set_(f, args.pop(0))
                shorthands = ""
            else:
                raise FlagError(f"flag needs an argument: '{c}' in -{shorthands}")
    return out
