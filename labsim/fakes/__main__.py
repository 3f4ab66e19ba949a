"""The simulated lab on its own.

    python -m labsim.fakes serve [LABFILE] --endpoints-file PATH   run it in the foreground, its endpoints in PATH
    python -m labsim.fakes env PATH                                 `export` lines for a shell that uses it

`serve` keeps the endpoints file current: when a Talos cluster's Kubernetes API comes up (the provisioner
bootstrapped it), the file gains `kubernetes.<cluster>` with an admin kubeconfig for it (and the `--lab-out`
copy its `reach`), rewritten atomically, readable by its owner only.

Every secret file of the served lab lives in one folder (labsim/fakes/run_folder.py) that `serve` removes, with
the endpoints file, on every way out; a new `serve` first removes what a killed one left.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import yaml

from labsim import collector
from labsim.fakes import served_lab
from labsim.fakes.lab import SimulatedLab, sim_secrets, write_private
from labsim.fakes.inventory import InventoryError, load_inventory
from labsim.fakes.run_folder import RunFolder
from labsim.labfile import find_lab
from labsim.resources import DEFAULT_LAB as DEFAULT_LAB_FILE
from labsim.yamlbounds import load_file

DEFAULT_LAB = DEFAULT_LAB_FILE
SIGNAL_POLL = 0.2     # seconds: how soon a stop signal is acted on, whichever thread received it


def serve(args: argparse.Namespace) -> int:
    collector.pace()
    if args.labfile is None:   # the lab file a run here would use (labsim/labfile.py: LABSIM_LAB, lab.yaml, ...)
        args.labfile = str(find_lab().path)
    try:
        inventory = load_inventory(args.labfile)
    except (OSError, InventoryError) as exc:
        print(f"error: {args.labfile}: {exc}", file=sys.stderr)
        return 2
    for folder in RunFolder.sweep():   # left by a served lab that was killed (SIGKILL cannot be caught)
        print(f"removed the files of a served lab that was killed: {folder}", flush=True)
    # Every secret this lab writes (keys, kubeconfigs, CA, Talos secrets) goes in one folder, removed on the way out
    run = RunFolder()
    run.adopt()
    done = threading.Event()

    def stop(signum: int, _frame: Any) -> None:   # the first signal stops the lab; a second one stops waiting
        if done.is_set():
            raise SystemExit(128 + signum)
        done.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    lab: SimulatedLab | None = None
    try:
        lab = SimulatedLab(args.labfile, seed=args.seed, secrets=sim_secrets(inventory.secret_refs(), os.environ))
        _serve(args, inventory, lab, run, done)
    except OSError as exc:   # an endpoints or lab-out path that cannot be written, a port that cannot be bound
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        try:
            if lab is not None:
                lab.stop()
        finally:
            run.remove()
    print("simulated lab stopped", flush=True)
    return 0


def _serve(args: argparse.Namespace, inventory: Any, lab: SimulatedLab, run: RunFolder, done: threading.Event) -> None:
    path = Path(args.endpoints_file)
    for out in filter(None, (path, args.lab_out and Path(args.lab_out))):
        out.parent.mkdir(parents=True, exist_ok=True)
    run.own_endpoints(path)
    # This served lab's own workdir and helm homes (`python -m labsim.fakes env`): a new lab, new Talos secrets.
    state = run.path / "session"
    lock = threading.Lock()
    current: dict[str, Any] = {}

    def publish() -> None:   # under `lock`: the endpoints file (credentials: 0600) and the lab file copy
        write_private(path, json.dumps(current, indent=2) + "\n")
        if args.lab_out:
            served_lab.write_lab_out(inventory.raw, current, args.lab_out)

    def kube_api(cluster: str, entry: dict[str, Any]) -> None:   # a Talos cluster's API server listens
        with lock:
            if not current:
                return       # not written yet: the first write reads every cluster's entry itself
            current["kubernetes"][cluster] = entry
            publish()
        print(f"  kubernetes {cluster:<10} {entry['url']}  (kubeconfig {entry['kubeconfig']})", flush=True)

    lab.on_kube_api.append(kube_api)
    lab.start()
    lab.follow_wall_clock(args.time_scale)
    endpoints = lab.endpoints()
    endpoints["session"] = {"labfile": str(Path(args.labfile).resolve()),
                            "lab_out": str(Path(args.lab_out).resolve()) if args.lab_out else None,
                            "workdir": str(state / "work"), "helm": str(state / "helm"),
                            "run_folder": str(run.path)}
    with lock:
        endpoints["kubernetes"].update(lab.talos_kubernetes())
        current.update(endpoints)
        publish()
    print(f"simulated lab {inventory.name!r} serving on 127.0.0.1; endpoints written to {path}", flush=True)
    for ident, ep in endpoints["routeros"].items():
        print(f"  routeros {ident:<12} 127.0.0.1:{ep['port']}", flush=True)
    for node, ep in endpoints.get("proxmox", {}).items():
        print(f"  proxmox  {node:<12} https://127.0.0.1:{ep['port']}  (CA {ep['ca']})", flush=True)
    for name, ep in endpoints.get("hosts", {}).items():
        print(f"  ssh      {name:<12} 127.0.0.1:{ep['port']}  (user {ep['user']})", flush=True)
    if args.lab_out:   # a lab file whose endpoints are these, for `pytest features/ --target lab --lab ...`
        print(f"lab file pointing at the served lab written to {args.lab_out}", flush=True)
    print(f"environment for it: eval \"$(python -m labsim.fakes env {path})\"", flush=True)
    print(f"this served lab's keys and credentials: {run.path} (removed when it stops)", flush=True)
    if args.writes_file:   # SIGUSR1: a snapshot of the counters now (e.g. between an apply and a verify)
        signal.signal(signal.SIGUSR1, lambda *_: served_lab.write_counters(lab, args.writes_file))
    # A signal the kernel hands to one of the lab's threads sets Python's flag but does not wake a main thread
    # blocked on a lock with no timeout, and the handler would never run: a SIGTERM under load was lost this way
    while not done.wait(SIGNAL_POLL):
        pass
    if args.writes_file:   # what the run did to the served lab: writes per face (0 after a read-only run)
        served_lab.write_counters(lab, args.writes_file)


def env(args: argparse.Namespace) -> int:
    """`export` lines: the served secrets, the fake tools first on PATH with their control API, the served
    kubeconfigs, this served lab's workdir and helm homes (run it again once clusters are up: KUBECONFIG)."""
    try:
        endpoints = json.loads(Path(args.endpoints_file).read_text())
        labfile = args.lab or (endpoints.get("session") or {}).get("labfile")
        if not labfile:
            raise ValueError("it names no lab file (written by an older `serve`?): pass --lab LABFILE")
        raw = load_file(labfile) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {args.endpoints_file}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(served_lab.shell_exports(served_lab.client_env(raw, endpoints)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labsim.fakes", description="The simulated lab.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="start the simulated lab in the foreground and write its endpoints")
    p.add_argument("labfile", nargs="?", default=None,
                   help="lab file (default: $LABSIM_LAB, lab.yaml here, else the built-in example aggrik8s)")
    p.add_argument("--endpoints-file", default="endpoints.json", help="where to write the endpoints JSON")
    p.add_argument("--seed", type=int, default=0, help="seed for the simulation's randomness")
    p.add_argument("--time-scale", type=float, default=1.0,
                   help="virtual seconds per real second while serving (default 1.0)")
    p.add_argument("--lab-out", default=None, metavar="PATH",
                   help="also write a copy of the lab file whose endpoints reach the served lab (127.0.0.1)")
    p.add_argument("--writes-file", default=None, metavar="PATH",
                   help="write the served lab's write and read counters as JSON on SIGUSR1 and on stop")
    e = sub.add_parser("env", help="print `export` lines for a shell that uses a served lab "
                                   "(eval \"$(python -m labsim.fakes env endpoints.json)\")")
    e.add_argument("endpoints_file", nargs="?", default="endpoints.json", help="the endpoints file serve wrote")
    e.add_argument("--lab", default=None, help="the served lab file (default: the one the endpoints file names)")
    args = parser.parse_args(argv)
    return serve(args) if args.command == "serve" else env(args)


if __name__ == "__main__":
    sys.exit(main())
