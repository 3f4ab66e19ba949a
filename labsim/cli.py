"""`labsim`: the console script.

    labsim init [DIR]             a starter repository for your own lab: features/, lab.yaml, Makefile, CI example
    labsim verify                 the features against a simulated lab built from your lab file; a sign-off bundle
    labsim lab-verify             the same features against the real lab the lab file names (read-only)
    labsim lab-apply              ... and allowed to provision it (--apply)
    labsim test                   plain pytest over this repository (features and your own tests), no bundle
    labsim check [LABFILE]        the lab file's intent checks
    labsim schema                 the lab file JSON Schema (the file labsim ships: labsim/schema/lab.schema.json)
    labsim serve [LABFILE]        the simulated lab in the foreground, its endpoints in endpoints.json
    labsim env [ENDPOINTS]        `export` lines for a shell that uses a served lab
    labsim signoff verify BUNDLE  check a sign-off bundle's checksums and signature

verify, lab-verify, lab-apply and test pass any option they do not know to pytest (`labsim verify -k dhcp -x`).
Without --lab the lab file is chosen as labsim/labfile.py says: $LABSIM_LAB, the ini option labsim_lab, lab.yaml in
this folder, else the built-in example lab. Without features/ in this folder, the features labsim ships are used.
Exit status: pytest's for the runs (0 ACCEPTED, 1 failed or REJECTED, ...), 2 for a lab file or option that cannot
be used (one message, with the field path; -v adds the traceback).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from labsim.labfile import LabChoice, find_lab, ini_setting
from labsim.messages import lab_file_error, problem
from labsim.resources import FEATURES, LAB_SCHEMA

Handler = Callable[[argparse.Namespace, list[str]], int]


def _version() -> str:
    from labsim import __version__

    return __version__


# ---- runs (pytest) ---------------------------------------------------------------------------------------------
def _choose_lab(explicit: str | None) -> LabChoice:
    cwd = Path.cwd()
    return find_lab(explicit, cwd=cwd, ini=ini_setting(cwd))


def _features(explicit: str | None) -> tuple[Path, str]:
    if explicit:
        return Path(explicit), "--features"
    here = Path.cwd() / "features"
    if here.is_dir():
        return here, "features/ in this folder"
    return FEATURES, "the features labsim ships"


def _precheck(choice: LabChoice, verbose: bool) -> int | None:
    """A lab file that does not load stops the run here, once, with every finding (exit 2)."""
    from labsim.provisioners.lab.load import LabFileError, load_lab

    shown = _shown(choice.path)
    try:
        load_lab(choice.path)
    except LabFileError as exc:
        print(lab_file_error(exc, verbose=verbose, path=shown), file=sys.stderr)
        return 2
    return None


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


WORKERS_CAP = 8   # beyond this a run's start-up (every worker imports the suite and collects it) eats the gain
WORKER_MEMORY = 1 << 30   # a worker running the mesh scenarios peaks near 600 MB (max RSS, make verify); with room


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), fewer when a cgroup quota allows less (a container's
    `--cpus`: cgroup v2 cpu.max)."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(int(int(quota) // int(period)), 1))
    except (OSError, ValueError):
        pass
    return max(n, 1)


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux: MemAvailable); None where unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def workers(value: str) -> int:
    """`--workers N|auto` as a number of processes: auto is one per usable CPU, at most WORKERS_CAP, and no more
    than the available memory holds (WORKER_MEMORY each)."""
    if value == "auto":
        memory = available_memory()
        by_memory = WORKERS_CAP if memory is None else max(memory // WORKER_MEMORY, 1)
        return min(usable_cpus(), WORKERS_CAP, by_memory)
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of processes or 'auto', not {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more processes, not {n}")
    return n


def test_workers() -> int:
    """How many pytest-xdist workers `make test` starts: two per usable CPU, as many as the available memory holds
    (WORKER_MEMORY each). A sixth of the suite's time is tests that wait in real time (a served lab following the
    wall clock, pip installing labsim) and leave their core idle; a second worker per core fills it (2-core
    machine: 730 s with 2 workers, 559 s with 3, 510 s with 4, where the suite's CPU time, about 1,000 s, is the
    floor)."""
    memory = available_memory()
    by_memory = 2 * usable_cpus() if memory is None else max(memory // WORKER_MEMORY, 1)
    return max(1, min(2 * usable_cpus(), by_memory))


def _parallel(n: int, extra: list[str]) -> list[str]:
    """pytest-xdist's options for n processes, unless the pytest options given choose (-n, --dist, -p no:xdist)."""
    chosen = any(a in ("-n", "--numprocesses", "--dist", "no:xdist") or a.startswith(("-n", "--numprocesses=",
                                                                                       "--dist=", "-pno:xdist"))
                 for a in extra)
    if chosen or n <= 1:
        return []
    # loadfile: a feature file's scenarios run in one worker, one after the other, as in a single process
    return ["-n", str(n), "--dist", "loadfile"]


