"""Apply each machine's config: in maintenance mode over the insecure API (the node installs and reboots),
on a configured node only when its running config differs from the file (read back with
`talosctl get machineconfig -o json`); an unchanged node gets no call at all."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from labsim import fastyaml
from labsim.provisioners.vocabulary import WaitTimeout, wait_for
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.nodes import Machine

READY_TIMEOUT = 900.0    # install, reboot and apid on every node
READY_INTERVAL = 10.0
ANSWER_TIMEOUT = 300.0   # a node's API after its VM started
ANSWER_INTERVAL = 5.0


@dataclass(frozen=True)
class NodeState:
    stage: str            # maintenance | configured | unreachable
    config: dict | None   # the running config (configured nodes)
    detail: str = ""


def json_stream(text: str) -> list[dict]:
    """talosctl's `-o json`: indented objects one after another (not an array)."""
    dec, out, i = json.JSONDecoder(), [], 0
    text = text.strip()
    while i < len(text):
        obj, end = dec.raw_decode(text, i)
        out.append(obj)
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def talos(talosconfig: Path, endpoints: list[Machine], nodes: list[Machine], *args: str) -> list[str]:
    return ["talosctl", "--talosconfig", str(talosconfig), "-e", ",".join(m.address for m in endpoints),
            "-n", ",".join(m.address for m in nodes), *args]


def running_configs(ctx: TalosContext, talosconfig: Path, machines: list[Machine]) -> dict[str, dict]:
    """address -> running config, for every node that answers the authenticated API (one call for all)."""
    if not talosconfig.exists():
        return {}
    cps = [m for m in machines if m.control_plane]
    r = ctx.tools.run(talos(talosconfig, cps, machines, "get", "machineconfig", "-o", "json"), check=False)
    try:
        return {o["node"]: o["spec"] for o in json_stream(r.stdout)}
    except ValueError:
        return {}


def probe(ctx: TalosContext, m: Machine) -> NodeState:
    r = ctx.tools.run(["talosctl", "get", "machinestatus", "--insecure", "-n", m.address, "-e", m.address, "-o",
                       "json"], check=False)
    if r.rc == 0 and any(o["spec"].get("stage") == "maintenance" for o in json_stream(r.stdout)):
        return NodeState("maintenance", None)
    return NodeState("unreachable", None, r.output)


def states(ctx: TalosContext, talosconfig: Path, machines: list[Machine]) -> dict[str, NodeState]:
    """Every machine's state; a machine that answers neither API yet is waited for (it may just be booting)."""
    configs = running_configs(ctx, talosconfig, machines)
    out = {m.name: NodeState("configured", configs[m.address]) for m in machines if m.address in configs}
    for m in machines:
        if m.name in out:
            continue
        seen: list[NodeState] = []

        def answers(m: Machine = m, seen: list[NodeState] = seen) -> bool:
            seen.append(probe(ctx, m))
            if seen[-1].stage == "unreachable":
                again = running_configs(ctx, talosconfig, [m])
                if m.address in again:
                    seen[-1] = NodeState("configured", again[m.address])
            return seen[-1].stage != "unreachable"
        try:
            wait_for(answers, ANSWER_TIMEOUT, ANSWER_INTERVAL, ctx.clock, what=f"{m.name} ({m.address}) to answer")
        except WaitTimeout:
            pass
        out[m.name] = seen[-1]
    return out


def change_for(st: NodeState, file: Path) -> str | None:
    """What a machine in state `st` needs for its config `file`: "installed" (maintenance mode), "updated" (its
    running config differs), None (it matches), or "unreachable"."""
    if st.stage == "maintenance":
        return "installed"
    if st.stage == "configured":
        return None if st.config == fastyaml.load(file.read_text()) else "updated"
    return "unreachable"


def apply(ctx: TalosContext, talosconfig: Path, m: Machine, st: NodeState, file: Path) -> str | None:
    """Apply `file` to `m` if needed: returns what was done ("installed", "updated") or None."""
    change = change_for(st, file)
    if change == "installed":
        ctx.tools.run(["talosctl", "apply-config", "--insecure", "-n", m.address, "-e", m.address,
                       "--file", str(file)])
    elif change == "updated":
        ctx.tools.run(["talosctl", "--talosconfig", str(talosconfig), "-n", m.address, "-e", m.address,
                       "apply-config", "--file", str(file)])
    elif change == "unreachable":
        raise RuntimeError(f"{m.name} ({m.address}) answers neither the maintenance API nor with its config: "
                           f"{st.detail}")
    return change


def wait_configured(ctx: TalosContext, talosconfig: Path, machines: list[Machine]) -> None:
    """Until every node answers the authenticated API (installed, rebooted, apid up): one `talosctl version` for
    all of them per sweep, through the control planes as endpoints (apid proxies to the others); it exits 0
    only when every node answered."""
    cps = [m for m in machines if m.control_plane] or machines

    def sweep() -> bool:
        return ctx.tools.run(talos(talosconfig, cps, machines, "version", "--short"), check=False).rc == 0
    wait_for(sweep, READY_TIMEOUT, READY_INTERVAL, ctx.clock, what="every node to answer with its new config")
