"""One Talos cluster (all nodes whose config names the same cluster): etcd and its quorum, the bootstrap,
the shared VIP, and the Kubernetes API server with the Nodes its kubelets register.

- etcd: `bootstrap` on one control plane starts a one-member cluster; every other control plane joins once
  its etcd runs. Members stay members when their node dies, so quorum is floor(n/2)+1 of all members:
  losing one of three keeps it, losing two loses it (and with it the API and the VIP).
- A second `bootstrap` is refused on a node whose etcd has data (`etcd data directory is not empty`); on a
  control plane that has not joined yet it starts a second etcd cluster, as the real one does (the health
  check then finds the members inconsistent).
- VIP (vip.mdx): held by one control plane with etcd once the cluster is bootstrapped; on a graceful
  shutdown another takes it almost at once, after a crash or a lost link only when the election lease
  expires (up to a minute).
- Kubernetes: the API server answers APISERVER seconds after etcd first runs with quorum; each kubelet
  registers its Node (NotReady until a CNI runs on it); a silent kubelet's Node goes Unknown after the node
  monitor grace period; the boot sequence finishes when the Node is Ready, or reboots after the CNI window.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsim.fakes.talos import kmsg
from labsim.fakes.talos import texts as T
from labsim.fakes.talos import timing as TM
from labsim.fakes.talos.kubelink import KubeLink

if TYPE_CHECKING:
    from labsim.fakes.talos.node import TalosNode
    from labsim.fakes.talos.world import TalosWorld


@dataclass
class EtcdMember:
    id: str
    hostname: str
    vmid: int
    etcd_cluster: int           # which etcd cluster it belongs to (a second bootstrap makes another)
    learner: bool = False


class TalosCluster:
    def __init__(self, talos: TalosWorld, name: str, cluster_id: str):
        self.talos = talos
        self.name = name
        self.id = cluster_id
        self.nodes: dict[int, TalosNode] = {}
        self.members: dict[int, EtcdMember] = {}
        self.etcd_clusters = 0
        self.vip_holder: int | None = None
        self._vip_at: float | None = None
        self._vip_ever = False
        self.kube: KubeLink | None = None
        self._silent: dict[str, float] = {}
        self._windows: dict[int, int] = {}     # vmid -> boot id whose CNI window is running

    # --- membership ----------------------------------------------------------------------------------------
    def add(self, node: TalosNode) -> None:
        self.nodes[node.vmid] = node
        node.cluster = self

    @property
    def bootstrapped(self) -> bool:
        return self.etcd_clusters > 0

    def control_planes(self) -> list[TalosNode]:
        return sorted((n for n in self.nodes.values() if n.control_plane), key=lambda n: n.hostname)

    def config_of(self):
        cps = [n.config for n in self.control_planes() if n.config]
        return cps[0] if cps else next((n.config for n in self.nodes.values() if n.config), None)

    @property
    def vip(self) -> str | None:
        return next((n.config.vip for n in self.control_planes() if n.config and n.config.vip), None)

    # --- etcd ----------------------------------------------------------------------------------------------
    def etcd_boot(self, node: TalosNode) -> None:
        """A control plane booted: etcd with data restarts, otherwise it waits for the bootstrap, then joins."""
        node.etcd = "waiting"
        if not self.bootstrapped and not node.etcd_data:
            kmsg.talos(node, 'task startAllServices (1/1): service "etcd" to be "up", service "kubelet" to be "up"')
            kmsg.etcd_waiting(node)
        if node.etcd_data and node.vmid in self.members:
            node.etcd = "joining"
            self.talos.after(TM.ETCD_START, node, node.boot_id, lambda: self._etcd_running(node))

    def bootstrap(self, node: TalosNode) -> tuple[str, str] | None:
        """The Bootstrap RPC on `node`: None when accepted, else its (code, message)."""
        if not node.control_plane:
            return T.BOOTSTRAP_WORKER
        if node.etcd_data or node.etcd == "running":
            return T.BOOTSTRAP_ALREADY
        if node.stage not in ("booting", "running") or not node.apid:
            return T.BOOTSTRAP_NOT_YET
        self.etcd_clusters += 1
        self._new_member(node, self.etcd_clusters)
        self.talos.after(TM.ETCD_START, node, node.boot_id, lambda: self._etcd_running(node))
        return None

    def _new_member(self, node: TalosNode, etcd_cluster: int) -> None:
        self.members[node.vmid] = EtcdMember(f"{self.talos.random.getrandbits(64):016x}", node.hostname,
                                             node.vmid, etcd_cluster)
        node.disk_state["etcd_data"] = True

    def _etcd_join(self, node: TalosNode) -> None:
        if node.vmid not in self.members:
            if not self.quorum():
                self.talos.after(TM.ETCD_JOIN, node, node.boot_id, lambda: self._etcd_join(node))
                return
            self._new_member(node, 1)
            kmsg.talos(node, "successfully promoted etcd member")
        self._etcd_running(node)

    def _etcd_running(self, node: TalosNode) -> None:
        node.etcd = "running"
        node.service("etcd", "Running", "OK", "Health check successful")
        self.talos.after(TM.APISERVER, node, node.boot_id, lambda: self._apiserver_up(node))
        self.reconcile()

    def _apiserver_up(self, node: TalosNode) -> None:
        node.apiserver = True
        self.reconcile()

    def etcd_up(self, node: TalosNode) -> bool:
        return node.etcd == "running" and node.reachable

    def members_of(self, node: TalosNode) -> list[EtcdMember]:
        """The member list as `node`'s etcd sees it."""
        mine = self.members.get(node.vmid)
        if mine is None:
            return []
        return sorted((m for m in self.members.values() if m.etcd_cluster == mine.etcd_cluster),
                      key=lambda m: m.hostname)

    def quorum(self) -> bool:
        members = [m for m in self.members.values() if m.etcd_cluster == 1]
        up = [m for m in members if m.vmid in self.nodes and self.etcd_up(self.nodes[m.vmid])]
        return bool(members) and len(up) >= len(members) // 2 + 1

    def api_up(self) -> bool:
        return self.quorum() and any(n.apiserver and n.reachable for n in self.control_planes())

    # --- failures ------------------------------------------------------------------------------------------
    def node_gone(self, node: TalosNode, graceful: bool) -> None:
        if self.vip_holder == node.vmid:
            self._drop_vip(graceful)
        self.reconcile()

    def _drop_vip(self, graceful: bool) -> None:
        self.vip_holder = None
        lo, hi = TM.VIP_CRASH
        delay = TM.VIP_GRACEFUL if graceful else self.talos.random.uniform(lo, hi)
        self._schedule_vip(delay)

    def _schedule_vip(self, delay: float) -> None:
        at = self.talos.clock.now() + delay
        if self._vip_at is not None and self._vip_at <= at:
            return
        self._vip_at = at

        def elect() -> None:
            if self._vip_at == at:
                self._vip_at = None
                self._elect_vip()
        self.talos.clock.call_at(at, elect)

    def _elect_vip(self) -> None:
        if self.vip_holder is not None or not self.vip or not self.quorum():
            return
        for node in self.control_planes():
            if self.etcd_up(node):
                self.vip_holder, self._vip_ever = node.vmid, True
                return

    def vip_node(self) -> TalosNode | None:
        return self.nodes.get(self.vip_holder) if self.vip_holder is not None else None

    # --- the reconcile pass: VIP, API availability, Nodes ---------------------------------------------------------
    def reconcile(self) -> None:
        if self.bootstrapped:
            for node in self.control_planes():
                if node.etcd == "waiting" and node.reachable:
                    node.etcd = "joining"
                    self.talos.after(TM.ETCD_JOIN, node, node.boot_id, lambda n=node: self._etcd_join(n))
        holder = self.vip_node()
        if holder is not None and (not self.etcd_up(holder) or not self.quorum()):
            self._drop_vip(graceful=False)
        elif holder is None and self._vip_at is None and self.vip and self.quorum():
            self._schedule_vip(TM.VIP_GRACEFUL if self._vip_ever else 0.0)
        api = self.api_up()
        if api and self.kube is None:
            self.ensure_kube()
        if self.kube is None:
            return
        self.kube.set_available(api)
        if not api:
            return
        self._sync_nodes()

    def ensure_kube(self) -> KubeLink:
        """The cluster's API server (listening from the first kubeconfig or the first time etcd has quorum)."""
        if self.kube is None:
            self._start_kube()
            assert self.kube is not None
            self.kube.set_available(self.api_up())
        return self.kube

    def _start_kube(self) -> None:
        cfg = self.config_of()
        self.kube = KubeLink(self.name, self.talos.clock, version=cfg.kubernetes_version or "1.34.1",
                             seed=self.talos.seed, pod_subnet=cfg.pod_subnets[0],
                             service_subnet=cfg.service_subnets[0], ca=self.talos.ca(),
                             cni_ready=lambda name: self.talos.cni_ready(self, name))
        self.kube.start()
        for fn in list(self.talos.on_kube_started):
            fn(self)

    def _sync_nodes(self) -> None:
        kube = self.kube
        assert kube is not None
        fresh_cps: list[str] = []
        for node in sorted(self.nodes.values(), key=lambda n: n.hostname):
            name = node.hostname
            alive = node.kubelet and node.reachable
            if alive:
                self._silent.pop(name, None)
                ready = self.talos.cni_ready(self, name)
                if not kube.has_node(name):
                    if not self.talos.endpoint_ok(node):
                        continue        # its kubelet cannot reach the cluster endpoint yet: it cannot register
                    self._register(node, ready)
                    if node.control_plane:
                        fresh_cps.append(name)
                else:
                    kube.set_ready(name, ready)
                kube.kubelet_reports(name, node.boot_id)
                if node.stage == "booting":
                    self._boot_progress(node, ready)
            elif kube.has_node(name):
                now = self.talos.clock.now()
                if name not in self._silent:
                    self._silent[name] = now
                    self.talos.clock.call_later(TM.NODE_MONITOR_GRACE, self.reconcile)
                elif now - self._silent[name] >= TM.NODE_MONITOR_GRACE - 1e-6:
                    kube.set_ready(name, None)
        if fresh_cps:
            cfg = self.config_of()
            kube.bootstrap([n.hostname for n in self.control_planes() if kube.has_node(n.hostname)],
                           kube_proxy=not (cfg and cfg.proxy_disabled))

    def _register(self, node: TalosNode, ready: bool) -> None:
        cfg = node.config
        assert cfg is not None and self.kube is not None
        labels = dict(cfg.node_labels)
        taints = [{"key": k, "value": v.split(":")[0], "effect": v.split(":")[-1]} for k, v in cfg.node_taints.items()]
        if node.control_plane and not cfg.allow_scheduling_on_control_planes:
            taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
        self.kube.register(node.hostname, node.address or "", control_plane=node.control_plane, labels=labels,
                           taints=taints, capacity={"cpu": str(node.vm.cpus()),
                                                    "memory": f"{node.vm.memory_mib() * 1024}Ki"},
                           ready=ready, os_image=f"Talos (v{node.version})")

    def _boot_progress(self, node: TalosNode, ready: bool) -> None:
        if ready:
            node.boot_finished()
            self._windows.pop(node.vmid, None)
            return
        if self._windows.get(node.vmid) == node.boot_id:
            return
        self._windows[node.vmid] = node.boot_id

        def window_over() -> None:
            if node.stage == "booting" and self._windows.get(node.vmid) == node.boot_id:
                self.talos.reboot_vm(node)
        self.talos.after(TM.CNI_WINDOW, node, node.boot_id, window_over)
