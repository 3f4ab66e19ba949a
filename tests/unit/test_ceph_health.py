"""The Ceph health engine: every check's code, severity and texts as Ceph prints them, and the timings behind
them (detection, stuck threshold, down-out, recovery), on a cluster built without Kubernetes."""
from __future__ import annotations

import json
import re

import pytest

from labsim.fakes.ceph import cli
from labsim.fakes.ceph import health as H
from labsim.fakes.ceph.catalog import pg_state_string
from labsim.fakes.ceph.testing import build
from labsim.fakes.ceph.tunables import GIB
from labsim.fakes.ceph.units import byte_u, si_u, timespan


def checks(c) -> dict[str, H.Result]:
    return H.evaluate(c)


def summaries(c) -> dict[str, str]:
    return {k: r.summary for k, r in checks(c).items()}


@pytest.fixture
def c():
    return build(hosts=3, pools=[("rbd", 32, 320)])


def test_a_settled_cluster_is_healthy(c):
    assert checks(c) == {}
    rc, out, _ = cli.run(c, ["ceph", "health"])
    assert (rc, out) == (0, "HEALTH_OK\n")


def test_a_powered_off_host_is_reported_after_the_heartbeat_grace(c):
    t0 = c.clock.now()
    c.host_down("node2")
    c.clock.sleep(19)
    assert "OSD_DOWN" not in checks(c)
    c.clock.sleep(9)                                    # 20 s grace: the mons mark it down within ~25 s
    got = checks(c)
    assert got["OSD_DOWN"].summary == "1 osds down" and "PG_DEGRADED" not in got   # the PGs' report lags
    c.clock.sleep(12)                                   # peering, the OSDs' report, the mgr's digest
    got = checks(c)
    assert got["OSD_DOWN"].summary == "1 osds down"
    assert got["OSD_DOWN"].detail == ["osd.1 (root=default,host=node2) is down"]
    assert got["OSD_HOST_DOWN"].summary == "1 host (1 osds) down"
    assert got["OSD_HOST_DOWN"].detail == ["host node2 (root=default) (1 osds) is down"]
    assert got["MON_DOWN"].summary == "1/3 mons down, quorum a,c"
    assert got["MON_DOWN"].detail[0].startswith("mon.b (rank 1) addr [v2:192.168.15.22:3300/0,")
    assert got["MON_DOWN"].detail[0].endswith(" is down (out of quorum)")
    assert got["PG_DEGRADED"].summary == "Degraded data redundancy: 320/960 objects degraded (33.333%), 32 pgs degraded"
    assert all(d.endswith("]") and " is active+undersized+degraded, acting [" in d for d in got["PG_DEGRADED"].detail)
    assert c.clock.now() - t0 <= 40


def test_undersized_is_counted_only_once_stuck_for_the_threshold(c):
    """last_fullsized is the publish at the interval change (the OSD's mark down); the mgr's digest, every 5 s,
    shows the PG stuck once that is more than 60 s old."""
    c.host_down("node3")
    c.clock.sleep(40)
    down_at = c.osds[2].down_at
    assert "pgs undersized" not in checks(c)["PG_DEGRADED"].summary
    c.clock.sleep(down_at + 60 - c.clock.now() - 0.1)
    assert "pgs undersized" not in checks(c)["PG_DEGRADED"].summary
    c.clock.sleep(6)
    r = checks(c)["PG_DEGRADED"]
    assert r.summary.endswith(", 32 pgs degraded, 32 pgs undersized")
    assert r.detail[0].startswith("pg 1.0 is stuck undersized for 6")
    assert ", current state active+undersized+degraded, last acting [" in r.detail[0]


