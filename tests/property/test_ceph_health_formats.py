"""The health engine's formats and timings as properties (hypothesis), over random cluster shapes, fault sets and
Ceph options: every check's code, severity, summary and detail lines as Ceph prints them (domain.md 3.3), counts
that are the real counts, and the timings of domain.md 3.4 (heartbeat grace, reports from other hosts, the
report timeout, the stuck threshold, the down-out interval, the recovery rate).

Complements test_ceph_properties.py (worst unmuted severity, degraded percentage, undersized threshold, CRUSH)."""
from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from labsim.fakes.ceph import health as H
from labsim.fakes.ceph import report as R
from labsim.fakes.ceph.catalog import HEALTH_ERR, HEALTH_WARN
from labsim.fakes.ceph.testing import build
from labsim.fakes.ceph.tunables import GIB, Tunables

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ADDR = r"\[v2:[\d.]+:3300/0,v1:[\d.]+:6789/0\]"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


# --- OSD_DOWN, OSD_HOST_DOWN, MON_DOWN: formats, counts, and the heartbeat grace ---------------------------------
@SETTINGS
@given(st.integers(4, 7), st.integers(1, 3), st.data(), st.floats(10, 40), st.integers(0, 3))
def test_lost_hosts_are_reported_after_the_grace_in_cephs_words(hosts, per_host, data, grace, seed):
    # node1..node3 carry the mons; losing node3 (mon.c) keeps the quorum a,b
    lost = data.draw(st.sets(st.sampled_from([f"node{i}" for i in range(3, hosts + 1)]), min_size=1,
                             max_size=hosts - 3))
    c = build(hosts=hosts, osds_per_host=per_host, pools=[("rbd", 16, 64)], seed=seed,
              tunables=Tunables(heartbeat_grace=grace))
    t0 = c.clock.now()
    for h in sorted(lost):
        c.host_down(h)
    c.clock.sleep(grace - 0.5)
    assert "OSD_DOWN" not in H.evaluate(c)                      # silence is not failure before the grace
    c.clock.sleep(t0 + grace + 5.0 + 0.1 - c.clock.now())       # grace, +1..5 s until the reports reach the mon
    got = H.evaluate(c)
    down = sorted(o.id for o in c.osds.values() if o.host in lost)
    assert got["OSD_DOWN"].summary == f"{len(down)} osds down"  # Ceph does not pluralise this one
    assert got["OSD_DOWN"].detail == [f"osd.{i} (root=default,host={c.osds[i].host}) is down" for i in down]
    hd = got["OSD_HOST_DOWN"]
    assert hd.summary == f"{_plural(len(lost), 'host')} ({len(down)} osds) down"
    assert sorted(hd.detail) == sorted(f"host {h} (root=default) ({per_host} osds) is down" for h in lost)
    assert (hd.severity, got["OSD_DOWN"].severity) == (HEALTH_WARN, HEALTH_WARN)
    if "node3" in lost:
        assert got["MON_DOWN"].summary == "1/3 mons down, quorum a,b"
        assert re.fullmatch(rf"mon\.c \(rank 2\) addr {ADDR} is down \(out of quorum\)", got["MON_DOWN"].detail[0])
    else:
        assert "MON_DOWN" not in got


@SETTINGS
@given(st.integers(2, 4), st.floats(100, 1200))
def test_without_enough_reporters_an_osd_is_down_only_after_the_report_timeout(reporters, timeout):
    """mon_osd_min_down_reporters hosts must report; with fewer, the mon waits for mon_osd_report_timeout."""
    c = build(hosts=4, pools=[("rbd", 8, 16)], tunables=Tunables(min_down_reporters=reporters,
                                                                 report_timeout=timeout))
    t0 = c.clock.now()
    c.host_down("node4")
    c.clock.sleep(30)
    if reporters <= 3:                                          # three other hosts report
        assert H.evaluate(c)["OSD_DOWN"].summary == "1 osds down"
        return
    assert "OSD_DOWN" not in H.evaluate(c)
    c.clock.sleep(max(0.0, t0 + timeout - 1 - c.clock.now()))
    assert "OSD_DOWN" not in H.evaluate(c)
    c.clock.sleep(1.5)
    assert H.evaluate(c)["OSD_DOWN"].summary == "1 osds down"


