"""Global flags as cobra takes them: anywhere on the command line, as `--flag value`, `--flag=value` or, for
a one-letter flag, `-nVALUE`; list flags (`-n a,b -n c`) accumulate."""
from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn


class FlagError(Exception):
    pass


def split_globals(argv: list[str], flags: dict[str, str], lists: frozenset[str] = frozenset()
                  ) -> tuple[dict[str, Any], list[str]]:
    """(values by key, the other arguments in order). `flags`: spelling -> key, e.g. {"-n": "nodes"}."""
    found: dict[str, Any] = {key: [] for key in lists}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        key = flags.get(name)
        if key is None and len(arg) > 2 and not arg.startswith("--") and arg[:2] in flags:
            key, value, eq = flags[arg[:2]], arg[2:], "="
        if key is None:
            rest.append(arg)
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                raise FlagError(f"flag needs an argument: {arg}")
            value = argv[i + 1]
            i += 1
        i += 1
        if key in lists:
            found[key] += [v for v in value.split(",") if v]
        else:
            found[key] = value
    return found, rest


class UsageError(Exception):
    """A command line cobra refuses, worded as cobra words it (spf13/cobra args.go, command.go, pflag)."""


class CobraParser(argparse.ArgumentParser):
    """argparse for the tree of commands, with its refusals turned into cobra's: `unknown command "x" for
    "talosctl etcd"`, `unknown flag: --x`, `unknown shorthand flag: 'x' in -x`, `flag needs an argument: --x`.
    The parser raises UsageError instead of printing argparse's usage and exiting 2."""

    def error(self, message: str) -> NoReturn:
        m = re.search(r"invalid choice: '([^']*)'", message)
        if m:
            raise UsageError(f'unknown command "{m.group(1)}" for "{self.prog}"')
        m = re.match(r"unrecognized arguments: (\S+)", message)
        if m:
            arg = m.group(1)
            if arg.startswith("--"):
                raise UsageError(f"unknown flag: {arg.split('=')[0]}")
            if arg.startswith("-"):
                raise UsageError(f"unknown shorthand flag: '{arg[1:2]}' in {arg}")
            raise UsageError(f'unknown command "{arg}" for "{self.prog}"')
        m = re.match(r"argument (\S+?)(?:/\S+)?: expected one argument", message)
        if m:
            raise UsageError(f"flag needs an argument: {m.group(1)}")
        m = re.match(r"the following arguments are required: (.+)", message)
        if m and not any(isinstance(a, argparse._SubParsersAction) for a in self._actions):
            raise UsageError(self._arg_count(len(m.group(1).split(", "))))
        raise UsageError(message)

    def _arg_count(self, missing: int) -> str:
        """cobra's positional-argument validators (args.go): ExactArgs, RangeArgs, MinimumNArgs, as this command's
        positionals declare them (`get <type> [<id>]` is RangeArgs(1, 2))."""
        lo = hi = 0
        for a in self._actions:
            if a.option_strings:
                continue
            if a.nargs is None:
                lo, hi = lo + 1, hi + 1
            elif a.nargs == "?":
                hi += 1
            elif a.nargs in ("*", "+"):
                lo, hi = lo + (a.nargs == "+"), None
            elif isinstance(a.nargs, int):
                lo, hi = lo + a.nargs, (hi + a.nargs if hi is not None else None)
        got = lo - missing
        if hi is None:
            return f"requires at least {lo} arg(s), only received {got}"
        if lo == hi:
            return f"accepts {lo} arg(s), received {got}"
        return f"accepts between {lo} and {hi} arg(s), received {got}"
