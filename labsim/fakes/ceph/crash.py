"""Crash reports: what a crashing daemon leaves on its node, `ceph-crash` posting it, the mgr's crash module.

- The daemon's signal handler writes `<crash dir>/<crash_id>/meta` (src/global/signal_handler.cc): the fields of
  `ceph crash info`, with `crash_id` = `<timestamp>_<uuid>`.
- `ceph-crash` (src/ceph-crash.in; Rook's crash collector runs it per node) scans the crash dir every `--delay`
  minutes, 10 by default, and posts each new report with `ceph crash post`: only then does the cluster know.
- The crash module (src/pybind/mgr/crash/module.py) adds `stack_sig` on post, raises RECENT_CRASH for the
  reports of the last `warn_recent_interval` without `archived`, and `archive`/`archive-all` set `archived` to
  `str(datetime.utcnow())`. `crash ls -f json` prints `json.dumps(..., indent=4, sort_keys=True)` whatever the
  format asked; the plain listing is a borderless PrettyTable whose cells carry two trailing blanks.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from labsim.fakes.ceph.model import Crash
from labsim.fakes.ceph.units import stamp

if TYPE_CHECKING:
    from labsim.fakes.ceph.cluster import CephCluster

# A ceph-osd killed by a signal (src/global/signal_handler.cc handle_oneshot_fatal_signal): the frames of an
# idle daemon's main thread, as Debian's 16.2.15 recorded them for a SIGSEGV.
BACKTRACES = {
    "osd": ["/lib64/libpthread.so.0(+0x12cf0) [0x7f3c1b7e0cf0]", "pthread_cond_wait()",
            "(AsyncMessenger::wait()+0x5f) [0x55d1d8f2a28f]", "main()", "__libc_start_main()", "_start()"],
    "mon": ["/lib64/libpthread.so.0(+0x12cf0) [0x7f9a6e1c6cf0]", "pthread_cond_wait()",
            "(AsyncMessenger::wait()+0x5f) [0x5634f1e9c98f]", "main()", "__libc_start_main()", "_start()"],
    "mgr": ["/lib64/libpthread.so.0(+0x12cf0) [0x7f5d0a9eecf0]", "pthread_cond_wait()",
            "(AsyncMessenger::wait()+0x5f) [0x55e8b6f6a3ff]", "main()", "__libc_start_main()", "_start()"],
}
PROCESS = {"osd": "ceph-osd", "mon": "ceph-mon", "mgr": "ceph-mgr", "mds": "ceph-mds"}
# The node a daemon runs on, as uname(2) and /etc/os-release tell its process: Rook's daemons run in the
# quay.io/ceph/ceph image (CentOS Stream) on the Talos kernel. A bare cluster passes its own (testing.build).
ROOK_NODE = {"os_id": "centos", "os_name": "CentOS Stream", "os_version": "9", "os_version_id": "9",
             "utsname_machine": "x86_64", "utsname_release": "6.12.43-talos", "utsname_sysname": "Linux",
             "utsname_version": "#1 SMP"}


def stack_sig(backtrace: list[str]) -> str:
    """The crash module's calc_sig for a report without an assert message: sha256 over each frame cut at its
    last blank, stripped of its first and last character, up to the first `+` (the offset)."""
    h = hashlib.sha256()
    for frame in backtrace:
        h.update(frame.rsplit(" ", 1)[0][1:-1].split("+")[0].encode())
    return h.hexdigest()


def record(c: CephCluster, entity: str, hostname: str) -> Crash:
    """The report a crashing daemon writes on its node (posted later, by the collector's scan)."""
    now = c.clock.now()
    ts = stamp(c.clock.utcnow())
    crash_id = f"{ts}_{uuid.UUID(int=c.random.getrandbits(128), version=4)}"
    kind = entity.split(".")[0]
    bt = list(BACKTRACES.get(kind, BACKTRACES["osd"]))
    meta: dict[str, Any] = {"backtrace": bt, "ceph_version": c.release.version, "crash_id": crash_id,
                            "entity_name": entity, **{k: v for k, v in c.node_info.items() if k.startswith("os_")},
                            "process_name": PROCESS.get(kind, f"ceph-{kind}"), "stack_sig": stack_sig(bt),
                            "timestamp": ts, "utsname_hostname": hostname,
                            **{k: v for k, v in c.node_info.items() if k.startswith("utsname_")}}
    return Crash(crash_id, entity, hostname, now, timestamp=ts, meta=meta)


class CrashCollector:
    """`ceph-crash` on the nodes: one scan every `crash_scan` seconds from when the collector started."""

    def __init__(self, c: CephCluster):
        self.c = c
        self.started = c.clock.now()
        self.pending: list[Crash] = []

    def dumped(self, crash: Crash) -> None:
        if not self.pending:
            period = self.c.tun.crash_scan
            now = self.c.clock.now()
            wait = period - ((now - self.started) % period) if period > 0 else 0.0
            self.c.clock.call_later(wait, self._scan)
        self.pending.append(crash)

    def scan(self) -> None:
        """One scan now (`ceph-crash --delay 0`, what an engineer runs to post at once)."""
        self._scan()

    def _scan(self) -> None:
        c = self.c
        now = c.clock.now()
        for crash in self.pending:
            if c.collect_crashes:
                crash.posted_at = now
                c.crashes.append(crash)
        self.pending = []


def ls_doc(crashes: list[Crash]) -> list[dict[str, Any]]:
    out = []
    for x in sorted(crashes, key=lambda x: x.crash_id):
        d = dict(x.meta)
        if x.archived:
            d["archived"] = x.archived_at
        out.append(dict(sorted(d.items())))
    return out


def ls_table(crashes: list[Crash]) -> str:
    """PrettyTable(['ID', 'ENTITY', 'NEW'], border=False), left padding 0, right padding 2; ID and ENTITY left."""
    rows = [(x.crash_id, x.entity, "" if x.archived else "*") for x in sorted(crashes, key=lambda x: x.crash_id)]
    if not rows:
        return ""
    w = [max(len(r[i]) for r in [("ID", "ENTITY", "NEW"), *rows]) for i in range(3)]

    def line(r):
        new = r[2]
        pad = w[2] - len(new)
        return (r[0].ljust(w[0]) + "  " + r[1].ljust(w[1]) + "  " + " " * (pad // 2) + new
                + " " * (pad - pad // 2) + "  ")
    return "\n".join(line(r) for r in [("ID", "ENTITY", "NEW"), *rows]) + "\n"
