"""`python -m fakes serve [LABFILE] --endpoints-file PATH`: run the simulated lab in the foreground."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from fakes import served_lab
from fakes.lab import SimulatedLab, sim_secrets
from fakes.inventory import InventoryError, load_inventory

DEFAULT_LAB = Path(__file__).resolve().parent.parent / "labs" / "aggrik8s.yaml"


def serve(args: argparse.Namespace) -> int:
    try:
        inventory = load_inventory(args.labfile)
    except (OSError, InventoryError) as exc:
        print(f"error: {args.labfile}: {exc}", file=sys.stderr)
        return 2
    secrets = sim_secrets(inventory.secret_refs(), os.environ)
    lab = SimulatedLab(args.labfile, seed=args.seed, secrets=secrets)
    lab.start()
    lab.follow_wall_clock(args.time_scale)
    endpoints = lab.endpoints()
    path = Path(args.endpoints_file)
    # The endpoints file holds the simulated lab's credentials: readable by its owner only.
    path.write_text(json.dumps(endpoints, indent=2) + "\n")
    path.chmod(0o600)
    print(f"simulated lab {inventory.name!r} serving on 127.0.0.1; endpoints written to {path}", flush=True)
    for ident, ep in endpoints["routeros"].items():
        print(f"  routeros {ident:<12} 127.0.0.1:{ep['port']}", flush=True)
    for node, ep in endpoints.get("proxmox", {}).items():
        print(f"  proxmox  {node:<12} https://127.0.0.1:{ep['port']}  (CA {ep['ca']})", flush=True)
    for name, ep in endpoints.get("hosts", {}).items():
        print(f"  ssh      {name:<12} 127.0.0.1:{ep['port']}  (user {ep['user']})", flush=True)
    if args.lab_out:   # a lab file whose endpoints are these, for `pytest features/ --target lab --lab ...`
        served_lab.write_lab_out(inventory.raw, endpoints, args.lab_out)
        print(f"lab file pointing at the served lab written to {args.lab_out}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.writes_file:   # SIGUSR1: a snapshot of the counters now (e.g. between an apply and a verify)
        signal.signal(signal.SIGUSR1, lambda *_: served_lab.write_counters(lab, args.writes_file))
    done.wait()
    if args.writes_file:   # what the run did to the served lab: writes per face (0 after a read-only run)
        served_lab.write_counters(lab, args.writes_file)
    lab.stop()
    print("simulated lab stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakes", description="The simulated lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="start the simulated lab in the foreground and write its endpoints")
    p.add_argument("labfile", nargs="?", default=str(DEFAULT_LAB), help="lab file (default: labs/aggrik8s.yaml)")
    p.add_argument("--endpoints-file", default="endpoints.json", help="where to write the endpoints JSON")
    p.add_argument("--seed", type=int, default=0, help="seed for the simulation's randomness")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="virtual seconds per real second while serving (default 1.0)")
    p.add_argument("--lab-out", default=None, metavar="PATH",
                   help="also write a copy of the lab file whose endpoints reach the served lab (127.0.0.1)")
    p.add_argument("--writes-file", default=None, metavar="PATH",
                   help="write the served lab's write and read counters as JSON on SIGUSR1 and on stop")
    args = parser.parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
