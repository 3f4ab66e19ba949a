"""The Talos layer of the world: a TalosNode for every Proxmox VM that boots Talos, grouped into clusters
by the config they were given.

It listens to the Proxmox cluster's VM events (a start boots the node from the ISO or the installed disk;
a stop is a crash, an ACPI shutdown a graceful leave) and to fabric changes (a pulled cable or a VLAN
removed takes the lease away: the node is unreachable). A reconcile tick every TICK virtual seconds carries
those consequences to etcd quorum, the VIP and the Kubernetes Nodes.

A cluster that has been quiet for SETTLE seconds (its nodes, etcd, VIP and Kubernetes objects unchanged) is
skipped by the tick until something about it changes: a lab of many idle clusters costs nothing per tick, and
bringing up N clusters one after another stays linear in N. The CNI providers' own delays (the Cilium agents
start AGENT_START after their pod) are shorter than SETTLE; a provider with a longer one sets `settle`.

Everything here runs under the clock's lock (VM events already hold it; the control API takes it).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from labsim.fakes.talos import timing as TM
from labsim.fakes.talos.cluster import TalosCluster
from labsim.fakes.talos.node import TalosNode

if TYPE_CHECKING:
    from labsim.fakes.proxmox.qemu import QemuVM
    from labsim.fakes.world import World

TICK = 5.0
SETTLE = 60.0
GRACEFUL_ACTIONS = ("/status/shutdown", "/status/reboot")   # PVE calls that ask the guest (ACPI)


class TalosWorld:
    def __init__(self, world: World, *, seed: int = 0, ca=None):
        self.world = world
        self.clock = world.clock
        self.seed = seed
        self.random = random.Random(f"talos:{seed}")
        self.nodes: dict[int, TalosNode] = {}
        self.clusters: dict[tuple[str, str], TalosCluster] = {}
        self.cni: list = []   # CNI providers (labsim.fakes.cilium.agents.CiliumWorld): .sync(cluster), .ready(cluster, node)
        # called with the cluster once its Kubernetes API server listens (serve publishes its kubeconfig)
        self.on_kube_started: list[Callable[[TalosCluster], None]] = []
        self._ca = ca
        self._ticking = False
        self._quiet: dict[int, tuple[tuple, float]] = {}   # id(cluster) -> (state, since when it is unchanged)
        self._graceful: set[int] = set()
        self.proxmox = world.proxmox
        if self.proxmox is not None:
            self.proxmox.on_vm_event.append(self._vm_event)
        world.listeners.append(self._fabric_changed)
        # Other platforms whose machines boot Talos (labsim/fakes/cloud: cloud servers), what they add to a node's
        # life (extension services such as tailscale: .node_booted(node)), and the networks that may refuse a
        # client the Talos API (fn(ip) -> the error talosctl prints, or None) or a kubelet its cluster endpoint
        # (fn(node) -> False when the endpoint does not lead to a control plane)
        self.extensions: list = []
        self.refusals: list[Callable[[str], str | None]] = []
        self.endpoint_checks: list[Callable[[TalosNode], bool]] = []

    def attach(self, platform) -> None:
        """Boot Talos on `platform`'s machines too: it fires "started" / "stopped" / "destroyed" at this world."""
        platform.on_vm_event.append(self._vm_event)

    @staticmethod
    def platform_of(vm, default):
        return getattr(vm, "platform", None) or default

    def refusal(self, ip: str) -> str | None:
        for fn in self.refusals:
            why = fn(ip)
            if why:
                return why
        return None

    def endpoint_ok(self, node: TalosNode) -> bool:
        return all(fn(node) for fn in self.endpoint_checks)

    # --- helpers for nodes and clusters -------------------------------------------------------------------
    def after(self, delay: float, node: TalosNode, boot_id: int, fn: Callable[[], None]) -> None:
        """Run `fn` after `delay` unless the node rebooted or went down in the meantime."""
        self.clock.call_later(delay, lambda: fn() if node.boot_id == boot_id else None)

    def ca(self):
        if self._ca is None:
            from labsim.fakes.pki import CA
            self._ca = CA.generate("labsim simulated lab CA")
        return self._ca

    def cni_ready(self, cluster: TalosCluster, node_name: str) -> bool:
        return any(provider.ready(cluster, node_name) for provider in self.cni)

    def join(self, node: TalosNode) -> None:
        cfg = node.config
        assert cfg is not None
        key = (cfg.cluster_name, cfg.cluster_id)
        if node.cluster is not None and (node.cluster.name, node.cluster.id) != key:
            node.cluster.nodes.pop(node.vmid, None)
        cluster = self.clusters.get(key)
        if cluster is None:
            cluster = self.clusters[key] = TalosCluster(self, *key)
        cluster.add(node)
        self._tick_start()

    def node_at(self, address: str) -> TalosNode | None:
        for node in self.nodes.values():
            if node.stage != "off" and (node.address == address or address in node.addresses):
                return node
        return None

    def cluster_named(self, name: str) -> TalosCluster | None:
        return next((c for (n, _), c in self.clusters.items() if n == name), None)

    def reboot_vm(self, node: TalosNode) -> None:
        """Talos reboots the machine itself (after an install, or when the boot sequence gives up)."""
        vm = node.vm
        proxmox = self.platform_of(vm, self.proxmox)
        self._graceful.add(vm.vmid)
        proxmox.fire("stopped", vm)
        started = vm.started_at

        def back() -> None:
            if vm.status == "running" and vm.started_at == started:
                proxmox.fire("started", vm)
        self.clock.call_later(TM.REBOOT, back)

    def power_off_vm(self, node: TalosNode) -> None:
        """Talos powers the machine off (`talosctl reset` without --reboot, `shutdown`): the VM stops, as after
        an ACPI shutdown."""
        vm = node.vm
        proxmox = self.platform_of(vm, self.proxmox)
        self._graceful.add(vm.vmid)
        proxmox._power_off(vm)   # the guest turned itself off: the hypervisor only records it
        proxmox.fire("stopped", vm)

    # --- events ---------------------------------------------------------------------------------------------
    def _vm_event(self, event: str, vm: QemuVM) -> None:
        if event == "started":
            mode = vm.world.get("talos")
            if mode is None:
                node = self.nodes.get(vm.vmid)
                if node is not None:
                    node.power_off(graceful=False)
                return
            node = self.nodes.get(vm.vmid)
            if node is None:
                node = self.nodes[vm.vmid] = TalosNode(self, vm)
            node.boot(mode)
            self._tick_start()
        elif event in ("stopped", "destroyed"):
            node = self.nodes.get(vm.vmid)
            if node is not None:
                node.power_off(graceful=self._was_graceful(vm))
            if event == "destroyed" and node is not None:
                self.nodes.pop(vm.vmid, None)

    def _was_graceful(self, vm: QemuVM) -> bool:
        if vm.vmid in self._graceful:
            self._graceful.discard(vm.vmid)
            return True
        platform = self.platform_of(vm, self.proxmox)
        if platform is not self.proxmox:
            return bool(platform.was_graceful(vm))
        for _, path, _ in reversed(list(self.proxmox.write_log)):
            if f"/qemu/{vm.vmid}/status/" in path:
                return path.endswith(GRACEFUL_ACTIONS)
        return False

    def _fabric_changed(self) -> None:
        # May run under a device's lock: do not take the clock's here; the next tick sees the new leases.
        pass

    def _tick_start(self) -> None:
        if not self._ticking:
            self._ticking = True
            self.clock.call_later(TICK, self._tick)

    def _tick(self) -> None:
        now = self.clock.now()
        settle = max([SETTLE] + [float(getattr(p, "settle", 0.0)) for p in self.cni])
        for cluster in list(self.clusters.values()):
            state = self._state(cluster)
            seen = self._quiet.get(id(cluster))
            if seen is None or seen[0] != state:
                self._quiet[id(cluster)] = (state, now)
            elif now - seen[1] >= settle:
                continue
            for provider in self.cni:
                provider.sync(cluster)
            cluster.reconcile()
        self.clock.call_later(TICK, self._tick)

    @staticmethod
    def _state(cluster: TalosCluster) -> tuple:
        """Everything a tick reacts to: each node's life and reachability (a lease lost to the fabric), etcd,
        the VIP, and the cluster's Kubernetes objects (the store's last write; the kubelets' lease renewals and events
        left out: a lease renewed every 10 s kept every cluster from ever settling, so each tick synced every cluster
        the lab ever built, and 32 clusters cost 5.4 times the CPU of 8)."""
        kube = cluster.kube.cluster.store.last_write() if cluster.kube is not None else None
        nodes = tuple((n.vmid, n.stage, n.boot_id, n.apid, n.kubelet, n.etcd, n.apiserver, n.reachable, n.address)
                      for n in cluster.nodes.values())
        return (kube, nodes, len(cluster.members), cluster.etcd_clusters, cluster.vip_holder, cluster._vip_at)
