"""A Ceph cluster built directly (no Kubernetes, no Rook) for tests and the bench:

    c = build(hosts=3, osds_per_host=1, pools=[("rbd", 32, 300)])   # name, pg_num, objects
    c.clock.sleep(60)                                                 # settled: HEALTH_OK
"""
from __future__ import annotations

from labsim.fakes.ceph.cluster import CephCluster
from labsim.fakes.ceph.tunables import GIB, Tunables
from labsim.fakes.clock import VirtualClock


def build(*, hosts: int = 3, osds_per_host: int = 1, mons: int = 3, mgrs: int = 2, size: int = 3,
          pools: list[tuple[str, int, int]] = (("rbd", 32, 320),), osd_size: int = 128 * GIB, seed: int = 0,
          tunables: Tunables | None = None, clock: VirtualClock | None = None, settle: float = 60.0,
          failure_domain: str = "host", names: list[str] | None = None, version: str | None = None,
          mgr_pool: bool = False, object_size: int = 4 * 1024 ** 2, node_info: dict | None = None) -> CephCluster:
    """`mgr_pool`: the mgr creates its own pool first (pool 1), as a real cluster's does once OSDs are up."""
    clock = clock or VirtualClock()
    c = CephCluster("rook-ceph", clock, seed=seed, tunables=tunables, version=version)
    if node_info:
        c.node_info = dict(node_info)
    names = names or [f"node{i + 1}" for i in range(hosts)]
    hosts = len(names)
    for i, n in enumerate(names):
        c.add_host(n, f"192.168.15.{21 + i}")
    for i in range(mons):
        c.add_mon(names[i % hosts])
    for i in range(mgrs):
        c.add_mgr(names[i % hosts])
    for n in names:
        for j in range(osds_per_host):
            c.add_osd(n, f"/dev/vd{'bcdefghijklmnopqrstuvwxyz'[j]}", osd_size)
    if mgr_pool:
        c.add_mgr_pool(failure_domain)
    for name, pg_num, objects in pools:
        pool = c.add_pool(name, size=size, pg_num=pg_num, objects=objects, stored=objects * object_size,
                          failure_domain=failure_domain)
        pool.object_size = object_size
    clock.sleep(settle)
    return c
