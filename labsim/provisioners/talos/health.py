"""`talosctl health`, read into one result per check.

talosctl streams `waiting for <check>: <state>` lines (stderr), the state `...` while pending, then `OK`,
`SKIP`, or the last error; it stops at the first check still failing when its time runs out. Checks it
never reached are reported as not reached.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.nodes import Machine

CHECKS = [
    "etcd to be healthy", "etcd members to be consistent across nodes", "etcd members to be control plane nodes",
    "apid to be ready", "all nodes memory sizes", "all nodes disk sizes", "no diagnostics", "kubelet to be healthy",
    "all nodes to finish boot sequence", "all k8s nodes to report", "all control plane static pods to be running",
    "all control plane components to be ready", "all k8s nodes to report ready", "kube-proxy to report ready",
    "coredns to report ready", "all k8s nodes to report schedulable",
]
LINE = re.compile(r"^waiting for (?P<check>.+?): (?P<state>.*)$")


@dataclass
class Health:
    rc: int
    states: dict[str, str] = field(default_factory=dict)     # check -> last state text
    lines: list[str] = field(default_factory=list)
    error: str = ""

    def state(self, check: str) -> str | None:
        return self.states.get(check)

    @property
    def ok(self) -> bool:
        return self.rc == 0


def parse(text: str) -> tuple[dict[str, str], list[str]]:
    states: dict[str, str] = {}
    lines = text.splitlines()
    current = None
    for line in lines:
        m = LINE.match(line)
        if m and m.group("check") in CHECKS:
            current = m.group("check")
            states[current] = m.group("state")
        elif current and line.startswith(("\t", " ")) and states.get(current) not in ("OK", "SKIP", "..."):
            states[current] += "\n" + line      # a multi-line error (go-multierror's list)
    return states, lines


def run(ctx: TalosContext, talosconfig: Path, machines: list[Machine], wait: str = "10m") -> Health:
    cps = [m.address for m in machines if m.control_plane]
    workers = [m.address for m in machines if not m.control_plane]
    args = ["talosctl", "--talosconfig", str(talosconfig), "-n", cps[0], "-e", cps[0], "health",
            "--wait-timeout", wait, "--control-plane-nodes", ",".join(cps)]
    if workers:
        args += ["--worker-nodes", ",".join(workers)]
    r = ctx.tools.run(args, check=False)
    text = r.stderr + r.stdout
    states, lines = parse(text)
    error = next((ln for ln in reversed(lines) if ln.startswith(("healthcheck error", "error", "rpc error"))), "")
    return Health(r.rc, states, lines, error)
