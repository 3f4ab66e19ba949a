"""The mgr's progress module (src/pybind/mgr/progress/module.py, always on): the `progress:` section of
`ceph status`, its `progress_events`, and `ceph progress [json]`.

Every `sleep_interval` (5 s) it compares the osdmap with the one it saw last: an OSD whose weight went to 0
("marked out") or back to 1 ("marked in") starts a "Rebalancing after osd.N marked in|out" event over the PGs
whose acting set the change moves (not shown in `ceph -s`: add_to_ceph_s False); an OSD marked in cancels the
events of its earlier out. While any event runs, a "Global Recovery Event" (shown in `ceph -s`) follows the share
of active+clean PGs. An event completes, and leaves `progress_events`, when its progress reaches 1. Events are
rendered as the module does (Event.twoline_progress: message, duration, a 28-character bar, time remaining).
Deviation (ours): a PG counts for a Rebalancing event's partial progress only while it recovers, by its objects
recovered, where the module reads each PG's num_bytes_recovered.
"""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph.mgrview import phase

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

GLOBAL = "Global Recovery Event"
REBALANCE = "Rebalancing after osd.{osd} marked {how}"
BAR = 28            # _progress_str(30): 30 columns with the brackets
MAX_COMPLETED = 50  # max_completed_events


def pretty(seconds: float) -> str:
    """mgr_util.to_pretty_timedelta."""
    s = int(seconds)
    for limit, div, unit in ((120, 1, "s"), (120 * 60, 60, "m"), (48 * 3600, 3600, "h"), (14 * 86400, 86400, "d"),
                             (12 * 7 * 86400, 7 * 86400, "w"), (2 * 365 * 86400, 30 * 86400, "M")):
        if s < limit:
            return f"{s // div}{unit}"
    return f"{s // (365 * 86400)}y"


def float32(v: float) -> float:
    """The mgr hands progress to the mons as a C float: 1/11 shows as 0.09090909361839294."""
    return struct.unpack("f", struct.pack("f", v))[0]


@dataclass
class Event:
    id: str
    message: str
    refs: list
    add_to_ceph_s: bool
    started_at: float
    started_epoch_s: float             # wall-clock seconds (the JSON's started_at)
    progress: float = 0.0
    pgs: set = field(default_factory=set)         # Rebalancing: PGs not yet active+clean
    original: int = 0
    osd: int = -1
    start_epoch: int = 0
    clean_count: int = 0               # Global: active+clean PGs at the last refresh
    skipped: set = field(default_factory=set)     # Global: active+clean PGs that last reported before it began
    rendered: str = ""                 # twoline_progress(6) at the last refresh, as the mons hold it
    finished_at: float | None = None

    def remaining(self, now: float) -> int | None:
        if self.progress <= 0.0:
            return None
        return int((now - self.started_at) * (1 - self.progress) / self.progress)

    def twoline(self, now: float, indent: int) -> str:
        rem = self.remaining(now)
        remaining = f"(remaining: {pretty(rem)})" if rem else ""
        done = int(self.progress * BAR)
        bar = "[" + "=" * done + "." * (BAR - done) + "]"
        return f"{self.message} ({pretty(now - self.started_at)})\n{' ' * indent}{bar} {remaining}"