def _run_pytest(argv: list[str]) -> int:
    import pytest

    return int(pytest.main(argv))


def _signoff_run(args: argparse.Namespace, extra: list[str], target: str, apply: bool = False) -> int:
    choice = _choose_lab(args.lab)
    stop = _precheck(choice, args.verbose)
    if stop is not None:
        return stop
    features, _ = _features(args.features)
    if not features.is_dir():
        print(problem(f"--features {features}: no such folder"), file=sys.stderr)
        return 2
    argv = [str(features), "--lab", str(choice.path), "--target", target, "-p", "no:cacheprovider"]
    if target == "sim":
        argv += ["--sim-seed", str(args.seed)]
    if apply:
        argv.append("--apply")
    argv += _parallel(getattr(args, "workers", 1), extra)   # the simulator only: a real lab is one lab
    if args.signoff != "none":   # below the folder the command runs in, whatever pytest's rootdir is
        argv += ["--signoff", str(Path(args.signoff).resolve())]
        if not args.no_strict:
            argv.append("--signoff-strict")
    if args.waivers:
        argv += ["--waivers", args.waivers]
    if args.signing_key:
        argv += ["--signing-key", args.signing_key]
    if args.verbose:
        argv.append("-" + "v" * args.verbose)
    else:   # the bundle has every failure in full, and each scenario's API transcript: the console names them
        if not any(a.startswith("--tb") for a in extra):
            argv.append("--tb=short")
        if not any(a.startswith("--show-capture") for a in extra):
            argv.append("--show-capture=no")
    if choice.builtin:
        print(f"labsim: no lab file given, none found here: using the built-in example ({_shown(choice.path)}); "
              "`labsim init` writes one to fill in", file=sys.stderr)
    return _run_pytest(argv + extra)


def _add_run_options(p: argparse.ArgumentParser, target: str) -> None:
    p.add_argument("--lab", metavar="LABFILE", default=None,
                   help="the lab file (default: $LABSIM_LAB, ini option labsim_lab, lab.yaml here, else the "
                        "built-in example)")
    p.add_argument("--features", metavar="DIR", default=None,
                   help="the feature files (default: features/ here, else the features labsim ships)")
    if target == "sim":
        p.add_argument("--seed", type=int, default=0, help="seed of the simulated lab's randomness (default 0)")
    if target == "sim":   # each scenario has a simulated lab of its own; a real lab's scenarios take turns
        p.add_argument("--workers", metavar="N|auto", type=workers, default="auto",
                       help="run the scenarios in N processes (pytest-xdist), one sign-off bundle for them all; "
                            f"auto (default): one per usable CPU, at most {WORKERS_CAP} and one per GiB of available "
                            "memory; 1: a single process")
    p.add_argument("--signoff", metavar="DIR", default="reports",
                   help="write the sign-off bundle under DIR/<run-id>/ (default reports; 'none' for no bundle)")
    p.add_argument("--no-strict", action="store_true",
                   help="exit 0 when the tests pass even if the verdict is REJECTED (an unaccounted skip)")
    p.add_argument("--waivers", metavar="FILE", default=None, help="waivers applied to the verdict (YAML)")
    p.add_argument("--signing-key", metavar="PATH", default=None,
                   help="sign the bundle's checksums with this ssh key (ssh-keygen -Y sign)")


def cmd_verify(args: argparse.Namespace, extra: list[str]) -> int:
    return _signoff_run(args, extra, "sim")


def cmd_lab_verify(args: argparse.Namespace, extra: list[str]) -> int:
    return _signoff_run(args, extra, "lab")


def cmd_lab_apply(args: argparse.Namespace, extra: list[str]) -> int:
    return _signoff_run(args, extra, "lab", apply=True)


def cmd_test(args: argparse.Namespace, extra: list[str]) -> int:
    return _run_pytest(extra)


