"""The Ceph options the simulated cluster obeys, with Ceph's defaults (src/common/options/*.yaml.in) and the
few timings that are ours (marked). Tests and the bench pass their own `Tunables` to speed things up. Options
whose default depends on the release (versions.py) are None here and filled in by the cluster."""
from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 ** 2
GIB = 1024 ** 3


@dataclass
class Tunables:
    # failure detection (osd.yaml.in, mon.yaml.in; domain.md 3.4)
    heartbeat_grace: float = 20.0          # osd_heartbeat_grace
    heartbeat_interval: float = 6.0        # osd_heartbeat_interval: a peer pings at most this long ago
    refused_detect: float = 0.5            # a killed OSD's peers reconnect, are refused and report it at once
    #                                        (osd_fast_fail_on_connection_refused; 0.25 s on Debian's 16.2.15)
    min_down_reporters: int = 2            # mon_osd_min_down_reporters (from different hosts:
    report_timeout: float = 900.0          # mon_osd_report_timeout   mon_osd_reporter_subtree_level=host)
    down_out_interval: float = 600.0       # mon_osd_down_out_interval
    min_in_ratio: float = 0.75             # mon_osd_min_in_ratio: never mark out below this share of in OSDs
    mon_tick: float = 5.0                  # OSDMonitor::tick, where down OSDs are marked out
    stuck_threshold: float = 60.0          # mon_pg_stuck_threshold
    # daemons (ours: what a Rook pod restart takes; the observed lab saw MON_DOWN within ~25 s)
    mon_election: float = 10.0             # mon_lease 5 s + an election
    mon_boot: float = 5.0
    osd_boot: float = 10.0
    mgr_beacon_grace: float = 30.0         # mon_mgr_beacon_grace
    # mon clocks (mon.yaml.in)
    timecheck_interval: float = 300.0      # mon_timecheck_interval
    timecheck_skew_interval: float = 30.0  # mon_timecheck_skew_interval
    clock_drift_allowed: float = 0.05      # mon_clock_drift_allowed
    # peering and recovery (per PG; the rate's default is the release's, versions.py)
    peering: float = 1.0                   # ours: an acting set that lost an OSD peers within a second
    peering_join: float = 4.0              # ours: one an OSD joins waits for its log (3-5 s on a micro cluster)
    recovery_objects_per_sec: float | None = None
    max_backfills: int = 1                 # osd_max_backfills
    # what the mgr and the mons see, and when (src/mgr/MgrClient.cc, src/mon/MgrStatMonitor.cc)
    mgr_stats_period: float = 5.0          # mgr_stats_period: OSDs report PG stats, the mgr sends its digest
    progress_interval: float = 5.0         # mgr/progress sleep_interval
    # fullness: an OSD compares its usage with the osdmap's ratios in its heartbeat, every 0.5 s plus up to
    # osd_heartbeat_interval (OSD::heartbeat_entry), then tells the mons (MOSDFull) on its next tick
    full_report_delay: float = 1.5         # ours: the OSD's tick and the mons' next proposal
    # capacity (mon_osd_*_ratio)
    nearfull_ratio: float = 0.85
    backfillfull_ratio: float = 0.90
    full_ratio: float = 0.95
    osd_overhead_bytes: int | None = None  # what a fresh BlueStore OSD reports used (None: the release's)
    pool_default_size: int = 3             # osd_pool_default_size
    # health reporting
    crash_recent: float = 14 * 86400.0     # mgr/crash/warn_recent_interval (2 weeks)
    crash_scan: float = 600.0              # ceph-crash --delay: it posts new crash dumps every 10 minutes
    health_max_detail: int = 50            # mon_health_max_detail
    client_timeout: float = 300.0          # client_mount_timeout: `ceph` without quorum gives up after this
