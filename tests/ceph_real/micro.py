"""A real Ceph micro cluster on 127.0.0.1, bootstrapped by hand in a temporary folder: 1 mon, 1 mgr, 3 OSDs
with BlueStore on sparse files, pools of size 3 over OSDs (`osd crush chooseleaf type = 0`). No cephadm, no
containers, no systemd: every daemon is a child process of this one, run in the foreground, and stopped by its
PID at the end. What the Debian packages need to be installed: `ceph` (ceph-mon, ceph-mgr, ceph-osd, ceph-base
with ceph-crash, ceph-common with the `ceph` client).

The steps are those of Ceph's manual deployment (doc/install/manual-deployment.rst) and of vstart.sh:
monmaptool --create, ceph-authtool keyrings, ceph-mon --mkfs, `ceph auth get-or-create mgr.x`, `ceph osd new`,
ceph-osd --mkfs --mkkey, `ceph auth add osd.N`.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

GIB = 1024 ** 3
OSD_SIZE = 10 * GIB          # a sparse file each: BlueStore takes what it needs as it writes
BINARIES = ("ceph", "ceph-mon", "ceph-mgr", "ceph-osd", "ceph-authtool", "monmaptool", "ceph-crash")


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None]


def _fs_type(path: str) -> str:
    """The filesystem type /proc/mounts gives the longest mount point above `path`."""
    best, kind = "", ""
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mnt, fstype, *_ = line.split()
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                best, kind = mnt, fstype
    except OSError:
        pass
    return kind


def work_root() -> str:
    """Where the cluster's folder goes: BlueStore opens its block file with O_DIRECT, which tmpfs refuses, so the
    first of $CEPH_REAL_TMP, /var/tmp and the temporary directory that is not tmpfs."""
    for cand in (os.environ.get("CEPH_REAL_TMP"), "/var/tmp", tempfile.gettempdir()):
        if cand and os.path.isdir(cand) and _fs_type(os.path.realpath(cand)) not in ("tmpfs", "ramfs"):
            return cand
    return tempfile.gettempdir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CephError(RuntimeError):
    pass


class MicroCluster:
    """The cluster's folder, config and daemons. `start()` bootstraps it; `stop()` ends every daemon by PID."""

    def __init__(self, *, osds: int = 3, pool: str = "rbd", pg_num: int = 32, osd_size: int = OSD_SIZE,
                 root: str | None = None, extra_conf: dict | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="ceph-micro-", dir=root or work_root()))
        self.n_osds = osds
        self.pool = pool
        self.pg_num = pg_num
        self.osd_size = osd_size
        self.extra_conf = extra_conf or {}
        self.fsid = str(uuid.uuid4())
        self.conf = self.dir / "ceph.conf"
        self.keyring = self.dir / "ceph.client.admin.keyring"
        self.procs: dict[str, subprocess.Popen] = {}
        self.osd_ids: list[int] = []
        self.as_ceph = os.geteuid() == 0         # as packaged daemons do: run as the ceph user, not root
        self.started_at = 0.0

    # --- running things -------------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {**os.environ, "CEPH_CONF": str(self.conf)}

    def run(self, *argv: str, check: bool = True, input: str | None = None, timeout: float = 60) -> str:
        p = subprocess.run(list(argv), capture_output=True, text=True, env=self.env(), input=input, timeout=timeout)
        if check and p.returncode != 0:
            raise CephError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-800:]}")
        return p.stdout

    def ceph(self, *args: str, timeout: float = 30) -> tuple[int, str, str]:
        """The `ceph` client, as an engineer runs it: (exit code, stdout, stderr)."""
        p = subprocess.run(["ceph", "--connect-timeout", str(int(timeout)), *args], capture_output=True, text=True,
                           env=self.env(), timeout=timeout + 15)
        return p.returncode, p.stdout, p.stderr

    def ceph_json(self, *args: str):
        rc, out, err = self.ceph(*args, "-f", "json")
        if rc != 0:
            raise CephError(f"ceph {' '.join(args)}: exit {rc}: {err.strip()[-500:]}")
        return json.loads(out) if out.strip() else None

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.dir / "log" / f"{name}.stdout", "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        self.procs[name] = p
        return p

    def _user(self) -> list[str]:
        return ["--setuser", "ceph", "--setgroup", "ceph"] if self.as_ceph else []

    def _chown(self, *paths: Path) -> None:
        if self.as_ceph:
            ent = pwd.getpwnam("ceph")
            for top in paths:
                for dirpath, dirs, files in os.walk(top):
                    os.chown(dirpath, ent.pw_uid, ent.pw_gid)
                    for f in files:
                        os.chown(os.path.join(dirpath, f), ent.pw_uid, ent.pw_gid)

    # --- bootstrap ------------------------------------------------------------------------------------------
    def write_conf(self) -> None:
        v2, v1 = _free_port(), _free_port()
        self.mon_addr = f"[v2:127.0.0.1:{v2},v1:127.0.0.1:{v1}]"
        d = self.dir
        for sub in ("mon", "mgr", "osd", "log", "run", "crash/posted"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        asok = f"{d}/run/$cluster-$name.asok"
        conf: dict[str, dict[str, str]] = {
            "global": {"fsid": self.fsid, "mon host": self.mon_addr, "mon initial members": "a",
                       "public addr": "127.0.0.1", "public network": "127.0.0.0/8",
                       "auth cluster required": "cephx", "auth service required": "cephx",
                       "auth client required": "cephx", "run dir": f"{d}/run",
                       "log file": f"{d}/log/$cluster-$name.log", "crash dir": f"{d}/crash",
                       "pid file": f"{d}/run/$cluster-$name.pid",
                       "osd pool default size": "3", "osd pool default min size": "2",
                       "osd crush chooseleaf type": "0",          # replicas over OSDs: one host holds all three
                       "osd pool default pg autoscale mode": "off",
                       "mon data avail warn": "1", "mon data avail crit": "0",   # a CI disk may be nearly full
                       "auth allow insecure global id reclaim": "false"},     # what Rook sets (no legacy clients)
            "client": {"keyring": str(self.keyring), "admin socket": ""},
            "mon": {"mon data": f"{d}/mon/$cluster-$id", "keyring": "$mon_data/keyring", "admin socket": asok},
            "mgr": {"mgr data": f"{d}/mgr/$cluster-$id", "keyring": "$mgr_data/keyring", "admin socket": asok},
            "osd": {"osd data": f"{d}/osd/$cluster-$id", "keyring": "$osd_data/keyring", "admin socket": asok,
                    "osd objectstore": "bluestore", "bluestore block create": "true",
                    "bluestore block size": str(self.osd_size),        # a sparse file
                    "bluestore block db create": "false", "bluestore block wal create": "false",
                    "osd memory target": "939524096", "bluestore cache autotune": "false",
                    "bluestore cache size": "134217728"}}
        for section, opts in self.extra_conf.items():
            conf.setdefault(section, {}).update(opts)
        self.conf.write_text("".join(f"[{sec}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items())
                                     for sec, opts in conf.items()))

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.write_conf()
        d = self.dir
        monkeys = d / "mon.keyring"
        self.run("ceph-authtool", "--create-keyring", str(monkeys), "--gen-key", "-n", "mon.", "--cap", "mon",
                 "allow *")
        self.run("ceph-authtool", "--create-keyring", str(self.keyring), "--gen-key", "-n", "client.admin",
                 "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mds", "allow *", "--cap", "mgr",
                 "allow *")
        self.run("ceph-authtool", str(monkeys), "--import-keyring", str(self.keyring))
        monmap = d / "monmap"
        self.run("monmaptool", "--create", "--fsid", self.fsid, "--addv", "a", self.mon_addr, "--enable-all-features",
                 str(monmap))
        self._chown(d)
        os.chmod(self.keyring, 0o644)
        self.run("ceph-mon", "-c", str(self.conf), "--mkfs", "-i", "a", "--monmap", str(monmap), "--keyring",
                 str(monkeys), *self._user())
        self._spawn("mon.a", ["ceph-mon", "-f", "-c", str(self.conf), "-i", "a", *self._user()])
        self.wait(lambda: self.ceph("mon", "stat", timeout=5)[0] == 0, 60, "the mon answers")
        mgrdir = d / "mgr" / "ceph-a"
        mgrdir.mkdir(parents=True, exist_ok=True)
        self.run("ceph", "auth", "get-or-create", "mgr.a", "mon", "allow profile mgr", "osd", "allow *", "mds",
                 "allow *", "-o", str(mgrdir / "keyring"))
        self._chown(mgrdir)
        self._spawn("mgr.a", ["ceph-mgr", "-f", "-c", str(self.conf), "-i", "a", *self._user()])
        for _ in range(self.n_osds):
            self._make_osd()
        for i in self.osd_ids:
            self.start_osd(i)
        self.wait(lambda: self.ceph_json("osd", "stat")["num_up_osds"] == self.n_osds, 120, "every OSD up")
        self.run("ceph", "osd", "pool", "create", self.pool, str(self.pg_num), str(self.pg_num), "replicated")
        self.run("ceph", "osd", "pool", "application", "enable", self.pool, "rbd")

    def _make_osd(self) -> None:
        osd_uuid = str(uuid.uuid4())
        osd_id = int(self.run("ceph", "osd", "new", osd_uuid).strip())
        odir = self.dir / "osd" / f"ceph-{osd_id}"
        odir.mkdir(parents=True, exist_ok=True)
        self._chown(odir)
        self.run("ceph-osd", "-c", str(self.conf), "-i", str(osd_id), "--mkfs", "--mkkey", "--osd-uuid", osd_uuid,
                 "--no-mon-config", *self._user(), timeout=180)
        self.run("ceph", "auth", "add", f"osd.{osd_id}", "osd", "allow *", "mon", "allow profile osd", "mgr",
                 "allow profile osd", "-i", str(odir / "keyring"))
        self.osd_ids.append(osd_id)

    def start_osd(self, osd_id: int) -> None:
        self._spawn(f"osd.{osd_id}", ["ceph-osd", "-f", "-c", str(self.conf), "-i", str(osd_id), *self._user()])

    def signal_osd(self, osd_id: int, sig: int = signal.SIGKILL) -> None:
        p = self.procs[f"osd.{osd_id}"]
        os.kill(p.pid, sig)
        p.wait(timeout=60)

    def scan_crashes(self) -> None:
        """One scan of ceph-crash (`--delay 0`: scan once and exit), as Rook's crash collector and the packages'
        ceph-crash.service run it every 10 minutes: new reports in the crash dir are posted with `ceph crash post`
        (as client.admin here; as root it drops to the ceph user, who owns the crash dir)."""
        p = subprocess.run(["ceph-crash", "-p", str(self.dir / "crash"), "-d", "0", "-n", "client.admin"],
                           capture_output=True, text=True, env=self.env(), timeout=120)
        if p.returncode != 0:
            raise CephError(f"ceph-crash: exit {p.returncode}: {p.stderr.strip()[-500:]}")

    # --- waiting --------------------------------------------------------------------------------------------
    @staticmethod
    def wait(pred, timeout: float, what: str, interval: float = 1.0):
        end = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < end:
            try:
                got = pred()
                if got:
                    return got
            except (CephError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
                last = exc
            time.sleep(interval)
        raise CephError(f"not reached within {timeout:g} s: {what}" + (f" (last error: {last})" if last else ""))

    # --- the end ----------------------------------------------------------------------------------------------
    def stop(self, keep: bool = False) -> None:
        """Every daemon this object started, by PID: SIGTERM, then SIGKILL after 10 s."""
        for name, p in self.procs.items():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, p in self.procs.items():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
