"""The toolbox's plain-text output, laid out as Ceph 19.2 prints it (Monitor::get_cluster_status and
PGMapDigest::print_summary for `ceph status`, health_check_map_t for `ceph health detail`,
PGMapDigest::print_oneline_summary for `ceph pg stat`, TextTable for the tables), from the documents in
report.py. `ceph status` separates its sections with a line holding one space (the mon writes "\n \n  data:"),
counts objects with SI prefixes (si_u_t: `22.47k objects`) and sizes with IEC ones (byte_u_t); an OSD map with
no OSD has no "(since ...)". Deviation: `pgs_by_state` comes from an unordered map in Ceph, so `ceph pg stat`
lists states in an order we cannot reproduce; we list them by count, as `ceph status` does."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph import crash as K
from labsim.fakes.ceph import report as R
from labsim.fakes.ceph.catalog import TAG
from labsim.fakes.ceph.units import byte_u, percentify, si_u, table, timespan

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster


SEP = " "       # the line between the sections of `ceph status`


def health(doc: dict[str, Any], detail: bool = False) -> str:
    """`HEALTH_WARN 1 osds down; 1 host (1 osds) down` (+ `[WRN] CODE: summary` and indented details)."""
    live = [(code, chk) for code, chk in doc["checks"].items() if not chk["muted"]]
    muted = [code for code, chk in doc["checks"].items() if chk["muted"]]
    line = doc["status"]
    if live:
        line += " " + "; ".join(chk["summary"]["message"] for _, chk in live)
    if muted:
        line += " (muted: " + " ".join(muted) + ")"
    out = [line]
    if detail:
        for code, chk in doc["checks"].items():
            prefix = "(MUTED) " if chk["muted"] else ""
            out.append(f"{prefix}[{TAG[chk['severity']]}] {code}: {chk['summary']['message']}")
            out.extend(f"    {d['message']}" for d in chk.get("detail", []))
    return "\n".join(out) + "\n"


def status(c: CephCluster) -> str:
    doc = R.status_doc(c)
    now = c.clock.now()
    h = doc["health"]
    lines = ["  cluster:", f"    id:     {doc['fsid']}", f"    health: {h['status']}"]
    pad = " " * 12
    for chk in h["checks"].values():
        if not chk["muted"]:
            lines.append(pad + chk["summary"]["message"])
    muted = [code for code, chk in h["checks"].items() if chk["muted"]]
    if muted:
        lines.append(pad + "(muted: " + " ".join(muted) + ")")
    q = doc["quorum_names"]
    out_q = [m.name for m in sorted(c.mons.values(), key=lambda m: m.rank) if not m.in_quorum]
    mon = f"{len(c.mons)} daemons, quorum {','.join(q)} (age {timespan(doc['quorum_age'])})"
    if out_q:
        mon += ", out of quorum: " + ", ".join(out_q)
    lines += [SEP, "  services:", f"    mon: {mon}"]
    if c.active_mgr:
        standbys = [m.name for m in c.mgrs.values() if m.running and m.name != c.active_mgr]
        mgr = f"{c.active_mgr}(active, since {timespan(now - c.mgr_since)})"
        if standbys:
            mgr += ", standbys: " + ", ".join(standbys)
    else:
        mgr = "no daemons active"
    lines.append(f"    mgr: {mgr}")
    om = doc["osdmap"]
    if c.osds:
        osd = (f"{om['num_osds']} osds: {om['num_up_osds']} up (since {timespan(now - c.up_changed)}), "
               f"{om['num_in_osds']} in (since {timespan(now - c.in_changed)})")
    else:                           # last_up_change / last_in_change never set
        osd = "0 osds: 0 up, 0 in"
    if om["num_remapped_pgs"]:
        osd += f"; {om['num_remapped_pgs']} remapped pgs"
    lines.append(f"    osd: {osd}")
    pm = doc["pgmap"]
    lines += [SEP, "  data:", f"    pools:   {pm['num_pools']} pools, {pm['num_pgs']} pgs",
              f"    objects: {si_u(pm['num_objects'])} objects, {byte_u(pm['data_bytes'])}",
              (f"    usage:   {byte_u(pm['bytes_used'])} used, {byte_u(pm['bytes_avail'])} / "
              f"{byte_u(pm['bytes_total'])} avail")]
    lines += _pgs_block(pm, "    pgs:     ")
    if "recovering_objects_per_sec" in pm:
        lines += [SEP, "  io:", (f"    recovery: {byte_u(pm['recovering_bytes_per_sec'])}/s, "
                                f"{si_u(pm['recovering_objects_per_sec'])} objects/s")]
    shown = [ev for ev in doc["progress_events"].values() if ev["add_to_ceph_s"]]
    if shown:                       # the mgr's progress events (MgrStatMonitor::print_summary, "progress:")
        lines += [SEP, "  progress:"]
        for ev in shown:            # the module renders the bar line indented already (twoline_progress(6))
            lines.append("    " + ev["message"])
    return "\n".join(lines) + "\n" + SEP + "\n"


def _pgs_block(pm: dict[str, Any], head: str) -> list[str]:
    notes = []
    if "unknown_pgs_ratio" in pm:
        notes.append(f"{pm['unknown_pgs_ratio'] * 100:.3f}% pgs unknown")
    if "inactive_pgs_ratio" in pm:
        notes.append(f"{pm['inactive_pgs_ratio'] * 100:.3f}% pgs not active")
    if "degraded_objects" in pm:
        notes.append(f"{pm['degraded_objects']}/{pm['degraded_total']} objects degraded "
                     f"({pm['degraded_ratio'] * 100:.3f}%)")
    if "misplaced_objects" in pm:
        notes.append(f"{pm['misplaced_objects']}/{pm['misplaced_total']} objects misplaced "
                     f"({pm['misplaced_ratio'] * 100:.3f}%)")
    width = max((len(str(s["count"])) for s in pm["pgs_by_state"]), default=1)
    rows = notes + [f"{str(s['count']).ljust(width)} {s['state_name']}" for s in pm["pgs_by_state"]]
    pad = " " * len(head)
    return [(head if i == 0 else pad) + r for i, r in enumerate(rows)] or [head]    # no PG yet: "pgs:     "


def pg_stat(c: CephCluster) -> str:
    pm = R.pgmap_doc(c)
    states = ", ".join(f"{s['count']} {s['state_name']}" for s in pm["pgs_by_state"])
    line = (f"{pm['num_pgs']} pgs: {states}; {byte_u(pm['data_bytes'])} data, {byte_u(pm['bytes_used'])} used, "
            f"{byte_u(pm['bytes_avail'])} / {byte_u(pm['bytes_total'])} avail")
    if "degraded_objects" in pm:
        line += (f"; {pm['degraded_objects']}/{pm['degraded_total']} objects degraded "
                 f"({pm['degraded_ratio'] * 100:.3f}%)")
    if "misplaced_objects" in pm:
        line += (f"; {pm['misplaced_objects']}/{pm['misplaced_total']} objects misplaced "
                 f"({pm['misplaced_ratio'] * 100:.3f}%)")
    if "recovering_objects_per_sec" in pm:
        line += (f"; {byte_u(pm['recovering_bytes_per_sec'])}/s, {si_u(pm['recovering_objects_per_sec'])} objects/s "
                 "recovering")
    return line + "\n"


def osd_tree(c: CephCluster) -> str:
    rows = []
    for n in R.osd_tree_doc(c)["nodes"]:
        if n["type"] == "root":
            weight = sum(o.weight for o in c.osds.values())
            rows.append([str(n["id"]), "", f"{weight:.5f}", f"root {n['name']}", "", "", ""])
        elif n["type"] == "host":
            weight = sum(o.weight for o in c.osds.values() if o.host == n["name"])
            rows.append([str(n["id"]), "", f"{weight:.5f}", f"    host {n['name']}", "", "", ""])
        else:
            rows.append([str(n["id"]), n["device_class"], weightf(n["crush_weight"]), f"        {n['name']}",
                         n["status"], weightf(n["reweight"]), weightf(n["primary_affinity"])])
    return "\n".join(table(["ID", "CLASS", "WEIGHT", "TYPE NAME", "STATUS", "REWEIGHT", "PRI-AFF"], rows,
                           left=(3,), headers_left=True)) + "\n"


def df(c: CephCluster) -> str:
    doc = R.df_doc(c)
    s = doc["stats"]
    raw = [[cls, byte_u(v["total_bytes"]), byte_u(v["total_avail_bytes"]), byte_u(v["total_used_bytes"]),
            byte_u(v["total_used_raw_bytes"]), percentify(v['total_used_raw_ratio'] * 100)]
           for cls, v in doc["stats_by_class"].items()]
    raw.append(["TOTAL", byte_u(s["total_bytes"]), byte_u(s["total_avail_bytes"]), byte_u(s["total_used_bytes"]),
                byte_u(s["total_used_raw_bytes"]), percentify(s['total_used_raw_ratio'] * 100)])
    pgs = {p.id: p.pg_num for p in c.pools.values()}
    pools = [[p["name"], p["id"], pgs[p["id"]], byte_u(p["stats"]["stored"]), p["stats"]["objects"],
              byte_u(p["stats"]["bytes_used"]), percentify(p["stats"]["percent_used"] * 100),
              byte_u(p["stats"]["max_avail"])] for p in doc["pools"]]
    lines = ["--- RAW STORAGE ---"]
    lines += table(["CLASS", "SIZE", "AVAIL", "USED", "RAW USED", "%RAW USED"], raw, left=(0,))
    lines += [SEP, "--- POOLS ---"]
    lines += table(["POOL", "ID", "PGS", "STORED", "OBJECTS", "USED", "%USED", "MAX AVAIL"], pools, left=(0,))
    return "\n".join(lines) + "\n"


def weightf(v: float) -> str:
    """weightf_t (src/osd/OSDMap.h): `-` below -0.01, `0` for nothing, else five decimals (REWEIGHT 0 of an
    out OSD prints `0`, not `0.00000`)."""
    return "-" if v < -0.01 else "0" if v < 0.000001 else f"{v:.5f}"


def lowprecision(v: float) -> str:
    """lowprecision_t (OSDUtilizationPlainDumper): `-` below -0.01, `0` under 0.001, else two decimals."""
    return "-" if v < -0.01 else "0" if v < 0.001 else f"{v:.2f}"


def osd_df(c: CephCluster) -> str:
    doc = R.osd_df_doc(c)
    rows = [[n["id"], n["device_class"], weightf(n["crush_weight"]), weightf(n["reweight"]), byte_u(n["kb"] * 1024),
             byte_u(n["kb_used"] * 1024), byte_u(n["kb_used_data"] * 1024), "0 B", byte_u(n["kb_used_meta"] * 1024),
             byte_u(n["kb_avail"] * 1024), lowprecision(n["utilization"]), lowprecision(n["var"]), n["pgs"],
             n["status"]]
            for n in doc["nodes"]]
    s = doc["summary"]
    rows.append(["", "", "", "TOTAL", byte_u(s["total_kb"] * 1024), byte_u(s["total_kb_used"] * 1024),
                 byte_u(s["total_kb_used_data"] * 1024), "0 B", byte_u(s["total_kb_used_meta"] * 1024),
                 byte_u(s["total_kb_avail"] * 1024), lowprecision(s["average_utilization"]), "", "", ""])
    lines = table(["ID", "CLASS", "WEIGHT", "REWEIGHT", "SIZE", "RAW USE", "DATA", "OMAP", "META", "AVAIL", "%USE",
                   "VAR", "PGS", "STATUS"], rows, headers_left=True)
    lines.append(f"MIN/MAX VAR: {lowprecision(s['min_var'])}/{lowprecision(s['max_var'])}  "
                 f"STDDEV: {lowprecision(s['dev'])}")
    return "\n".join(lines) + "\n"


def osd_stat(c: CephCluster) -> str:
    """OSDMap::print_summary: `3 osds: 2 up (since 104s), 3 in (since 2m); epoch: e14`."""
    sd = R.status_doc(c)["osdmap"]
    now = c.clock.now()
    if not c.osds:
        return f"0 osds: 0 up, 0 in; epoch: e{sd['epoch']}\n"
    return (f"{sd['num_osds']} osds: {sd['num_up_osds']} up (since {timespan(now - c.up_changed)}), "
            f"{sd['num_in_osds']} in (since {timespan(now - c.in_changed)}); epoch: e{sd['epoch']}\n")


def crash_ls(c: CephCluster, new_only: bool = False) -> str:
    return K.ls_table([x for x in c.crashes if not (new_only and x.archived)])