def test_down_out_on_three_hosts_leaves_nowhere_to_backfill(c):
    c.host_down("node1")
    c.clock.sleep(30 + 600 + 10)
    osd = c.osds[0]
    assert not osd.up and not osd.in_
    assert any("Marking osd.0 out (has been down for 6" in line for _, line in c.log)
    got = checks(c)
    assert "OSD_DOWN" not in got and "OSD_HOST_DOWN" not in got     # an out OSD is no longer "down and in"
    assert {c.pgmap.state_name(pg) for pg in c.pgmap.pgs.values()} == {"active+undersized+degraded"}
    tree = json.loads(cli.run(c, ["ceph", "osd", "tree", "-f", "json"])[1])
    node = next(n for n in tree["nodes"] if n.get("name") == "osd.0")
    assert (node["status"], node["reweight"]) == ("down", 0.0)


def test_the_last_three_quarters_are_never_marked_out():
    c = build(hosts=3, pools=[("rbd", 8, 8)])
    c.set_enabled("osd.0", False)
    c.set_enabled("osd.1", False)
    c.clock.sleep(2000)
    assert [o.in_ for o in c.osds.values()] == [False, True, True]   # mon_osd_min_in_ratio 0.75


def test_without_a_mon_quorum_nothing_is_marked_down():
    c = build(hosts=3, pools=[("rbd", 8, 8)])
    c.host_down("node1")
    c.host_down("node2")                                # mons a and b with them
    c.clock.sleep(2000)
    assert not c.has_quorum() and all(o.up for o in c.osds.values())


def test_a_returning_host_recovers_through_recovery_wait_to_clean(c):
    c.host_down("node2")
    c.clock.sleep(60)
    c.write("rbd", 64 * 4 * 1024 ** 2)                  # writes it misses: its PG logs name them
    c.clock.sleep(60)
    c.host_up("node2")
    seen: set[str] = set()
    for _ in range(60):
        c.clock.sleep(1)
        seen |= {c.pgmap.state_name(pg) for pg in c.pgmap.pgs.values()}
        if H.overall(checks(c)) == "HEALTH_OK":
            break
    assert H.overall(checks(c)) == "HEALTH_OK"
    assert {"active+recovery_wait+degraded", "active+recovering+degraded"} <= seen
    assert {pg.state for pg in c.pgmap.pgs.values()} == {frozenset({"active", "clean"})}


def test_a_returning_osd_that_missed_no_write_needs_no_recovery(c):
    """Log-based recovery: an OSD down while nothing was written is up to date when it returns."""
    c.host_down("node2")
    c.clock.sleep(120)
    c.host_up("node2")
    seen: set[str] = set()
    for _ in range(30):
        c.clock.sleep(1)
        seen |= {c.pgmap.state_name(pg) for pg in c.pgmap.pgs.values()}
    assert not any("recover" in s for s in seen)
    assert H.overall(checks(c)) == "HEALTH_OK"


def test_two_of_three_hosts_losing_their_osds_makes_pgs_inactive(c):
    for osd in ("osd.0", "osd.2"):
        c.set_enabled(osd, False)                       # pods scaled to zero: the OSDs mark themselves down
    c.clock.sleep(5)
    got = checks(c)
    assert got["OSD_DOWN"].summary == "2 osds down"
    assert got["OSD_HOST_DOWN"].summary == "2 hosts (2 osds) down"
    assert "PG_AVAILABILITY" not in got                 # inactive counts only once stuck
    c.clock.sleep(60)
    got = checks(c)
    assert got["PG_AVAILABILITY"].summary == "Reduced data availability: 32 pgs inactive"
    assert {c.pgmap.state_name(pg) for pg in c.pgmap.pgs.values()} == {"undersized+degraded+peered"}


def test_a_killed_osd_is_seen_within_a_second(c):
    c.set_enabled("osd.1", False, how="killed")
    c.clock.sleep(0.3)
    assert "OSD_DOWN" not in checks(c)
    c.clock.sleep(0.7)
    assert checks(c)["OSD_DOWN"].summary == "1 osds down"
    assert any(line == "osd.1 failed (root=default,host=node2) (connection refused reported by osd.0)"
               for _, line in c.log)


