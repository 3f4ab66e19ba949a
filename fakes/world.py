"""The simulated lab's world model: one object graph behind every face, on one virtual clock.

It holds the RouterOS devices (their live configuration is the truth), the cables between devices
and to host NICs, and answers layer-2 questions from both. Later systems (Proxmox VMs, Talos nodes,
Kubernetes, Cilium, Ceph) hang off the same world so that behaviour crosses layers as in a real lab.
"""
from __future__ import annotations

import random
import threading
from typing import Callable

from fakes.clock import VirtualClock
from fakes.inventory import Inventory
from fakes.l2 import DeviceView, Endpoint, Fabric, Trace
from fakes.routeros.device import RouterOSDevice


class World:
    def __init__(self, inventory: Inventory, *, seed: int = 0, clock: VirtualClock | None = None):
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
            dev.on_change.append(self._changed)
            self.devices[spec.identity] = dev
        self.cables: list[tuple[Endpoint, Endpoint]] = list(inventory.cables)
        self.pulled: set[Endpoint] = set()
        self.listeners: list[Callable[[], None]] = []  # later layers recompute on fabric changes
        self._refresh_links()

    # --- layer 2 ------------------------------------------------------------------------------
    def link_up(self, end: Endpoint) -> bool:
        return end not in self.pulled

    def fabric(self) -> Fabric:
        with self.lock:
            views = {ident: DeviceView.from_rows(ident, dev.rows) for ident, dev in self.devices.items()}
            return Fabric(views, self.cables, self.link_up)

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
        self._changed()

    def plug_cable(self, end: Endpoint) -> None:
        with self.lock:
            for a, b in self.cables:
                if end in (a, b):
                    self.pulled -= {a, b}
            self._refresh_links()
        self._changed()

    def _refresh_links(self) -> None:
        cabled = {e for cable in self.cables for e in cable if self.link_up(e)}
        for spec in self.inventory.devices:
            for iface in spec.port_names():
                self.devices[spec.identity].set_link(iface, (spec.identity, iface) in cabled)

    def _changed(self) -> None:
        for fn in list(self.listeners):
            fn()
