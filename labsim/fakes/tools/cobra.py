"""Command lines as spf13/cobra takes them: the one command model of every fake Go CLI (cilium, talosctl, helm).

A tool declares its tree of `Command`s (use, short/long texts, aliases, flags from labsim/fakes/tools/pflag.py,
persistent flags inherited by subcommands, a positional-argument validator) and calls `execute(root, argv)`, which
does what cobra's ExecuteC does before it runs a command:

- Find: follow the words that name subcommands (or their aliases; no prefix matching), skipping flags and the values
  they take; on the root only, a word that names nothing is `unknown command "x" for "tool"` with cobra's
  "Did you mean this?" suggestions (legacyArgs); below the root, extra words are arguments.
- parse the flags of the command found (its own, its persistent ones and those its parents made persistent, and
  `-h, --help`) as pflag does; `--help` anywhere, or a command that only groups others, prints the help (exit 0);
- validate the positional arguments (NoArgs, ExactArgs, ... with cobra's texts, or a tool's own validator).

Help and usage are cobra's default templates (help: Long or Short, a blank line, the usage; usage: `Usage:`, the
use line with `[flags]`, `[command]`, Aliases, Examples, Available Commands padded to the longest name (at least 11),
Flags, Global Flags, `Use "tool [command] --help" ...`). The root gets cobra's `help [command]` command.
How an error is printed is the tool's business (talosctl prints the error and the usage, helm `Error: ...`).
Sources: spf13/cobra v1.8.1/v1.9.1 command.go (Find, stripFlags, argsMinusFirstX, legacyArgs, findSuggestions,
SuggestionsFor, execute, ExecuteC, UseLine, NamePadding, LocalFlags, InheritedFlags, defaultUsageFunc,
defaultHelpFunc, InitDefaultHelpFlag, InitDefaultHelpCmd), args.go, cobra.go (rpad, ld, trimRightSpace).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.tools.pflag import Flag, FlagError, flag_usages, parse

__all__ = ["Args", "Command", "Flag", "ShowHelp", "UsageError", "execute", "ExactArgs", "MaximumNArgs",
           "MinimumNArgs", "NoArgs", "RangeArgs"]

MIN_NAME_PADDING = 11


class UsageError(Exception):
    """A command line cobra refuses: `stage` is "find" (an unknown command), "flags" (pflag) or "args" (the
    command's validator); `cmd` is the command cobra talks about."""

    def __init__(self, message: str, cmd: Command, stage: str):
        super().__init__(message)
        self.cmd, self.stage = cmd, stage


class ShowHelp(Exception):
    """Help to print and exit 0 (`--help`, a command that only groups others, `help CMD`). `stderr`: cobra's
    `help` command prints an unknown topic and the usage through Print, which goes to standard error."""

    def __init__(self, text: str, stderr: bool = False):
        super().__init__(text)
        self.text, self.stderr = text, stderr


# --- positional argument validators (args.go) ----------------------------------------------------------------------
Validator = Callable[["Command", list[str]], "str | None"]


def NoArgs(cmd: Command, args: list[str]) -> str | None:  # noqa: N802 - cobra's names
    return f'unknown command "{args[0]}" for "{cmd.path()}"' if args else None


def ExactArgs(n: int) -> Validator:  # noqa: N802
    return lambda cmd, args: None if len(args) == n else f"accepts {n} arg(s), received {len(args)}"


def MinimumNArgs(n: int) -> Validator:  # noqa: N802
    return lambda cmd, args: None if len(args) >= n else f"requires at least {n} arg(s), only received {len(args)}"


def MaximumNArgs(n: int) -> Validator:  # noqa: N802
    return lambda cmd, args: None if len(args) <= n else f"accepts at most {n} arg(s), received {len(args)}"


def RangeArgs(lo: int, hi: int) -> Validator:  # noqa: N802
    return lambda cmd, args: (None if lo <= len(args) <= hi else
                              f"accepts between {lo} and {hi} arg(s), received {len(args)}")


@dataclass(eq=False)
class Command:
    use: str
    short: str = ""
    flags: list[Flag] = field(default_factory=list)
    persistent: list[Flag] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    run: Callable | None = None
    parent: Command | None = None
    long: str = ""
    example: str = ""
    aliases: tuple[str, ...] = ()
    args: Validator | None = None         # None: cobra's legacyArgs (Find checks unknown commands on the root)
    hidden: bool = False
    max_name_len: int = 0                 # commandsMaxNameLen: of every command added, hidden ones included

    def __post_init__(self) -> None:
        subs, self.commands = self.commands, []
        self.add(*subs)

    # --- the tree --------------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.use.split(" ", 1)[0]

    def add(self, *cmds: Command) -> Command:
        for c in cmds:
            c.parent = self
            self.commands.append(c)
            self.max_name_len = max(self.max_name_len, len(c.name))
        return self

    def path(self) -> str:
        return f"{self.parent.path()} {self.name}" if self.parent else self.name

    def chain(self) -> list[Command]:
        return (self.parent.chain() if self.parent else []) + [self]

    def child(self, word: str) -> Command | None:
        return next((c for c in self.commands if c.name == word or word in c.aliases), None)

    def sorted_commands(self) -> list[Command]:
        return sorted(self.commands, key=lambda c: c.name)

    @property
    def runnable(self) -> bool:
        return self.run is not None

    def available(self) -> bool:
        """IsAvailableCommand: listed in help (the help command itself is listed by the template, by name)."""
        if self.hidden or (self.parent is not None and self.name == "help" and self.parent.parent is None):
            return False
        return self.runnable or self.has_available_subcommands()

    def has_available_subcommands(self) -> bool:
        return any(c.available() for c in self.commands)

    # --- flags -----------------------------------------------------------------------------------------------------
    def _help_flag(self, taken: list[Flag]) -> list[Flag]:
        if any(f.name == "help" for f in taken):
            return []
        short = "" if any(f.short == "h" for f in taken) else "h"
        return [Flag("help", "bool", False, f"help for {self.name}", short)]

    def inherited_flags(self) -> list[Flag]:
        """Persistent flags of the parents (the nearest one wins), less those this command shadows."""
        own = {f.name for f in self.flags + self.persistent}
        out: dict[str, Flag] = {}
        for c in reversed(self.chain()[:-1]):
            for f in c.persistent:
                if f.name not in own and f.name not in out:
                    out[f.name] = f
        return list(out.values())

    def local_flags(self) -> list[Flag]:
        mine = self.flags + self.persistent
        return mine + self._help_flag(mine + self.inherited_flags())

    def all_flags(self, with_help: bool = True) -> list[Flag]:
        mine = self.flags + self.persistent + self.inherited_flags()
        return mine + (self._help_flag(mine) if with_help else [])

    # --- texts -----------------------------------------------------------------------------------------------------
    def use_line(self) -> str:
        line = f"{self.parent.path()} {self.use}" if self.parent else self.use
        return line if "[flags]" in line else line + " [flags]"

    def name_padding(self) -> int:
        if self.parent is None or MIN_NAME_PADDING > self.parent.max_name_len:
            return MIN_NAME_PADDING
        return self.parent.max_name_len

    def usage(self) -> str:
        """UsageString (defaultUsageFunc)."""
        out = "Usage:"
        if self.runnable:
            out += f"\n  {self.use_line()}"
        subs = self.has_available_subcommands()
        if subs:
            out += f"\n  {self.path()} [command]"
        if self.aliases:
            out += "\n\nAliases:\n  " + ", ".join((self.name, *self.aliases))
        if self.example:
            out += "\n\nExamples:\n" + self.example
        if subs:
            out += "\n\nAvailable Commands:"
            for c in self.sorted_commands():
                if c.available() or c.name == "help":
                    out += f"\n  {c.name.ljust(c.name_padding())} {c.short}"
        local = [f for f in self.local_flags() if not f.hidden]
        if local:
            out += "\n\nFlags:\n" + flag_usages(local).rstrip()
        inherited = [f for f in self.inherited_flags() if not f.hidden]
        if inherited:
            out += "\n\nGlobal Flags:\n" + flag_usages(inherited).rstrip()
        if subs:
            out += f'\n\nUse "{self.path()} [command] --help" for more information about a command.'
        return out + "\n"

    def help(self) -> str:
        """defaultHelpFunc: Long (or Short), a blank line, the usage."""
        text = (self.long or self.short).rstrip()
        out = f"{text}\n\n" if text else ""
        if self.runnable or self.commands:
            out += self.usage()
        return out

    def suggestions(self, typed: str) -> list[str]:
        """SuggestionsFor: Levenshtein distance <= 2 (case-insensitive) or a prefix of the name."""
        return [c.name for c in self.sorted_commands() if c.available() and
                (_levenshtein(typed.lower(), c.name.lower()) <= 2 or c.name.lower().startswith(typed.lower()))]


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# --- Find ------------------------------------------------------------------------------------------------------------
def _no_opt(name: str, flags: list[Flag], short: bool) -> bool:
    f = next((f for f in flags if (f.short == name[:1] if short else f.name == name)), None) if name else None
    return f is not None and f.no_opt is not None


def _takes_value(s: str, flags: list[Flag]) -> bool:
    """A flag word without `=` whose flag is not a NoOptDefVal one (unknown flags too): the next word is its value."""
    if "=" in s:
        return False
    if s.startswith("--"):
        return not _no_opt(s[2:], flags, short=False)
    return s.startswith("-") and len(s) == 2 and not _no_opt(s[1:], flags, short=True)


def _strip_flags(args: list[str], cmd: Command) -> list[str]:
    flags = cmd.all_flags(with_help=False)
    words: list[str] = []
    rest = list(args)
    while rest:
        s = rest.pop(0)
        if s == "--":
            break
        if _takes_value(s, flags):
            if len(rest) <= 1:
                break
            rest.pop(0)
            continue
        if s and not s.startswith("-"):
            words.append(s)
    return words


def _args_minus_first(args: list[str], word: str, cmd: Command) -> list[str]:
    flags = cmd.all_flags(with_help=False)
    pos = 0
    while pos < len(args):
        s = args[pos]
        if s == "--":
            break
        if _takes_value(s, flags):
            pos += 2
            continue
        if not s.startswith("-") and s == word:
            return args[:pos] + args[pos + 1:]
        pos += 1
    return args


def find(root: Command, argv: list[str]) -> tuple[Command, list[str]]:
    """Command.Find: the command the words name, and the arguments left for it (flags included)."""
    cmd, args = root, list(argv)
    while True:
        words = _strip_flags(args, cmd)
        nxt = cmd.child(words[0]) if words else None
        if nxt is None:
            break
        args = _args_minus_first(args, words[0], cmd)
        cmd = nxt
    if cmd.args is None and cmd.commands and cmd.parent is None:      # legacyArgs
        words = _strip_flags(args, cmd)
        if words:
            hint = cmd.suggestions(words[0])
            more = ("\n\nDid you mean this?\n" + "".join(f"\t{h}\n" for h in hint)) if hint else ""
            raise UsageError(f'unknown command "{words[0]}" for "{cmd.path()}"{more}', cmd, "find")
    return cmd, args


class Args(dict):
    """The parsed flags by attribute (`a.wait_duration`), the positional arguments (`a.args`), and which flags were
    given (`a.changed("enable-kvstoremesh")`)."""

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name != "changed" and dict.__contains__(self, name):
            return dict.__getitem__(self, name)        # a flag named like a dict method (`--values`)
        return super().__getattribute__(name)

    __getattr__ = dict.__getitem__

    def changed(self, name: str) -> bool:
        return name.replace("-", "_") in self["_changed"]


def help_command(root: Command) -> Command:
    """cobra's default `help [command]` (InitDefaultHelpCmd)."""
    return Command("help [command]", "Help about any command", run=lambda *a: 0,
                   long=f"Help provides help for any command in the application.\nSimply type {root.name} help "
                        "[path to command] for full details.")


def execute(root: Command, argv: list[str]) -> tuple[Command, Args]:
    """(the command to run, its flags and arguments); raises UsageError, or ShowHelp with the text to print."""
    if root.commands and root.child("help") is None:
        root.add(help_command(root))
    cmd, rest = find(root, argv)
    try:
        parsed = parse(cmd.all_flags(), rest)
    except FlagError as exc:
        raise UsageError(str(exc), cmd, "flags") from None
    if parsed.values.get("help"):
        raise ShowHelp(cmd.help())
    if cmd.name == "help" and cmd.parent is root:
        try:
            target, _ = find(root, parsed.args)
        except UsageError:
            target = None
        if target is None or (parsed.args and target is root):
            raise ShowHelp(f"Unknown help topic [{' '.join(f'`{a}`' for a in parsed.args)}]\n" + root.usage(),
                           stderr=True)
        raise ShowHelp(target.help())
    if not cmd.runnable:
        raise ShowHelp(cmd.help())
    if cmd.args is not None:
        err = cmd.args(cmd, parsed.args)
        if err:
            raise UsageError(err, cmd, "args")
    missing = [f.name for f in cmd.all_flags() if f.required and f.dest not in parsed.changed]
    if missing:
        raise UsageError('required flag(s) "' + '", "'.join(missing) + '" not set', cmd, "flags")
    a = Args(parsed.values)
    a["_changed"] = parsed.changed
    a["args"] = parsed.args
    return cmd, a


def not_simulated(tool: str, module: str) -> Callable[..., Any]:
    """The run of a real command the simulated lab does not need: it says so (exit 1) instead of guessing."""
    def run(cmd: Command, *_: Any) -> int:
        raise NotSimulated(f"{cmd.path()} is not part of the simulated lab's {tool} ({module})")
    return run


class NotSimulated(Exception):
    pass
