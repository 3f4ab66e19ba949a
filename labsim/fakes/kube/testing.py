"""Helpers for tests that talk to a simulated Kubernetes over the wire.

    with start_kube_lab(tmp_path, workers=2) as lab:
        v1 = client.CoreV1Api(lab.api_client())
        lab.clock.sleep(10)                           # let controllers act in virtual time
        with lab.driven():                            # for kubectl wait/rollout: virtual time follows real time
            lab.kubectl("rollout", "status", "deployment/web")

`driven(scale)` runs a thread that advances the virtual clock `scale` times faster than real time while an
outside program (kubectl) polls or watches in real time; `python -m labsim.fakes serve` does the same at scale 1.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from labsim.fakes.clock import VirtualClock
from labsim.fakes.kube.cluster import KubeCluster
from labsim.fakes.pki import CA


def find_kubectl() -> str | None:
    """`$LABSIM_KUBECTL`, else `kubectl` on PATH."""
    return os.environ.get("LABSIM_KUBECTL") or shutil.which("kubectl")


@dataclass
class KubeLab:
    clock: VirtualClock
    cluster: KubeCluster
    server: object
    ca: CA
    directory: Path
    kubeconfig_path: Path
    _clients: list = field(default_factory=list)

    def api_client(self, kubeconfig: Path | None = None):
        from kubernetes import config
        c = config.new_client_from_config(str(kubeconfig or self.kubeconfig_path))
        self._clients.append(c)
        return c

    def env(self) -> dict[str, str]:
        return dict(os.environ, KUBECONFIG=str(self.kubeconfig_path),
                    KUBECACHEDIR=str(self.directory / "kubectl-cache"), HOME=str(self.directory))

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60,
                check: bool = False) -> subprocess.CompletedProcess:
        exe = find_kubectl()
        if exe is None:
            raise RuntimeError("kubectl is not installed")
        r = subprocess.run([exe, *args], env=self.env(), capture_output=True, text=True, input=input,
                           timeout=timeout, check=False)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    @contextmanager
    def driven(self, scale: float = 20.0, tick: float = 0.02) -> Iterator[None]:
        """Advance virtual time `scale`x real time while the block runs (outside clients poll in real time)."""
        stop = threading.Event()

        def drive() -> None:
            while not stop.wait(tick):
                self.clock.sleep(tick * scale)
        t = threading.Thread(target=drive, name="kube-lab-clock", daemon=True)
        self.clock.driven = scale
        t.start()
        try:
            yield
        finally:
            self.clock.driven = None
            stop.set()
            t.join(timeout=5)

    def close(self) -> None:
        for c in self._clients:
            with contextlib.suppress(Exception):   # closing pools at teardown
                c.close()
        self.server.stop()


@contextmanager
def start_kube_lab(directory: str | Path, *, workers: int = 2, control_planes: int = 1, bootstrap: bool = True,
                   name: str = "lab", seed: int = 0, settle: float = 10.0, **cluster_kw) -> Iterator[KubeLab]:
    from labsim.fakes.kube.server import KubeServer
    directory = Path(directory)
    clock = VirtualClock()
    cluster = KubeCluster(name, clock, seed=seed, **cluster_kw)
    cps = [f"cp-{i + 1}" for i in range(control_planes)]
    for i, n in enumerate(cps):
        cluster.register_node(n, addresses=[("InternalIP", f"192.168.15.{11 + i}")], control_plane=True)
    for i in range(workers):
        cluster.register_node(f"worker-{i + 1}", addresses=[("InternalIP", f"192.168.15.{21 + i}")])
    if bootstrap and cps:
        cluster.bootstrap_control_plane(cps)
    clock.sleep(settle)
    ca = CA.generate(directory=directory / "ca")
    server = KubeServer(cluster, ca=ca).start()
    lab = KubeLab(clock, cluster, server, ca, directory, directory / "kubeconfig")
    server.kubeconfig(lab.kubeconfig_path)
    try:
        yield lab
    finally:
        lab.close()
