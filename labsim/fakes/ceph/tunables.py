"""The Ceph options the simulated cluster obeys, with Ceph's defaults (src/common/options/*.yaml.in) and the
few timings that are ours (marked). Tests and the bench pass their own `Tunables` to speed things up."""
from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 ** 2
GIB = 1024 ** 3


@dataclass
class Tunables:
    # failure detection (osd.yaml.in, mon.yaml.in; domain.md 3.4)
    heartbeat_grace: float = 20.0          # osd_heartbeat_grace
    heartbeat_interval: float = 6.0        # osd_heartbeat_interval: a peer pings at most this long ago
    refused_detect: float = 1.5            # ours: a killed process is refused at once, seen in ~1-2 s
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
    # peering and recovery (ours: osd_max_backfills 1 and the mClock balanced profile, per PG)
    peering: float = 2.0
    recovery_objects_per_sec: float = 25.0
    max_backfills: int = 1                 # osd_max_backfills
    # capacity (mon_osd_*_ratio)
    nearfull_ratio: float = 0.85
    backfillfull_ratio: float = 0.90
    full_ratio: float = 0.95
    osd_overhead_bytes: int = 27 * MIB     # ours: what a fresh BlueStore OSD reports used
    pool_default_size: int = 3             # osd_pool_default_size
    # health reporting
    crash_recent: float = 14 * 86400.0     # mgr/crash/warn_recent_interval (2 weeks)
    health_max_detail: int = 50            # mon_health_max_detail
    client_timeout: float = 300.0          # client_mount_timeout: `ceph` without quorum gives up after this