# ---- the lab file ----------------------------------------------------------------------------------------------
def cmd_check(args: argparse.Namespace, extra: list[str]) -> int:
    from labsim.provisioners.lab.checks import check_command

    choice = _choose_lab(args.labfile)
    if not choice.path.is_file():
        print(problem(f"no lab file at {_shown(choice.path)} (from {choice.source})",
                      hint="pass LABFILE, set LABSIM_LAB, or `labsim init` to write one"), file=sys.stderr)
        return 2
    return check_command(_shown(choice.path), fmt="json" if args.json else "text")


def cmd_schema(args: argparse.Namespace, extra: list[str]) -> int:
    sys.stdout.write(LAB_SCHEMA.read_text(encoding="utf-8"))
    return 0


# ---- the simulated lab, the bundle -----------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, extra: list[str]) -> int:
    from labsim.fakes.__main__ import main as fakes_main

    return fakes_main(["serve", *extra])


def cmd_env(args: argparse.Namespace, extra: list[str]) -> int:
    from labsim.fakes.__main__ import main as fakes_main

    return fakes_main(["env", *extra])


def cmd_signoff(args: argparse.Namespace, extra: list[str]) -> int:
    from labsim.signoff.__main__ import main as signoff_main

    return signoff_main([*extra])


def cmd_init(args: argparse.Namespace, extra: list[str]) -> int:
    from labsim.starter import InitError, write_starter

    try:
        written = write_starter(Path(args.dir), example=args.example, force=args.force)
    except InitError as exc:
        print(problem(str(exc), exc.details, exc.hint), file=sys.stderr)
        return 2
    for rel in written.files:
        print(f"  wrote {rel}")
    print(written.next_steps())
    return 0


# ---- the parser ------------------------------------------------------------------------------------------------
PASSTHROUGH = {"serve", "env", "signoff", "test"}   # their arguments go to the command behind them, untouched


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labsim", description="Describe your lab in Gherkin and one lab file, "
                                     "prove it in a simulated lab, then on the hardware, and sign it off.",
                                     epilog="`labsim COMMAND -h` for a command's options.")
    parser.add_argument("--version", action="version", version=f"labsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Handler, help: str, description: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=description or help)
        p.add_argument("-v", "--verbose", action="count", default=0, help="more detail, tracebacks included")
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "write a starter repository for your own lab",
            "Write features/ (the features labsim ships), lab.yaml (a lab file to fill in, with the schema line "
            "editors read), lab.schema.json, a Makefile (labsim.mk when one exists), a CI example and .gitignore "
            "entries. Existing files are never overwritten unless --force.")
    p.add_argument("dir", nargs="?", default=".", help="the folder (default: this one)")
    p.add_argument("--example", choices=("aggrik8s", "example", "bouquet2"), default="aggrik8s",
                   help="the lab file to start from (default aggrik8s: every feature has its subject in it)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    _add_run_options(add("verify", cmd_verify, "the features against a simulated lab; a sign-off bundle"), "sim")
    _add_run_options(add("lab-verify", cmd_lab_verify, "the features against the real lab (read-only)"), "lab")
    _add_run_options(add("lab-apply", cmd_lab_apply, "the features against the real lab, provisioning (--apply)"),
                     "lab")
    add("test", cmd_test, "plain pytest here (every option is pytest's)")
    p = add("check", cmd_check, "the lab file's intent checks")
    p.add_argument("labfile", nargs="?", default=None, help="the lab file (default: as for verify)")
    p.add_argument("--json", action="store_true", help="the findings as JSON")
    add("schema", cmd_schema, "print the lab file JSON Schema")
    add("serve", cmd_serve, "run the simulated lab in the foreground (options: `labsim serve -h`)")
    add("env", cmd_env, "`export` lines for a shell that uses a served lab")
    add("signoff", cmd_signoff, "sign-off bundle tools: `labsim signoff verify BUNDLE [--allowed-signers FILE]`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in PASSTHROUGH:   # `labsim serve -h` is serve's help, not ours
        cmd, rest = argv[0], argv[1:]
        if cmd == "test":
            return cmd_test(argparse.Namespace(), rest)
        return {"serve": cmd_serve, "env": cmd_env, "signoff": cmd_signoff}[cmd](argparse.Namespace(), rest)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("verify", "lab-verify", "lab-apply"):
        parser.error(f"{args.command}: unknown arguments: {' '.join(extra)}")
    if extra and extra[0] == "--":
        extra = extra[1:]
    try:
        return int(args.func(args, extra) or 0)
    except KeyboardInterrupt:
        print("labsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a person gets one message; -v shows the traceback
        print(problem(f"{args.command} failed: {type(exc).__name__}: {exc}", error=exc,
                      verbose=bool(getattr(args, "verbose", 0))), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
