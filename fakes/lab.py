"""A whole simulated lab: the world plus every face it shows, started from one lab file.

Used in-process by the sim target and standalone by `python -m fakes serve`. Every server binds
127.0.0.1; the lab's own addresses (192.168.x.y) exist only as data inside the world.
"""
from __future__ import annotations

import secrets as _secrets
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from fakes.inventory import Inventory, load_inventory
from fakes.routeros.server import RouterOSServer
from fakes.world import World

LOOPBACK = "127.0.0.1"


def sim_secrets(refs: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Values for the lab file's secret references in a simulated lab.

    An `env:NAME` already set in the environment is used as is (so an engineer or a test can plant a
    known value); otherwise the simulator invents one. `file:` references get invented values: a
    simulated lab never reads an engineer's real key files.
    """
    values: dict[str, str] = {}
    for ref in refs:
        kind, _, name = ref.partition(":")
        if kind == "env" and environ.get(name):
            values[ref] = environ[name]
        else:
            values[ref] = "sim-" + _secrets.token_urlsafe(12)
    return values


class SimulatedLab:
    def __init__(self, labfile: str | Path, *, seed: int = 0, secrets: Mapping[str, str] | None = None):
        self.labfile = Path(labfile)
        self.inventory: Inventory = load_inventory(self.labfile)
        self.secrets = dict(secrets) if secrets is not None else sim_secrets(self.inventory.secret_refs(), {})
        self.world = World(self.inventory, seed=seed)
        self.clock = self.world.clock
        self.routeros: dict[str, RouterOSServer] = {}
        for spec in self.inventory.devices:
            self.routeros[spec.identity] = RouterOSServer(
                self.world.devices[spec.identity], username=spec.username,
                password=self.secret(spec.password_ref), login=spec.login, version=spec.version,
                host=LOOPBACK, name=spec.identity)
        self._driver: threading.Thread | None = None
        self._stop = threading.Event()

    def secret(self, ref: str) -> str:
        if ref not in self.secrets:
            raise KeyError(f"the simulated lab has no value for secret reference {ref!r}")
        return self.secrets[ref]

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "SimulatedLab":
        for srv in self.routeros.values():
            srv.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._driver:
            self._driver.join(timeout=5)
        for srv in self.routeros.values():
            srv.stop()

    def __enter__(self) -> "SimulatedLab":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def follow_wall_clock(self, scale: float = 1.0, tick: float = 0.05) -> None:
        """Let virtual time advance with real time (for `serve`, where outside clients poll in real time)."""
        def drive() -> None:
            origin, base = time.monotonic(), self.clock.now()
            while not self._stop.wait(tick):
                self.clock.advance_to(base + (time.monotonic() - origin) * scale)
        self._driver = threading.Thread(target=drive, name="sim-clock", daemon=True)
        self._driver.start()

    # --- what clients need ----------------------------------------------------------------------
    def endpoints(self) -> dict[str, Any]:
        return {
            "lab": self.inventory.name,
            "routeros": {
                spec.identity: {
                    "host": LOOPBACK, "port": self.routeros[spec.identity].port,
                    "username": spec.username, "password": self.secret(spec.password_ref),
                    "login": spec.login, "tls_port": None, "ca": None,
                } for spec in self.inventory.devices
            },
        }

    def writes(self) -> dict[str, int]:
        """Configuration changes each device has accepted since the lab started."""
        return {ident: dev.writes for ident, dev in self.world.devices.items()}
