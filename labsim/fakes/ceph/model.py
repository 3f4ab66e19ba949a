"""The things a Ceph cluster is made of, as plain records. Behaviour lives in cluster.py (the mons' decisions
in virtual time), pgs.py (placement-group states) and health.py (the checks)."""
from __future__ import annotations

from dataclasses import dataclass, field

TIB = 1024 ** 4
FIXED = 0x10000              # CRUSH keeps weights in 16.16 fixed point (src/crush/CrushWrapper.h)


@dataclass
class Disk:
    """A block device on a host as Rook's OSD prepare job sees it (lsblk / ceph-volume inventory)."""
    dev: str                          # /dev/vdb
    size: int                         # bytes
    partitions: int = 0
    filesystem: str = ""              # e.g. "xfs", "ext4", "ceph_bluestore"
    mountpoint: str = ""
    system: bool = False              # the disk the OS is installed on (Talos takes all of it)


@dataclass
class Host:
    name: str
    address: str = ""
    disks: list[Disk] = field(default_factory=list)
    up: bool = True                   # powered and reachable (the world says so)
    clock_offset: float = 0.0         # seconds this node's clock is ahead of true time


@dataclass
class Osd:
    id: int
    host: str
    dev: str
    size: int
    uuid: str = ""
    running: bool = False             # the ceph-osd process runs
    up: bool = False                  # the osdmap says up
    in_: bool = False
    down_at: float | None = None      # when the mons marked it down (the down-out interval runs from here)
    stop_at: float | None = None      # when the process died (detection runs from here)
    started_at: float = 0.0           # when the process last started (it reports from then on)
    runs: list[list] = field(default_factory=list)   # [start, stop or None] of each time its process ran
    autoout: bool = False             # marked out by the mon (auto-marked in again when it boots)
    marks: list[tuple[float, bool, bool]] = field(default_factory=list)   # osdmap history: (t, up, in)
    ratios: tuple[float, float, float] = (0.85, 0.90, 0.95)   # (nearfull, backfillfull, full) as it last checked

    @property
    def weight(self) -> float:
        """CRUSH weight as the OSD registers it on its first start (src/osd/OSD.cc update_crush_location: the
        device size in TiB printed "%.4f", then `osd crush create-or-move` stores it in 16.16 fixed point):
        10 GiB -> 0.0098 -> 642/65536 = 0.009796142578125."""
        return int(float(f"{self.size / TIB:.4f}") * FIXED) / FIXED

    def marked(self, t: float) -> tuple[bool, bool]:
        """(up, in) in the osdmap as of time t."""
        up, in_ = False, False
        for when, u, i in self.marks:
            if when > t:
                break
            up, in_ = u, i
        return up, in_

    @property
    def name(self) -> str:
        return f"osd.{self.id}"


@dataclass
class Mon:
    name: str                         # a, b, c...
    rank: int
    host: str
    addr: str                         # the mon's Service address (Rook gives each mon a ClusterIP)
    running: bool = False
    in_quorum: bool = False


@dataclass
class Mgr:
    name: str
    host: str
    running: bool = False


@dataclass
class Pool:
    id: int
    name: str
    size: int
    min_size: int
    pg_num: int
    failure_domain: str = "host"
    kind: str = "replicated"          # or "erasure"
    k: int = 0                        # erasure: data chunks
    application: str = "rbd"
    objects: int = 0
    stored: int = 0                   # bytes of user data (one copy)
    object_size: int = 4 * 1024 ** 2
    quota_max_bytes: int = 0          # `ceph osd pool set-quota POOL max_bytes N` (0: none)
    quota_max_objects: int = 0

    def quota_full(self) -> bool:
        """OSDMonitor::update_pools_status: the pool is full (FLAG_FULL_QUOTA) once its stored bytes or objects reach
        a quota that is set."""
        return bool((self.quota_max_bytes and self.stored >= self.quota_max_bytes)
                    or (self.quota_max_objects and self.objects >= self.quota_max_objects))

    def shard_bytes(self, stored: int) -> int:
        """Raw bytes one copy (replicated) or one shard (erasure) of `stored` user bytes takes."""
        return stored if self.kind == "replicated" else -(-stored // max(1, self.k))

    @property
    def raw_factor(self) -> float:
        return float(self.size) if self.kind == "replicated" else self.size / max(1, self.k)


@dataclass
class Pg:
    pool: int
    ps: int
    objects: int = 0
    bytes: int = 0
    target: list[int] = field(default_factory=list)     # CRUSH result over in OSDs
    rejected: bool = False                              # a CRUSH draw hit an out OSD
    complete: set[int] = field(default_factory=set)     # OSDs holding an up-to-date copy
    behind: dict[int, int] = field(default_factory=dict)  # OSD -> objects it must recover (log-based)
    acting: list[int] = field(default_factory=list)
    primary: int = -1
    peered_at: float = 0.0            # when the current acting set finished peering
    changed_at: float = 0.0           # last acting change (peering starts)
    peering_for: float = 1.0          # how long this interval's peering takes
    recovering: bool = False          # holds its recovery/backfill reservations
    recovery_started: float = 0.0
    recovery_total: int = 0           # objects this recovery pass moves
    created: bool = False             # has had OSDs (its objects were written on its first OSDs)
    since: dict[str, float] = field(default_factory=dict)   # flag -> last_active... as its primary reports it
    activated: dict[str, float] = field(default_factory=dict)  # the same as the replicas learnt it at activation
    have: dict[int, int] = field(default_factory=dict)      # OSD -> raw bytes of this PG it holds (and reports)
    written_at: float = -1.0          # the last client write (the primary publishes its stats then)
    published: float = 0.0            # the last publish of its stats (a state change or a write)
    inherit: bool = False             # its primary died: the next state change reports the replica's last_*
    reported_epoch: int = 0           # osdmap epoch of the last publish
    hist: list = field(default_factory=list)               # (t, state, primary, since) at each change
    state: frozenset = frozenset()

    @property
    def pgid(self) -> str:
        return f"{self.pool}.{self.ps:x}"


@dataclass
class Crash:
    crash_id: str
    entity: str
    host: str
    when: float
    archived: bool = False
    timestamp: str = ""               # as the crash module records it (and the crash id begins with)
    meta: dict = field(default_factory=dict)   # the report's fields (`ceph crash info`)
    posted_at: float | None = None    # when ceph-crash posted it to the mgr (None: still on the node's disk)
    archived_at: str = ""             # `ceph crash archive`: str(datetime.utcnow()) as the module stores it
    archived_t: float | None = None   # ... and when, in the cluster's time


@dataclass
class Mute:
    code: str
    until: float | None
    sticky: bool
    count: int
    summary: str
