"""The two clusters the timeline drives, behind one small interface: the `ceph` command, the hands (kill, start,
crash an OSD, write objects) and a clock.

- `RealDriver`: the micro cluster of micro.py, in real time; the hands are signals to the daemons' PIDs and
  `rados put`.
- `SimDriver`: the simulator's CephCluster set to Ceph 16.2 with the same shape (one host named like this one,
  one mon, one mgr, three 10 GiB OSDs, chooseleaf type 0, the mgr's pool then `rbd` with 32 PGs of size 3,
  1 MiB objects, the same down-out interval and ceph-crash scan), in virtual time, through labsim's `ceph`.
"""
from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.ceph_real.micro import GIB, MicroCluster

MIB = 1024 ** 2
OBJECT = MIB
PG_NUM = 32
DOWN_OUT = 65.0          # mon_osd_down_out_interval for the tier (the default 600 s stays out of CI)
SLOW_PING_MS = 100000    # mon_warn_on_slow_ping_time: a shared CI machine's scheduling is not the network


def node_info() -> dict[str, str]:
    """What a crash report records of the node (src/global/signal_handler.cc): uname, and for each of `NAME=`,
    `ID=`, `VERSION=`, `VERSION_ID=` the first /etc/os-release line that contains it (so Debian's os_name is its
    PRETTY_NAME and its os_id its VERSION_ID, as the real reports show)."""
    info: dict[str, str] = {}
    try:
        lines = Path("/etc/os-release").read_text().splitlines()
    except OSError:
        lines = []
    for key in ("NAME=", "ID=", "VERSION=", "VERSION_ID="):
        line = next((ln for ln in lines if key in ln), None)
        if line is not None:
            info["os_" + key[:-1].lower()] = line.split(key, 1)[1].strip().strip('"')
    u = platform.uname()
    info.update(utsname_machine=u.machine, utsname_release=u.release, utsname_sysname=u.system,
                utsname_version=u.version)
    return info


class RealDriver:
    name = "real"

    def __init__(self, root: str | None = None, keep: bool = False):
        self.cluster = MicroCluster(osds=3, pool="rbd", pg_num=PG_NUM, osd_size=10 * GIB, root=root,
                                    extra_conf={"mon": {
                                        "mon osd down out interval": str(int(DOWN_OUT)),
                                        "mon warn on slow ping time": str(SLOW_PING_MS)}})
        self.keep = keep
        self._payload = None

    def start(self) -> None:
        self.cluster.start()

    def stop(self) -> None:
        self.cluster.stop(keep=self.keep)

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def ceph(self, *args: str) -> tuple[int, str, str]:
        return self.cluster.ceph(*args, timeout=20)

    def hostname(self) -> str:
        return socket.gethostname()

    def kill(self, osd: int, sig: int = signal.SIGKILL) -> None:
        self.cluster.signal_osd(osd, sig)

    def crash(self, osd: int) -> None:
        self.cluster.signal_osd(osd, signal.SIGSEGV)

    def scan_crashes(self) -> None:
        self.cluster.scan_crashes()

    def start_osd(self, osd: int) -> None:
        self.cluster.start_osd(osd)

    def write(self, first: int, count: int) -> None:
        if self._payload is None:
            self._payload = self.cluster.dir / "object.bin"
            self._payload.write_bytes(os.urandom(OBJECT))
        script = "".join(f"rados -p rbd put obj{i} {self._payload} || exit 1\n" for i in range(first, first + count))
        p = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=self.cluster.env(), timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"rados put failed: {p.stderr[-400:]}")


class SimDriver:
    name = "sim"

    def __init__(self, hostname: str | None = None, version: str = "16.2.15", seed: int = 0,
                 node: dict[str, str] | None = None):
        from labsim.fakes.ceph.tunables import Tunables
        from labsim.fakes.clock import VirtualClock
        self.clock = VirtualClock()
        self.version = version
        self.seed = seed
        self.host = hostname or socket.gethostname()
        self.node = node or node_info()
        # a bare ceph-osd starts in ~2 s (the simulator's default is a Rook pod's restart); ceph-crash keeps its
        # 10-minute scan, the timeline scans once itself
        self.tunables = Tunables(down_out_interval=DOWN_OUT, osd_boot=2.0)
        self.c = None

    def start(self) -> None:
        from labsim.fakes.ceph.testing import build
        self.c = build(names=[self.host], osds_per_host=3, mons=1, mgrs=1, size=3, pools=[], osd_size=10 * GIB,
                       failure_domain="osd", version=self.version, mgr_pool=True, object_size=OBJECT,
                       tunables=self.tunables, clock=self.clock, seed=self.seed, node_info=self.node, settle=20)
        pool = self.c.add_pool("rbd", size=3, pg_num=PG_NUM, failure_domain="osd")
        pool.object_size = OBJECT
        self.clock.sleep(10)

    def stop(self) -> None:
        pass

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(max(0.0, seconds))

    def ceph(self, *args: str) -> tuple[int, str, str]:
        from labsim.fakes.ceph import cli
        return cli.run(self.c, ["ceph", *args], self.clock.sleep)

    def hostname(self) -> str:
        return self.host

    def kill(self, osd: int, sig: int = signal.SIGKILL) -> None:
        with self.clock.lock:
            self.c.set_enabled(f"osd.{osd}", False, "killed" if sig == signal.SIGKILL else "graceful")

    def crash(self, osd: int) -> None:
        with self.clock.lock:
            self.c.crash(f"osd.{osd}", host=self.host, restart=False)

    def scan_crashes(self) -> None:
        with self.clock.lock:
            self.c.collector.scan()
        self.clock.sleep(1.0)               # what one `ceph-crash -d 0` run takes

    def start_osd(self, osd: int) -> None:
        with self.clock.lock:
            self.c.set_enabled(f"osd.{osd}", True)

    def write(self, first: int, count: int) -> None:
        with self.clock.lock:
            self.c.write("rbd", count * OBJECT, object_size=OBJECT)
        self.clock.sleep(count * 0.05)        # what `rados put` takes per object on the micro cluster