@pytest.mark.parametrize("hosts", [1, 2])
def test_a_killed_osd_is_seen_within_a_second_whatever_the_number_of_hosts(hosts):
    """Connection refused is an immediate failure report (OSDMonitor::prepare_failure): one reporter, from any
    host, suffices; the 2-host reporter rule is for silent failures."""
    names = [f"node{i + 1}" for i in range(hosts)]
    c = build(names=names, osds_per_host=3 // hosts + 1, mons=1, mgrs=1, failure_domain="osd",
              pools=[("rbd", 8, 8)])
    c.set_enabled("osd.0", False, how="killed")
    c.clock.sleep(1)
    assert checks(c)["OSD_DOWN"].summary == "1 osds down"


def test_two_osds_killed_together_are_both_seen_at_once():
    c = build(names=["node1"], osds_per_host=3, mons=1, mgrs=1, failure_domain="osd", pools=[("rbd", 8, 8)])
    c.set_enabled("osd.0", False, how="killed")
    c.set_enabled("osd.2", False, how="killed")
    c.clock.sleep(1)
    assert checks(c)["OSD_DOWN"].summary == "2 osds down"


def test_a_killed_osd_with_no_peer_left_waits_for_the_report_timeout():
    c = build(names=["node1"], osds_per_host=1, mons=1, mgrs=1, size=1, failure_domain="osd",
              pools=[("rbd", 8, 8)])
    c.set_enabled("osd.0", False, how="killed")
    c.clock.sleep(899)
    assert "OSD_DOWN" not in checks(c)
    c.clock.sleep(2)
    assert checks(c)["OSD_DOWN"].summary == "1 osds down"
    assert c.log[-1][1] == "osd.0 marked down after no beacon for 900 seconds"


def test_a_graceful_stop_marks_itself_down_and_dead(c):
    c.set_enabled("osd.2", False)
    c.clock.sleep(0.1)
    assert not c.osds[2].up and c.log[-1][1] == "osd.2 marked itself down and dead"


def test_a_single_pg_is_not_pluralised():
    c = build(hosts=3, pools=[("one", 1, 3)])
    c.host_down("node1")
    c.clock.sleep(100)
    assert checks(c)["PG_DEGRADED"].summary == ("Degraded data redundancy: 3/9 objects degraded (33.333%), "
                                                "1 pg degraded, 1 pg undersized")


def test_too_few_osds_and_no_redundancy():
    c = build(hosts=2, size=1, pools=[("scratch", 8, 0)])
    got = summaries(c)
    assert got["TOO_FEW_OSDS"] == "OSD count 2 < osd_pool_default_size 3"
    assert got["POOL_NO_REDUNDANCY"] == "1 pool(s) have no replicas configured"
    assert checks(c)["POOL_NO_REDUNDANCY"].detail == ["pool 'scratch' has no replicas configured"]


def test_fill_levels_cross_nearfull_backfillfull_and_full():
    c = build(hosts=3, pools=[("rbd", 32, 0)], osd_size=10 * GIB)
    c.write("rbd", int(8.7 * GIB))
    assert set(summaries(c)) == {"OSD_NEARFULL", "POOL_NEARFULL"}
    assert summaries(c)["OSD_NEARFULL"] == "3 nearfull osd(s)"
    assert checks(c)["OSD_NEARFULL"].detail == [f"osd.{i} is near full" for i in range(3)]
    c.write("rbd", int(0.4 * GIB))
    assert summaries(c)["OSD_BACKFILLFULL"] == "3 backfillfull osd(s)"
    assert checks(c)["POOL_BACKFILLFULL"].detail == ["pool 'rbd' is backfillfull"]
    written = c.write("rbd", 5 * GIB)
    assert written < 5 * GIB                            # writes stop at the full ratio
    got = checks(c)
    assert (got["OSD_FULL"].summary, got["OSD_FULL"].severity) == ("3 full osd(s)", "HEALTH_ERR")
    assert got["POOL_FULL"].detail == ["pool 'rbd' is full (no space)"]
    assert H.overall(got) == "HEALTH_ERR"
    assert c.write("rbd", GIB) == 0


