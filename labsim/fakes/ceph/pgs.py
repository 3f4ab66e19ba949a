"""Placement groups: where each one lives (CRUSH over the in OSDs), who serves it (the acting set), its state
flags, and recovery/backfill at a rate through per-OSD reservations (osd_max_backfills).

A PG's life, as a Ceph PG's:
  created on its CRUSH set -> peering (a moment) -> active+clean
  an acting OSD goes down -> peering -> active+undersized+degraded (peered instead of active below min_size;
      stale while no OSD of it is up; down when only OSDs without its data are)
  the OSD is marked out -> CRUSH picks another OSD if a failure domain is free: that one must backfill
      (remapped+backfill_wait -> backfilling); with no free domain nothing changes (three hosts, size 3)
  the OSD comes back -> peering -> recovery_wait -> recovering -> active+clean when it missed writes (its PG log
      names the objects: only those are recovered), straight to active+clean when it missed none; where another
      OSD holds a complete copy outside the CRUSH set, that copy keeps serving (pg_temp, remapped, misplaced)
      until the CRUSH set is filled.
Each OSD holds (and reports) the bytes of the copies it has: a down OSD's figures stay as it last reported them.
What the primary reports of a PG (src/osd/PeeringState.cc prepare_stats_for_publish): `last_active`,
`last_fullsized`... are the time of the last publish at which the PG had the property. A surviving primary
publishes at the map change that takes the property away; a replica that becomes primary because the old one
died only knows what it learnt at the last activation, so its `last_*` are older (a PG can be "stuck inactive"
the moment it goes inactive). The states the mgr and the mons see of all this lag behind: mgrview.py.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from labsim.fakes.ceph import crush
from labsim.fakes.ceph.catalog import pg_state_string
from labsim.fakes.ceph.model import Pg, Pool

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

TRACKED = {"active": lambda f: "active" in f, "fullsized": lambda f: "undersized" not in f,
           "peered": lambda f: "active" in f or "peered" in f, "unstale": lambda f: "stale" not in f,
           "clean": lambda f: "clean" in f}
HISTORY = 60.0        # seconds of state history kept per PG (the mgr view looks back at most two report periods)
CLEAN = frozenset({"active", "clean"})


class PgMap:
    def __init__(self, cluster: CephCluster):
        self.c = cluster
        self.pgs: dict[tuple[int, int], Pg] = {}
        self.by_osd: dict[int, set[tuple[int, int]]] = {}     # OSD -> PGs that name it (target/copies/acting)
        self.slots: dict[int, int] = {}                          # OSD -> reservations held
        self.waiting: dict[int, list[tuple[int, int]]] = {}     # OSD -> PGs queued for it, in order
        self.queued: set[tuple[int, int]] = set()
        self.used: dict[int, int] = {}                           # OSD -> raw bytes of the copies it holds
        self.clean_count = 0                                     # PGs active+clean now
        self._peer_event: float | None = None

    # --- index -------------------------------------------------------------------------------------------
    def _osds_of(self, pg: Pg) -> set[int]:
        return set(pg.target) | pg.complete | set(pg.behind) | set(pg.acting)

    def _reindex(self, key: tuple[int, int], before: set[int], pg: Pg) -> None:
        after = self._osds_of(pg)
        for o in before - after:
            self.by_osd.get(o, set()).discard(key)
        for o in after - before:
            self.by_osd.setdefault(o, set()).add(key)

    def _set_have(self, pg: Pg, osd: int, nbytes: int) -> None:
        self.used[osd] = self.used.get(osd, 0) + nbytes - pg.have.get(osd, 0)
        pg.have[osd] = nbytes

    def _hold(self, pg: Pg, osd: int, behind: int | None = None) -> None:
        """`osd` now holds a copy of `pg`: complete (all its bytes), or `behind` objects short (what it has)."""
        if behind is None:
            pg.complete.add(osd)
            pg.behind.pop(osd, None)
            self._set_have(pg, osd, self.c.pools[pg.pool].shard_bytes(pg.bytes))
        else:
            pg.complete.discard(osd)
            pg.behind[osd] = behind
            self._set_have(pg, osd, pg.have.get(osd, 0))

    def _drop(self, pg: Pg, osd: int) -> None:
        self._set_have(pg, osd, 0)
        pg.have.pop(osd, None)
        pg.complete.discard(osd)
        pg.behind.pop(osd, None)

    def missing(self, pg: Pg, osd: int) -> int:
        """Objects `osd` must receive to hold a complete copy: its PG log's gap, or everything (a backfill)."""
        if osd in pg.complete:
            return 0
        return pg.behind.get(osd, pg.objects)

    def pgs_of(self, osds: Iterable[int]) -> set[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for o in osds:
            out |= self.by_osd.get(o, set())
        return out

    # --- pools --------------------------------------------------------------------------------------------
    def add_pool(self, pool: Pool) -> None:
        now = self.c.clock.now()
        for ps in range(pool.pg_num):
            pg = Pg(pool.id, ps, changed_at=now, since={k: now for k in TRACKED}, activated={k: now for k in TRACKED})
            self.pgs[(pool.id, ps)] = pg
        self.spread(pool, pool.objects, pool.stored)
        self.retarget([(pool.id, ps) for ps in range(pool.pg_num)])

    def spread(self, pool: Pool, objects: int, stored: int) -> None:
        """Hand `objects` new objects and `stored` bytes to the pool's PGs, as the object hash spreads them. The
        acting OSDs write them; a copy outside the acting set (a down OSD) misses them: its PG log gap grows."""
        n = pool.pg_num
        now = self.c.clock.now()
        for ps in range(n):
            pg = self.pgs[(pool.id, ps)]
            share = objects // n + (1 if ps < objects % n else 0)
            add = stored // n + (1 if ps < stored % n else 0)
            if not share and not add:
                continue
            grow = pool.shard_bytes(pg.bytes + add) - pool.shard_bytes(pg.bytes)
            for o in list(pg.complete | set(pg.behind)):
                if o in pg.acting:
                    self._set_have(pg, o, pg.have.get(o, 0) + grow)
                elif share:
                    pg.complete.discard(o)
                    pg.behind[o] = pg.behind.get(o, 0) + share
            pg.objects += share
            pg.bytes += add
            if pg.acting:
                pg.written_at = now
                self._publish(pg, now)

    # --- mapping ------------------------------------------------------------------------------------------
    def retarget(self, keys: Iterable[tuple[int, int]]) -> None:
        """CRUSH again for these PGs (their OSDs' in-ness changed), then re-peer the ones that moved."""
        c = self.c
        domains = {fd: c.domains(fd) for fd in {p.failure_domain for p in c.pools.values()}}
        is_in = lambda o: c.osds[o].in_
        anything_in = any(o.in_ for o in c.osds.values())
        for key in keys:
            pg = self.pgs[key]
            pool = c.pools[pg.pool]
            if anything_in:
                target, pg.rejected = crush.place(crush.pg_key(c.seed, pg.pool, pg.ps), pool.size,
                                                  domains[pool.failure_domain], is_in)
            else:                                 # no OSD to map to: CRUSH would only reject
                target, pg.rejected = [], False
            if target != pg.target:
                before = self._osds_of(pg)
                pg.target = target
                self._reindex(key, before, pg)
            self.repeer(key)

    # --- peering ------------------------------------------------------------------------------------------
    def osd_down(self, osd: int) -> None:
        """An OSD left the osdmap's up set. Its copies stay as they are: it falls behind on the writes it misses
        from now on (spread), and recovers only those when it returns."""

    def repeer(self, key: tuple[int, int]) -> None:
        c = self.c
        pg = self.pgs[key]
        pool = c.pools[pg.pool]
        now = c.clock.now()
        before = self._osds_of(pg)
        up = [o for o in pg.target if c.osds[o].up]
        if not pg.created and up:                 # a new PG is complete wherever it is first created
            pg.created = True
            for o in up:
                self._hold(pg, o)
        holders = [o for o in pg.complete if c.osds[o].up]
        ok = [o for o in up if o in pg.complete]
        spares = sorted(o for o in holders if o not in up)
        need = [o for o in up if o not in pg.complete]
        if need and spares:                       # pg_temp: complete copies keep serving, targets backfill
            acting = ok + spares[: max(0, pool.size - len(ok))]
        else:                                     # behind OSDs recover in place, in CRUSH order
            acting = [o for o in up if o in pg.complete or o in pg.behind]
        if not need:
            for o in spares:                      # clean: copies outside the CRUSH set are removed
                self._drop(pg, o)
        if acting != pg.acting:
            joined = bool(set(acting) - set(pg.acting)) and bool(pg.acting)
            pg.peering_for = c.tun.peering_join if joined else c.tun.peering
            pg.acting = acting
            pg.changed_at = now
            self._release(key, pg)
            self._schedule_peering(now + pg.peering_for)
        primary = acting[0] if acting else -1
        if primary >= 0 and pg.primary >= 0 and primary != pg.primary and not c.osds[pg.primary].running:
            pg.inherit = True             # the new primary reports what it learnt as a replica
        pg.primary = primary
        self._reindex(key, before, pg)
        self.refresh(key, now)

    def _schedule_peering(self, when: float) -> None:
        if self._peer_event is None or self._peer_event > when:
            self._peer_event = when
            self.c.clock.call_at(when, self._peering_done)

    def _peering_done(self) -> None:
        self._peer_event = None
        now = self.c.clock.now()
        later = [pg.changed_at + pg.peering_for for pg in self.pgs.values() if pg.changed_at + pg.peering_for > now]
        for key, pg in self.pgs.items():
            if "peering" in pg.state and pg.changed_at + pg.peering_for <= now:
                self.refresh(key, now)
        if later:
            self._schedule_peering(min(later))

    # --- state --------------------------------------------------------------------------------------------
    def targets(self, pg: Pg) -> list[int]:
        """OSDs this PG must fill: behind ones in its acting set, and CRUSH targets that have no copy."""
        return [o for o in pg.target if self.c.osds[o].up and o not in pg.complete]

    def refresh(self, key: tuple[int, int], now: float) -> None:
        c = self.c
        pg = self.pgs[key]
        pool = c.pools[pg.pool]
        up = [o for o in pg.target if c.osds[o].up]
        flags: set[str] = set()
        if not pg.target and not pg.complete and not pg.behind:
            flags.add("unknown")                  # nowhere to create it yet (no OSDs)
        elif not pg.acting:
            if up:                                # peering blocked: only OSDs without its data are up
                flags.add("down")
            else:                                 # no OSD of it reports: the last known state, stale
                flags |= (set(pg.state) - {"peering", "unknown", "down"}) | {"stale"}
        elif now < pg.changed_at + pg.peering_for:
            flags.add("peering")                  # a new interval clears the other flags (start_peering_interval)
            if pg.acting != up:
                flags.add("remapped")
        else:
            flags.add("active" if len(pg.acting) >= pool.min_size else "peered")
            if len(pg.acting) < pool.size:
                flags.add("undersized")
            if pg.acting != up:
                flags.add("remapped")
            todo = self.targets(pg)
            if todo and any(self.missing(pg, o) for o in todo):
                kind = "recover" if all(o in pg.behind for o in todo) and not (flags & {"remapped"}) \
                    else "backfill"
                if pg.recovering:
                    flags.add("recovering" if kind == "recover" else "backfilling")
                elif kind == "backfill" and any(c.osd_ratio(o) >= c.tun.backfillfull_ratio for o in todo):
                    flags.add("backfill_toofull")
                else:
                    flags.add("recovery_wait" if kind == "recover" else "backfill_wait")
                    self._enqueue(key, pg)
            elif todo:                            # nothing to copy (no write missed): the targets are complete at once
                for o in todo:
                    self._hold(pg, o)
                self.c.clock.call_later(0, lambda k=key: self.repeer(k))
            if self.degraded_objects(pg, now) > 0:
                flags.add("degraded")
            if not todo and not (flags & {"undersized", "remapped"}):
                flags.add("clean")
        self._set_state(pg, frozenset(flags), now)

    def _set_state(self, pg: Pg, flags: frozenset, now: float) -> None:
        old = pg.state
        if flags == old and not pg.inherit:
            return
        interval = pg.changed_at == now       # a new acting set: the primary publishes the old state first
        for name, has in TRACKED.items():
            if has(old) and not has(flags):
                pg.since[name] = pg.activated.get(name, now) if pg.inherit else now if interval else pg.published
        if ({"active", "peered"} & flags) and not ({"active", "peered"} & old):
            pg.activated = {name: now if has(flags) else pg.since.get(name, now) for name, has in TRACKED.items()}
        pg.inherit = False
        if (old == CLEAN) != (flags == CLEAN):
            self.clean_count += 1 if flags == CLEAN else -1
            self.c.progress.pg_clean((pg.pool, pg.ps), flags == CLEAN)
        pg.state = flags
        self._publish(pg, now)

    def _publish(self, pg: Pg, now: float) -> None:
        """The primary publishes the PG's stats (a state change, a write): an entry of its history, which the
        mgr's view reads (mgrview.py). Degraded objects are kept with the rate recovery lowers them at."""
        pg.published = now
        pg.reported_epoch = self.c.epochs["osdmap"]
        degraded = self.degraded_objects(pg, now) if pg.objects else 0
        rate = self.c.tun.recovery_objects_per_sec if pg.recovering else 0.0
        hist = pg.hist
        hist.append((now, pg.state, pg.primary if pg.acting else self._up_primary(pg), dict(pg.since), degraded, rate))
        if len(hist) > 4 and hist[1][0] < now - HISTORY:
            del hist[:next(i for i in range(1, len(hist)) if hist[i][0] >= now - HISTORY) - 1]

    def _up_primary(self, pg: Pg) -> int:
        """Who reports a PG with no acting set: the first up OSD of its CRUSH set (a `down` PG), or nobody."""
        return next((o for o in pg.target if self.c.osds[o].up), -1)

    @staticmethod
    def is_clean(pg: Pg) -> bool:
        return pg.state == CLEAN

    def state_name(self, pg: Pg) -> str:
        return pg_state_string(set(pg.state))

    # --- objects ------------------------------------------------------------------------------------------
    def progress(self, pg: Pg, now: float) -> float:
        if not pg.recovering or not pg.recovery_total:
            return 0.0
        return min(1.0, (now - pg.recovery_started) * self.c.tun.recovery_objects_per_sec / pg.recovery_total)

    def degraded_objects(self, pg: Pg, now: float) -> int:
        """Missing object copies: whole copies absent from the acting set (less what a backfill into an empty
        OSD has copied so far), plus what its behind OSDs still lack."""
        if not pg.objects:
            return 0
        size = self.c.pools[pg.pool].size
        done = self.progress(pg, now)
        absent = max(0, size - len(pg.acting))
        filling = min(absent, len([o for o in self.targets(pg) if o not in pg.acting]))
        lacking = sum(pg.behind.get(o, 0) for o in pg.acting if o not in pg.complete)
        return int(pg.objects * absent - pg.objects * filling * done + lacking * (1.0 - done))

    def misplaced_objects(self, pg: Pg, now: float) -> int:
        """Copies that exist but on an OSD outside the CRUSH set (pg_temp), until backfill moves them."""
        if not pg.objects or len(pg.acting) < self.c.pools[pg.pool].size:
            return 0
        moving = [o for o in self.targets(pg) if o not in pg.acting]
        return int(pg.objects * len(moving) * (1.0 - self.progress(pg, now)))

    # --- recovery reservations ----------------------------------------------------------------------------
    def _involved(self, pg: Pg) -> set[int]:
        return {pg.primary, *self.targets(pg)} - {-1}

    def _enqueue(self, key: tuple[int, int], pg: Pg) -> None:
        if key in self.queued:
            return
        self.queued.add(key)
        for o in self._involved(pg):
            self.waiting.setdefault(o, []).append(key)
        self.c.clock.call_later(0, lambda: self._grant(self._involved(pg)))

    def _release(self, key: tuple[int, int], pg: Pg) -> None:
        """A new interval cancels a PG's reservations (Ceph re-requests them after peering)."""
        self.queued.discard(key)
        if pg.recovering:
            pg.recovering = False
            freed = pg.__dict__.pop("_held", set())
            for o in freed:
                self.slots[o] = max(0, self.slots.get(o, 0) - 1)
            self.c.clock.call_later(0, lambda: self._grant(freed))

    def _grant(self, osds: Iterable[int]) -> None:
        now = self.c.clock.now()
        limit = self.c.tun.max_backfills
        for o in sorted(osds):
            queue = self.waiting.get(o, [])
            i = 0
            while i < len(queue) and self.slots.get(o, 0) < limit:
                key = queue[i]
                pg = self.pgs[key]
                if key not in self.queued or pg.recovering:
                    queue.pop(i)
                    continue
                held = self._involved(pg)
                if all(self.slots.get(x, 0) < limit for x in held):
                    queue.pop(i)
                    self.queued.discard(key)
                    self._start(key, pg, held, now)
                else:
                    i += 1

    def _start(self, key: tuple[int, int], pg: Pg, held: set[int], now: float) -> None:
        for x in held:
            self.slots[x] = self.slots.get(x, 0) + 1
        pg.__dict__["_held"] = held
        pg.recovering = True
        pg.recovery_started = now
        pg.recovery_total = max(1, sum(self.missing(pg, o) for o in self.targets(pg)))
        interval = pg.changed_at
        self.c.clock.call_later(pg.recovery_total / self.c.tun.recovery_objects_per_sec,
                                lambda: self._finish(key, interval))
        self.refresh(key, now)

    def _finish(self, key: tuple[int, int], interval: float) -> None:
        pg = self.pgs[key]
        if not pg.recovering or pg.changed_at != interval:
            return                                # the interval changed: this pass was cancelled
        for o in self.targets(pg):
            self._hold(pg, o)
        self._release(key, pg)
        self.repeer(key)
