"""The health engine: what the mons and the mgr would report right now, from the catalogue (catalog.py).

`evaluate(cluster)` returns the raised checks by code (sorted, as Ceph's health map is); `overall` is the
worst severity among the checks that are not muted. Mutes follow `ceph health mute`: a TTL, and a non-sticky
mute lapses when its check clears or its count grows. The mons' own checks (OSD_*, MON_*, MGR_DOWN, fullness
from the osdmap's flags) are current; the mgr's (PG_* from PGMap::get_health_checks, RECENT_CRASH from the crash
module) are those of its last digest (mgrview.py), computed at the digest's time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from labsim.fakes.ceph.catalog import CHECKS, HEALTH_OK, OUT_OF_ORDER, PG_RULES, pg_state_string, worst
from labsim.fakes.ceph.units import timespan

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

UNKNOWN_PG = frozenset({"unknown"})
MON_DOWN_MKFS_GRACE = 60.0     # mon_down_mkfs_grace: no MON_DOWN while a new monmap forms
MGR_MKFS_GRACE = 120.0         # mon_mgr_mkfs_grace: no MGR_DOWN right after creation


@dataclass
class Result:
    code: str
    severity: str
    summary: str
    count: int
    detail: list[str] = field(default_factory=list)
    muted: bool = False


def _add(out: dict[str, Result], code: str, count: int, detail: list[str], **kw) -> None:
    chk = CHECKS[code]
    out[code] = Result(code, chk.severity, chk.summary.format(n=count, **kw), count, detail)


def _plural(n: int) -> str:
    return "s" if n > 1 else ""


def evaluate(c: CephCluster, now: float | None = None) -> dict[str, Result]:
    now = c.clock.now() if now is None else now
    td, digest = c.view.digest(now)
    out: dict[str, Result] = {}
    _osd_checks(c, out)
    _fullness(c, out)
    pg_out: dict[str, Result] = {}
    for code, r in c.view.memo("pg_checks", td, lambda: _pg_checks(c, pg_out, td, digest) or pg_out).items():
        out[code] = Result(r.code, r.severity, r.summary, r.count, list(r.detail))
    _mon_checks(c, out, now)
    if not c.active_mgr and now >= c.created_at + MGR_MKFS_GRACE:
        _add(out, "MGR_DOWN", 1, [])
    recent = [x for x in c.crashes if x.posted_at is not None and x.posted_at <= td
              and (not x.archived or x.archived_t > td) and td - x.when < c.tun.crash_recent]
    if recent:
        _add(out, "RECENT_CRASH", len(recent),
             [CHECKS["RECENT_CRASH"].detail.format(entity=x.entity, host=x.host, when=x.timestamp)
              for x in recent])
    _apply_mutes(c, out, now)
    return dict(sorted(out.items()))


def overall(results: dict[str, Result]) -> str:
    return worst(r.severity for r in results.values() if not r.muted) if results else HEALTH_OK


def location(c: CephCluster, osd_id: int) -> str:
    return c.location(osd_id)


def _osd_checks(c: CephCluster, out: dict[str, Result]) -> None:
    down_in = sorted(o.id for o in c.osds.values() if o.in_ and not o.up)
    if down_in:
        in_osds = [o for o in c.osds.values() if o.in_]
        if all(not o.up for o in in_osds):   # the whole root is down: report the top-most subtree only
            _add(out, "OSD_ROOT_DOWN", 1, [CHECKS["OSD_ROOT_DOWN"].detail.format(name="default", osds=len(in_osds))],
                 s="", osds=len(in_osds))
        else:
            hosts: dict[str, list] = {}
            for o in in_osds:
                hosts.setdefault(o.host, []).append(o)
            down = sorted((h for h, os_ in hosts.items() if all(not o.up for o in os_)), key=c.bucket, reverse=True)
            if down:
                total = sum(len(hosts[h]) for h in down)
                _add(out, "OSD_HOST_DOWN", len(down),
                     [CHECKS["OSD_HOST_DOWN"].detail.format(name=h, location="root=default", osds=len(hosts[h]))
                      for h in down], s=_plural(len(down)), osds=total)
        _add(out, "OSD_DOWN", len(down_in),
             [CHECKS["OSD_DOWN"].detail.format(id=i, location=location(c, i)) for i in down_in])
    if len(c.osds) < c.tun.pool_default_size:     # also with no OSD at all: "OSD count 0 < ..." on a new cluster
        _add(out, "TOO_FEW_OSDS", len(c.osds), [], size=c.tun.pool_default_size)


def effective(ratios: tuple[float, float, float]) -> tuple[float, float, float]:
    """The ratios an OSD applies: backfillfull at least nearfull, full at least backfillfull."""
    near, back, full = ratios
    back = max(back, near)
    return near, back, max(full, back)


def osd_fullness(c: CephCluster) -> dict[int, str]:
    """full / backfillfull / nearfull per in OSD: one flag each, the worst it has reached, by the ratios it
    last checked against (OSDService::check_full_status; a new ratio reaches each OSD in its next heartbeat)."""
    flags = {}
    for o in c.osds.values():
        if not o.in_:
            continue
        near, back, full = effective(o.ratios)
        r = c.osd_ratio(o.id)
        flag = "full" if r >= full else "backfillfull" if r >= back else "nearfull" if r >= near else ""
        if flag:
            flags[o.id] = flag
    return flags


def _fullness(c: CephCluster, out: dict[str, Result]) -> None:
    near, back, full = c.ratios()
    disorder = []
    for (hi, lo, text), (a, b) in zip(OUT_OF_ORDER, ((near, back), (max(back, near), full))):
        if b < a:
            disorder.append(text.format(a=a, b=b))
    if disorder:
        _add(out, "OSD_OUT_OF_ORDER_FULL", len(disorder), disorder)
    flags = osd_fullness(c)
    for flag, code in (("full", "OSD_FULL"), ("backfillfull", "OSD_BACKFILLFULL"), ("nearfull", "OSD_NEARFULL")):
        ids = sorted(i for i, f in flags.items() if f == flag)
        if ids:
            _add(out, code, len(ids), [CHECKS[code].detail.format(id=i) for i in ids])
    rank = {"nearfull": 1, "backfillfull": 2, "full": 3}
    pools: dict[str, list[str]] = {}
    quota: set[str] = set()
    for pool in c.pools.values():
        osds = {o for ps in range(pool.pg_num) for o in c.pgmap.pgs[(pool.id, ps)].acting}
        worst_flag = max((flags[o] for o in osds if o in flags), key=rank.__getitem__, default="")
        if pool.quota_full():       # FLAG_FULL_QUOTA takes precedence (OSDMap::check_health, "running out of quota")
            worst_flag = "full"
            quota.add(pool.name)
        if worst_flag:
            pools.setdefault(worst_flag, []).append(pool.name)
        if pool.size == 1:
            pools.setdefault("noredundancy", []).append(pool.name)
    for flag, code in (("full", "POOL_FULL"), ("backfillfull", "POOL_BACKFILLFULL"), ("nearfull", "POOL_NEARFULL"),
                       ("noredundancy", "POOL_NO_REDUNDANCY")):
        if flag in pools:
            names = pools[flag]
            _add(out, code, len(names), [f"pool '{n}' is full (running out of quota)" if n in quota and flag == "full"
                                         else CHECKS[code].detail.format(name=n) for n in names])


def _pg_checks(c: CephCluster, out: dict[str, Result], now: float, digest: dict) -> None:
    """PGMap::get_health_checks on the mgr's PGs at the digest's time `now`: stuck states count once their
    reported `last_*` stamp is older than mon_pg_stuck_threshold."""
    pm = c.pgmap
    cutoff = now - c.tun.stuck_threshold
    last_of = {"active": "active", "peering": "peered", "stale": "unstale", "undersized": "fullsized"}
    found: dict[str, dict[str, int]] = {}
    messages: dict[str, dict[tuple[int, int], str]] = {}
    for key in sorted(pm.pgs):
        pg = pm.pgs[key]
        rep = digest[key]
        if rep.flags == UNKNOWN_PG:
            continue
        for state, code, stuck, word in PG_RULES:
            has = state in rep.flags
            if has == (state == "active"):     # `active` is inverted: PGs without it count
                continue
            last = c.view.last(pg, rep, last_of[state]) if stuck else now
            if stuck and last >= cutoff:
                continue
            counts = found.setdefault(code, {})
            counts[word] = counts.get(word, 0) + 1
            msgs = messages.setdefault(code, {})
            if len(msgs) > c.tun.health_max_detail:
                continue
            acting = "[" + ",".join(map(str, pg.acting)) + "]"
            name = pg_state_string(set(rep.flags))
            if stuck:
                msgs[key] = (f"pg {pg.pgid} is stuck {word} for {timespan(now - last)}, "
                             f"current state {name}, last acting {acting}")
            else:
                msgs[key] = f"pg {pg.pgid} is {name}, acting {acting}"
    order = [word for _, _, _, word in PG_RULES]
    for code, counts in found.items():
        ranked = sorted(counts.items(), key=lambda i: order.index(i[0]))
        parts = [f"{n} {'pgs' if n > 1 else 'pg'} {w}" for w, n in ranked]
        if code == "PG_DEGRADED":
            degraded, copies = degraded_totals(c, now, digest)
            if degraded and copies:
                parts.insert(0, f"{degraded}/{copies} objects degraded ({degraded / copies * 100:.3f}%)")
        _add(out, code, sum(counts.values()), [messages[code][k] for k in sorted(messages[code])],
             parts=", ".join(parts))


def degraded_totals(c: CephCluster, now: float, digest: dict | None = None) -> tuple[int, int]:
    """(degraded object copies, all object copies): the numbers of `X/Y objects degraded`, over the PGs whose
    reported state says degraded."""
    pm = c.pgmap
    if digest is None:
        now, digest = c.view.digest(now)
    degraded = sum(digest[key].degraded for key in pm.pgs if "degraded" in digest[key].flags)
    copies = sum(p.objects * p.size for p in c.pools.values())
    return degraded, copies


def _mon_checks(c: CephCluster, out: dict[str, Result], now: float) -> None:
    quorum = c.quorum()
    if c.mons and quorum and len(quorum) < len(c.mons) and now >= c.created_at + MON_DOWN_MKFS_GRACE:
        down = sorted((m for m in c.mons.values() if not m.in_quorum), key=lambda m: m.rank)
        _add(out, "MON_DOWN", len(down),
             [CHECKS["MON_DOWN"].detail.format(name=m.name, rank=m.rank, addr=m.addr) for m in down],
             total=len(c.mons), quorum=",".join(m.name for m in quorum))
    skewed = sorted((name, s, lat) for name, (s, lat) in c.skews.items()
                    if s > c.tun.clock_drift_allowed and name in c.mons and c.mons[name].in_quorum)
    if skewed:
        _add(out, "MON_CLOCK_SKEW", len(skewed),
             [CHECKS["MON_CLOCK_SKEW"].detail.format(name=n, skew=s, allowed=c.tun.clock_drift_allowed, latency=lat)
              for n, s, lat in skewed], mons=", ".join(f"mon.{n}" for n, _, _ in skewed))


def _apply_mutes(c: CephCluster, out: dict[str, Result], now: float) -> None:
    for code, mute in list(c.mutes.items()):
        r = out.get(code)
        expired = mute.until is not None and now >= mute.until
        lapsed = not mute.sticky and (r is None or r.count > mute.count)
        if expired or lapsed:
            del c.mutes[code]
        elif r is not None:
            r.muted = True