def test_a_pool_quota_stops_writes_and_fills_the_pool_not_the_osds():
    """`ceph osd pool set-quota`: OSDMonitor's reply, writes stop at the quota, and POOL_FULL (HEALTH_WARN) says
    "running out of quota" (src/mon/OSDMonitor.cc "osd pool set-quota"; src/osd/OSDMap.cc check_health)."""
    c = build(hosts=3, pools=[("rbd", 32, 0)], osd_size=10 * GIB)
    c.write("rbd", GIB)
    assert cli.run(c, ["ceph", "osd", "pool", "set-quota", "rbd", "max_bytes", "1G"]) == \
        (0, "", f"set-quota max_bytes = {GIB} for pool rbd\n")
    assert c.write("rbd", GIB) == 0
    got = checks(c)
    assert (got["POOL_FULL"].summary, got["POOL_FULL"].severity) == ("1 pool(s) full", "HEALTH_WARN")
    assert got["POOL_FULL"].detail == ["pool 'rbd' is full (running out of quota)"]
    assert "OSD_FULL" not in got and H.overall(got) == "HEALTH_WARN"
    assert cli.run(c, ["ceph", "osd", "pool", "set-quota", "rbd", "max_bytes", "0"])[0] == 0
    assert "POOL_FULL" not in checks(c) and c.write("rbd", GIB) == GIB
    assert cli.run(c, ["ceph", "osd", "pool", "set-quota", "nope", "max_bytes", "1"]) == \
        (2, "", "Error ENOENT: unrecognized pool 'nope'\n")
    assert cli.run(c, ["ceph", "osd", "pool", "set-quota", "rbd", "max_size", "1"])[2] == \
        "Error EINVAL: unrecognized field 'max_size'; should be 'max_bytes' or 'max_objects'\n"
    assert cli.run(c, ["ceph", "osd", "pool", "set-quota", "rbd", "max_bytes", "10Q"])[2] == \
        "Error EINVAL: error parsing value '10Q': strict_iecstrtoll: unit prefix not recognized\n"


def test_a_pool_renamed_is_known_by_its_new_name_only():
    """`ceph osd pool rename` (src/mon/OSDMonitor.cc "osd pool rename"): the answers, on stderr."""
    c = build(hosts=3, pools=[("rbd", 8, 8), ("other", 8, 8)], settle=30)
    assert cli.run(c, ["ceph", "osd", "pool", "rename", "rbd", "rbd-old"]) == (0, "", "pool 'rbd' renamed to 'rbd-old'\n")
    assert cli.run(c, ["ceph", "osd", "pool", "ls"])[1] == "rbd-old\nother\n"
    assert cli.run(c, ["ceph", "osd", "pool", "rename", "rbd", "rbd-old"]) == \
        (0, "", "pool 'rbd' does not exist; pool 'rbd-old' does -- assuming successful rename\n")
    assert cli.run(c, ["ceph", "osd", "pool", "rename", "nope", "x"]) == (2, "", "Error ENOENT: unrecognized pool 'nope'\n")
    assert cli.run(c, ["ceph", "osd", "pool", "rename", "other", "rbd-old"]) == \
        (17, "", "Error EEXIST: pool 'rbd-old' already exists\n")


def test_clock_skew_is_found_by_the_next_timecheck(c):
    c.set_clock_offset("node3", 0.143182)
    assert "MON_CLOCK_SKEW" not in checks(c)
    c.clock.sleep(300)
    r = checks(c)["MON_CLOCK_SKEW"]
    assert r.summary == "clock skew detected on mon.c"
    assert r.detail[0].startswith("mon.c clock skew 0.143182s > max 0.05s (latency 0.000")


def test_mgr_failover_and_mgr_down():
    c = build(hosts=3, pools=[("rbd", 8, 8)])
    assert c.active_mgr == "a"
    c.set_enabled("mgr.a", False)
    c.clock.sleep(29)
    assert c.active_mgr == "a"
    c.clock.sleep(2)
    assert c.active_mgr == "b" and "MGR_DOWN" not in checks(c)
    c.set_enabled("mgr.b", False)
    c.clock.sleep(31)
    assert checks(c)["MGR_DOWN"].summary == "no active mgr"


