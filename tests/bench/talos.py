"""Talos benchmark: both Aggrik8s clusters from maintenance mode to healthy with Cilium, through the real
provisioner and the fake talosctl/helm subprocesses, then a second (idempotent) run and the verification.

Not timed: the fabric and the VMs. Printed as one JSON line: wall seconds per phase, tool calls, the
virtual seconds the lab lived through, peak memory.
    python -m tests.bench.talos
"""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from provisioners.talos import run as T
from provisioners.talos.cli import Tools
from provisioners.talos.context import TalosContext
from tests.unit.talos_world import TalosLab


def main() -> int:
    lab = TalosLab()
    work = Path(tempfile.mkdtemp(prefix="labsim-bench-"))
    env = {**os.environ, **lab.sim.talos.tool_env(), "HELM_CONFIG_HOME": str(work / "helm")}
    tools = Tools(env=env, cwd=work)
    ctx = TalosContext(tools, lab.clock, lab.prox, work)
    out: dict = {"clusters": 2}
    try:
        for phase, fn in (("provision", lambda c: T.provision(lab.lab, c, ctx)),
                          ("second_run", lambda c: T.provision(lab.lab, c, ctx)),
                          ("verify", lambda c: T.verify(lab.lab, c, ctx))):
            t = time.perf_counter()
            for cluster in ("talos-east", "talos-west"):
                fn(cluster)
            out[f"{phase}_s"] = round(time.perf_counter() - t, 2)
            out[f"{phase}_calls"] = len(tools.transcript)
            tools.transcript.clear()
        out["virtual_s"] = round(lab.clock.now())
        out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        lab.stop()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
