"""Ceph in the world: a Rook operator (rook.py) on every Talos cluster's Kubernetes API once it answers, told
when a node goes away and when it is back.

A VM stop (a crash or a shutdown through Proxmox) takes its node's daemons down at that instant; a node that
loses its network (pulled cable, VLAN gone) or its kubelet is seen on the next TICK; a node is back once Talos
runs its kubelet again. Disks are the VM's drives; the one Talos installed itself on is the system disk.

    ceph = CephWorld(talos_world, seed=seed)      # the wiring: one line where the Talos layer is built
    ceph.operator("talos-east").ceph()            # the CephCluster behind its CephCluster CR
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from labsim.fakes.ceph import disks as D
from labsim.fakes.ceph import podsecurity, toolbox
from labsim.fakes.ceph.model import Disk
from labsim.fakes.ceph.rook import RookOperator
from labsim.fakes.ceph.tunables import Tunables

if TYPE_CHECKING:
    from labsim.fakes.talos.world import TalosWorld

TICK = 5.0


class CephWorld:
    def __init__(self, talos: TalosWorld, *, seed: int = 0, tunables: Tunables | None = None, sleep=None):
        self.talos = talos
        self.clock = talos.clock
        self.seed = seed
        self.tunables = tunables
        self.sleep = sleep                      # how a `ceph` client waits (the lab's Pace; virtual by default)
        self.operators: dict[str, RookOperator] = {}
        self._alive: dict[str, bool] = {}
        if talos.proxmox is not None:
            talos.proxmox.on_vm_event.append(self._vm_event)
        self.clock.call_later(TICK, self._tick)

    def operator(self, cluster: str) -> RookOperator | None:
        return self.operators.get(cluster)

    def disks(self, node: str) -> list[Disk]:
        tn = self._node(node)
        return D.from_vm(tn.vm) if tn is not None else []

    def _node(self, hostname: str):
        return next((n for n in self.talos.nodes.values() if n.hostname == hostname), None)

    def _tick(self) -> None:
        self.clock.call_later(TICK, self._tick)
        for (name, _), cluster in list(self.talos.clusters.items()):
            link = cluster.kube
            if link is None:
                continue
            op = self.operators.get(name)
            if op is None or op.kube is not link.cluster:
                op = self.operators[name] = RookOperator(link.cluster, disks=self.disks, seed=self.seed,
                                                         tunables=self.tunables).start()
                toolbox.install(op, self.sleep)
                # Talos's API server enforces PodSecurity `baseline` (the Talos layer's to own; Rook is the
                # first workload here that it refuses)
                link.cluster.admission.append(podsecurity.admission(link.cluster))
            for node in cluster.nodes.values():
                alive = bool(node.kubelet and node.reachable)
                if self._alive.get(node.hostname, True) != alive:
                    self._set(op, node.hostname, alive)

    def _set(self, op: RookOperator, hostname: str, alive: bool) -> None:
        self._alive[hostname] = alive
        (op.host_up if alive else op.host_down)(hostname)

    def _vm_event(self, event: str, vm) -> None:
        if event not in ("stopped", "destroyed"):
            return
        node = self.talos.nodes.get(vm.vmid)
        if node is None or node.cluster is None or node.cluster.name not in self.operators:
            return
        self._set(self.operators[node.cluster.name], node.hostname, False)
