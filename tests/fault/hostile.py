"""Helpers for the hostile-client tests: a whole simulated lab's faces, raw clients, legitimate probes, and the
process's resident memory and threads."""
from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import librouteros
import paramiko
import requests

from labsim.fakes.lab import SimulatedLab

ROOT = Path(__file__).resolve().parents[2]


def rss() -> int:
    """Resident memory of this process, bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Sampler:
    """A thread that calls `tick()` every `EVERY` seconds while the block runs; `begin()` runs on entry."""

    EVERY = 0.01
    JOIN: float | None = None     # how long the block's end waits for the thread

    def begin(self) -> None:
        pass

    def tick(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        self.begin()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.EVERY):
            self.tick()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join(self.JOIN)


class PeakRss(Sampler):
    """The highest resident memory seen while the block runs (sampled every 5 ms)."""

    EVERY = 0.005

    def begin(self) -> None:
        self.base = self.peak = rss()

    def tick(self) -> None:
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.base


def connect(port: int, tls: bool = False, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock


def exchange(port: int, data: bytes, *, tls: bool = False, timeout: float = 5.0) -> bytes:
    """Send `data`, half-close, and read whatever comes back until the server closes (or `timeout`)."""
    try:
        sock = connect(port, tls, timeout)
    except (OSError, ssl.SSLError):
        return b""
    out = b""
    try:
        try:
            sock.sendall(data)
            socket.socket.shutdown(sock, socket.SHUT_WR)
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ssl.SSLError, OSError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        sock.close()
    return out


def status_line(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def body_of(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""


@dataclass
class Lab:
    """A started simulated lab and a legitimate client per face, each a call that must succeed."""

    sim: SimulatedLab
    probes: dict[str, Callable[[], None]] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def endpoints(self):
        return self.sim.endpoints()

    def stop(self) -> None:
        for close in self.closers:
            try:
                close()
            except Exception:  # noqa: BLE001
                pass
        self.sim.stop()


def start_lab() -> Lab:
    sim = SimulatedLab(ROOT / "labs" / "aggrik8s.yaml").start()
    lab = Lab(sim)
    ep = sim.endpoints()

    ros = ep["routeros"]["rb5009-01"]
    api = librouteros.connect("127.0.0.1", ros["username"], ros["password"], port=ros["port"], timeout=5)
    lab.closers.append(api.close)
    lab.probes["routeros"] = lambda: list(api.path("system", "identity"))

    pve = ep["proxmox"]["pve"]
    pve_session = requests.Session()
    pve_session.headers["Authorization"] = f"PVEAPIToken={pve['user']}!{pve['token_id']}={pve['token_secret']}"
    pve_url = f"https://127.0.0.1:{pve['port']}/api2/json/version"
    lab.probes["proxmox"] = lambda: pve_session.get(pve_url, verify=pve["ca"], timeout=5).raise_for_status()

    kube_server = sim.rke2.servers["piCluster"]
    token = kube_server.add_token()
    kube_session = requests.Session()
    kube_session.headers["Authorization"] = f"Bearer {token}"
    kube_url = f"{kube_server.url}/api/v1/nodes"
    lab.probes["kubernetes"] = lambda: kube_session.get(kube_url, verify=kube_server.ca.cert_path,
                                                        timeout=5).raise_for_status()

    control = sim.talos.control

    def control_probe() -> None:
        r = requests.post(f"{control.url}/v1/clock/now", data=b"{}", timeout=5,
                          headers={"Authorization": f"Bearer {control.token}"})
        r.raise_for_status()
        assert "now" in json.loads(r.content)["result"]
    lab.probes["control"] = control_probe

    host = ep["hosts"]["pi-worker-01"]
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=host["port"], username=host["user"], key_filename=host["key_file"],
                   allow_agent=False, look_for_keys=False, timeout=5)
    lab.closers.append(client.close)

    def ssh_probe() -> None:
        _, out, _ = client.exec_command("uname -s", timeout=5)
        assert out.read().strip() == b"Linux"
    lab.probes["ssh"] = ssh_probe
    return lab


class Pauses(Sampler):
    """The spans in which this process ran no Python at all while the block ran: a full garbage collection, a
    C call holding the GIL, or a loaded machine not scheduling the process. The sampler, waking every 10 ms, sees
    each as an oversleep. A client of the faces is kept waiting by such a span as much as by a face, so a wait is
    judged without it (`waited`)."""

    SLACK = 0.04

    def begin(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self._last = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last > self.EVERY + self.SLACK:
            self.spans.append((self._last + self.EVERY, now))
        self._last = now

    def within(self, start: float, end: float) -> float:
        """Seconds of pause between `start` and `end`."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in list(self.spans))

    def waited(self, start: float, end: float) -> float:
        return end - start - self.within(start, end)


class Watchdog(Sampler):
    """Runs every probe again and again while a block runs. Afterwards `worst` is the longest wait per face (seconds)
    less the process's own pauses in that time (`Pauses`): what a face made its client wait, which a busy machine does
    not lengthen. `longest` is the plain longest answer, for messages."""

    JOIN = 10

    def __init__(self, lab: Lab, every: float = 0.1):
        self.lab, self.EVERY = lab, every
        self.samples: list[tuple[str, float, float]] = []
        self.failures: list[str] = []

    def begin(self) -> None:
        self.pauses = Pauses().__enter__()

    def tick(self) -> None:
        for name, probe in self.lab.probes.items():
            started = time.monotonic()
            try:
                probe()
            except Exception as exc:  # noqa: BLE001
                self.failures.append(f"{name}: {exc!r}")
            self.samples.append((name, started, time.monotonic()))

    def __exit__(self, *exc: object) -> None:
        super().__exit__()
        self.pauses.__exit__()   # (after the probes: a pause is recorded only once it is over)
        self.worst = {name: 0.0 for name in self.lab.probes}
        self.longest = dict(self.worst)
        for name, start, end in self.samples:
            self.worst[name] = max(self.worst[name], self.pauses.waited(start, end))
            self.longest[name] = max(self.longest[name], end - start)


def face_threads() -> int:
    """Threads of the faces now: workers and SSH transports (paramiko names its threads Thread-N)."""
    return sum(1 for t in threading.enumerate() if t.name.startswith("face:") and t.name.endswith(":worker")
               or isinstance(t, paramiko.Transport))


def workers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("face:") and t.name.endswith(":worker")]


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
