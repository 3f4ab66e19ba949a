"""`python -m fakes serve [LABFILE] --endpoints-file PATH`: run the simulated lab in the foreground."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

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
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
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
    args = parser.parse_args(argv)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
