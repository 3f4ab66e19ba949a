"""Command lines as spf13/cobra and spf13/pflag take them, for fake tools written in Go upstream (the cilium CLI).

What matters to a caller is the same as with the real binary: which words pick the command, how flags are spelled
(`--flag value`, `--flag=value`, `-f value`, `-fvalue`, `-f=value`, bool flags without a value, slice flags
comma-separated and repeatable, flags anywhere after the command, `--` ends them), and the errors:

    unknown command "statsu" for "cilium"        (with cobra's "Did you mean this?" suggestions)
    unknown flag: --foo
    unknown shorthand flag: 'x' in -x
    flag needs an argument: --destination-context      /  flag needs an argument: 'o' in -o
    invalid argument "x" for "--wait-duration" flag: time: invalid duration "x"

A command that only groups others (`cilium clustermesh`) prints its help when run, or given a word it does not
know, and exits 0: cobra only checks unknown commands on the root command (legacyArgs).
Sources: spf13/cobra command.go (Find, stripFlags, legacyArgs, findSuggestions, the default usage template),
spf13/pflag flag.go (parseLongArg, parseSingleShortArg, failf texts), bool.go, duration.go, int.go.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.tools.gofmt import format_duration, parse_duration

TRUE = ("1", "t", "T", "TRUE", "true", "True")
FALSE = ("0", "f", "F", "FALSE", "false", "False")


class UsageError(Exception):
    """What cobra's Execute returns for a bad command line (the tool's main prints it and exits 1)."""


class ShowHelp(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


@dataclass
class Flag:
    name: str
    kind: str                    # bool | string | duration | int | stringSlice | stringArray
    default: Any
    usage: str = ""
    short: str = ""
    dest: str = ""

    def __post_init__(self) -> None:
        self.dest = self.dest or self.name.replace("-", "_")

    @property
    def spelled(self) -> str:    # pflag's flag name in errors: "-o, --output" or "--wait"
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"

    def convert(self, raw: str, current: Any) -> Any:
        try:
            if self.kind == "bool":
                if raw in TRUE:
                    return True
                if raw in FALSE:
                    return False
                raise ValueError(f'strconv.ParseBool: parsing "{raw}": invalid syntax')
            if self.kind == "duration":
                parse_duration(raw)
                return raw
            if self.kind == "int":
                try:
                    return int(raw, 0)
                except ValueError:
                    raise ValueError(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
            if self.kind in ("stringSlice", "stringArray"):
                items = [raw] if self.kind == "stringArray" else ([] if raw == "" else raw.split(","))
                return [*current, *items]
            return raw
        except ValueError as exc:
            raise UsageError(f'invalid argument "{raw}" for "{self.spelled}" flag: {exc}') from None

    def help_line(self) -> tuple[str, str]:
        left = (f"-{self.short}, " if self.short else "    ") + f"--{self.name}"
        if self.kind != "bool":
            left += " " + {"stringSlice": "strings", "stringArray": "stringArray"}.get(self.kind, self.kind)
        text = self.usage
        if self.kind == "duration":
            text += f" (default {format_duration(float(parse_duration(self.default)))})"
        elif self.kind in ("string", "int") and self.default not in ("", 0, None):
            text += f' (default "{self.default}")' if self.kind == "string" else f" (default {self.default})"
        elif self.kind == "bool" and self.default:
            text += " (default true)"
        elif self.kind == "stringSlice" and self.default:
            text += f" (default [{','.join(self.default)}])"
        return left, text


@dataclass
class Command:
    use: str
    short: str = ""
    flags: list[Flag] = field(default_factory=list)
    persistent: list[Flag] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    run: Callable | None = None
    parent: Command | None = None

    @property
    def name(self) -> str:
        return self.use.split()[0]

    def add(self, *cmds: Command) -> Command:
        for c in cmds:
            c.parent = self
            self.commands.append(c)
        return self

    def path(self) -> str:
        return f"{self.parent.path()} {self.name}" if self.parent else self.name

    def chain(self) -> list[Command]:
        return (self.parent.chain() if self.parent else []) + [self]

    def all_flags(self) -> list[Flag]:
        out = list(self.flags) + list(self.persistent)
        for c in (self.parent.chain() if self.parent else []):
            out += c.persistent
        return out + [Flag("help", "bool", False, f"help for {self.name}", "h")]

    def child(self, word: str) -> Command | None:
        return next((c for c in self.commands if c.name == word), None)

    def suggestions(self, typed: str) -> list[str]:
        out = []
        for c in sorted(self.commands, key=lambda c: c.name):
            if _levenshtein(typed.lower(), c.name.lower()) <= 2 or c.name.lower().startswith(typed.lower()):
                out.append(c.name)
        return out

    def help(self) -> str:
        lines = [self.short, ""] if self.short else []
        lines.append("Usage:")
        if self.run is not None:
            lines.append(f"  {self.path()}{' ' + ' '.join(self.use.split()[1:]) if ' ' in self.use else ''} [flags]")
        if self.commands:
            lines.append(f"  {self.path()} [command]")
            lines += ["", "Available Commands:"]
            width = max(11, max(len(c.name) for c in self.commands))      # cobra's minNamePadding
            lines += [f"  {c.name.ljust(width)} {c.short}" for c in sorted(self.commands, key=lambda c: c.name)]
        own = self.flags + self.persistent + [Flag("help", "bool", False, f"help for {self.name}", "h")]
        inherited = [f for c in (self.parent.chain() if self.parent else []) for f in c.persistent]
        for title, flags in (("Flags:", own), ("Global Flags:", inherited)):
            if flags:
                rows = [f.help_line() for f in sorted(flags, key=lambda f: f.name)]
                width = max(len(r[0]) for r in rows)
                lines += ["", title] + [f"  {a.ljust(width)}   {b}".rstrip() for a, b in rows]
        if self.commands:
            lines += ["", f'Use "{self.path()} [command] --help" for more information about a command.']
        return "\n".join(lines)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _takes_value(arg: str, flags: list[Flag]) -> bool:
    """stripFlags: does `--name` / `-x` (without `=`) swallow the next word? Unknown flags are assumed to."""
    if arg.startswith("--"):
        f = next((f for f in flags if f.name == arg[2:]), None)
    elif len(arg) == 2:
        f = next((f for f in flags if f.short == arg[1:]), None)
    else:
        return False
    return f is None or f.kind != "bool"


def find(root: Command, argv: list[str]) -> Command:
    """Command.Find: follow the words that name subcommands, skipping flags (and the values they take)."""
    cmd, args, words = root, list(argv), []
    while args:
        s = args.pop(0)
        if s == "--":
            break
        if s.startswith("-") and "=" not in s and _takes_value(s, cmd.all_flags()):
            if args:
                args.pop(0)
            continue
        if s.startswith("-"):
            continue
        words.append(s)
        nxt = cmd.child(s)
        if nxt is None:
            if cmd.parent is None and cmd.commands:      # legacyArgs: unknown commands on the root only
                hint = cmd.suggestions(s)
                more = ("\n\nDid you mean this?\n" + "".join(f"\t{h}\n" for h in hint)) if hint else ""
                raise UsageError(f'unknown command "{s}" for "{cmd.path()}"{more}')
            break
        cmd = nxt
    return cmd


def parse(cmd: Command, argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """pflag's FlagSet.Parse over the whole line (the command's words come out as positional arguments)."""
    flags = cmd.all_flags()
    values: dict[str, Any] = {f.dest: (list(f.default) if isinstance(f.default, list) else f.default)
                              for f in flags}
    values["_changed"] = set()
    positional: list[str] = []
    args = list(argv)

    def set_(f: Flag, raw: str) -> None:
        values[f.dest] = f.convert(raw, values[f.dest] if f.dest in values["_changed"] else [])
        values["_changed"].add(f.dest)

    while args:
        s = args.pop(0)
        if s == "--":
            positional += args
            break
        if s.startswith("--") and len(s) > 2:
            name, eq, raw = s[2:].partition("=")
            f = next((f for f in flags if f.name == name), None)
            if f is None:
                raise UsageError(f"unknown flag: --{name}")
            if eq:
                set_(f, raw)
            elif f.kind == "bool":
                set_(f, "true")
            elif args:
                set_(f, args.pop(0))
            else:
                raise UsageError(f"flag needs an argument: {s}")
        elif s.startswith("-") and len(s) > 1:
            shorts = s[1:]
            while shorts:
                c, shorts = shorts[0], shorts[1:]
                f = next((f for f in flags if f.short == c), None)
                if f is None:
                    raise UsageError(f"unknown shorthand flag: '{c}' in {s}")
                if shorts.startswith("="):
                    set_(f, shorts[1:])
                    break
                if f.kind == "bool":
                    set_(f, "true")
                    continue
                if shorts:
                    set_(f, shorts)
                    break
                if not args:
                    raise UsageError(f"flag needs an argument: '{c}' in {s}")
                set_(f, args.pop(0))
        else:
            positional.append(s)
    return values, positional


class Args(dict):
    """The parsed flags by attribute (`a.wait_duration`), and which were given (`a.changed("enable-kvstoremesh")`)."""

    __getattr__ = dict.__getitem__

    def changed(self, name: str) -> bool:
        return name.replace("-", "_") in self["_changed"]


def execute(root: Command, argv: list[str]) -> tuple[Command, Args]:
    """(the command to run, its flags); raises UsageError or ShowHelp (text for stdout, exit 0)."""
    cmd = find(root, argv)
    values, positional = parse(cmd, argv)
    words = [w for w in (c.name for c in cmd.chain()[1:])]
    for w in words:                       # argsMinusFirstX: the command's own words are not arguments
        if w in positional:
            positional.remove(w)
    if values.get("help") or cmd.run is None:
        raise ShowHelp(cmd.help())
    a = Args(values)
    a["args"] = positional
    return cmd, a
