"""What a simulated lab adds for Talos clusters: the Talos and Cilium layers of the world, the control API the
fake `talosctl`/`helm` reach, and what a client needs to use those tools (their PATH entry and environment).

    face = TalosFace(world, seed=0, ca=lab_ca).start()
    env = {**os.environ, **face.tool_env()}      # PATH with labsim/fakes/bin first, LABSIM_CONTROL_URL/TOKEN, ...
    subprocess.run(["talosctl", "version", "--client"], env=env)
"""
from __future__ import annotations

import os
from typing import Any

from labsim.fakes.cilium.agents import CiliumWorld
from labsim.fakes.control import BIN, ControlServer, Pace
from labsim.fakes.talos.api import TalosApi
from labsim.fakes.talos.world import TalosWorld


class TalosFace:
    def __init__(self, world, *, seed: int = 0, ca=None):
        self.pace = Pace(world.clock)
        self.talos = TalosWorld(world, seed=seed, ca=ca)
        self.cilium = CiliumWorld(self.talos)
        self.control = ControlServer(self.pace)
        self.control.register("talos", TalosApi(self.talos, self.pace))

    def start(self) -> TalosFace:
        self.control.start()
        return self

    def stop(self) -> None:
        self.control.stop()
        for cluster in self.talos.clusters.values():
            if cluster.kube is not None:
                cluster.kube.stop()

    def on_kube_started(self, fn) -> None:
        """`fn(cluster)` once a cluster's Kubernetes API server listens (after the first kubeconfig or quorum)."""
        self.talos.on_kube_started.append(fn)

    def follow_wall(self, scale: float) -> None:
        """The lab's clock follows the wall (serve): tool waits then pass in real time."""
        self.pace.follow_wall(scale)

    def tool_env(self, path: str | None = None) -> dict[str, str]:
        """Environment for the fake tools: the control API, and PATH with labsim/fakes/bin first."""
        base = os.environ.get("PATH", "") if path is None else path
        return {**self.control.env(), "PATH": os.pathsep.join([str(BIN), base]) if base else str(BIN)}

    def endpoints(self) -> dict[str, Any]:
        return {"bin": str(BIN), "env": self.control.env()}
