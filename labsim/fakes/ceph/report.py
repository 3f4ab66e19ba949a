"""What the toolbox's `ceph ... -f json` prints, as documents built from the cluster (Ceph 19.2 Squid field
names: MgrStatMonitor/PGMap::print_summary, OSDMap::print_tree, PGMap::dump_pool_stats_full, OSDMap
print_osd_utilization). Plain text (text.py) is rendered from the same numbers."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph.units import stamp

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

VERSION = "19.2.3"
RELEASE = "squid"
VERSION_LINE = "ceph version 19.2.3 (c92aebb279828e9c3c1f5d24613efca272649e62) squid (stable)"
MGR_MODULES = ["iostat", "nfs", "prometheus", "restful"]
KB = 1024


def health_doc(c: CephCluster, detail: bool = False) -> dict[str, Any]:
    results = H.evaluate(c)
    checks = {}
    for code, r in results.items():
        entry: dict[str, Any] = {"severity": r.severity, "summary": {"message": r.summary, "count": r.count}}
        if detail:
            entry["detail"] = [{"message": m} for m in r.detail]
        entry["muted"] = r.muted
        checks[code] = entry
    mutes = [{"code": m.code, "ttl": stamp(_utc(c, m.until)) if m.until else None, "summary": m.summary,
              "sticky": m.sticky, "count": m.count} for m in c.mutes.values()]
    for m in mutes:
        if m["ttl"] is None:
            del m["ttl"]
    return {"status": H.overall(results), "checks": checks, "mutes": mutes}


def _utc(c: CephCluster, t: float):
    from datetime import timedelta
    return c.clock.utcnow() + timedelta(seconds=t - c.clock.now())


def epoch_seconds(c: CephCluster, t: float) -> int:
    return int(_utc(c, t).timestamp())


def capacity(c: CephCluster) -> dict[str, int]:
    """Raw bytes over the OSDs that report (up): total, used, available."""
    up = [o for o in c.osds.values() if o.up]
    total = sum(o.size for o in up)
    used = sum(c.osd_used(o.id) for o in up)
    return {"bytes_total": total, "bytes_used": used, "bytes_avail": max(0, total - used)}


def pg_counts(c: CephCluster) -> list[tuple[str, int]]:
    counts = Counter(c.pgmap.state_name(pg) for pg in c.pgmap.pgs.values())
    return sorted(counts.items(), key=lambda i: (-i[1], i[0]))


def recovery(c: CephCluster) -> tuple[int, int]:
    """(objects/s, bytes/s) the recoveries under way move now."""
    objs = byts = 0
    rate = c.tun.recovery_objects_per_sec
    for pg in c.pgmap.pgs.values():
        if pg.recovering and pg.objects:
            objs += rate
            byts += int(rate * pg.bytes / pg.objects)
    return int(objs), byts


def pgmap_doc(c: CephCluster) -> dict[str, Any]:
    now = c.clock.now()
    pm = c.pgmap
    by_state = pg_counts(c)
    num = len(pm.pgs)
    doc: dict[str, Any] = {
        "pgs_by_state": [{"state_name": s, "count": n} for s, n in by_state],
        "num_pgs": num, "num_pools": len(c.pools),
        "num_objects": sum(p.objects for p in c.pools.values()),
        "data_bytes": sum(p.stored for p in c.pools.values()),
        **capacity(c)}
    inactive = sum(n for s, n in by_state if "active" not in s.split("+"))
    unknown = sum(n for s, n in by_state if s == "unknown")
    if unknown:
        doc["unknown_pgs_ratio"] = unknown / num
    if inactive - unknown > 0:
        doc["inactive_pgs_ratio"] = (inactive - unknown) / num
    degraded, copies = H.degraded_totals(c, now)
    if degraded:
        doc.update(degraded_objects=degraded, degraded_total=copies, degraded_ratio=degraded / copies)
    misplaced = sum(pm.misplaced_objects(pg, now) for pg in pm.pgs.values() if pg.objects)
    if misplaced:
        doc.update(misplaced_objects=misplaced, misplaced_total=copies, misplaced_ratio=misplaced / copies)
    objs, byts = recovery(c)
    if objs:
        doc.update(recovering_objects_per_sec=objs, recovering_bytes_per_sec=byts, recovering_keys_per_sec=0,
                   num_objects_recovered=objs * 2, num_bytes_recovered=byts * 2, num_keys_recovered=0)
    return doc


def status_doc(c: CephCluster) -> dict[str, Any]:
    q = c.quorum()
    now = c.clock.now()
    osds = list(c.osds.values())
    remapped = sum(1 for pg in c.pgmap.pgs.values() if "remapped" in pg.state)
    standbys = [m for m in c.mgrs.values() if m.running and m.name != c.active_mgr]
    return {
        "fsid": c.fsid,
        "health": health_doc(c),
        "election_epoch": c.epochs["election"],
        "quorum": [m.rank for m in q], "quorum_names": [m.name for m in q],
        "quorum_age": int(now - c.quorum_since),
        "monmap": {"epoch": c.epochs["monmap"], "min_mon_release_name": RELEASE, "num_mons": len(c.mons)},
        "osdmap": {"epoch": c.epochs["osdmap"], "num_osds": len(osds), "num_up_osds": sum(o.up for o in osds),
                   "osd_up_since": epoch_seconds(c, c.up_changed), "num_in_osds": sum(o.in_ for o in osds),
                   "osd_in_since": epoch_seconds(c, c.in_changed), "num_remapped_pgs": remapped},
        "pgmap": pgmap_doc(c),
        "fsmap": {"epoch": 1, "by_rank": [], "up:standby": 0},
        "mgrmap": {"available": c.active_mgr is not None, "num_standbys": len(standbys),
                   "modules": MGR_MODULES, "services": {}},
        "servicemap": {"epoch": 1, "modified": stamp(_utc(c, c.created_at)), "services": {}},
        "progress_events": {},
    }


def osd_tree_doc(c: CephCluster) -> dict[str, Any]:
    hosts: dict[str, list] = {}
    for o in c.osds.values():
        hosts.setdefault(o.host, []).append(o)
    order = sorted(hosts, key=c.bucket, reverse=True)
    nodes: list[dict[str, Any]] = [{"id": -1, "name": "default", "type": "root", "type_id": 11,
                                    "children": [c.bucket(h) for h in reversed(order)]}]
    for h in order:
        osds = sorted(hosts[h], key=lambda o: o.id)
        nodes.append({"id": c.bucket(h), "name": h, "type": "host", "type_id": 1, "pool_weights": {},
                      "children": [o.id for o in reversed(osds)]})
        for o in osds:
            nodes.append({"id": o.id, "device_class": "hdd", "name": o.name, "type": "osd", "type_id": 0,
                          "crush_weight": o.weight, "depth": 2, "pool_weights": {}, "exists": 1,
                          "status": "up" if o.up else "down", "reweight": 1.0 if o.in_ else 0.0,
                          "primary_affinity": 1.0})
    return {"nodes": nodes, "stray": []}


def pool_stats(c: CephCluster) -> list[dict[str, Any]]:
    out = []
    for p in c.pools.values():
        used = int(p.stored * p.raw_factor)
        avail = max_avail(c, p)
        pct = used / (used + avail) if used + avail else 0.0
        out.append({"name": p.name, "id": p.id, "pg_num": p.pg_num,
                    "stats": {"stored": p.stored, "objects": p.objects, "kb_used": -(-used // KB),
                              "bytes_used": used, "percent_used": pct, "max_avail": avail}})
    return out


def max_avail(c: CephCluster, pool) -> int:
    """PGMap::get_rule_avail: the OSD that fills first bounds what the pool can still take."""
    osds = [c.osds[o] for o in {o for ps in range(pool.pg_num) for o in c.pgmap.pgs[(pool.id, ps)].target}]
    if not osds:
        return 0
    total_w = sum(o.weight for o in osds) or 1.0
    proj = min(max(0.0, c.tun.full_ratio * o.size - c.osd_used(o.id)) * total_w / (o.weight or 1e-9) for o in osds)
    return int(proj / pool.raw_factor)


def df_doc(c: CephCluster) -> dict[str, Any]:
    cap = capacity(c)
    ratio = cap["bytes_used"] / cap["bytes_total"] if cap["bytes_total"] else 0.0
    cls = {"total_bytes": cap["bytes_total"], "total_avail_bytes": cap["bytes_avail"],
           "total_used_bytes": cap["bytes_used"], "total_used_raw_bytes": cap["bytes_used"],
           "total_used_raw_ratio": ratio}
    return {"stats": {**cls, "num_osds": len(c.osds), "num_per_pool_osds": len(c.osds),
                      "num_per_pool_omap_osds": len(c.osds)},
            "stats_by_class": {"hdd": cls} if c.osds else {}, "pools": pool_stats(c)}


def osd_df_doc(c: CephCluster) -> dict[str, Any]:
    rows = []
    pgs = Counter(o for pg in c.pgmap.pgs.values() for o in pg.acting)
    util = {o.id: c.osd_ratio(o.id) * 100 for o in c.osds.values()}
    avg = sum(util.values()) / len(util) if util else 0.0
    for o in sorted(c.osds.values(), key=lambda o: o.id):
        used = c.osd_used(o.id)
        rows.append({"id": o.id, "device_class": "hdd", "name": o.name, "type": "osd", "type_id": 0,
                     "crush_weight": o.weight, "depth": 2, "pool_weights": {}, "reweight": 1.0 if o.in_ else 0.0,
                     "kb": o.size // KB, "kb_used": used // KB, "kb_used_data": (used - c.tun.osd_overhead_bytes) // KB,
                     "kb_used_omap": 0, "kb_used_meta": c.tun.osd_overhead_bytes // KB,
                     "kb_avail": (o.size - used) // KB, "utilization": util[o.id],
                     "var": util[o.id] / avg if avg else 0.0, "pgs": pgs.get(o.id, 0),
                     "status": "up" if o.up else "down"})
    total = sum(o.size for o in c.osds.values())
    used = sum(c.osd_used(o) for o in c.osds)
    varis = [r["var"] for r in rows] or [0.0]
    dev = (sum((u - avg) ** 2 for u in util.values()) / len(util)) ** 0.5 if util else 0.0
    return {"nodes": rows, "stray": [],
            "summary": {"total_kb": total // KB, "total_kb_used": used // KB,
                        "total_kb_used_data": (used - c.tun.osd_overhead_bytes * len(c.osds)) // KB,
                        "total_kb_used_omap": 0, "total_kb_used_meta": c.tun.osd_overhead_bytes * len(c.osds) // KB,
                        "total_kb_avail": (total - used) // KB, "average_utilization": avg,
                        "min_var": min(varis), "max_var": max(varis), "dev": dev}}


def pg_stat_doc(c: CephCluster) -> dict[str, Any]:
    pm = pgmap_doc(c)
    summary = {"num_pg_by_state": [{"name": s["state_name"], "num": s["count"]} for s in pm["pgs_by_state"]],
               "num_pgs": pm["num_pgs"], "num_bytes": pm["data_bytes"], "total_bytes": pm["bytes_total"],
               "total_avail_bytes": pm["bytes_avail"], "total_used_bytes": pm["bytes_used"],
               "total_used_raw_bytes": pm["bytes_used"], "raw_bytes_used": pm["bytes_used"],
               "raw_bytes_avail": pm["bytes_avail"], "raw_bytes": pm["bytes_total"]}
    for k in ("degraded_objects", "degraded_total", "degraded_ratio", "misplaced_objects", "misplaced_total",
              "misplaced_ratio", "recovering_objects_per_sec", "recovering_bytes_per_sec"):
        if k in pm:
            summary[k] = pm[k]
    return {"pg_ready": True, "pg_summary": summary}


def versions_doc(c: CephCluster) -> dict[str, Any]:
    kinds = {"mon": sum(m.running for m in c.mons.values()), "mgr": sum(m.running for m in c.mgrs.values()),
             "osd": sum(o.running for o in c.osds.values())}
    doc = {k: ({VERSION_LINE: n} if n else {}) for k, n in kinds.items()}
    total = sum(kinds.values())
    doc["overall"] = {VERSION_LINE: total} if total else {}
    return doc
