"""The ClusterMesh layer of a simulated lab, assembled: the mesh state (mesh.py), the datapath, the probes that
run in every member's pods, the CRDs cilium-operator registers, and the `cilium` service of the control API that
the fake `cilium` CLI asks what `kubectl exec ... cilium-dbg status` would tell it.

    layer = MeshLayer(clock, members, network, seed=0).start()
    control.register("cilium", layer.handle)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labsim.fakes.cilium import envoy
from labsim.fakes.cilium.datapath import Datapath
from labsim.fakes.cilium.members import Member, talos_members
from labsim.fakes.cilium.mesh import MeshWorld
from labsim.fakes.cilium.probes import Probes
from labsim.fakes.cilium.view import View

OPERATOR = ("apps", "deployments")


class MeshLayer:
    def __init__(self, clock, members: Callable[[], list[Member]], network, *, seed: int = 0):
        self.clock = clock
        self.mesh = MeshWorld(clock, members, network)
        self.datapath = Datapath(self.mesh, seed=seed)
        self.mesh.on_member.append(self._hook)
        self.mesh.on_tick.append(self._operator)

    @classmethod
    def for_lab(cls, world, talos, *, seed: int = 0) -> MeshLayer:
        """The Talos clusters of a simulated lab, on its RouterOS fabric."""
        from labsim.fakes.l3 import Routing
        return cls(world.clock, talos_members(talos), Routing.of_world(world), seed=seed)

    def start(self) -> MeshLayer:
        self.mesh.start()
        return self

    def _hook(self, m: Member) -> None:
        m.kube.pod_behaviour.append(Probes(m.name, m.kube, self.datapath))

    @staticmethod
    def _operator(m: Member, v: View) -> None:
        if m.kube.store.get(OPERATOR, "kube-system", "cilium-operator") is not None:
            envoy.ensure_crds(m.kube)

    # --- the control API (service "cilium") ----------------------------------------------------------------------
    def handle(self, method: str, body: dict[str, Any]) -> Any:
        from labsim.fakes.control import ControlError
        if method != "status":
            raise ControlError("Unimplemented", f"unknown method cilium/{method}")
        server = str(body.get("server", "")).rstrip("/")
        with self.clock.lock:
            m = next((x for x in self.mesh.members() if x.url and x.url.rstrip("/") == server), None)
            if m is None:
                raise ControlError("NotFound", f"no simulated cluster serves {server}")
            return {"member": m.name, "pods": {p: self.mesh.pod_status(m.name, p) for p in body.get("pods") or []}}
