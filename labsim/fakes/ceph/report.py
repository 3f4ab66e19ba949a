"""What the toolbox's `ceph ... -f json` prints, as documents built from the cluster (field names of
MgrStatMonitor/PGMap::print_summary, OSDMap::print_tree, PGMap::dump_pool_stats_full and dump_object_stat_sum,
OSDMonitor print_utilization; the same in Pacific and Squid). Plain text (text.py) is rendered from the same
numbers. Capacity is PGMap's osd_sum: each in OSD's last report (a down OSD keeps its figures until it is out;
an out OSD's are zeroed, PGMapUpdater::check_osd_map), as of the mgr's last digest."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph.catalog import pg_state_string
from labsim.fakes.ceph.units import utime

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

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
    mutes = [{"code": m.code, "ttl": utime(_utc(c, m.until)) if m.until else None, "summary": m.summary,
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


def reporting(c: CephCluster, at: float | None = None) -> list:
    """The OSDs whose stats count in osd_sum at time `at` (the digest's): those in, and reported once."""
    at = c.view.digest_time(c.clock.now()) if at is None else at
    return [o for o in c.osds.values() if o.marked(at)[1] and o.marks and o.marks[0][0] <= at]


def capacity(c: CephCluster) -> dict[str, int]:
    """Raw bytes over the OSDs that count: total, used, available."""
    osds = reporting(c)
    total = sum(o.size for o in osds)
    used = sum(c.osd_used(o.id) for o in osds)
    return {"bytes_total": total, "bytes_used": used, "bytes_avail": max(0, total - used)}


def pg_counts(c: CephCluster, digest: dict | None = None) -> list[tuple[str, int]]:
    if digest is None:
        _, digest = c.view.digest()
    counts = Counter(pg_state_string(set(r.flags)) for r in digest.values())
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
    now, digest = c.view.digest()
    pm = c.pgmap
    by_state = pg_counts(c, digest)
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
    degraded, copies = H.degraded_totals(c, now, digest)
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
    td = c.view.digest_time(now)
    osds = list(c.osds.values())
    remapped = sum(1 for pg in c.pgmap.pgs.values() if "remapped" in pg.state)
    standbys = [m for m in c.mgrs.values() if m.running and m.name != c.active_mgr]
    return {
        "fsid": c.fsid,
        "health": health_doc(c),
        "election_epoch": c.epochs["election"],
        "quorum": [m.rank for m in q], "quorum_names": [m.name for m in q],
        "quorum_age": int(now - c.quorum_since),
        "monmap": {"epoch": c.epochs["monmap"], "min_mon_release_name": c.release.name, "num_mons": len(c.mons)},
        "osdmap": {"epoch": c.epochs["osdmap"], "num_osds": len(osds), "num_up_osds": sum(o.up for o in osds),
                   "osd_up_since": epoch_seconds(c, c.up_changed), "num_in_osds": sum(o.in_ for o in osds),
                   "osd_in_since": epoch_seconds(c, c.in_changed), "num_remapped_pgs": remapped},
        "pgmap": pgmap_doc(c),
        "fsmap": {"epoch": 1, "by_rank": [], "up:standby": 0},
        "mgrmap": {"available": c.active_mgr is not None, "num_standbys": len(standbys),
                   "modules": list(c.mgr_modules), "services": {}},
        "servicemap": {"epoch": 1, "modified": utime(_utc(c, c.created_at)), "services": {}},
        "progress_events": c.progress.status_events(td),
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


def pool_stats(c: CephCluster, at: float | None = None) -> list[dict[str, Any]]:
    """PGMap::dump_object_stat_sum per pool. USED is what the OSDs report holding for the pool (a down or out
    OSD's last report included); the raw-used rate (size, or (k+m)/k) is scaled by the share of object copies
    that exist, so STORED and MAX AVAIL grow while the pool is degraded; %USED is USED over USED plus the raw
    space the pool's rule can still fill (not MAX AVAIL)."""
    if at is None:
        at, digest = c.view.digest()
    else:
        _, digest = c.view.digest(at)
    pm = c.pgmap
    out = []
    for p in c.pools.values():
        keys = [(p.id, ps) for ps in range(p.pg_num)]
        used = sum(sum(pm.pgs[k].have.values()) for k in keys)
        copies = p.objects * p.size
        degraded = sum(digest[k].degraded for k in keys if "degraded" in digest[k].flags)
        rate = p.raw_factor * ((copies - degraded) / copies if copies else 1.0)
        raw_avail = rule_avail(c, p)
        pct = used / (used + raw_avail) if raw_avail else (1.0 if used else 0.0)
        out.append({"name": p.name, "id": p.id,
                    "stats": {"stored": int(used / rate) if rate else 0, "objects": p.objects,
                              "kb_used": -(-used // KB), "bytes_used": used, "percent_used": pct,
                              "max_avail": int(raw_avail / rate) if rate else 0}})
    return out


def rule_avail(c: CephCluster, pool) -> int:
    """PGMap::get_rule_avail: raw bytes the rule can take before its first OSD reaches the full ratio, each
    OSD's room scaled by its share of the rule's CRUSH weight (an out OSD, its stats zeroed, is skipped but
    keeps its weight in the total)."""
    osds = [o for o in c.osds.values() if o.weight > 0]
    total_w = sum(o.weight for o in osds)
    if not total_w:
        return 0
    counted = {o.id for o in reporting(c)}
    full = c.tun.full_ratio
    best = None
    for o in osds:
        if o.id not in counted:
            continue
        kb = o.size // KB
        kb_avail = (o.size - c.osd_used(o.id)) // KB
        avail = max(0.0, kb_avail - kb * (1.0 - full)) * 1024.0
        proj = int(avail / (o.weight / total_w))
        best = proj if best is None else min(best, proj)
    return best or 0


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
    """OSDUtilizationDumper (src/osd/OSDMap.cc): an out OSD's row is zeroed (its stats are) and TOTAL counts
    the OSDs that report; utilization is 100 * used / size; VAR its ratio to the average (the TOTAL's
    utilization); MIN/MAX VAR and STDDEV over the in OSDs, weighted by their reweight."""
    osds = {o.id for o in reporting(c)}
    pgs = Counter(o for pg in c.pgmap.pgs.values() for o in pg.acting)
    cap = capacity(c)
    avg = cap["bytes_used"] / cap["bytes_total"] * 100 if cap["bytes_total"] else 0.0
    rows = []
    min_var = max_var = -1.0
    dev = weight = 0.0
    total_meta = 0
    for o in sorted(c.osds.values(), key=lambda o: o.id):
        counts = o.id in osds
        used = c.osd_used(o.id) if counts else 0
        size = o.size if counts else 0
        meta = c.overhead(o.id) if counts else 0
        total_meta += meta
        util = used / size * 100 if size else 0.0
        var = util / avg if avg else 1.0
        reweight = 1.0 if o.in_ else 0.0
        rows.append({"id": o.id, "device_class": "hdd", "name": o.name, "type": "osd", "type_id": 0,
                     "crush_weight": o.weight, "depth": 2, "pool_weights": {}, "reweight": reweight,
                     "kb": size // KB, "kb_used": used // KB, "kb_used_data": (used - meta) // KB,
                     "kb_used_omap": 0, "kb_used_meta": meta // KB, "kb_avail": (size - used) // KB,
                     "utilization": util, "var": var, "pgs": pgs.get(o.id, 0) if o.up else 0,
                     "status": "up" if o.up else "down"})
        if reweight > 0:
            min_var = var if min_var < 0 else min(min_var, var)
            max_var = var if max_var < 0 else max(max_var, var)
            dev += reweight * (util - avg) ** 2
            weight += reweight
    total, used = cap["bytes_total"], cap["bytes_used"]
    return {"nodes": rows, "stray": [],
            "summary": {"total_kb": total // KB, "total_kb_used": used // KB,
                        "total_kb_used_data": (used - total_meta) // KB, "total_kb_used_omap": 0,
                        "total_kb_used_meta": total_meta // KB, "total_kb_avail": (total - used) // KB,
                        "average_utilization": avg, "min_var": min_var, "max_var": max_var,
                        "dev": (dev / weight) ** 0.5 if weight else 0.0}}


def pg_stat_doc(c: CephCluster) -> dict[str, Any]:
    """`ceph pg stat -f json` (PGMap::dump_pg_summary... print_summary's pg_summary; no raw_bytes* since
    Nautilus)."""
    pm = pgmap_doc(c)
    summary = {"num_pg_by_state": [{"name": s["state_name"], "num": s["count"]} for s in pm["pgs_by_state"]],
               "num_pgs": pm["num_pgs"], "num_bytes": pm["data_bytes"], "total_bytes": pm["bytes_total"],
               "total_avail_bytes": pm["bytes_avail"], "total_used_bytes": pm["bytes_used"],
               "total_used_raw_bytes": pm["bytes_used"]}
    for k in ("degraded_objects", "degraded_total", "degraded_ratio", "misplaced_objects", "misplaced_total",
              "misplaced_ratio", "recovering_objects_per_sec", "recovering_bytes_per_sec",
              "recovering_keys_per_sec", "num_objects_recovered", "num_bytes_recovered", "num_keys_recovered"):
        if k in pm:
            summary[k] = pm[k]
    return {"pg_ready": True, "pg_summary": summary}


def versions_doc(c: CephCluster) -> dict[str, Any]:
    kinds = {"mon": sum(m.running for m in c.mons.values()), "mgr": sum(m.running for m in c.mgrs.values()),
             "osd": sum(o.running for o in c.osds.values()), "mds": 0}
    line = c.release.line
    doc = {k: ({line: n} if n else {}) for k, n in kinds.items()}
    total = sum(kinds.values())
    doc["overall"] = {line: total} if total else {}
    return doc