def test_recent_crash_lasts_until_archived(c):
    crash = c.crash("osd.0", host="rook-ceph-osd-0-6b9f7c4d8-x2k4z")
    scan = c.collector.started + 600                    # ceph-crash posts it on its next scan (every 10 min)
    c.clock.sleep(scan - c.clock.now() - 1)
    assert "RECENT_CRASH" not in checks(c) and cli.run(c, ["ceph", "crash", "ls"])[1] == ""
    c.clock.sleep(7)                                    # the scan, then the mgr's next digest
    r = checks(c)["RECENT_CRASH"]
    assert r.summary == "1 daemons have recently crashed"
    assert r.detail == [f"osd.0 crashed on host rook-ceph-osd-0-6b9f7c4d8-x2k4z at {crash.crash_id.split('_')[0]}"]
    rc, out, _ = cli.run(c, ["ceph", "crash", "ls"])
    assert rc == 0 and crash.crash_id in out and out.rstrip().endswith("*")
    doc = json.loads(cli.run(c, ["ceph", "crash", "ls", "-f", "json"])[1])
    assert set(doc[0]) == {"backtrace", "ceph_version", "crash_id", "entity_name", "os_id", "os_name", "os_version",
                           "os_version_id", "process_name", "stack_sig", "timestamp", "utsname_hostname",
                           "utsname_machine", "utsname_release", "utsname_sysname", "utsname_version"}
    assert doc[0]["ceph_version"] == "19.2.3" and doc[0]["process_name"] == "ceph-osd"
    assert cli.run(c, ["ceph", "crash", "archive-all"])[0] == 0
    doc = json.loads(cli.run(c, ["ceph", "crash", "ls", "-f", "json"])[1])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", doc[0]["archived"])
    assert cli.run(c, ["ceph", "crash", "ls-new"])[1] == ""
    c.clock.sleep(6)
    assert "RECENT_CRASH" not in checks(c)


def test_a_muted_check_leaves_the_status_and_lapses_when_it_grows(c):
    c.host_down("node1")
    c.clock.sleep(30)
    assert cli.run(c, ["ceph", "health", "mute", "OSD_DOWN", "10m"])[0] == 0
    doc = json.loads(cli.run(c, ["ceph", "health", "detail", "-f", "json"])[1])
    assert doc["checks"]["OSD_DOWN"]["muted"] is True
    assert doc["mutes"][0]["code"] == "OSD_DOWN" and doc["mutes"][0]["count"] == 1
    text = cli.run(c, ["ceph", "health", "detail"])[1]
    assert "(MUTED) [WRN] OSD_DOWN: 1 osds down" in text and "(muted: OSD_DOWN)" in text.splitlines()[0]
    c.set_enabled("osd.1", False)                       # the count grows: a non-sticky mute lapses
    c.clock.sleep(5)
    assert not checks(c)["OSD_DOWN"].muted and "OSD_DOWN" not in c.mutes


def test_a_mute_with_ttl_expires():
    c = build(hosts=3, pools=[("rbd", 8, 8)])
    c.set_clock_offset("node3", 1.0)
    c.clock.sleep(300)
    cli.run(c, ["ceph", "health", "mute", "MON_CLOCK_SKEW", "1h", "--sticky"])
    assert H.overall(checks(c)) == "HEALTH_OK"
    c.clock.sleep(3601)
    assert H.overall(checks(c)) == "HEALTH_WARN"


def test_without_quorum_the_client_times_out(c):
    c.host_down("node1")
    c.host_down("node2")
    c.clock.sleep(60)
    t0 = c.clock.now()
    rc, out, err = cli.run(c, ["ceph", "status"])
    assert rc == 1 and out == ""
    assert err.endswith("[errno 110] RADOS timed out (error connecting to the cluster)\n")
    assert "monclient(hunting): authenticate timed out after 300" in err
    assert c.clock.now() - t0 == pytest.approx(300)
    assert cli.run(c, ["ceph", "--connect-timeout", "15", "health"])[0] == 1