# --- the down-out interval ---------------------------------------------------------------------------------------
@SETTINGS
@given(st.floats(60, 1800), st.integers(4, 6))
def test_a_down_osd_is_marked_out_after_the_down_out_interval(interval, hosts):
    c = build(hosts=hosts, pools=[("rbd", 16, 32)], tunables=Tunables(down_out_interval=interval))
    c.host_down(f"node{hosts}")
    c.clock.sleep(30)
    osd = next(o for o in c.osds.values() if o.host == f"node{hosts}")
    assert osd.down_at is not None and osd.in_
    c.clock.sleep(osd.down_at + interval - 0.5 - c.clock.now())
    assert osd.in_
    c.clock.sleep(c.tun.mon_tick + 1.0)                         # the next OSDMonitor tick marks it out
    assert not osd.in_
    marked = [(t, line) for t, line in c.log if line.startswith(f"Marking osd.{osd.id} out")]
    assert len(marked) == 1
    t, line = marked[0]
    assert line == f"Marking osd.{osd.id} out (has been down for {int(t - osd.down_at)} seconds)"
    assert interval <= t - osd.down_at < interval + c.tun.mon_tick + 1e-6


# --- PG_DEGRADED and PG_AVAILABILITY: formats and the stuck threshold ---------------------------------------------
OBJECTS = re.compile(r"(\d+)/(\d+) objects degraded \((\d+\.\d{3})%\)")
PG_DETAIL = re.compile(r"pg \d+\.[0-9a-f]+ is (?:stuck (?:undersized|inactive) for \d+(?:\.\d+)?[smhdwMy], current "
                       r"state [a-z_+]+, last acting|[a-z_+]+, acting) \[(?:\d+(?:,\d+)*)?\]")


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 64), st.integers(0, 400)), min_size=1, max_size=3), st.floats(0, 200),
       st.floats(20, 120))
def test_pg_degraded_counts_and_texts(pools, wait, stuck):
    c = build(hosts=3, pools=[(f"p{i}", n, objs) for i, (n, objs) in enumerate(pools)],
              tunables=Tunables(stuck_threshold=stuck))
    c.host_down("node2")
    c.clock.sleep(30 + wait)
    got = H.evaluate(c).get("PG_DEGRADED")
    now, digest = c.view.digest()                               # the PGs as the mgr's last digest has them
    reps = [(c.pgmap.pgs[k], r) for k, r in digest.items()]
    degraded = [pg for pg, r in reps if "degraded" in r.flags]
    undersized = [pg for pg, r in reps if "undersized" in r.flags
                  and c.view.last(pg, r, "fullsized") < now - stuck]
    if not degraded and not undersized:
        assert got is None
        return
    assert got.summary.startswith("Degraded data redundancy: ")
    parts = got.summary.removeprefix("Degraded data redundancy: ").split(", ")
    copies = sum(p.objects * p.size for p in c.pools.values())
    objs = OBJECTS.fullmatch(parts[0])
    if objs:
        parts.pop(0)
        assert int(objs.group(2)) == copies and 0 < int(objs.group(1)) <= copies
        assert objs.group(3) == f"{int(objs.group(1)) / copies * 100:.3f}"
    want = [f"{len(pgs_)} {'pgs' if len(pgs_) > 1 else 'pg'} {word}"
            for pgs_, word in ((degraded, "degraded"), (undersized, "undersized")) if pgs_]
    assert parts == want
    assert got.count == len(degraded) + len(undersized)
    assert all(PG_DETAIL.fullmatch(d) for d in got.detail), got.detail[:3]
    assert len(got.detail) <= c.tun.health_max_detail + 1


@SETTINGS
@given(st.sampled_from([("osd.0", "osd.1"), ("osd.0", "osd.2"), ("osd.1", "osd.2")]), st.floats(0, 150),
       st.floats(20, 120))
def test_pgs_below_min_size_are_inactive_only_once_stuck(stopped, wait, stuck):
    """A PG counts as stuck inactive once its reported last_active is older than the threshold: the moment it
    went inactive where its primary survived, its last activation where a replica took over from a dead primary
    (the replica only knows what it learnt then): such PGs can be stuck the moment they go inactive."""
    c = build(hosts=3, pools=[("rbd", 16, 48)], tunables=Tunables(stuck_threshold=stuck))
    primaries = {k: pg.primary for k, pg in c.pgmap.pgs.items()}
    for d in stopped:
        c.set_enabled(d, False)                                 # pods scaled to zero: they mark themselves down
    c.clock.sleep(3)
    t_down = max(c.osds[int(d[4:])].down_at for d in stopped)   # the PGs stop being active here
    c.clock.sleep(wait)
    got = H.evaluate(c).get("PG_AVAILABILITY")
    now, digest = c.view.digest()
    stuck_pgs = [k for k, r in digest.items() if "active" not in r.flags
                 and c.view.last(c.pgmap.pgs[k], r, "active") < now - stuck]
    survived = [k for k in stuck_pgs if f"osd.{primaries[k]}" not in stopped]
    assert not survived or now - t_down > stuck - 0.01          # a surviving primary counts from the loss
    if not stuck_pgs:
        assert got is None or "inactive" not in got.summary
    else:
        assert f"{len(stuck_pgs)} pg{'s' if len(stuck_pgs) > 1 else ''} inactive" in got.summary
        assert got.summary.startswith("Reduced data availability: ") and got.severity == HEALTH_WARN
        assert all(PG_DETAIL.fullmatch(d) for d in got.detail), got.detail[:2]
    if now - t_down > stuck + 0.01:
        assert len(stuck_pgs) == 16


