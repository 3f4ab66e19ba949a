"""The health checks the simulated cluster raises: code, severity, summary and detail templates, as data.

Texts are Ceph's own (Squid 19.2): OSDMap::check_health (OSD_*, POOL_*, TOO_FEW_OSDS), PGMap::get_health_checks
(PG_*), HealthMonitor (MON_DOWN, MON_CLOCK_SKEW), MgrMonitor (MGR_DOWN), the crash mgr module (RECENT_CRASH);
collected in /work/shared/reference/domain.md 3.3. Counts are not pluralised where Ceph does not ("1 osds
down"); `{s}` is Ceph's own plural suffix where it has one ("2 hosts").
"""
from __future__ import annotations

from dataclasses import dataclass

HEALTH_OK, HEALTH_WARN, HEALTH_ERR = "HEALTH_OK", "HEALTH_WARN", "HEALTH_ERR"
RANK = {HEALTH_OK: 0, HEALTH_WARN: 1, HEALTH_ERR: 2}
TAG = {HEALTH_WARN: "WRN", HEALTH_ERR: "ERR"}


@dataclass(frozen=True)
class Check:
    code: str
    severity: str
    summary: str          # str.format template
    detail: str = ""      # str.format template for one detail line


CHECKS: dict[str, Check] = {c.code: c for c in (
    Check("OSD_DOWN", HEALTH_WARN, "{n} osds down", "osd.{id} ({location}) is down"),
    Check("OSD_HOST_DOWN", HEALTH_WARN, "{n} host{s} ({osds} osds) down",
          "host {name} ({location}) ({osds} osds) is down"),
    Check("OSD_ROOT_DOWN", HEALTH_WARN, "{n} root{s} ({osds} osds) down", "root {name} ({osds} osds) is down"),
    Check("OSD_OUT_OF_ORDER_FULL", HEALTH_ERR, "full ratio(s) out of order", "{detail}"),
    Check("OSD_FULL", HEALTH_ERR, "{n} full osd(s)", "osd.{id} is full"),
    Check("OSD_BACKFILLFULL", HEALTH_WARN, "{n} backfillfull osd(s)", "osd.{id} is backfill full"),
    Check("OSD_NEARFULL", HEALTH_WARN, "{n} nearfull osd(s)", "osd.{id} is near full"),
    Check("POOL_FULL", HEALTH_WARN, "{n} pool(s) full", "pool '{name}' is full (no space)"),
    Check("POOL_BACKFILLFULL", HEALTH_WARN, "{n} pool(s) backfillfull", "pool '{name}' is backfillfull"),
    Check("POOL_NEARFULL", HEALTH_WARN, "{n} pool(s) nearfull", "pool '{name}' is nearfull"),
    Check("POOL_NO_REDUNDANCY", HEALTH_WARN, "{n} pool(s) have no replicas configured",
          "pool '{name}' has no replicas configured"),
    Check("TOO_FEW_OSDS", HEALTH_WARN, "OSD count {n} < osd_pool_default_size {size}"),
    Check("PG_AVAILABILITY", HEALTH_WARN, "Reduced data availability: {parts}"),
    Check("PG_DEGRADED", HEALTH_WARN, "Degraded data redundancy: {parts}"),
    Check("PG_BACKFILL_FULL", HEALTH_WARN,
          "Low space hindering backfill (add storage if this doesn't resolve itself): {parts}"),
    Check("MON_DOWN", HEALTH_WARN, "{n}/{total} mons down, quorum {quorum}",
          "mon.{name} (rank {rank}) addr {addr} is down (out of quorum)"),
    Check("MON_CLOCK_SKEW", HEALTH_WARN, "clock skew detected on {mons}",
          "mon.{name} clock skew {skew:g}s > max {allowed:g}s (latency {latency:g}s)"),
    Check("MGR_DOWN", HEALTH_WARN, "no active mgr"),
    Check("RECENT_CRASH", HEALTH_WARN, "{n} daemons have recently crashed",
          "{entity} crashed on host {host} at {when}"),
)}

# The cluster log's lines for the mons' decisions about OSDs (src/mon/OSDMonitor.cc: prepare_failure and
# force_failure, check_failure, handle_osd_timeouts, prepare_mark_me_dead, tick; prepare_boot's "boot").
LOG = {
    "immediately": "osd.{id} reported immediately failed by osd.{by}",
    "refused": "osd.{id} failed ({loc}) (connection refused reported by osd.{by})",
    "reporters": "osd.{id} failed ({loc}) ({n} reporters from different host after {failed:.6f} >= grace {grace:.6f})",
    "no_beacon": "osd.{id} marked down after no beacon for {age} seconds",
    "marked_dead": "osd.{id} marked itself down and dead",
    "out": "Marking osd.{id} out (has been down for {secs} seconds)",
    "boot": "osd.{id} [{addr}] boot",
}
# OSDMap::check_full_osd_health / check_health: the ratios must be nearfull <= backfillfull <= full (the OSDs
# use the larger one where they are not).
OUT_OF_ORDER = (("backfillfull", "nearfull", "backfillfull_ratio ({b:g}) < nearfull_ratio ({a:g}), increased"),
                ("full", "backfillfull", "full_ratio ({b:g}) < backfillfull_ratio ({a:g}), increased"))

# PGMap::get_health_checks: which PG state raises which check, whether it must be stuck (the `last_*` stamp
# older than mon_pg_stuck_threshold) and the word the summary uses. Ordered by the state's bit value, which is
# the order Ceph lists them in a summary ("2 pgs inactive, 1 pg down, 3 pgs peering").
PG_RULES: tuple[tuple[str, str, bool, str], ...] = (
    # state,       check,             stuck?, word
    ("active", "PG_AVAILABILITY", True, "inactive"),      # inverted: counts PGs that are NOT active
    ("down", "PG_AVAILABILITY", False, "down"),
    ("degraded", "PG_DEGRADED", False, "degraded"),
    ("peering", "PG_AVAILABILITY", True, "peering"),
    ("incomplete", "PG_AVAILABILITY", False, "incomplete"),
    ("stale", "PG_AVAILABILITY", True, "stale"),
    ("backfill_toofull", "PG_BACKFILL_FULL", False, "backfill_toofull"),
    ("undersized", "PG_DEGRADED", True, "undersized"),
)

# pg_state_string (osd_types.cc): the order flags print in, `active+undersized+degraded`.
PG_STATE_ORDER = ("stale", "creating", "active", "activating", "clean", "recovery_wait", "recovery_toofull",
                  "recovering", "forced_recovery", "down", "recovery_unfound", "backfill_unfound", "undersized",
                  "degraded", "remapped", "premerge", "scrubbing", "deep", "inconsistent", "peering", "repair",
                  "backfill_wait", "backfilling", "forced_backfill", "backfill_toofull", "incomplete", "peered",
                  "snaptrim", "snaptrim_wait", "snaptrim_error", "failed_repair", "laggy", "wait")


def pg_state_string(flags: set[str]) -> str:
    return "+".join(f for f in PG_STATE_ORDER if f in flags) or "unknown"


def worst(severities) -> str:
    return max(severities, key=RANK.__getitem__, default=HEALTH_OK)