class ProgressModule:
    def __init__(self, c: CephCluster):
        self.c = c
        self.enabled = True
        self.events: dict[str, Event] = {}
        self.completed: list[Event] = []
        self._seen_in: dict[int, bool] = {}
        self._old_up: dict[tuple[int, int], tuple[list[int], frozenset]] = {}   # PG -> (CRUSH set, up OSDs)
        self._started = False

    # --- hooks from the cluster and the PGs ---------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self._started = True
            p = self.c.tun.progress_interval
            self.c.clock.call_later(phase(self.c.seed, -2, p), self._tick)

    def before_remap(self, keys) -> None:
        """PGs about to be mapped anew: their old CRUSH sets and the OSDs up then (the module compares the old
        osdmap's up sets with the new one's)."""
        if not self._seen_in:
            return                                  # the module has not seen an osdmap yet: nothing to compare
        pm = self.c.pgmap
        ups = frozenset(o.id for o in self.c.osds.values() if o.up)
        for key in keys:
            if key not in self._old_up:
                self._old_up[key] = (pm.pgs[key].target, ups)

    def pg_clean(self, key: tuple[int, int], clean: bool) -> None:
        for ev in self.events.values():
            if ev.message == GLOBAL:
                if not clean:
                    ev.skipped.discard(key)
            elif clean:
                ev.pgs.discard(key)

    # --- the module's loop ----------------------------------------------------------------------------------------
    def _tick(self) -> None:
        c = self.c
        c.clock.call_later(c.tun.progress_interval, self._tick)
        if c.active_mgr is None or not self.enabled:
            self._old_up.clear()
            return
        now = c.clock.now()
        for o in sorted(c.osds.values(), key=lambda o: o.id):
            was = self._seen_in.get(o.id)
            if was is not None and was != o.in_:
                self._in_out(o.id, "in" if o.in_ else "out", now)
            self._seen_in[o.id] = o.in_
        self._old_up.clear()
        if not self.events:
            return
        has_global = False
        for ev in list(self.events.values()):
            if ev.message == GLOBAL:
                has_global = True
                self._update_global(ev, now)
            else:
                self._update_rebalance(ev, now)
            if ev.progress >= 1.0:
                self._complete(ev, now)
        if not has_global and self.events:
            self._start_global(now)

    def _up(self, key: tuple[int, int]) -> list[int]:
        pg = self.c.pgmap.pgs[key]
        return [o for o in pg.target if self.c.osds[o].up]

    def _in_out(self, osd: int, how: str, now: float) -> None:
        affected = set()
        for key, (target, ups) in self._old_up.items():
            pg = self.c.pgmap.pgs[key]
            if osd not in target and osd not in pg.target:
                continue
            old = {o for o in target if o in ups}
            if (osd in old or osd in pg.target) and old != set(self._up(key)):
                affected.add(key)
        if how == "in":
            for ev in list(self.events.values()):
                if ev.osd == osd:
                    self._complete(ev, now)
        if affected:
            pm = self.c.pgmap
            ev = self._new(REBALANCE.format(osd=osd, how=how), [["osd", osd]], False, now)
            ev.osd, ev.original = osd, len(affected)
            ev.pgs = {k for k in affected if not pm.is_clean(pm.pgs[k])}
            self._update_rebalance(ev, now)

    def _new(self, message: str, refs: list, add: bool, now: float) -> Event:
        c = self.c
        ev = Event(str(uuid.UUID(int=c.random.getrandbits(128), version=4)), message, refs, add, now,
                   c.clock.utcnow().timestamp(), start_epoch=c.epochs["osdmap"])
        self.events[ev.id] = ev
        ev.rendered = ev.twoline(now, 6)
        return ev

    def _update_rebalance(self, ev: Event, now: float) -> None:
        pm = self.c.pgmap
        partial = 0.0
        for key in ev.pgs:
            pg = pm.pgs[key]
            if pg.recovering and pg.objects:
                partial += pm.progress(pg, now)
        done = ev.original - len(ev.pgs)
        ev.progress = min(max((done + partial) / ev.original if ev.original else 0.0, 0.0), 1.0)
        ev.rendered = ev.twoline(now, 6)

    def _start_global(self, now: float) -> None:
        pm = self.c.pgmap
        total = len(pm.pgs)
        if not total or pm.clean_count >= total:
            return
        ev = self._new(GLOBAL, [["global", ""]], True, now)
        ev.clean_count = pm.clean_count
        ev.skipped = {k for k, pg in pm.pgs.items() if pm.is_clean(pg) and pg.reported_epoch < ev.start_epoch}

    def _update_global(self, ev: Event, now: float) -> None:
        """GlobalRecoveryEvent.global_event_update_progress: only when the number of active+clean PGs changed,
        active+clean over all PGs less those that last reported before the event began."""
        pm = self.c.pgmap
        if pm.clean_count == ev.clean_count:
            return
        ev.clean_count = pm.clean_count
        denominator = len(pm.pgs) - len(ev.skipped)
        ev.progress = pm.clean_count / denominator if denominator > 0 else 0.0
        ev.rendered = ev.twoline(now, 6)

    def _complete(self, ev: Event, now: float) -> None:
        ev.finished_at = now
        self.events.pop(ev.id, None)
        self.completed.append(ev)
        del self.completed[:-MAX_COMPLETED]

    # --- what the mons and `ceph progress` show ---------------------------------------------------------------
    def status_events(self, upto: float) -> dict[str, dict[str, Any]]:
        """`progress_events` of `ceph status`: the events the mgr had told the mons of by `upto` (its digest)."""
        live = [*self.events.values(), *(e for e in self.completed[-8:] if e.finished_at > upto)]
        return {ev.id: {"message": ev.rendered, "progress": float32(ev.progress), "add_to_ceph_s": ev.add_to_ceph_s}
                for ev in live if ev.started_at <= upto}

    def _to_json(self, ev: Event, now: float) -> dict[str, Any]:
        """Event.to_json for a running event; GhostEvent.to_json for a completed one (whose key really is
        "add_to_ceph_s:", colon included)."""
        if ev.finished_at is not None:
            return {"id": ev.id, "message": ev.message, "refs": ev.refs, "started_at": ev.started_epoch_s,
                    "finished_at": ev.started_epoch_s + (ev.finished_at - ev.started_at),
                    "add_to_ceph_s:": ev.add_to_ceph_s}
        return {"id": ev.id, "message": ev.message, "duration": f"({pretty(now - ev.started_at)})", "refs": ev.refs,
                "progress": ev.progress, "started_at": ev.started_epoch_s, "time_remaining": ev.remaining(now)}

    def json_doc(self) -> dict[str, Any]:
        now = self.c.clock.now()
        return {"completed": [self._to_json(e, now) for e in self.completed],
                "events": [self._to_json(e, now) for e in self.events.values()]}

    def ls_text(self) -> tuple[str, str]:
        """`ceph progress`: (stdout, stderr)."""
        now = self.c.clock.now()
        if not self.events and not self.completed:
            return "", "Nothing in progress"
        out = "".join(ev.twoline(now, 4) + "\n" for ev in sorted(self.events.values(), key=lambda e: -e.started_at))
        if self.completed:
            out += "\n" + "".join(f"[Complete]: {ev.message} ({pretty(ev.finished_at - ev.started_at)})\n"
                                  f"    [{'=' * BAR}] \n" for ev in self.completed)
        return out, ""
