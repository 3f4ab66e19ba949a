"""The simulated lab's world model: one object graph behind every face, on one virtual clock.

It holds the RouterOS devices (their live configuration is the truth), the cables between devices
and to host NICs, and answers layer-2 questions from both. The Proxmox cluster (`proxmox`, built from
the lab file's `proxmox:` section) hangs off it, its nodes' NICs cabled like any host NIC, and
`vm_network` gives its VMs DHCP leases across the fabric. Later systems (Talos nodes, Kubernetes,
Cilium, Ceph) hang off the same world so that behaviour crosses layers as in a real lab.

Locks: the world's own lock only guards the cable state and is never held while taking another lock;
the clock's lock (which is the Proxmox cluster's) is taken before any device's.
"""
from __future__ import annotations

import functools
import random
import threading
from typing import Callable

from labsim.fakes.clock import VirtualClock
from labsim.fakes.inventory import Inventory
from labsim.fakes.l2 import DeviceView, Endpoint, Fabric, Trace
from labsim.fakes.pve import bridge_pvids, build_cluster
from labsim.fakes.routeros.device import RouterOSDevice
from labsim.fakes.vms import VmNetwork


class World:
    def __init__(self, inventory: Inventory, *, seed: int = 0, clock: VirtualClock | None = None,
                 secret: Callable[[str], str] = lambda ref: f"sim-{ref}"):
        self.inventory = inventory
        self.seed = seed
        self.random = random.Random(seed)
        self.clock = clock or VirtualClock()
        self.lock = threading.RLock()
        self.devices: dict[str, RouterOSDevice] = {}
        for i, spec in enumerate(inventory.devices):
            dev = RouterOSDevice(model=spec.model, version=spec.version, ports=spec.ports,
                                 hardware_catalog={spec.model: spec.hardware}, clock=self.clock,
                                 mac_seed=seed * 64 + i)
            dev.on_change.append(self._device_changed)
            dev.ensure_user(spec.username)          # the API user the lab file names exists in /user
            dev.neighbors = functools.partial(self.neighbors, spec.identity)
            self.devices[spec.identity] = dev
        self.cables: list[tuple[Endpoint, Endpoint]] = list(inventory.cables)
        self.pulled: set[Endpoint] = set()
        self.listeners: list[Callable[[], None]] = []  # later layers recompute on fabric changes
        self.proxmox = build_cluster(inventory.proxmox, self.clock, seed=seed, secret=secret)
        self.vm_network = VmNetwork(self, self.proxmox, bridge_pvids(inventory.proxmox)) if self.proxmox else None
        self._refresh_links()

    # --- layer 2 ------------------------------------------------------------------------------
    def link_up(self, end: Endpoint) -> bool:
        return end not in self.pulled

    def fabric(self) -> Fabric:
        with self.lock:
            cables, pulled = list(self.cables), set(self.pulled)
        views = {ident: DeviceView.from_rows(ident, dev.rows) for ident, dev in self.devices.items()}
        return Fabric(views, cables, lambda end: end not in pulled)

    def trace(self, source: str, iface: str, vlan: int, target: Endpoint) -> Trace:
        return self.fabric().trace(source, iface, vlan, target)

    # --- faults -------------------------------------------------------------------------------
    def pull_cable(self, end: Endpoint) -> None:
        """Unplug the cable at `end` (both of its ends go dark)."""
        with self.lock:
            for a, b in self.cables:
                if end in (a, b):
                    self.pulled |= {a, b}
                    break
            else:
                raise KeyError(f"no cable at {end[0]}:{end[1]}")
        self._refresh_links()
        self._changed(blocking=True)

    def plug_cable(self, end: Endpoint) -> None:
        with self.lock:
            for a, b in self.cables:
                if end in (a, b):
                    self.pulled -= {a, b}
        self._refresh_links()
        self._changed(blocking=True)

    def _refresh_links(self) -> None:
        with self.lock:
            cabled = {e for cable in self.cables for e in cable if self.link_up(e)}
        for spec in self.inventory.devices:
            for iface in spec.port_names():
                self.devices[spec.identity].set_link(iface, (spec.identity, iface) in cabled)

    def neighbors(self, identity: str) -> list[dict[str, str]]:
        """What a device's discovery (MNDP/CDP/LLDP) hears: the RouterOS device at the far end of each live cable
        of its ports (/ip/neighbor)."""
        out = []
        with self.lock:
            cables = [c for c in self.cables if self.link_up(c[0]) and self.link_up(c[1])]
        for a, b in cables:
            for (mine, port), (peer, peer_port) in ((a, b), (b, a)):
                if mine != identity or peer not in self.devices:
                    continue
                dev = self.devices[peer]
                mac = next((r.get("mac-address", "") for r in dev.rows("/interface")
                            if r.get("name") == peer_port or r.get("default-name") == peer_port), "")
                address = next((r["address"].split("/")[0] for r in dev.rows("/ip/address")
                                if r.get("disabled") != "true"), "")
                out.append({"interface": port, "address": address, "mac-address": mac, "identity": dev.identity,
                            "version": f"{dev.version} (stable)", "board": str(dev.model_info.get("board-name", "")),
                            "interface-name": peer_port})
        return out

    def settle(self) -> None:
        """Wait until every consequence of the last fabric change has reached the VMs (see labsim/fakes/vms.py)."""
        if self.vm_network is not None:
            self.vm_network.settle()

    def _device_changed(self) -> None:
        self._changed(blocking=False)   # runs under the device's lock: must not wait for the clock's

    def _changed(self, blocking: bool) -> None:
        for fn in list(self.listeners):
            fn()
        if self.vm_network is not None:
            self.vm_network.fabric_changed(blocking)
