"""Mesh benchmarks, on mesh worlds built directly (labsim/fakes/cilium/direct.py: Kubernetes fakes with the cilium chart's
objects rendered in-process, no VMs, no Talos, no provisioning). Sixteen Talos clusters through the full stack
(fabric, VMs, talosctl, helm) would measure the Talos layer, not the mesh; the direct build keeps every mesh path
real (views from the clusters' objects, links, caches, datapath, probe Jobs and their logs).

    python -m tests.bench.mesh probes 10000     # one probe of 10,000 requests across a 2-cluster mesh
    python -m tests.bench.mesh fullmesh 16      # 16 clusters: connect all pairs, then lose one and fail over
"""
from __future__ import annotations

import json
import resource
import sys
import time


def _world(n: int, nodes: int, ttl: str = "0s"):
    from labsim.fakes.cilium.direct import DirectMesh, Spec
    return DirectMesh([Spec(f"c{i:02d}", i + 1, nodes=nodes, values={"clustermesh": {"cacheTTL": ttl}})
                       for i in range(n)])


def probes(requests: int) -> dict:
    from tests.unit.mesh_world import deploy, probe
    t0 = time.perf_counter()
    dm = _world(2, 3)
    dm.clock.sleep(10)
    dm.full_mesh()
    dm.clock.sleep(15)
    deploy(dm, "echo", {"c00": 1, "c01": 3})
    dm.clock.sleep(10)
    t1 = time.perf_counter()
    _, res = probe(dm, "c00", "echo", requests, interval=0.01)
    t2 = time.perf_counter()
    assert len(res.requests) == requests and not res.failed, res.counts()
    share = res.counts()["c00"] / requests
    return {"requests": requests, "setup_s": round(t1 - t0, 3), "probe_s": round(t2 - t1, 3),
            "share_c00": round(share, 4), "virtual_s": round(dm.clock.now(), 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def fullmesh(n: int) -> dict:
    from tests.unit.mesh_world import deploy, probe
    t0 = time.perf_counter()
    dm = _world(n, 3, ttl="1m")
    dm.clock.sleep(10)
    t1 = time.perf_counter()
    dm.full_mesh()
    dm.clock.sleep(15)
    mesh = dm.layer.mesh
    assert len(mesh.cache) == n * (n - 1), f"{len(mesh.cache)} of {n * (n - 1)} cluster pairs synced"
    t2 = time.perf_counter()
    deploy(dm, "echo", {name: 1 for name in dm.members})
    dm.clock.sleep(10)
    _, before = probe(dm, "c00", "echo", 400, interval=0.05)
    assert not before.failed and len(before.counts()) == n, before.counts()
    lost = dm.members[f"c{n - 1:02d}"]
    lost.down |= set(lost.addresses)
    lost.api = False
    dm.clock.sleep(5)
    _, during = probe(dm, "c00", "echo", 400, interval=0.05)
    dm.clock.sleep(60)
    _, after = probe(dm, "c00", "echo", 400, interval=0.05)
    t3 = time.perf_counter()
    assert during.failed and not after.failed and f"c{n - 1:02d}" not in after.counts(), after.counts()
    return {"clusters": n, "pairs": n * (n - 1) // 2, "build_s": round(t1 - t0, 3), "connect_s": round(t2 - t1, 3),
            "failover_s": round(t3 - t2, 3), "total_s": round(t3 - t0, 3),
            "failed_while_cached": len(during.failed), "virtual_s": round(dm.clock.now(), 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    what, size = sys.argv[1], int(sys.argv[2])
    print(json.dumps({"probes": probes, "fullmesh": fullmesh}[what](size)))