def test_plain_text_layouts(c):
    c.host_down("node2")
    c.clock.sleep(100)
    status = cli.run(c, ["ceph", "-s"])[1]
    assert "    health: HEALTH_WARN\n            1/3 mons down, quorum a,c\n            1 osds down\n" in status
    assert "    mon: 3 daemons, quorum a,c (age " in status and "), out of quorum: b\n" in status
    assert "    osd: 3 osds: 2 up (since " in status and "3 in (since " in status
    assert "    pgs:     320/960 objects degraded (33.333%)\n             32 active+undersized+degraded\n" in status
    detail = cli.run(c, ["ceph", "health", "detail"])[1].splitlines()
    assert detail[0].startswith("HEALTH_WARN 1/3 mons down, quorum a,c; 1 osds down; 1 host (1 osds) down; ")
    assert "[WRN] OSD_DOWN: 1 osds down" in detail and "    osd.1 (root=default,host=node2) is down" in detail
    tree = cli.run(c, ["ceph", "osd", "tree"])[1].splitlines()
    assert tree[0] == "ID  CLASS  WEIGHT   TYPE NAME       STATUS  REWEIGHT  PRI-AFF"
    assert tree[1] == "-1         0.37500  root default                             "   # TextTable pads every cell
    assert tree[4].rstrip() == "-5         0.12500      host node2" and len(tree[4]) == len(tree[0])
    assert tree[5] == " 1    hdd  0.12500          osd.1     down   1.00000  1.00000"
    stat = cli.run(c, ["ceph", "pg", "stat"])[1]
    assert stat.startswith("32 pgs: 32 active+undersized+degraded; 1.2 GiB data, ")
    assert stat.rstrip().endswith("; 320/960 objects degraded (33.333%)")
    df = cli.run(c, ["ceph", "df"])[1].splitlines()
    assert df[0] == "--- RAW STORAGE ---" and df[1].split() == ["CLASS", "SIZE", "AVAIL", "USED", "RAW", "USED",
                                                               "%RAW", "USED"]
    assert df[df.index("--- POOLS ---") - 1] == " "      # the sections are apart by a line holding one space
    osd_df = cli.run(c, ["ceph", "osd", "df"])[1].splitlines()
    assert osd_df[0].startswith("ID  CLASS  WEIGHT   REWEIGHT  SIZE")
    assert osd_df[-1].startswith("MIN/MAX VAR: ")


def test_json_documents_have_cephs_fields(c):
    doc = json.loads(cli.run(c, ["ceph", "status", "-f", "json"])[1])
    assert doc["health"] == {"status": "HEALTH_OK", "checks": {}, "mutes": []}
    assert doc["quorum_names"] == ["a", "b", "c"] and doc["monmap"]["num_mons"] == 3
    assert {k: doc["osdmap"][k] for k in ("num_osds", "num_up_osds", "num_in_osds")} == \
        {"num_osds": 3, "num_up_osds": 3, "num_in_osds": 3}
    assert doc["pgmap"]["pgs_by_state"] == [{"state_name": "active+clean", "count": 32}]
    assert doc["mgrmap"]["available"] is True
    stat = json.loads(cli.run(c, ["ceph", "pg", "stat", "-f", "json"])[1])
    assert stat["pg_summary"]["num_pg_by_state"] == [{"name": "active+clean", "num": 32}]


def test_unknown_commands_and_formats():
    c = build(hosts=3, pools=[("rbd", 8, 8)], settle=30)
    rc, _, err = cli.run(c, ["ceph", "osd", "frobnicate"])
    assert rc == 22 and err.startswith("no valid command found; 10 closest matches:\nosd tree\n")
    assert err.endswith("Error EINVAL: invalid command\n")
    assert cli.run(c, ["ceph", "status", "-f", "yaml"])[0] == 22
    assert cli.run(c, ["ceph", "--version"])[1].startswith("ceph version 19.2.3 (c92aebb2")


