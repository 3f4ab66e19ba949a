"""The one cobra model of the fake Go CLIs (labsim/fakes/tools/cobra.py, pflag.py): help, usage, flag errors and exit
codes as spf13/cobra and spf13/pflag print them, for talosctl, helm and cilium. In-process: no lab needed."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from labsim.fakes.tools import cilium, helm, talosctl
from labsim.fakes.tools import cobra as C
from labsim.fakes.tools.gofmt import go_duration, go_time_string, humanize_bytes
from labsim.fakes.tools.pflag import Flag, FlagError, flag_usages, parse

TOOLS = {"talosctl": talosctl.main, "helm": helm.main, "cilium": cilium.main}


def run(capsys, tool: str, *argv: str) -> tuple[int, str, str]:
    rc = TOOLS[tool](list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


# --- pflag ---------------------------------------------------------------------------------------------------------
def test_pflag_spellings_and_refusals() -> None:
    flags = [Flag("output", "string", "table", "output mode", "o"), Flag("wait", "bool", False, "wait"),
             Flag("nodes", "stringSlice", [], "nodes", "n"), Flag("timeout", "duration", "5m0s", "timeout"),
             Flag("max", "int", 256, "max")]
    p = parse(flags, ["-ojson", "--wait", "-n", "a,b", "--nodes=c", "arg", "--timeout", "1m", "--", "--x"])
    assert p.values["output"] == "json" and p.values["wait"] is True and p.values["nodes"] == ["a", "b", "c"]
    assert p.args == ["arg", "--x"] and p.values["timeout"] == "1m"
    for argv, err in ((["--bogus"], "unknown flag: --bogus"), (["-x"], "unknown shorthand flag: 'x' in -x"),
                      (["-o"], "flag needs an argument: 'o' in -o"), (["--output"], "flag needs an argument: --output"),
                      (["--wai"], "unknown flag: --wai"),                      # no abbreviations
                      (["--max", "x"], 'invalid argument "x" for "--max" flag: strconv.ParseInt: parsing "x": '
                                       "invalid syntax"),
                      (["--timeout", "soon"], 'invalid argument "soon" for "--timeout" flag: time: invalid '
                                              'duration "soon"'),
                      (["--wait=maybe"], 'invalid argument "maybe" for "--wait" flag: strconv.ParseBool: parsing '
                                         '"maybe": invalid syntax'),
                      (["---x"], "bad flag syntax: ---x")):
        with pytest.raises(FlagError) as exc:
            parse(flags, argv)
        assert str(exc.value) == err


def test_flag_usages_as_pflag_prints_them() -> None:
    text = flag_usages([Flag("output", "string", "table", "output mode", "o"), Flag("wait", "bool", False, "wait"),
                        Flag("namespace", "string", "cri", "namespace to use: `system` or `cri`"),
                        Flag("timeout", "duration", "5m0s", "how long"), Flag("hidden", "bool", False, "x", hidden=True)])
    assert text.splitlines() == [
        "      --namespace system   namespace to use: system or `cri` (default \"cri\")",   # the first pair only
        "  -o, --output string      output mode (default \"table\")",
        "      --timeout duration   how long (default 5m0s)",
        "      --wait               wait",
    ]


# --- the three tools --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tool,first", [
    ("talosctl", "A CLI for out-of-band management of Kubernetes nodes created by Talos"),
    ("helm", "The Kubernetes package manager"),
    ("cilium", "CLI to install, manage, & troubleshooting Cilium clusters running Kubernetes.")])
def test_help_is_cobras(capsys, tool, first) -> None:
    rc, out, err = run(capsys, tool, "--help")
    assert rc == 0 and err == "" and out.splitlines()[0] == first
    assert f"\nUsage:\n  {tool} " in out and "\nAvailable Commands:\n" in out
    assert out.rstrip().endswith(f'Use "{tool} [command] --help" for more information about a command.')
    commands = re.findall(r"^  (\S+) +\S", out.split("Available Commands:\n")[1].split("\n\n")[0], re.M)
    assert commands == sorted(commands) and "help" in commands
    assert "usage: " not in out and "[-h]" not in out                       # never argparse's text
    rc2, out2, _ = run(capsys, tool, "help")
    assert (rc2, out2) == (0, out)


def test_every_command_has_help(capsys) -> None:
    for tool, tree in (("talosctl", talosctl.commands()), ("helm", helm.tree()), ("cilium", cilium.commands())):
        stack = [tree]
        while stack:
            cmd = stack.pop()
            stack += cmd.commands
            if cmd.name == "help" or not (cmd.runnable or cmd.commands):   # a bare group: its texts only
                continue
            argv = cmd.path().split()[1:] + ["--help"]
            rc, out, err = run(capsys, tool, *argv)
            assert rc == 0 and "Usage:\n" in out and f"help for {cmd.name}" in out, (tool, argv, err)


def test_wrong_flags_per_tool(capsys) -> None:
    rc, out, err = run(capsys, "talosctl", "get", "-o")             # root.go: the error, a blank line, the usage
    assert rc == 1 and out == "" and err.startswith("flag needs an argument: 'o' in -o\n\nUsage:\n  talosctl get ")
    rc, out, err = run(capsys, "talosctl", "health", "--wait-tim", "10s")
    assert rc == 1 and err.splitlines()[0] == "unknown flag: --wait-tim"
    rc, out, err = run(capsys, "helm", "list", "--bogus")           # cobra's own printing, SilenceUsage
    assert (rc, err) == (1, "Error: unknown flag: --bogus\n")
    rc, out, err = run(capsys, "helm", "status")                    # helm's require.ExactArgs
    assert (rc, err) == (1, 'Error: "helm status" requires 1 argument\n\nUsage:  helm status RELEASE_NAME [flags]\n')
    rc, out, err = run(capsys, "helm", "lsit")
    assert rc == 1 and err == ('Error: unknown command "lsit" for "helm"\n\nDid you mean this?\n\tlint\n\tlist\n\n'
                               "Run 'helm --help' for usage.\n")
    rc, out, err = run(capsys, "cilium", "status", "--wait-duration", "x")   # cilium's main: the error alone
    assert (rc, err) == (1, 'invalid argument "x" for "--wait-duration" flag: time: invalid duration "x"\n')


def test_help_command_with_an_unknown_topic(capsys) -> None:
    rc, out, err = run(capsys, "talosctl", "help", "nope")
    assert rc == 0 and err.startswith("Unknown help topic [`nope`]\nUsage:\n  talosctl [command]")


def test_no_tool_module_parses_with_argparse() -> None:
    tools = Path(__file__).resolve().parents[2] / "labsim" / "fakes" / "tools"
    for path in tools.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "argparse" not in names | mods, path.name
    assert not (tools / "argv.py").exists()


def test_go_formats() -> None:
    import datetime
    t = datetime.datetime(2026, 1, 1, 3, 51, 45, 297623, tzinfo=datetime.UTC)
    assert go_time_string(t) == "2026-01-01 03:51:45.297623 +0000 UTC"          # no trailing zeros
    assert go_time_string(t.replace(microsecond=0)) == "2026-01-01 03:51:45 +0000 UTC"
    assert [go_duration(x) for x in (0, 1.5, 300, 3600, 0.3)] == ["0s", "1.5s", "5m0s", "1h0m0s", "300ms"]
    assert [humanize_bytes(x) for x in (0, 999, 83_000_000, 1_234_567_890)] == ["0 B", "999 B", "83 MB", "1.2 GB"]


def test_group_command_prints_help_for_an_unknown_word() -> None:
    root = C.Command("tool", "x")
    grp = C.Command("grp", "a group")
    grp.add(C.Command("sub", "a sub", run=lambda *a: 0))
    root.add(grp)
    with pytest.raises(C.ShowHelp) as shown:
        C.execute(root, ["grp", "nope"])
    assert shown.value.text.startswith("a group\n\nUsage:\n  tool grp [command]")
    with pytest.raises(C.UsageError) as exc:
        C.execute(root, ["nope"])
    assert exc.value.stage == "find" and str(exc.value) == 'unknown command "nope" for "tool"'
