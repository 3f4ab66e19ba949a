"""Bench: a Ceph cluster of 100 OSDs (10 hosts x 10) and 4,096 PGs through a host failure (detection,
down-out, backfill onto the other hosts) and the host's return (backfill back) until HEALTH_OK, in virtual time;
and a one-host cluster (3 OSDs, chooseleaf type 0) whose OSD is killed: OSD_DOWN within seconds (connection
refused is an immediate failure report, however few hosts there are).

    python -m tests.bench.ceph [OSDS]      # prints one JSON line
"""
from __future__ import annotations

import json
import resource
import sys
import time

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph.testing import build
from labsim.fakes.ceph.tunables import Tunables

GOAL_S = 10.0
KILL_GOAL_S = 2.0


def one_host_kill() -> tuple[float, float]:
    """(seconds from kill -9 to OSD_DOWN, to PG_DEGRADED) on a one-host cluster, polled every 0.1 s."""
    c = build(names=["node1"], osds_per_host=3, mons=1, mgrs=1, failure_domain="osd", pools=[("rbd", 32, 100)])
    t0 = c.clock.now()
    c.set_enabled("osd.1", False, how="killed")
    seen: dict[str, float] = {}
    while len(seen) < 2 and c.clock.now() - t0 < 120:
        c.clock.sleep(0.1)
        for code in set(H.evaluate(c)) & {"OSD_DOWN", "PG_DEGRADED"}:
            seen.setdefault(code, round(c.clock.now() - t0, 1))
    return seen.get("OSD_DOWN", float("inf")), seen.get("PG_DEGRADED", float("inf"))


def run(osds: int = 100, pgs: int = 4096, per_host: int = 10) -> dict:
    kill_down, kill_degraded = one_host_kill()
    t0 = time.perf_counter()
    c = build(hosts=osds // per_host, osds_per_host=per_host, pools=[("rbd", pgs, pgs * 8)],
              tunables=Tunables(recovery_objects_per_sec=8.0), settle=60)
    built = time.perf_counter()
    polls = 0

    def until(pred, step: float, limit: float) -> float:
        nonlocal polls
        start = c.clock.now()
        while c.clock.now() - start < limit:
            c.clock.sleep(step)
            polls += 1
            if pred(H.evaluate(c)):
                return c.clock.now() - start
        raise AssertionError(f"not reached within {limit}s: {sorted(H.evaluate(c))}")

    assert H.overall(H.evaluate(c)) == "HEALTH_OK"
    c.host_down("node3")
    detect = until(lambda r: "OSD_HOST_DOWN" in r, 1.0, 60)
    away = detect + until(lambda r: "OSD_DOWN" not in r and "PG_DEGRADED" not in r, 30.0, 3 * 3600)  # out, refilled
    c.host_up("node3")
    back = until(lambda r: H.overall(r) == "HEALTH_OK" and all(p.state == frozenset({"active", "clean"})
                                                                  for p in c.pgmap.pgs.values()), 30.0, 6 * 3600)
    wall = time.perf_counter() - t0
    return {"osds": len(c.osds), "pgs": len(c.pgmap.pgs), "detect_s": round(detect, 1),
            "refilled_elsewhere_s": round(away, 0), "back_clean_s": round(back, 0),
            "virtual_s": round(c.clock.now(), 0), "polls": polls, "build_s": round(built - t0, 2),
            "wall_s": round(wall, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "one_host_kill_down_s": kill_down, "one_host_kill_degraded_s": kill_degraded,
            "goal_s": GOAL_S, "kill_goal_s": KILL_GOAL_S, "met": wall < GOAL_S and kill_down <= KILL_GOAL_S}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100)))