# --- monitors: clock skew ------------------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.floats(-0.3, 0.3), min_size=3, max_size=3), st.floats(0.02, 0.25))
def test_clock_skew_names_every_mon_past_the_allowed_drift(offsets, allowed):
    c = build(hosts=3, pools=[("rbd", 8, 8)], tunables=Tunables(clock_drift_allowed=allowed))
    for i, off in enumerate(offsets):
        c.set_clock_offset(f"node{i + 1}", off)
    c.clock.sleep(c.tun.timecheck_interval + 1)
    skew = {m: round(abs(offsets[i] - offsets[0]), 6) for i, m in enumerate("abc")}   # mon.a leads
    want = [m for m in "abc" if skew[m] > allowed]
    assume(all(abs(skew[m] - allowed) > 1e-6 for m in "abc"))
    got = H.evaluate(c).get("MON_CLOCK_SKEW")
    if not want:
        assert got is None
        return
    assert got.summary == "clock skew detected on " + ", ".join(f"mon.{m}" for m in want)
    assert len(got.detail) == len(want)
    for m, line in zip(want, got.detail):
        assert re.fullmatch(rf"mon\.{m} clock skew {skew[m]:g}s > max {allowed:g}s \(latency 0\.\d+s\)", line), line


# --- mgrs -----------------------------------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(1, 3), st.data())
def test_mgr_down_only_when_no_mgr_is_left_after_the_beacon_grace(mgrs, data):
    stop = data.draw(st.sets(st.sampled_from("abc"[:mgrs])))
    c = build(hosts=3, mgrs=mgrs, pools=[("rbd", 8, 8)])
    for m in sorted(stop):
        c.set_enabled(f"mgr.{m}", False)
    c.clock.sleep(c.tun.mgr_beacon_grace + 1)
    c.clock.sleep(max(0.0, c.created_at + H.MGR_MKFS_GRACE - c.clock.now()))   # past the new cluster's grace
    got = H.evaluate(c).get("MGR_DOWN")
    if len(stop) == mgrs:
        assert (got.summary, got.detail, got.severity) == ("no active mgr", [], HEALTH_WARN)
        assert R.status_doc(c)["mgrmap"]["available"] is False
    else:
        assert got is None and c.active_mgr not in stop


# --- counts of OSDs and replicas ----------------------------------------------------------------------------------
@SETTINGS
@given(st.integers(1, 5), st.lists(st.integers(1, 3), min_size=1, max_size=4), st.integers(1, 4))
def test_too_few_osds_and_pools_without_replicas(hosts, sizes, default_size):
    c = build(hosts=hosts, mons=1, mgrs=1, pools=[], tunables=Tunables(pool_default_size=default_size))
    for i, size in enumerate(sizes):
        c.add_pool(f"pool{i}", size=size, pg_num=4)
    c.clock.sleep(10)
    got = H.evaluate(c)
    if hosts < default_size:
        assert got["TOO_FEW_OSDS"].summary == f"OSD count {hosts} < osd_pool_default_size {default_size}"
    else:
        assert "TOO_FEW_OSDS" not in got
    bare = [f"pool{i}" for i, s in enumerate(sizes) if s == 1]
    if bare:
        r = got["POOL_NO_REDUNDANCY"]
        assert r.summary == f"{len(bare)} pool(s) have no replicas configured"
        assert r.detail == [f"pool '{p}' has no replicas configured" for p in bare]
    else:
        assert "POOL_NO_REDUNDANCY" not in got


# --- capacity: nearfull, backfillfull, full ---------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.floats(0.0, 1.2), min_size=1, max_size=3), st.floats(0.6, 0.8), st.floats(0.02, 0.08),
       st.floats(0.02, 0.08))
