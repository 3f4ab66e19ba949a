"""/nodes/{node}/qemu/{vmid}/rrddata: a VM's load over time, as pvestatd's RRD keeps it.

PVE's RRD archives (pve-cluster's status RRD definitions, PVE::API2::Qemu `rrddata`): `hour` 60 s steps, `day`
30 min, `week` 3 h, `month` 12 h, `year` 1 week, 70 points each, the newest ending at the last full step; `cf`
AVERAGE (default) or MAX. A point while the VM ran carries cpu (fraction of its vCPUs), maxcpu, mem, maxmem, disk,
maxdisk and the per-second rates netin, netout, diskread, diskwrite, around what /status/current reports (a seeded
wobble, MAX a little above AVERAGE); a point before it started has only `time` (RRD's unknown values are left out).
"""
from __future__ import annotations

import hashlib
from typing import Any

from labsim.fakes.clock import EPOCH
from labsim.fakes.proxmox.api import Ctx, P, route

STEPS = {"hour": 60, "day": 1800, "week": 10800, "month": 43200, "year": 604800}
POINTS = 70


def _wobble(*key: Any) -> float:
    return int(hashlib.sha256("/".join(map(str, key)).encode()).hexdigest()[:6], 16) / 0xFFFFFF


@route("GET", "/nodes/{node}/qemu/{vmid}/rrddata", {
    "timeframe": P(enum=tuple(STEPS), optional=False), "cf": P(enum=("AVERAGE", "MAX"))})
def qemu_rrddata(ctx: Ctx) -> Any:
    c = ctx.cluster
    with c.lock:
        vm = c.vm(c.node(ctx.raw["node"]).name, ctx.args["vmid"])
        s = c.vm_status(vm)
        step = STEPS[ctx.raw["timeframe"]]
        peak = ctx.raw.get("cf") == "MAX"
        now = EPOCH.timestamp() + c.clock.now()
        last = int(now // step) * step
        started = now - s["uptime"] if s["status"] == "running" else None
        out = []
        for i in range(POINTS - 1, -1, -1):
            t = last - i * step
            point: dict[str, Any] = {"time": t}
            if started is not None and t >= started:
                w = 0.8 + 0.4 * _wobble(vm.vmid, step, t) + (0.25 if peak else 0.0)
                point.update({"cpu": round(0.012 * w, 6), "maxcpu": s["cpus"], "mem": int(s["mem"] * min(w, 1.2)),
                              "maxmem": s["maxmem"], "disk": 0, "maxdisk": s["maxdisk"],
                              "netin": round(1200 * w, 2), "netout": round(800 * w, 2),
                              "diskread": round(4096 * w, 2), "diskwrite": round(2048 * w, 2)})
            out.append(point)
        return out
