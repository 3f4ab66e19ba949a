"""The ClusterMesh layer of a simulated lab, assembled: the mesh state (mesh.py), the datapath, the probes that
run in every member's pods, and the `cilium` service of the control API that the fake `cilium` CLI asks what `kubectl exec ... cilium-dbg status` would tell it.

    layer = MeshLayer(clock, members, network, seed=0).start()
    control.register("cilium", layer.handle)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labsim.fakes import kube_exec as X
from labsim.fakes.cilium import crds
from labsim.fakes.cilium.datapath import Datapath
from labsim.fakes.cilium.members import Member, rke2_members, talos_members
from labsim.fakes.cilium.mesh import MeshWorld
from labsim.fakes.cilium.probes import Probes


class MeshLayer:
    def __init__(self, clock, members: Callable[[], list[Member]], network, *, seed: int = 0):
        self.clock = clock
        self.mesh = MeshWorld(clock, members, network)
        self.datapath = Datapath(self.mesh, seed=seed)
        self.mesh.on_member.append(self._hook)

    @classmethod
    def for_lab(cls, world, talos, *, seed: int = 0, rke2=lambda: None) -> MeshLayer:
        """The Talos clusters of a simulated lab and its RKE2 clusters with Cilium (`rke2()`: the lab's RKE2 face once
        started), on its RouterOS fabric."""
        from labsim.fakes.l3 import Routing
        talos_of, rke2_of = talos_members(talos), rke2_members(rke2)
        return cls(world.clock, lambda: talos_of() + rke2_of(), Routing.of_world(world), seed=seed)

    def start(self) -> MeshLayer:
        self.mesh.start()
        return self

    def _hook(self, m: Member) -> None:
        m.kube.pod_behaviour.append(Probes(m.name, m.kube, self.datapath))
        crds.install(m.kube)      # its cilium-operator pods register the cilium.io CRDs (once per cluster)
        dbg = lambda req, name=m.name: self._dbg(name, req)    # noqa: E731
        X.registry(m.kube).register("kube-system", {"k8s-app": "cilium"}, "cilium-agent",
                                    {"cilium-dbg": dbg, "cilium": dbg})

    def _dbg(self, member: str, req: X.ExecRequest) -> X.ExecResult:
        """`cilium-dbg metrics list [-p PATTERN]` in an agent pod: the drop counters of that agent's node, as the
        table cilium-dbg prints (`Metric  Labels  Value`, labels as key="value"); other subcommands are not
        simulated and say so."""
        args = req.command[1:]
        if args[:2] != ["metrics", "list"]:
            return X.ExecResult(stderr=f"{req.command[0]} {' '.join(args)}: not part of the simulated lab's "
                                f"cilium-dbg (metrics list is)\n".encode(), exit_code=1)
        pattern = ""
        for i, a in enumerate(args):
            if a in ("-p", "--match-pattern") and i + 1 < len(args):
                pattern = args[i + 1]
            elif a.startswith("--match-pattern="):
                pattern = a.split("=", 1)[1]
        with self.clock.lock:
            counts = self.datapath.drop_counts(member, (req.pod.get("spec") or {}).get("nodeName", ""))
        rows = [("cilium_drop_count_total", f'direction="{d}" reason="{r}"', f"{c:.6f}")
                for (d, r), c in sorted(counts.items())]
        rows = [r for r in rows if pattern in r[0]]
        width = [max(len(x[i]) for x in rows + [("Metric", "Labels", "Value")]) for i in range(2)]
        lines = [f"{a:<{width[0]}}   {b:<{width[1]}}   {c}" for a, b, c in [("Metric", "Labels", "Value")] + rows]
        return X.ExecResult(("\n".join(lines) + "\n").encode())

    # --- the control API (service "cilium") ----------------------------------------------------------------------
    def handle(self, method: str, body: dict[str, Any]) -> Any:
        from labsim.fakes.control import ControlError
        if method not in ("status", "curl", "backends"):
            raise ControlError("Unimplemented", f"unknown method cilium/{method}")
        server = str(body.get("server", "")).rstrip("/")
        with self.clock.lock:
            m = next((x for x in self.mesh.members() if x.url and x.url.rstrip("/") == server), None)
            if m is None:
                raise ControlError("NotFound", f"no simulated cluster serves {server}")
            if method == "curl":
                return self._curl(m, body)
            if method == "backends":     # what `cilium-dbg service list` of the cluster's agents holds for a Service
                _, bes = self.datapath.backends(m.name, str(body.get("namespace", "")), str(body.get("name", "")))
                return {"backends": [{"ip": b.ip, "cluster": b.cluster, "state": b.state} for b in bes]}
            return {"member": m.name, "pods": {p: self.mesh.pod_status(m.name, p) for p in body.get("pods") or []}}

    def _curl(self, m: Member, body: dict[str, Any]) -> dict[str, Any]:
        """One `curl` from a pod (what `kubectl exec POD -- curl ...` does in cilium-cli's connectivity test): to a
        pod IP or a Service name, through the datapath."""
        from labsim.fakes.control import ControlError
        pod = m.kube.store.get(("", "pods"), str(body.get("namespace", "")), str(body.get("pod", "")))
        if pod is None or (pod.get("status") or {}).get("phase") != "Running":
            raise ControlError("NotFound", f'pods "{body.get("pod")}" not found')
        host, port = str(body.get("host", "")), int(body.get("port") or 80)
        is_ip = host.replace(".", "").isdigit()
        out = (self.datapath.connect_ip(m.name, pod, host, port) if is_ip
               else self.datapath.connect(m.name, pod, host, port, float(body.get("timeout") or 2.0)))
        return {"kind": out.kind, "status": out.status, "ip": out.backend.ip if out.backend else None,
                "dropped": out.dropped.reason if out.dropped else None}
