"""Targets: where the features run. Both hand steps the same things: clients, a clock, endpoints.

- `SimTarget` starts a fresh simulated lab from the lab file (one per scenario, so a scenario that
  breaks the lab never leaks into the next) and hands out its endpoints and virtual clock.
- `LabTarget` reaches the real endpoints the lab file names, with secrets from the environment, in
  real time.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from provisioners.clock import Clock, RealClock
from provisioners.endpoints import Endpoints, RouterOSEndpoint
from provisioners.fabric.client import connect
from provisioners.lab import load_lab
from provisioners.lab.secrets import resolve


class Target:
    name = "abstract"
    writes_allowed = False

    def __init__(self, labfile: str | Path):
        self.labfile = Path(labfile)
        self.lab = load_lab(self.labfile)
        self.endpoints: Endpoints = Endpoints(self.lab.lab.name)
        self.clock: Clock = RealClock()
        self._routeros: dict[str, Any] = {}
        self.connections_opened = 0

    # --- clients ----------------------------------------------------------------------------
    def routeros(self, identity: str):
        """A logged-in librouteros connection to one device (reused within the scenario)."""
        if identity not in self._routeros:
            ep = self.endpoints.routeros.get(identity)
            if ep is None:
                raise KeyError(f"no RouterOS endpoint for {identity!r} in lab {self.endpoints.lab!r}")
            self.connections_opened += 1
            self._routeros[identity] = connect(ep)
        return self._routeros[identity]

    def routeros_all(self) -> dict[str, Any]:
        return {d.identity: self.routeros(d.identity) for d in self.lab.routeros.devices}

    def reconnect(self) -> None:
        """Drop cached connections (after a fault closed one, the next step logs in again)."""
        for api in self._routeros.values():
            try:
                api.close()
            except Exception:  # noqa: BLE001 - already closed by the fault
                pass
        self._routeros.clear()

    def device_writes(self) -> dict[str, int] | None:
        """Changes each device accepted, where the target can count them (the simulator); else None."""
        return None

    def close(self) -> None:
        self.reconnect()


class SimTarget(Target):
    name = "sim"
    writes_allowed = True

    def __init__(self, labfile: str | Path, *, seed: int = 0):
        super().__init__(labfile)
        from fakes.lab import SimulatedLab, sim_secrets  # steps may start a simulated lab
        from fakes.inventory import load_inventory

        refs = load_inventory(self.labfile).secret_refs()
        # The simulated lab's secrets go where a real lab's would be: the environment. A value an
        # engineer (or a test) already exported is kept, so known secrets can be planted.
        values = sim_secrets(refs, os.environ)
        for ref, value in values.items():
            if ref.startswith("env:"):
                os.environ.setdefault(ref[4:], value)
        self.sim = SimulatedLab(self.labfile, seed=seed, secrets=values).start()
        self.clock = self.sim.clock
        self.endpoints = Endpoints.from_json(self.sim.endpoints())

    def device_writes(self) -> dict[str, int]:
        return self.sim.writes()

    def close(self) -> None:
        super().close()
        self.sim.stop()


class LabTarget(Target):
    name = "lab"

    def __init__(self, labfile: str | Path, *, apply: bool = False, environ=os.environ):
        super().__init__(labfile)
        self.writes_allowed = apply
        for dev in self.lab.routeros.devices:
            login = self.lab.routeros_login(dev.identity)
            self.endpoints.routeros[dev.identity] = RouterOSEndpoint(
                identity=dev.identity, host=str(login.address), port=login.port, username=login.username,
                password=resolve(login.password, environ) if login.password else "", login=login.login,
                tls_port=login.port if login.tls else None)
