"""A whole simulated lab: the world plus every face it shows, started from one lab file.

Used in-process by the sim target and standalone by `python -m labsim.fakes serve`. Every server binds
127.0.0.1; the lab's own addresses (192.168.x.y) exist only as data inside the world.
"""
from __future__ import annotations

import secrets as _secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Mapping

from labsim.fakes.ceph.world import CephWorld
from labsim.fakes.cilium.layer import MeshLayer
from labsim.fakes.cloud import talos_link
from labsim.fakes.cloud.faces import CloudFaces, s3_shaped
from labsim.fakes.cloud.world import CloudWorld, raw_cloud
from labsim.fakes.hosts import HostsFace, start_hosts
from labsim.fakes.rke2 import Rke2Face
from labsim.fakes.inventory import Inventory, load_inventory
from labsim.fakes.pki import CA
from labsim.fakes.proxmox.server import ProxmoxServer
from labsim.fakes.pve import credentials
from labsim.fakes.routeros.server import RouterOSServer
from labsim.fakes.talos.face import TalosFace
from labsim.fakes.tools.zygote import Zygote
from labsim.fakes.world import World

LOOPBACK = "127.0.0.1"


def sim_secrets(refs: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Values for the lab file's secret references in a simulated lab.

    An `env:NAME` already set in the environment is used as is (so an engineer or a test can plant a
    known value); otherwise the simulator invents one. `file:` references get invented values: a
    simulated lab never reads an engineer's real key files.
    """
    values: dict[str, str] = {}
    for ref in refs:
        kind, _, name = ref.partition(":")
        if kind == "env" and environ.get(name):
            values[ref] = environ[name]
        else:
            values[ref] = "sim-" + _secrets.token_urlsafe(12)
    return values


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically: a reader sees the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(text)
    tmp.replace(path)


class SimulatedLab:
    def __init__(self, labfile: str | Path, *, seed: int = 0, secrets: Mapping[str, str] | None = None):
        self.labfile = Path(labfile)
        self.inventory: Inventory = load_inventory(self.labfile)
        self.secrets = dict(secrets) if secrets is not None else sim_secrets(self.inventory.secret_refs(), {})
        self._shape_cloud_secrets()
        self.world = World(self.inventory, seed=seed, secret=self.secret)
        self.clock = self.world.clock
        self.routeros: dict[str, RouterOSServer] = {}
        for spec in self.inventory.devices:
            self.routeros[spec.identity] = RouterOSServer(
                self.world.devices[spec.identity], username=spec.username,
                password=self.secret(spec.password_ref), login=spec.login, version=spec.version,
                host=LOOPBACK, name=spec.identity)
        # One HTTPS API answers for every Proxmox node (as any node of a PVE cluster does), under a lab CA.
        has_cloud = raw_cloud(self.inventory.raw)
        self.ca: CA | None = CA.generate("labsim simulated lab CA") if self.world.proxmox or has_cloud else None
        self.proxmox: ProxmoxServer | None = (ProxmoxServer(self.world.proxmox, ca=self.ca, host=LOOPBACK)
                                              if self.world.proxmox and self.ca else None)
        self.hosts: HostsFace | None = None   # SSH servers of the Proxmox nodes and hosts, started with the lab
        # Talos nodes on the VMs, Cilium, the control API behind the fake talosctl/helm (labsim/fakes/talos/face.py)
        self.talos = TalosFace(self.world, seed=seed, ca=self.ca)
        # Rook-Ceph on every Talos cluster, its daemons going down with their nodes (labsim/fakes/ceph/world.py)
        self.ceph = CephWorld(self.talos.talos, seed=seed, sleep=self.talos.pace.sleep)
        # ClusterMesh over the Talos clusters, and what the fake `cilium` asks of it (labsim/fakes/cilium/layer.py)
        self.mesh = MeshLayer.for_lab(self.world, self.talos.talos, seed=seed, rke2=lambda: getattr(self, "rke2", None))
        self.talos.control.register("cilium", self.mesh.handle)
        self.talos.cilium.on_sync.append(lambda cluster: self.mesh.start())
        self.zygote: Zygote | None = None     # forks the fake tools instead of starting Python for each run (the
        # process's, shared by its labs)
        # The Kubernetes API of each Talos cluster, once it listens (after the bootstrap), with an admin
        # kubeconfig for it; `on_kube_api(cluster, entry)` is called then (serve rewrites its endpoints file).
        self._talos_kube: dict[str, dict[str, Any]] = {}
        self.on_kube_api: list[Callable[[str, dict[str, Any]], None]] = []
        self.talos.on_kube_started(self._talos_kube_started)
        # The clouds (labsim/fakes/cloud): servers at Hetzner and Oracle booting Talos, the tailnet, the zone at
        # Cloudflare, the S3 endpoint, each server's public HTTPS
        self.cloud: CloudWorld | None = None
        self.cloud_faces: CloudFaces | None = None
        if has_cloud:
            self.cloud = CloudWorld(self.inventory.raw, self.clock, seed=seed, secret=self.secret)
            talos_link.attach(self.talos.talos, self.cloud)
            self.cloud_faces = CloudFaces(self.cloud, self.ca, talos_link.locate(self.talos.talos))
        # Real programs behind simulated pods (the failover watcher): labsim/fakes/cloud/pods.py
        self.pod_runtimes: list = []
        talos_link.run_pods(self.talos.talos, self._pod_network, self.pod_runtimes)
        self._driver: threading.Thread | None = None
        self._stop = threading.Event()

    def _pod_network(self) -> dict[str, Any]:
        """What the simulated network gives a pod's process in place of the real one."""
        ep = self.cloud_faces.endpoints() if self.cloud_faces else {}
        return {"cloudflare": (ep.get("cloudflare") or {}).get("url", ""), "ca": self.ca.cert_path if self.ca else "",
                "internet": dict(self.cloud_faces.ingress.listeners()) if self.cloud_faces else {}}

    def _shape_cloud_secrets(self) -> None:
        s3 = self.inventory.raw.get("object_storage") or {}
        for kind, key in (("access", "access_key"), ("secret", "secret_key")):
            ref = s3.get(key)
            if isinstance(ref, str) and ref in self.secrets:
                self.secrets[ref] = s3_shaped(kind, self.secrets[ref], not self.secrets[ref].startswith("sim-"))

    def secret(self, ref: str) -> str:
        if ref not in self.secrets:
            raise KeyError(f"the simulated lab has no value for secret reference {ref!r}")
        return self.secrets[ref]

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "SimulatedLab":
        for srv in self.routeros.values():
            srv.start()
        if self.proxmox:
            self.proxmox.start()
        self.hosts = start_hosts(self.inventory, self.world, self.clock, self.secrets)
        # The Kubernetes API of each RKE2 cluster, its nodes following their hosts' rke2 units
        self._kube_dir = Path(tempfile.mkdtemp(prefix="labsim-kube-"))
        self._kube_ca = self.ca or CA.generate("labsim simulated lab CA")
        self.rke2 = Rke2Face(self.inventory.raw, self.hosts.machines, self.clock, self._kube_ca, self._kube_dir).start()
        if self.cloud_faces is not None:
            self.cloud_faces.start()
        self.zygote = Zygote.shared()
        self.talos.control.extra_env.update(self.zygote.env())
        self.talos.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._driver:
            self._driver.join(timeout=5)
            self.clock.driven = None    # a client still waiting on the clock (an exec's sleep) then ends its wait
        for srv in self.routeros.values():
            srv.stop()
        if self.proxmox:
            self.proxmox.stop()
        if self.hosts:
            self.hosts.stop()
        if getattr(self, "rke2", None):
            self.rke2.stop()
            shutil.rmtree(self._kube_dir, ignore_errors=True)
            if self._kube_ca is not self.ca:
                self._kube_ca.cleanup()
        for rt in self.pod_runtimes:
            rt.stop()
        self.talos.stop()
        if self.cloud_faces is not None:
            self.cloud_faces.stop()
        if self.ca:
            self.ca.cleanup()

    # --- checkpoints (labsim/fakes/checkpoint.py) -----------------------------------------------------------------
    def unfit_for_checkpoints(self) -> str | None:
        """Why this lab cannot be checkpointed (None: it can)."""
        if self.cloud is not None or any(rt.procs for rt in self.pod_runtimes):
            return "real programs run in its pods (the failover watcher), on threads of their own"
        if self._driver is not None:
            return "the lab's clock follows the wall clock"
        return None

    def faces(self) -> list:
        """Every server of this lab: the devices, Proxmox, the SSH hosts, the RKE2 and Talos clusters' API servers,
        the tools' control API."""
        out: list = [*self.routeros.values()]
        if self.proxmox:
            out.append(self.proxmox)
        if self.hosts:
            out += self.hosts.servers.values()
        if getattr(self, "rke2", None):
            out += self.rke2.servers.values()
        out.append(self.talos.control)
        out += [c.kube.server for c in self.talos.talos.clusters.values() if c.kube is not None and c.kube.server]
        return out

    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every listening socket of this lab's servers."""
        return [(face.host, port) for face in self.faces() for port in getattr(face, "_bound", None) or []]

    def revive(self) -> "SimulatedLab":
        """A copy restored from a checkpoint serves again, on the ports the checkpointed lab had (which must be
        stopped), with the process's tools' zygote."""
        from labsim.fakes.checkpoint import Unrestorable

        self._stop = threading.Event()
        revived = []
        for face in self.faces():
            try:
                face.revive()
            except OSError as exc:
                for f in revived:
                    f.stop()
                raise Unrestorable(f"{face.name} cannot listen on port {face.port} again: {exc}") from None
            revived.append(face)
        if self.zygote is not None:     # the process's (kept by reference), which tools' environments name
            Zygote.shared()
        return self

    def __enter__(self) -> "SimulatedLab":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def follow_wall_clock(self, scale: float = 1.0, tick: float = 0.05) -> None:
        """Let virtual time advance with real time (for `serve`, where outside clients poll in real time)."""
        def drive() -> None:
            origin, base = time.monotonic(), self.clock.now()
            while not self._stop.wait(tick):
                self.clock.advance_to(base + (time.monotonic() - origin) * scale)
        self.talos.follow_wall(scale)   # the fake tools' waits then pass in real time too
        self.clock.driven = scale       # and a `sleep` in a simulated container
        self._driver = threading.Thread(target=drive, name="sim-clock", daemon=True)
        self._driver.start()

    # --- what clients need ----------------------------------------------------------------------
    def endpoints(self) -> dict[str, Any]:
        return {
            "lab": self.inventory.name,
            "routeros": {
                spec.identity: {
                    "host": LOOPBACK, "port": self.routeros[spec.identity].port,
                    "username": spec.username, "password": self.secret(spec.password_ref),
                    "login": spec.login, "tls_port": None, "ca": None,
                } for spec in self.inventory.devices
            },
            "proxmox": self._proxmox_endpoints(),
            "hosts": self.hosts.endpoints() if self.hosts else {},
            "kubernetes": {**(self.rke2.endpoints() if getattr(self, "rke2", None) else {}), **self.talos_kubernetes()},
            "tools": self.talos.endpoints(),   # PATH entry and environment for the fake talosctl / helm
            "cloud": self.cloud_faces.endpoints() if self.cloud_faces else {},
        }

    def talos_kubernetes(self) -> dict[str, dict[str, Any]]:
        """Per Talos cluster whose API server listens: host, port, url, an admin kubeconfig file and the CA."""
        return {name: dict(ep) for name, ep in list(self._talos_kube.items())}

    def _talos_kube_started(self, cluster) -> None:
        # Runs in the world (under the clock's lock): issue a client certificate, write one file, tell listeners.
        link = cluster.kube
        cfg = cluster.config_of()
        path = self._kube_dir / f"kubeconfig-{cluster.name}"
        write_private(path, link.kubeconfig(cluster.name, cfg.endpoint if cfg is not None else link.url))
        entry = {"host": LOOPBACK, "port": int(link.url.rsplit(":", 1)[1]), "url": link.url, "kubeconfig": str(path),
                 "ca": link.ca.cert_path}
        self._talos_kube[cluster.name] = entry
        for fn in list(self.on_kube_api):
            fn(cluster.name, dict(entry))

    def _proxmox_endpoints(self) -> dict[str, Any]:
        if not self.proxmox or not self.ca:
            return {}
        c = credentials(self.inventory.proxmox)
        return {node: {"host": LOOPBACK, "port": self.proxmox.port, "user": c["user"], "token_id": c["token_id"],
                       "token_secret": self.secret(c["token_ref"]) if c["token_ref"] else None,
                       "password": self.secret(c["password_ref"]) if c["password_ref"] else None,
                       "ca": self.ca.cert_path} for node in self.world.proxmox.nodes}

    def writes(self) -> dict[str, int]:
        """Configuration changes each device has accepted since the lab started (`proxmox:NODE`: API
        writes under that node's path)."""
        out = {ident: dev.writes for ident, dev in self.world.devices.items()}
        if self.cloud_faces is not None:
            out.update({f"cloud:{name}": n for name, n in self.cloud_faces.writes().items()})
        if self.world.proxmox:
            log = list(self.world.proxmox.write_log)
            for node in self.world.proxmox.nodes:
                out[f"proxmox:{node}"] = sum(1 for _, path, _ in log if path.startswith(f"/nodes/{node}/"))
        return out