def test_each_osd_is_flagged_by_the_highest_ratio_it_crossed(fills, nearfull, step1, step2):
    tun = Tunables(nearfull_ratio=nearfull, backfillfull_ratio=nearfull + step1,
                   full_ratio=nearfull + step1 + step2)
    c = build(hosts=3, pools=[("rbd", 32, 0)], osd_size=10 * GIB, tunables=tun)
    for f in fills:
        c.write("rbd", int(f * 10 * GIB / 3))
    got = H.evaluate(c)
    want: dict[str, list[int]] = {"OSD_FULL": [], "OSD_BACKFILLFULL": [], "OSD_NEARFULL": []}
    for o in sorted(c.osds):
        r = c.osd_ratio(o)
        code = "OSD_FULL" if r >= tun.full_ratio else "OSD_BACKFILLFULL" if r >= tun.backfillfull_ratio else \
            "OSD_NEARFULL" if r >= tun.nearfull_ratio else None
        if code:
            want[code].append(o)
    words = {"OSD_FULL": ("full", "is full"), "OSD_BACKFILLFULL": ("backfillfull", "is backfill full"),
             "OSD_NEARFULL": ("nearfull", "is near full")}
    for code, ids in want.items():
        if not ids:
            assert code not in got
            continue
        assert got[code].summary == f"{len(ids)} {words[code][0]} osd(s)"
        assert got[code].detail == [f"osd.{i} {words[code][1]}" for i in ids]
        assert got[code].severity == (HEALTH_ERR if code == "OSD_FULL" else HEALTH_WARN)
    assert H.overall(got) == (HEALTH_ERR if want["OSD_FULL"] else HEALTH_WARN if any(want.values()) else "HEALTH_OK")
    assert all(c.osd_ratio(o) < tun.full_ratio + 0.01 for o in c.osds)   # writes stop at the full ratio


# --- crashes ------------------------------------------------------------------------------------------------------
@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0, 3 * 86400)), min_size=1, max_size=5),
       st.floats(86400, 14 * 86400))
def test_recent_crash_counts_unarchived_crashes_inside_the_window(crashes, window):
    """Crashes count once ceph-crash has posted them (its scan) and the mgr's digest carries them."""
    c = build(hosts=3, pools=[("rbd", 8, 8)], tunables=Tunables(crash_recent=window, crash_scan=60))
    made = []
    for osd, later in crashes:
        made.append(c.crash(f"osd.{osd}", host=f"rook-ceph-osd-{osd}-5d8f9c7b6-abcde"))
        c.clock.sleep(later)
    td = c.view.digest_time(c.clock.now())
    recent = [x for x in made if x.posted_at is not None and x.posted_at <= td and td - x.when < window]
    assert all(x.posted_at is None or 0 <= x.posted_at - x.when <= 60 for x in made)
    got = H.evaluate(c).get("RECENT_CRASH")
    if not recent:
        assert got is None
    else:
        assert got.summary == f"{len(recent)} daemons have recently crashed"
        assert got.detail == [f"{x.entity} crashed on host {x.host} at {x.crash_id.split('_')[0]}" for x in recent]
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z_[0-9a-f-]{36}", x.crash_id) for x in made)
    pending = [x for x in made if x.posted_at is None]          # still on the node: archive-all cannot see them
    c.archive_crashes()
    c.clock.sleep(c.tun.mgr_stats_period)                       # the archive reaches the mons with the next digest
    td = c.view.digest_time(c.clock.now())
    late = [x for x in pending if x.posted_at is not None and x.posted_at <= td and td - x.when < window]
    got = H.evaluate(c).get("RECENT_CRASH")
    assert (got.count if got else 0) == len(late)


# --- recovery rate --------------------------------------------------------------------------------------------------
@SETTINGS
@given(st.floats(5, 200), st.integers(8, 32), st.integers(1, 40))
def test_recovery_takes_what_the_rate_allows(rate, pg_num, per_pg):
    """A returning OSD recovers the objects written while it was away (its PG logs name them); with
    osd_max_backfills 1 its PGs recover one after the other at the configured rate, `ceph status` shows that rate
    while they do, and HEALTH_OK follows within the reports' lag (an OSD's report and the mgr's digest)."""
    c = build(hosts=3, pools=[("rbd", pg_num, pg_num)], tunables=Tunables(recovery_objects_per_sec=rate))
    c.host_down("node2")
    c.clock.sleep(60)
    c.write("rbd", pg_num * per_pg * 4 * 1024 ** 2)            # per_pg objects per PG that node2 misses
    c.host_up("node2")
    t0 = c.clock.now()
    need = sum(pg.behind.get(1, 0) for pg in c.pgmap.pgs.values())
    assert need == pg_num * per_pg
    seen_rate = 0
    while H.overall(H.evaluate(c)) != "HEALTH_OK" and c.clock.now() - t0 < need / rate + 600:
        seen_rate = max(seen_rate, R.pgmap_doc(c).get("recovering_objects_per_sec", 0))
        c.clock.sleep(0.25)
    took = c.clock.now() - t0
    start = c.tun.osd_boot + c.tun.peering_join                 # the OSD boots, its PGs peer, then recover
    lag = 2 * c.tun.mgr_stats_period
    assert start + need / rate - 0.01 <= took <= start + need / rate + lag + 0.5, (need, rate, took)
    assert seen_rate == int(rate)
