"""`python -m labsim.provisioners <command>`: a thin dispatcher to functions in the provisioner modules.

To add a command, add a `_add_<name>` function that registers a subparser with `set_defaults(func=...)`
and list it in COMMANDS; keep the work itself in the module it belongs to.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="load a lab file and run the intent checks",
                       description="Load LABFILE, run every intent check and print the findings, errors first, as "
                                   "'severity  check  path: message'. Exit status: 0 no errors (warnings allowed), "
                                   "1 errors found, 2 the file cannot be read or does not match the schema.")
    p.add_argument("labfile", help="path to the lab file (YAML)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")

    def run(args: argparse.Namespace) -> int:
        from labsim.provisioners.lab.checks import check_command
        return check_command(args.labfile, fmt="json" if args.json else "text")

    p.set_defaults(func=run)


def _add_schema(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of lab files",
                       description="Print the JSON Schema of the lab file format (for editors and validators).")

    def run(args: argparse.Namespace) -> int:
        from labsim.provisioners.lab.model import lab_json_schema
        json.dump(lab_json_schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    p.set_defaults(func=run)


def _add_checks(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("checks", help="list the intent checks", description="List every intent check with its "
                                                                             "severity and the question it asks.")

    def run(args: argparse.Namespace) -> int:
        from labsim.provisioners.lab.checks import CHECKS
        for spec in sorted(CHECKS.values(), key=lambda s: (s.system, s.name)):
            print(f"{spec.severity:<7}  {spec.name:<36}  {spec.question}")
        return 0

    p.set_defaults(func=run)


def _add_inventory(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inventory", help="write the Ansible inventory of the lab's RKE2 cluster (rke2-ansible)",
                       description="Print an inventory for rancherfederal/rke2-ansible (groups rke2_cluster -> "
                                   "rke2_servers, rke2_agents) from LABFILE's RKE2 cluster. Secrets are never "
                                   "written: file: keys become ansible_ssh_private_key_file, nothing else.")
    p.add_argument("labfile", help="path to the lab file (YAML)")
    p.add_argument("--format", choices=("yaml", "ini"), default="yaml", help="inventory format (default yaml)")
    p.add_argument("--cluster", default=None, help="the RKE2 cluster, when the lab has more than one")

    def run(args: argparse.Namespace) -> int:
        from labsim.provisioners.hosts.inventory import render
        from labsim.provisioners.lab.load import LabFileError, load_lab
        try:
            sys.stdout.write(render(load_lab(args.labfile), args.format, args.cluster))
        except (LabFileError, ValueError) as exc:
            print(f"error: {args.labfile}: {exc}", file=sys.stderr)
            return 2
        return 0

    p.set_defaults(func=run)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_check, _add_schema, _add_checks, _add_inventory]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labsim.provisioners",
                                     description="Lab provisioners: check lab files, plan, apply and verify the lab.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
