"""The simulated control loops (kube-controller-manager, scheduler and every node's kubelet), run in virtual
time: a write to the cluster schedules one reconcile pass at the current virtual instant; timed work (a pod
that finishes starting, an eviction after 300 s, a job's pod exiting) schedules a wake-up at its due time.
Nothing runs until someone advances the clock (`clock.sleep(...)`), as in the rest of the simulator.

Each controller is level-triggered: `sync()` looks at the whole cluster and writes only what differs, so a
pass that changes nothing writes nothing and the loop ends. Like the real ones, which run from informers on the
kinds they watch, a loop runs in a pass only when one of its kinds changed since it last ran (`due`); a timed
wake-up runs every loop, since what is due then (a start, a deadline, an eviction) is a matter of time, not of a
write. Skipping the others was most of the loops' cost: a mesh run makes some 1,600 passes, each once listed
every kind for all eleven.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from labsim.fakes.kube.controllers.daemonset import DaemonSetController
from labsim.fakes.kube.controllers.deployment import DeploymentController
from labsim.fakes.kube.controllers.endpoints import EndpointsController
from labsim.fakes.kube.controllers.gc import GarbageCollector
from labsim.fakes.kube.controllers.job import JobController
from labsim.fakes.kube.controllers.kubelet import Kubelets
from labsim.fakes.kube.controllers.namespace import NamespaceController
from labsim.fakes.kube.controllers.nodelifecycle import NodeLifecycle
from labsim.fakes.kube.controllers.replicaset import ReplicaSetController
from labsim.fakes.kube.controllers.scheduler import Scheduler
from labsim.fakes.kube.controllers.statefulset import StatefulSetController

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

MAX_PASSES = 50     # per virtual instant: a controller bug must not hang the clock


class Controllers:
    def __init__(self, cluster: KubeCluster, *, enabled: bool = True):
        self.cluster = cluster
        self.enabled = enabled
        self._scheduled = False
        self._running = False
        self._dirty = False
        self._wakes: set[float] = set()
        self._full = True             # the next pass runs every loop (a wake-up, or the first pass)
        self.gc = GarbageCollector(cluster)
        self.nodes = NodeLifecycle(cluster, self)
        self.scheduler = Scheduler(cluster)
        self.kubelet = Kubelets(cluster, self)
        self.loops = [NamespaceController(cluster), self.gc, DeploymentController(cluster, self),
                      ReplicaSetController(cluster), DaemonSetController(cluster), StatefulSetController(cluster),
                      JobController(cluster), self.nodes, self.scheduler, self.kubelet, EndpointsController(cluster)]
        self.passes = 0
        self._seen = [-1] * len(self.loops)   # the store's resourceVersion when each loop last started a sync

    def kick(self) -> None:
        """Something changed: reconcile at the current virtual instant."""
        if not self.enabled:
            return
        if self._running:
            self._dirty = True
            return
        if not self._scheduled:
            self._scheduled = True
            self.cluster.clock.call_later(0, self.run)

    def wake_at(self, when: float) -> None:
        """Reconcile again at virtual time `when` (deduplicated)."""
        if not self.enabled:
            return
        # rounded up, never down: waking a hair early would find nothing due and never wake again
        when = math.ceil(max(when, self.cluster.clock.now()) * 1e6) / 1e6
        if when in self._wakes:
            return
        self._wakes.add(when)

        def wake() -> None:
            self._wakes.discard(when)
            self._full = True
            self.kick()
        self.cluster.clock.call_at(when, wake)

    def run(self) -> None:
        self._scheduled = False
        if not self.enabled:
            return
        with self.cluster.lock:
            self._running = True
            try:
                store = self.cluster.store
                for _ in range(MAX_PASSES):
                    self._dirty = False
                    self.passes += 1
                    full, self._full = self._full, False
                    for i, loop in enumerate(self.loops):
                        if full or loop.due(self._seen[i]):
                            # before the sync: what the loop writes itself makes it due again in the next pass
                            self._seen[i] = store.rv
                            loop.sync()
                    if not self._dirty:
                        break
            finally:
                self._running = False
            if self._dirty:      # still changing after MAX_PASSES: carry on at the next instant
                self._dirty = False
                self.wake_at(self.cluster.clock.now() + 0.001)
