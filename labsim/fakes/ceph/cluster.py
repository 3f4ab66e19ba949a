"""One Ceph cluster in virtual time: its daemons, and the monitors' decisions about them.

Daemons run where their host is up and their pod runs (`set_enabled`, driven by the Rook face). What the
monitors decide follows Ceph's rules and timings (tunables.py; src/mon/OSDMonitor.cc, src/osd/OSD.cc):
- an OSD whose process is killed is marked down within a second, whatever the number of hosts: its peers'
  reconnects are refused and they report it as failed immediately (osd_fast_fail_on_connection_refused;
  OSDMonitor::prepare_failure force_failure: "osd.N failed (...) (connection refused reported by osd.M)");
  a graceful stop marks itself down and dead (osd_fast_shutdown_notify_mon); a host that vanished is marked
  down after the heartbeat grace (20 s plus the time since the last ping) once peers on `min_down_reporters`
  other hosts report it (check_failure); with too few reporters, or none left, after `report_timeout`;
- a down OSD is marked out after `down_out_interval` (in the mon tick) while at least `min_in_ratio` of the
  OSDs are still in (OSDMonitor::can_mark_out, counting the outs of the same tick); it is marked in again
  when it boots;
- `ceph osd set-nearfull-ratio` and friends change the osdmap's ratios; each OSD compares its usage with them
  in its next heartbeat and the mons flag it (seconds later, not at once);
- mons form a quorum of a majority; without one nothing is decided and clients time out;
- the active mgr fails over to a standby after `mgr_beacon_grace`;
- the leader's timecheck measures each mon's clock against its own every `timecheck_interval`.
Everything runs under the clock's lock (the world's events and the faces take it).
"""
from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable, Iterable

from labsim.fakes.ceph import crash as K
from labsim.fakes.ceph import versions
from labsim.fakes.ceph.catalog import LOG
from labsim.fakes.ceph.crush import Domain
from labsim.fakes.ceph.mgrview import MgrView
from labsim.fakes.ceph.model import Crash, Disk, Host, Mgr, Mon, Mute, Osd, Pool
from labsim.fakes.ceph.pgs import PgMap
from labsim.fakes.ceph.progress import ProgressModule
from labsim.fakes.ceph.tunables import Tunables
from labsim.fakes.clock import VirtualClock


