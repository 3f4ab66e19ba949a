"""A ready-made simulated Proxmox for tests and for the lead's wiring: the lab file's nodes, a CA, a server.

    with start_pve_lab() as lab:                        # labs/aggrik8s.yaml, seed 0
        prox = ProxmoxAPI(**lab.proxmoxer_kwargs())     # token auth, CA verified
        upid = prox.nodes("pve").qemu.post(vmid=1501, ...)
        status = wait_task(prox, upid, lab.clock)       # polls over the API while advancing virtual time

No client library is imported here: `proxmoxer_kwargs()` only builds the keyword arguments.

CA verification: proxmoxer hands `verify_ssl` to `requests` as `verify=` on every call, so the CA *path*
works (`verify_ssl=lab.ca.cert_path`); so does `verify_ssl=True` with `REQUESTS_CA_BUNDLE=<ca path>`.
With a bare `requests.Session`, note that `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` in the environment
override `session.verify` (a requests quirk): pass `verify=` per request or set `session.trust_env = False`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from labsim import fastyaml
from labsim.fakes.clock import VirtualClock
from labsim.fakes.pki import CA
from labsim.fakes.proxmox.cluster import ProxmoxCluster, ProxmoxNode
from labsim.fakes.proxmox.server import ProxmoxServer

LABS = Path(__file__).resolve().parents[3] / "labs"
DEFAULT_LAB = LABS / "aggrik8s.yaml"


@lru_cache(maxsize=16)
def _load(path: str, mtime: float) -> dict[str, Any]:
    return fastyaml.load(Path(path).read_text()) or {}


def load_lab(path: str | Path = DEFAULT_LAB) -> dict[str, Any]:
    """The lab file as plain data (cached per file version; callers get a deep copy)."""
    p = Path(path).resolve()
    return copy.deepcopy(_load(str(p), p.stat().st_mtime))


def nodes_from_lab(path: str | Path = DEFAULT_LAB) -> list[ProxmoxNode]:
    raw = load_lab(path)
    return [ProxmoxNode.from_dict(d) for d in ((raw.get("proxmox") or {}).get("nodes") or [])]


def credentials_from_lab(path: str | Path = DEFAULT_LAB) -> tuple[str, str]:
    """(user, token id) from the lab file's `proxmox.credentials` (default root@pam / ci)."""
    raw = load_lab(path)
    cred = (raw.get("proxmox") or {}).get("credentials") or {}
    return str(cred.get("user", "root@pam")), str(cred.get("token_id", "ci"))


@dataclass
class PveLab:
    clock: VirtualClock
    cluster: ProxmoxCluster
    server: ProxmoxServer
    ca: CA
    user: str
    password: str
    token_id: str
    token_secret: str
    owns_ca: bool = False

    @property
    def node(self) -> str:
        return next(iter(self.cluster.nodes))

    def proxmoxer_kwargs(self, *, token: bool = True, timeout: float = 5) -> dict[str, Any]:
        """Keyword arguments for `proxmoxer.ProxmoxAPI`: verification on, against the lab CA."""
        kw: dict[str, Any] = {"host": self.server.host_port, "user": self.user, "verify_ssl": self.ca.cert_path,
                              "timeout": timeout}
        if token:
            kw.update(token_name=self.token_id, token_value=self.token_secret)
        else:
            kw["password"] = self.password
        return kw

    def stop(self) -> None:
        self.server.stop()
        if self.owns_ca:
            self.ca.cleanup()

    def __enter__(self) -> PveLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_pve_lab(labfile: str | Path = DEFAULT_LAB, *, seed: int = 0, clock: VirtualClock | None = None,
                  password: str = "sim-root-password", token_secret: str = "5f1c7c52-7c2b-4f0e-9a51-6f3d1e2b9c10",
                  ca: CA | None = None, **cluster_kw: Any) -> PveLab:
    clock = clock or VirtualClock()
    user, token_id = credentials_from_lab(labfile)
    cluster = ProxmoxCluster(nodes_from_lab(labfile), clock, users={user: password},
                             tokens={f"{user}!{token_id}": token_secret}, seed=seed, **cluster_kw)
    owns_ca = ca is None
    ca = ca or CA.generate()
    server = ProxmoxServer(cluster, ca=ca).start()
    return PveLab(clock, cluster, server, ca, user, password, token_id, token_secret, owns_ca)


def wait_task(prox: Any, upid: str, clock: VirtualClock, *, timeout: float = 600.0, step: float = 0.5) -> dict:
    """Poll `GET /nodes/{node}/tasks/{upid}/status` through the client, advancing virtual time between
    polls, until the task stops; return its status (check `exitstatus`). Never sleeps in real time."""
    node = upid.split(":")[1]
    deadline = clock.now() + timeout
    while True:
        status = prox.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        if clock.now() >= deadline:
            raise TimeoutError(f"task {upid} still running after {timeout} virtual seconds")
        clock.sleep(step)
