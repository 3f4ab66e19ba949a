"""Layer 3 of the simulated lab: can a host on one VLAN open a TCP connection to a host on another?

Computed from the RouterOS devices' live rows, like labsim/fakes/l2.py: a host sends off-subnet traffic to the gateway
its DHCP network hands out; the device holding that address (on an interface that reaches its bridge) needs an
active route to the destination, through an interface that is up, and no forward filter rule that drops the
connection first. The answer needs both directions (the reply comes back through the other VLAN's gateway).
Hosts on the same subnet reach each other on layer 2.

Answers are cached until the fabric changes (any device write, a cable pulled or plugged).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable

from labsim.fakes.l2 import DeviceView

Rows = Callable[[str], list[dict[str, str]]]


def _true(v: str | None) -> bool:
    return str(v).lower() in ("true", "yes")


def _covers(value: str | None, ip: ipaddress.IPv4Address) -> bool:
    v = (value or "").strip()
    if not v:
        return True
    neg = v.startswith("!")
    inside = ip in ipaddress.ip_network(v.lstrip("!"), strict=False)
    return inside != neg


def _port_matches(value: str | None, port: int | None) -> bool:
    if not value:
        return True
    if port is None:
        return False     # a port-specific rule is not judged for "any connection"
    for part in value.split(","):
        lo, _, hi = part.partition("-")
        if int(lo) <= port <= int(hi or lo):
            return True
    return False


def forward_verdict(rows: list[dict[str, str]], src: str, dst: str, port: int | None = None) -> str | None:
    """The first forward rule a new TCP connection src -> dst matches, if it drops it: `*2 (drop)`."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    for rule in rows:
        if rule.get("chain") != "forward" or _true(rule.get("disabled")) or _true(rule.get("invalid")):
            continue
        if rule.get("in-interface") or rule.get("out-interface") or rule.get("in-interface-list") \
                or rule.get("out-interface-list") or rule.get("src-address-list") or rule.get("dst-address-list"):
            continue   # not judged here: the fabric check names such rules instead
        states = rule.get("connection-state") or ""
        if states and "new" not in states.split(","):
            continue
        if rule.get("protocol") not in (None, "", "tcp"):
            continue
        if not (_covers(rule.get("src-address"), s) and _covers(rule.get("dst-address"), d)
                and _port_matches(rule.get("dst-port"), port)):
            continue
        action = rule.get("action", "accept")
        if action in ("drop", "reject", "tarpit"):
            return f"{rule.get('.id')} ({action})"
        if action == "accept":
            return None
    return None


class Routing:
    """`reach(src, dst)` -> None when a TCP connection works both ways, else why not (naming the device)."""

    def __init__(self, devices: dict[str, Rows], listeners: list | None = None):
        self.devices = devices
        self._gen = 0
        self._seen = -1
        self._cache: dict[tuple[str, str, int | None], str | None] = {}
        self._views: dict[str, DeviceView] = {}
        self._rows: dict[tuple[str, str], list[dict[str, str]]] = {}
        if listeners is not None:
            listeners.append(self.changed)

    @classmethod
    def of_world(cls, world) -> Routing:
        return cls({ident: dev.rows for ident, dev in world.devices.items()}, world.listeners)

    def changed(self) -> None:
        self._gen += 1     # may run under a device's lock: only note it

    def reach(self, src: str, dst: str, port: int | None = None) -> str | None:
        if self._seen != self._gen:
            self._seen = self._gen
            self._cache.clear()
            self._views.clear()
            self._rows.clear()
        key = (src, dst, port)
        if key not in self._cache:
            self._cache[key] = self._hop(src, dst, port) or self._hop(dst, src, None)
        return self._cache[key]

    # --- one direction ---------------------------------------------------------------------------------------
    def _menu(self, ident: str, menu: str) -> list[dict[str, str]]:
        if (ident, menu) not in self._rows:
            self._rows[(ident, menu)] = self.devices[ident](menu)
        return self._rows[(ident, menu)]

    def _view(self, ident: str) -> DeviceView:
        if ident not in self._views:
            self._views[ident] = DeviceView.from_rows(ident, lambda m: self._menu(ident, m))
        return self._views[ident]

    def _network_of(self, ip: ipaddress.IPv4Address) -> tuple[ipaddress.IPv4Network, str] | None:
        for ident in self.devices:
            for row in self._menu(ident, "/ip/dhcp-server/network"):
                if _true(row.get("disabled")) or not row.get("address"):
                    continue
                net = ipaddress.ip_network(row["address"], strict=False)
                if ip in net:
                    return net, row.get("gateway", "")
        return None

    def _gateway_device(self, gw: str) -> str | None:
        for ident in self.devices:
            for row in self._menu(ident, "/ip/address"):
                if _true(row.get("disabled")) or _true(row.get("invalid")):
                    continue
                if row.get("address", "").split("/")[0] == gw and self._up(ident, row.get("interface", "")):
                    return ident
        return None

    def _up(self, ident: str, iface: str) -> bool:
        return self._view(ident).cpu_vlan(iface) is not None

    def _hop(self, src: str, dst: str, port: int | None) -> str | None:
        s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
        found = self._network_of(s)
        if found is None:
            return f"no DHCP network of the fabric covers {src}"
        net, gw = found
        if d in net:
            return None
        if not gw:
            return f"{net} has no gateway"
        dev = self._gateway_device(gw)
        if dev is None:
            return f"no device answers as {net}'s gateway {gw}"
        routes = [r for r in self._menu(dev, "/ip/route") if _true(r.get("active")) and not _true(r.get("disabled"))
                  and r.get("dst-address") and d in ipaddress.ip_network(r["dst-address"], strict=False)]
        if not routes:
            return f"{dev} (gateway {gw}) has no active route to {dst}"
        best = max(routes, key=lambda r: ipaddress.ip_network(r["dst-address"], strict=False).prefixlen)
        out = best.get("gateway", "")
        if out and not _is_ip(out) and not self._up(dev, out):
            return f"{dev} routes {best['dst-address']} through {out}, which does not reach its bridge"
        blocked = forward_verdict(self._menu(dev, "/ip/firewall/filter"), src, dst, port)
        if blocked:
            return f"{dev} forward rule {blocked} drops {src} -> {dst}"
        return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


class Flat:
    """Every host reaches every other, except pairs cut by hand (benchmarks, unit tests)."""

    def __init__(self):
        self.cut: dict[frozenset[str], str] = {}

    def reach(self, src: str, dst: str, port: int | None = None) -> str | None:
        return self.cut.get(frozenset((src, dst)))