class CephCluster:
    def __init__(self, name: str, clock: VirtualClock, *, seed: int = 0, tunables: Tunables | None = None,
                 salt: str = "", version: str | None = None):
        self.name = name
        self.clock = clock
        self.seed = seed
        self.release = versions.release(version)
        tun = dataclasses.replace(tunables) if tunables else Tunables()
        if tun.recovery_objects_per_sec is None:
            tun.recovery_objects_per_sec = self.release.recovery_objects_per_sec
        self.tun = tun
        self.random = random.Random(f"ceph:{salt}{name}:{seed}")   # salt: which Kubernetes cluster it is in
        self.fsid = str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        self.hosts: dict[str, Host] = {}
        self.osds: dict[int, Osd] = {}
        self.mons: dict[str, Mon] = {}
        self.mgrs: dict[str, Mgr] = {}
        self.active_mgr: str | None = None
        self.pools: dict[int, Pool] = {}
        self.pgmap = PgMap(self)
        self.crashes: list[Crash] = []                     # posted to the mgr's crash module
        self.collect_crashes = True                        # Rook's crash collector (crashCollector.disable)
        self.collector = K.CrashCollector(self)
        self.node_info: dict[str, str] = dict(K.ROOK_NODE)  # uname and os-release the daemons see
        self.view = MgrView(self)
        self.mgr_modules = ["iostat", "nfs", "restful"]    # enabled by default (MgrMap always-on modules aside)
        self.progress = ProgressModule(self)
        self.mutes: dict[str, Mute] = {}
        self.skews: dict[str, tuple[float, float]] = {}    # mon -> (skew, latency) at the last timecheck
        self.enabled: dict[str, bool] = {}                 # daemon -> its pod runs
        self.log: list[tuple[float, str]] = []             # the cluster log (`ceph log last`)
        self.created_at = clock.now()
        self.quorum_since = 0.0
        self.mgr_since = 0.0
        self.up_changed = self.in_changed = clock.now()   # "2 up (since 30s)": the last change of each count
        self.epochs = {"osdmap": 1, "monmap": 1, "election": 1, "mgrmap": 1}
        self._gen: dict[str, int] = {}
        self._buckets: dict[str, int] = {}                 # host -> CRUSH bucket id (-3, -5, ...)
        self._domains: dict[str, list[Domain]] = {}
        self._dirty: set[int] = set()
        self._dirty_in: set[int] = set()
        self._crush_changed = False                        # an OSD was added: every PG may map anew
        self._map_event = False
        self._ticking = False
        self._timecheck_gen = 0
        self.progress.start()

    # --- building -----------------------------------------------------------------------------------------
    def add_host(self, name: str, address: str = "", disks: Iterable[Disk] = (), up: bool = True) -> Host:
        host = self.hosts.get(name) or Host(name, address, list(disks), up)
        self.hosts[name] = host
        return host

    def add_mon(self, host: str, addr: str = "") -> Mon:
        name = "abcdefghijklmnopqrstuvwxyz"[len(self.mons)]
        mon = Mon(name, len(self.mons), host, addr or f"[v2:{self.hosts[host].address}:3300/0,"
                                                      f"v1:{self.hosts[host].address}:6789/0]")
        self.mons[name] = mon
        self.epochs["monmap"] += 1
        self._reconcile(f"mon.{name}", "graceful")
        return mon

    def add_mgr(self, host: str) -> Mgr:
        mgr = Mgr("abcdefghijklmnopqrstuvwxyz"[len(self.mgrs)], host)
        self.mgrs[mgr.name] = mgr
        self._reconcile(f"mgr.{mgr.name}", "graceful")
        return mgr

    def add_osd(self, host: str, dev: str, size: int) -> Osd:
        osd = Osd(len(self.osds), host, dev, size, uuid=str(uuid.UUID(int=self.random.getrandbits(128), version=4)),
                  ratios=self.ratios())
        self.osds[osd.id] = osd
        self._buckets.setdefault(host, -3 - 2 * len(self._buckets))
        self._domains.clear()
        self._crush_changed = True
        self._reconcile(osd.name, "graceful")
        return osd

    def add_pool(self, name: str, *, size: int = 3, min_size: int | None = None, pg_num: int = 32,
                 failure_domain: str = "host", kind: str = "replicated", k: int = 0, application: str = "rbd",
                 objects: int = 0, stored: int = 0) -> Pool:
        if kind == "erasure":   # OSDMonitor::prepare_pool_size: k + min(1, m - 1)
            default_min = k + min(1, size - k - 1)
        else:                   # osd_pool_default_min_size 0: size - size / 2
            default_min = size - size // 2
        pool = Pool(len(self.pools) + 1, name, size, min_size or default_min, pg_num, failure_domain, kind, k,
                    application, objects, stored)
        self.pools[pool.id] = pool
        self.pgmap.add_pool(pool)
        return pool

    def pool(self, name: str) -> Pool:
        for p in self.pools.values():
            if p.name == name:
                return p
        raise KeyError(f"unrecognized pool '{name}'")

    def domains(self, failure_domain: str) -> list[Domain]:
        if failure_domain not in self._domains:
            if failure_domain == "osd":
                doms = [Domain(o.id, [(o.id, o.weight)]) for o in self.osds.values()]
            else:
                by: dict[str, Domain] = {}
                for o in self.osds.values():
                    by.setdefault(o.host, Domain(self._buckets[o.host])).osds.append((o.id, o.weight))
                doms = list(by.values())
            self._domains[failure_domain] = doms
        return self._domains[failure_domain]

    def bucket(self, host: str) -> int:
        return self._buckets[host]

    # --- the world's hooks ----------------------------------------------------------------------------------
    def host_down(self, name: str) -> None:
        """The node is off or unreachable (VM stopped, cable pulled, VLAN lost): its daemons vanish."""
        host = self.hosts.get(name)
        if host is None or not host.up:
            return
        host.up = False
        for d in self._daemons_on(name):
            self._reconcile(d, "host")

    def host_up(self, name: str) -> None:
        """The node is back (booted, kubelet running): its daemons start again."""
        host = self.hosts.get(name)
        if host is None or host.up:
            return
        host.up = True
        for d in self._daemons_on(name):
            self._reconcile(d, "host")

    def set_enabled(self, daemon: str, on: bool, how: str = "graceful") -> None:
        """Whether the daemon's pod runs (scaled down or deleted: a graceful stop; `killed`: a crash)."""
        if self.enabled.get(daemon, True) != on:
            self.enabled[daemon] = on
            self._reconcile(daemon, how)

    def set_clock_offset(self, host: str, seconds: float) -> None:
        self.hosts[host].clock_offset = seconds

    def crash(self, entity: str, host: str | None = None, restart: bool = True) -> Crash:
        """A daemon crashes: it writes its crash report on its node (which the crash collector posts on its next
        scan: RECENT_CRASH from then on), and its pod restarts it (`restart`; a bare daemon stays down)."""
        c = K.record(self, entity, host or self._host_of(entity))
        self.collector.dumped(c)
        if entity.startswith("osd."):
            self.enabled[entity] = False
            self._reconcile(entity, "killed")
            if restart:
                self.clock.call_later(self.tun.osd_boot, lambda: self.set_enabled(entity, True))
        return c

    # --- the osdmap's full ratios (`ceph osd set-nearfull-ratio` ...) ------------------------------------------
    def ratios(self) -> tuple[float, float, float]:
        return self.tun.nearfull_ratio, self.tun.backfillfull_ratio, self.tun.full_ratio

    def set_ratio(self, which: str, value: float) -> None:
        """A new osdmap with the ratio; each running OSD checks its usage against it in its next heartbeat and
        tells the mons (osd_heartbeat_interval, then MOSDFull): seconds later, OSD by OSD."""
        setattr(self.tun, f"{which}_ratio", value)
        self.epochs["osdmap"] += 1
        ratios = self.ratios()
        for o in self.osds.values():
            if o.running:
                wait = 0.5 + stable_fraction(self.seed, o.name, self.clock.now()) * self.tun.heartbeat_interval
                self._later(o.name, wait + self.tun.full_report_delay, lambda o=o: self._saw_ratios(o, ratios))

    def _saw_ratios(self, osd: Osd, ratios: tuple[float, float, float]) -> None:
        if osd.running:
            osd.ratios = ratios

    def add_mgr_pool(self, failure_domain: str = "host") -> Pool:
        """The pool the active mgr creates for itself once OSDs are up (devicehealth / MgrMonitor)."""
        return self.add_pool(self.release.mgr_pool, size=self.tun.pool_default_size, pg_num=1,
                             application=self.release.mgr_pool_app, failure_domain=failure_domain)

    def write(self, pool_name: str, nbytes: int, object_size: int | None = None) -> int:
        """Client writes of `nbytes` to a pool, in objects of `object_size` (the pool's, 4 MiB, by default); they
        stop where an OSD of the pool would pass the full ratio, or at the pool's quota (Ceph blocks writes to a full
        pool). Returns the bytes written."""
        pool = self.pool(pool_name)
        room = self._room(pool)
        if pool.quota_max_bytes:     # a pool at its quota takes no more writes (EDQUOT, or they block)
            room = min(room, max(0, pool.quota_max_bytes - pool.stored))
        if pool.quota_full():
            room = 0
        n = int(max(0, min(nbytes, room)))
        objects = -(-n // (object_size or pool.object_size)) if n else 0
        pool.objects += objects
        pool.stored += n
        self.pgmap.spread(pool, objects, n)
        for key in [(pool.id, ps) for ps in range(pool.pg_num)]:
            self.pgmap.refresh(key, self.clock.now())
        return n

    def _room(self, pool: Pool) -> float:
        """User bytes the pool takes before one of its OSDs is flagged full: the write that crosses the full
        ratio still lands (the flag follows the OSD's report), the next ones block."""
        share: dict[int, int] = {}
        for ps in range(pool.pg_num):
            for o in self.pgmap.pgs[(pool.id, ps)].acting:
                share[o] = share.get(o, 0) + 1
        room = float("inf")
        for o, n in share.items():
            per_byte = n / pool.pg_num * (pool.shard_bytes(1_000_000) / 1_000_000)
            free = self.tun.full_ratio * self.osds[o].size - self.osd_used(o)
            room = min(room, (max(0.0, free) / per_byte + pool.object_size) if free > 0 else 0.0)
        return room if share else 0.0

    # --- queries ------------------------------------------------------------------------------------------
    def overhead(self, osd: int) -> int:
        """What a BlueStore OSD reports used with no data (its BlueFS/RocksDB allocation)."""
        if self.tun.osd_overhead_bytes is not None:
            return self.tun.osd_overhead_bytes
        return self.release.osd_overhead(self.osds[osd].size)

    def osd_used(self, osd: int) -> int:
        return self.overhead(osd) + self.pgmap.used.get(osd, 0)

    def osd_ratio(self, osd: int) -> float:
        return self.osd_used(osd) / self.osds[osd].size

    def quorum(self) -> list[Mon]:
        return sorted((m for m in self.mons.values() if m.in_quorum), key=lambda m: m.rank)

    def has_quorum(self) -> bool:
        return bool(self.mons) and any(m.in_quorum for m in self.mons.values())

    def leader(self) -> Mon | None:
        q = self.quorum()
        return q[0] if q else None

    # --- daemons ------------------------------------------------------------------------------------------
    def _daemons_on(self, host: str) -> list[str]:
        return ([f"mon.{m.name}" for m in self.mons.values() if m.host == host]
                + [f"mgr.{m.name}" for m in self.mgrs.values() if m.host == host]
                + [o.name for o in self.osds.values() if o.host == host])

    def _host_of(self, daemon: str) -> str:
        kind, _, name = daemon.partition(".")
        if kind == "osd":
            return self.osds[int(name)].host
        return (self.mons if kind == "mon" else self.mgrs)[name].host

    def _should_run(self, daemon: str) -> bool:
        return self.hosts[self._host_of(daemon)].up and self.enabled.get(daemon, True)

    def _later(self, daemon: str, delay: float, fn: Callable[[], None]) -> None:
        """Run `fn` after `delay` unless the daemon changed state again in the meantime."""
        gen = self._gen.get(daemon, 0)
        self.clock.call_later(delay, lambda: fn() if self._gen.get(daemon, 0) == gen else None)

    def _reconcile(self, daemon: str, how: str) -> None:
        self._gen[daemon] = self._gen.get(daemon, 0) + 1
        kind, _, name = daemon.partition(".")
        want = self._should_run(daemon)
        if kind == "osd":
            osd = self.osds[int(name)]
            if want and not osd.running:
                self._later(daemon, self.tun.osd_boot, lambda: self._osd_started(osd))
            elif not want and osd.running:
                self._osd_stopped(osd, how)
        elif kind == "mon":
            mon = self.mons[name]
            if want and not mon.running:
                self._later(daemon, self.tun.mon_boot, lambda: self._mon_started(mon))
            elif not want and mon.running:
                mon.running = False
                self._later(daemon, self.tun.mon_election, self._elect)
        else:
            mgr = self.mgrs[name]
            if want and not mgr.running:
                self._later(daemon, self.tun.mon_boot, lambda: self._mgr_started(mgr))
            elif not want and mgr.running:
                mgr.running = False
                if self.active_mgr == mgr.name:
                    self._later(daemon, self.tun.mgr_beacon_grace, self._mgr_failover)

    # --- mons -------------------------------------------------------------------------------------------------
    def _mon_started(self, mon: Mon) -> None:
        mon.running = True
        self._elect()

    def _elect(self) -> None:
        running = [m for m in self.mons.values() if m.running]
        had = self.has_quorum()
        members = running if len(running) > len(self.mons) // 2 else []
        changed = {m.name for m in self.mons.values() if m.in_quorum} != {m.name for m in members}
        for m in self.mons.values():
            m.in_quorum = m in members
        if not changed:
            return
        self.epochs["election"] += 2
        now = self.clock.now()
        self.quorum_since = now
        names = ",".join(m.name for m in self.quorum())
        self.log.append((now, f"mon.{self.leader().name} is new leader, mons {names} in quorum"
                         if members else "no monitor quorum"))
        self._timecheck_gen += 1
        if members:
            self._timecheck(self._timecheck_gen)
            if not had:
                self._quorum_formed()

    def _quorum_formed(self) -> None:
        """With a quorum again, the mons act on what happened without one: boots and failure reports."""
        for osd in self.osds.values():
            if osd.running and not osd.up:
                self._osd_boot(osd)
            elif not osd.running and osd.up:
                self._report_failure(osd, "host")
        if self.active_mgr is None or not self.mgrs[self.active_mgr].running:
            self._mgr_failover()
        self._tick_start()

    def _timecheck(self, gen: int) -> None:
        if gen != self._timecheck_gen or not self.has_quorum():
            return
        leader = self.leader()
        base = self.hosts[leader.host].clock_offset
        self.skews = {}
        for m in self.quorum():
            skew = self.hosts[m.host].clock_offset - base
            latency = round(0.0003 + self.random.random() * 0.0003, 6)
            self.skews[m.name] = (round(abs(skew), 6), latency)
        skewed = any(s > self.tun.clock_drift_allowed for s, _ in self.skews.values())
        delay = self.tun.timecheck_skew_interval if skewed else self.tun.timecheck_interval
        self.clock.call_later(delay, lambda: self._timecheck(gen))

    # --- mgrs -------------------------------------------------------------------------------------------------
    def _mgr_started(self, mgr: Mgr) -> None:
        mgr.running = True
        if self.active_mgr is None and self.has_quorum():
            self.active_mgr = mgr.name
            self.mgr_since = self.clock.now()
            self.epochs["mgrmap"] += 1

    def _mgr_failover(self) -> None:
        if self.active_mgr is not None and self.mgrs[self.active_mgr].running:
            return
        standby = next((m.name for m in self.mgrs.values() if m.running), None)
        if standby != self.active_mgr:
            self.active_mgr = standby
            self.mgr_since = self.clock.now()
            self.epochs["mgrmap"] += 1

    # --- OSDs -------------------------------------------------------------------------------------------------
    def _mark(self, osd: Osd) -> None:
        osd.marks.append((self.clock.now(), osd.up, osd.in_))

    def _osd_started(self, osd: Osd) -> None:
        osd.running = True
        osd.stop_at = None
        osd.started_at = self.clock.now()
        osd.runs.append([osd.started_at, None])
        osd.ratios = self.ratios()               # it reads the osdmap's ratios as it boots
        self._osd_boot(osd)

    def _osd_boot(self, osd: Osd) -> None:
        if not self.has_quorum() or osd.up or not osd.running:
            return
        now = self.clock.now()
        osd.up, osd.down_at = True, None
        self.up_changed = now
        moved_in = not osd.in_
        if moved_in:          # a new OSD, or one the mon marked out (mon_osd_auto_mark_auto_out_in)
            osd.in_, osd.autoout = True, False
            self.in_changed = now
            self._domains.clear()
        self._mark(osd)
        self.log.append((now, LOG["boot"].format(id=osd.id, addr=self._addr(osd))))
        self._changed(osd.id, moved_in)

    def _osd_stopped(self, osd: Osd, how: str) -> None:
        osd.running = False
        osd.stop_at = self.clock.now()
        if osd.runs:
            osd.runs[-1][1] = osd.stop_at
        if how == "graceful":        # SIGTERM: osd_fast_shutdown_notify_mon, the mons mark it at once
            self._later(osd.name, 0.01, lambda: self._mark_down(osd, LOG["marked_dead"].format(id=osd.id)))
        else:
            self._report_failure(osd, how)

    def _peers(self, osd: Osd) -> list[Osd]:
        """The OSDs that would notice: up and running (a killed OSD's heartbeat peers get connection refused)."""
        return [o for o in self.osds.values() if o.up and o.running and o.id != osd.id]

    def _report_failure(self, osd: Osd, how: str) -> None:
        """Peers report the OSD: at once when its port refuses them, after the heartbeat grace when it is
        silent. A refused connection is an immediate failure (one reporter suffices); silence needs reports
        from `min_down_reporters` hosts; failing both, the report timeout."""
        if how == "killed":
            delay = self.tun.refused_detect
        else:   # silence: the grace, then the reports reach the mon; a lab saw 20-25 s (seeded per host)
            delay = self.tun.heartbeat_grace + 1.0 + 4.0 * stable_fraction(self.seed, osd.host, self.clock.now())

        def check() -> None:
            if osd.running or not osd.up or not self.has_quorum():
                return
            peers = self._peers(osd)
            reporters = {o.host for o in peers if o.host != osd.host}
            loc = self.location(osd.id)
            if how == "killed" and peers:
                by = min(peers, key=lambda o: (o.host == osd.host, o.id)).id
                self.log.append((self.clock.now(), LOG["immediately"].format(id=osd.id, by=by)))
                self._mark_down(osd, LOG["refused"].format(id=osd.id, loc=loc, by=by))
            elif how != "killed" and len(reporters) >= self.tun.min_down_reporters:
                self._mark_down(osd, LOG["reporters"].format(id=osd.id, loc=loc, n=len(reporters),
                                                             failed=delay, grace=self.tun.heartbeat_grace))
            else:
                stop = osd.stop_at if osd.stop_at is not None else self.clock.now()
                timeout = self.tun.report_timeout
                self._later(osd.name, max(0.0, stop + timeout - self.clock.now()),
                            lambda: self._mark_down(osd, LOG["no_beacon"].format(id=osd.id, age=f"{timeout:g}")))
        self._later(osd.name, delay, check)

    def _mark_down(self, osd: Osd, why: str) -> None:
        if not osd.up or osd.running or not self.has_quorum():
            return
        now = self.clock.now()
        osd.up, osd.down_at = False, now
        self.up_changed = now
        self._mark(osd)
        self.log.append((now, why))
        self.pgmap.osd_down(osd.id)
        self._changed(osd.id, False)
        self._tick_start()

    def location(self, osd_id: int) -> str:
        """CrushWrapper::get_full_location_ordered_string: `root=default,host=node1`."""
        return f"root=default,host={self.osds[osd_id].host}"

    def _tick_start(self) -> None:
        """The mon ticks every `mon_tick` from its start; ticks only matter while an OSD is down and in."""
        if not self._ticking and any(o.in_ and not o.up for o in self.osds.values()):
            self._ticking = True
            now, step = self.clock.now(), self.tun.mon_tick
            self.clock.call_at(self.created_at + ((now - self.created_at) // step + 1) * step, self._tick)

    def _tick(self) -> None:
        """OSDMonitor::tick: mark out OSDs down for longer than the down-out interval, while can_mark_out: the
        share of OSDs in (less those marked out in this tick) is at least mon_osd_min_in_ratio."""
        self._ticking = False
        if not self.has_quorum():
            return
        now = self.clock.now()
        n = len(self.osds)
        num_in = sum(1 for o in self.osds.values() if o.in_)
        for osd in self.osds.values():
            if osd.in_ and not osd.up and osd.down_at is not None \
                    and now - osd.down_at >= self.tun.down_out_interval:
                if not n or num_in / n < self.tun.min_in_ratio:
                    break
                num_in -= 1
                osd.in_, osd.autoout = False, True
                self.in_changed = now
                self._mark(osd)
                self.log.append((now, LOG["out"].format(id=osd.id, secs=int(now - osd.down_at))))
                self._changed(osd.id, True)
        self._tick_start()

    def _changed(self, osd: int, moved: bool) -> None:
        """Batch osdmap changes made at one instant into one new epoch, then re-peer the PGs they touch."""
        self._dirty.add(osd)
        if moved:
            self._dirty_in.add(osd)
        if not self._map_event:
            self._map_event = True
            self.clock.call_later(0, self._apply_map)

    def _apply_map(self) -> None:
        self._map_event = False
        dirty, moved = self._dirty, self._dirty_in
        self._dirty, self._dirty_in = set(), set()
        self.epochs["osdmap"] += 1
        pm = self.pgmap
        if self._crush_changed and moved:
            self._crush_changed = False
            again = set(pm.pgs)
        elif moved:
            again = pm.pgs_of(moved) | {k for k, pg in pm.pgs.items()
                                        if pg.rejected or len(pg.target) < self.pools[pg.pool].size}
        else:
            again = set()
        if moved:
            self.progress.before_remap(again)
        pm.retarget(sorted(again))
        for key in sorted(pm.pgs_of(dirty) - again):
            pm.repeer(key)

    def _addr(self, osd: Osd) -> str:
        ip = self.hosts[osd.host].address or "0.0.0.0"
        return f"v2:{ip}:6800/{1000 + osd.id},v1:{ip}:6801/{1000 + osd.id}"

    # --- mutes ------------------------------------------------------------------------------------------------
    def mute(self, code: str, ttl: float | None, sticky: bool, count: int, summary: str) -> None:
        until = self.clock.now() + ttl if ttl else None
        self.mutes[code] = Mute(code, until, sticky, count, summary)

    def unmute(self, code: str) -> None:
        self.mutes.pop(code, None)

    def archive_crashes(self, which: list[Crash] | None = None) -> None:
        """`ceph crash archive[-all]`: the module stamps `archived` with str(datetime.utcnow())."""
        stamp = str(self.clock.utcnow().replace(tzinfo=None))
        for c in self.crashes if which is None else which:
            if not c.archived:
                c.archived, c.archived_at, c.archived_t = True, stamp, self.clock.now()


def stable_fraction(seed: int, host: str, t: float) -> float:
    """A deterministic value in [0, 1) per (seed, host, instant): where in its ping cycle a peer was."""
    from labsim.fakes.ceph.crush import stable_hash
    h = stable_hash(seed, sum(ord(ch) * 131 ** i for i, ch in enumerate(host)) & ((1 << 63) - 1), int(t * 1000))
    return (h >> 11) / float(1 << 53)
