"""What the mgr knows of the placement groups, and what the mons show of it: the PG states lag behind the PGs.

- Each OSD sends the stats of the PGs it is primary for to the mgr every `mgr_stats_period` (src/mgr/MgrClient.cc
  `_send_stats`), each OSD on its own phase; a PG's state in the mgr is its state at its primary's last report.
- The mgr marks stale the PGs whose reported primary the osdmap has down (src/mon/PGMap.cc
  PGMapUpdater::check_down_pgs), at once: `stale+active+clean` is what a killed primary's PGs show first.
- The mons see the mgr's digest, sent every `mgr_stats_period` (src/mgr/DaemonServer.cc send_report,
  src/mon/MgrStatMonitor.cc): `ceph status`'s pgmap and the PG_* health checks are the digest's.
So after a kill, OSD_DOWN (the mons' own) comes first, then stale, peering, active+undersized+degraded and
PG_DEGRADED over the next seconds, as on a real cluster. The view is computed when asked, from each PG's recent
state history (pgs.py), so nothing runs per PG while nobody looks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from labsim.fakes.ceph.crush import stable_hash

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster
    from labsim.fakes.ceph.model import Pg

UNKNOWN = frozenset({"unknown"})


def phase(seed: int, who: int, period: float) -> float:
    """A deterministic offset in [0, period) for one reporter (an OSD id; -1 for the mgr)."""
    return (stable_hash(seed, 0x6D67, who & ((1 << 63) - 1)) >> 11) / float(1 << 53) * period


class Reported:
    """One PG as the mgr has it: its state flags (stale added), the primary that reported it, when, and the
    `last_*` stamps of that report."""
    __slots__ = ("flags", "primary", "at", "since", "changed", "mgr_stale", "degraded")

    def __init__(self, flags: frozenset, primary: int, at: float, since: dict, changed: float,
                 mgr_stale: bool = False, degraded: int = 0):
        self.flags, self.primary, self.at, self.since, self.changed = flags, primary, at, since, changed
        self.mgr_stale, self.degraded = mgr_stale, degraded


class MgrView:
    def __init__(self, c: CephCluster):
        self.c = c
        self._phases: dict[tuple[int, float], float] = {}
        self._cache: dict[str, tuple] = {}

    def _phase(self, who: int) -> float:
        key = (who, self.period)
        if key not in self._phases:
            self._phases[key] = phase(self.c.seed, who, self.period)
        return self._phases[key]

    @property
    def period(self) -> float:
        return self.c.tun.mgr_stats_period

    def digest_time(self, now: float) -> float:
        """The last digest the mons got by `now` (its content is the mgr's PGMap at that moment)."""
        p = self.period
        if p <= 0:
            return now
        ph = self._phase(-1)
        return ph + ((now - ph) // p) * p

    def _report_time(self, osd_id: int, upto: float) -> float | None:
        """The last report of `osd_id` at or before `upto`, while its process ran; None if it made none."""
        osd = self.c.osds.get(osd_id)
        if osd is None:
            return None
        for start, stop in reversed(osd.runs):
            if start > upto:
                continue
            end = upto if stop is None else min(upto, stop)
            p = self.period
            if p <= 0:
                return end
            ph = self._phase(osd_id)
            tick = ph + ((end - ph) // p) * p
            return tick if tick >= start else None
        return None

    def reported(self, pg: Pg, at: float) -> Reported:
        """The PG as the mgr has it at time `at`."""
        for t, flags, primary, since, degraded, rate in reversed(pg.hist):
            if t > at or primary < 0:
                continue
            tr = self._report_time(primary, at)
            if tr is None or tr < t:
                continue
            up, _ = self.c.osds[primary].marked(at)
            stale = not up and "stale" not in flags       # check_down_pgs: its primary is down, so it is stale
            return Reported(flags | {"stale"} if stale else flags, primary, tr, since, t, stale,
                            max(0, int(degraded - rate * (tr - t))))
        return Reported(UNKNOWN, -1, at, {}, at)

    def last(self, pg: Pg, rep: Reported, name: str) -> float:
        """`last_<name>` in the PG's reported stats (last_active, last_fullsized, last_peered, last_unstale).
        A PG the mgr marked stale has `last_unstale` = when it marked it (_try_mark_pg_stale sets it to now):
        the moment the osdmap put its primary down."""
        if name == "unstale" and rep.mgr_stale:
            return max((t for t, up, _ in self.c.osds[rep.primary].marks if not up), default=rep.at)
        return rep.since.get(name, rep.at)

    def digest(self, now: float | None = None) -> tuple[float, dict[tuple[int, int], Reported]]:
        """(the digest's time, every PG as the mons see it). A digest is history once time has moved past it:
        it is computed once."""
        now = self.c.clock.now() if now is None else now
        td = self.digest_time(now)
        pgs = self.c.pgmap.pgs
        cached = self._cache.get("digest")
        if cached and cached[0] == (td, len(pgs)):
            return td, cached[1]
        got = {key: self.reported(pg, td) for key, pg in pgs.items()}
        if self.c.clock.now() > td:
            self._cache = {"digest": ((td, len(pgs)), got)}
        return td, got

    def memo(self, name: str, td: float, compute):
        """What the mgr computed from the digest at `td` (its PG health checks): once per digest."""
        key = (td, len(self.c.pgmap.pgs))
        cached = self._cache.get(name)
        if cached and cached[0] == key:
            return cached[1]
        value = compute()
        if self.c.clock.now() > td and self._cache.get("digest", ((None,),))[0] == key:
            self._cache[name] = (key, value)
        return value