@pytest.mark.parametrize("n,text", [(0, "0 B"), (19, "19 B"), (459280, "449 KiB"), (1363148, "1.3 MiB"),
                                    (85983232, "82 MiB"), (300 * GIB, "300 GiB"), (int(2.99 * 1024 * GIB), "3.0 TiB")])
def test_byte_units(n, text):
    assert byte_u(n) == text


@pytest.mark.parametrize("s,text", [(1.5, "1.5s"), (61, "61s"), (119, "119s"), (120, "2m"), (2640, "44m"),
                                    (7200, "2h"), (3 * 86400, "3d"), (30 * 86400, "4w")])
def test_timespans(s, text):
    assert timespan(s) == text


def test_pg_state_strings_print_in_cephs_order():
    assert pg_state_string({"degraded", "undersized", "active"}) == "active+undersized+degraded"
    assert pg_state_string({"peered", "degraded", "undersized"}) == "undersized+degraded+peered"
    assert pg_state_string({"backfill_wait", "remapped", "active", "undersized", "degraded"}) == \
        "active+undersized+degraded+remapped+backfill_wait"
    assert pg_state_string({"stale", "active", "clean"}) == "stale+active+clean"
    assert pg_state_string(set()) == "unknown"


def test_status_of_a_cluster_without_osds_reads_like_a_rook_toolbox():
    """A fresh Rook cluster before its OSDs, as a toolbox printed it (Squid; sections apart by a line holding
    one space, "0 osds: 0 up, 0 in" without "since", an empty `pgs:`)."""
    c = build(hosts=3, osds_per_host=0, pools=[], settle=150)
    out = cli.run(c, ["ceph", "status"])[1]
    assert out == (f"  cluster:\n    id:     {c.fsid}\n    health: HEALTH_WARN\n"
                   "            OSD count 0 < osd_pool_default_size 3\n"
                   " \n  services:\n    mon: 3 daemons, quorum a,b,c (age 2m)\n"
                   "    mgr: a(active, since 2m), standbys: b\n    osd: 0 osds: 0 up, 0 in\n"
                   " \n  data:\n    pools:   0 pools, 0 pgs\n    objects: 0 objects, 0 B\n"
                   "    usage:   0 B used, 0 B / 0 B avail\n    pgs:     \n \n")


def test_recovery_reads_like_ceph_status_and_pg_stat():
    c = build(hosts=3, pools=[("rbd", 32, 3200)])
    c.host_down("node2")
    c.clock.sleep(100)
    c.write("rbd", 3200 * 4 * 1024 ** 2)               # as many objects again while it is away: it must recover them
    c.host_up("node2")
    c.clock.sleep(24)                                   # booted, peered, reported: the first PG recovering
    status = cli.run(c, ["ceph", "status"])[1]
    assert "    objects: 6.40k objects, 25 GiB\n" in status          # si_u_t counts, byte_u_t sizes
    assert "    usage:   63 GiB used, 321 GiB / 384 GiB avail\n" in status   # node2 reports what it holds
    assert ("    pgs:     3117/19200 objects degraded (16.234%)\n             31 active+recovery_wait+degraded\n"
            "             1  active+recovering+degraded\n \n  io:\n    recovery: 100 MiB/s, 25 objects/s\n \n") in status
    stat = cli.run(c, ["ceph", "pg", "stat"])[1]
    assert stat == ("32 pgs: 31 active+recovery_wait+degraded, 1 active+recovering+degraded; 25 GiB data, 63 GiB "
                    "used, 321 GiB / 384 GiB avail; 3117/19200 objects degraded (16.234%); 100 MiB/s, 25 objects/s "
                    "recovering\n")


@pytest.mark.parametrize("n,text", [(0, "0"), (214, "214"), (1000, "1k"), (1536, "1.54k"), (22470, "22.47k"),
                                    (224700, "224.70k"), (1234567, "1.23M")])
def test_si_units(n, text):
    assert si_u(n) == text
