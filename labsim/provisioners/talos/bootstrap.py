"""Bootstrap etcd exactly once per cluster, then fetch the admin kubeconfig.

A cluster counts as bootstrapped when etcd runs on any control plane (`talosctl get service etcd`). The
bootstrap goes to the first control plane; `AlreadyExists` (etcd data directory is not empty) means someone
did it already, which is what we wanted (Talos: "you do NOT need to bootstrap again").
"""
from __future__ import annotations

import json
from pathlib import Path

from labsim.provisioners.talos.apply import json_stream, talos
from labsim.provisioners.talos.cli import ToolError
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.nodes import Machine

ALREADY = "code = AlreadyExists"


def etcd_running(ctx: TalosContext, talosconfig: Path, control_planes: list[Machine]) -> bool:
    """Whether etcd runs on any control plane: one `talosctl get service etcd` for all of them (a node that does
    not answer is left out of the stream, and the exit code says so: what answered is enough)."""
    r = ctx.tools.run(talos(talosconfig, control_planes, control_planes, "get", "service", "etcd", "-o", "json"),
                      check=False)
    try:
        return any(o["spec"].get("running") for o in json_stream(r.stdout))
    except (ValueError, KeyError, json.JSONDecodeError):
        return False


def bootstrap_once(ctx: TalosContext, talosconfig: Path, control_planes: list[Machine]) -> bool:
    """True when this call bootstrapped the cluster."""
    if etcd_running(ctx, talosconfig, control_planes):
        return False
    first = control_planes[0]
    try:
        ctx.tools.run(["talosctl", "--talosconfig", str(talosconfig), "-n", first.address, "-e", first.address,
                       "bootstrap"])
    except ToolError as exc:
        if ALREADY in exc.ran.stderr:
            return False
        raise
    return True


def bootstrap(ctx: TalosContext, talosconfig: Path, cp: Machine) -> str:
    """One bootstrap call, whatever the cluster's state: talosctl's output (stderr on failure)."""
    r = ctx.tools.run(["talosctl", "--talosconfig", str(talosconfig), "-n", cp.address, "-e", cp.address,
                       "bootstrap"], check=False)
    return r.output if r.rc else ""


def kubeconfig(ctx: TalosContext, talosconfig: Path, control_planes: list[Machine], path: Path) -> Path:
    cp = control_planes[0]
    ctx.tools.run(["talosctl", "--talosconfig", str(talosconfig), "-n", cp.address, "-e", cp.address, "kubeconfig",
                   str(path), "--force", "--merge=false"])
    return path
