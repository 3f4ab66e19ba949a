"""DHCP as the simulated world runs it: which servers the devices run, and which address a client gets.

Read from a RouterOS device's live rows (what `/ip/dhcp-server`, `/ip/pool`, `/ip/dhcp-server/network` and
`/ip/dhcp-server/lease` print), so a server, pool or static lease added over the API counts at once.
A client keeps the address it already holds; otherwise it gets its static lease, else the lowest free
address of the server's pool (free: not the address of any other client's lease on that device).

Conflict detection (`conflict-detection`, on by default): before offering a pool address the server pings it
and waits half a second; when another station answers (a device's own address in that VLAN, another client's
address), the address gets a `busy` lease for the lease time and the client's request goes unanswered until it
asks again, when the next free address is tried. Static leases are not probed. (RouterOS manual, DHCP server
leases: "testing" -> "busy".) So a pool that overlaps a device's address shows up as a busy lease, never as a
second station with that address.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable

from labsim.fakes.l2 import DeviceView, _true

Rows = Callable[[str], list[dict[str, str]]]
DEFAULT_PREFIX = 24   # when no /ip/dhcp-server/network or address covers the lease (RouterOS sends none)


def _ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in filter(None, (p.strip() for p in str(text or "").split(","))):
        lo, _, hi = part.partition("-")
        try:
            a = int(ipaddress.IPv4Address(lo.strip()))
            out.append((a, int(ipaddress.IPv4Address(hi.strip())) if hi else a))
        except ValueError:
            continue   # not an IPv4 range: a server with such a pool hands out nothing from it
    return out


class LeaseBook:
    """Every lease on one device, by address and by MAC (shared by the device's servers)."""

    def __init__(self, rows: list[dict[str, str]]):
        self.by_addr: dict[str, str] = {}
        self.by_mac: dict[str, str] = {}
        for r in rows:
            if r.get("address"):
                self.by_addr[r["address"]] = str(r.get("mac-address", "")).upper()
                self.by_mac.setdefault(self.by_addr[r["address"]], r["address"])

    def free_for(self, address: str, mac: str) -> bool:
        return self.by_addr.get(address, mac) == mac

    def bind(self, mac: str, address: str) -> None:
        self.unbind(mac)
        self.by_addr[address] = mac
        self.by_mac[mac] = address

    def unbind(self, mac: str) -> str | None:
        address = self.by_mac.pop(mac, None)
        if address is not None and self.by_addr.get(address) == mac:
            del self.by_addr[address]
        return address


@dataclass(frozen=True)
class Station:
    """Something on a VLAN that answers for an address (ARP, ping): a device's interface, a VM."""

    what: str
    mac: str = ""


Answers = Callable[[int | None, str], "Station | None"]   # (VLAN, address) -> who answers for it


def vlan_of(view: DeviceView, iface: str) -> int | None:
    """The bridge VLAN an IP interface sits in: a VLAN interface's id, a bridge's pvid (None: not on a bridge)."""
    if iface in view.vlan_ifaces:
        return view.vlan_ifaces[iface][0]
    return view.bridges[iface].pvid if iface in view.bridges else None


def device_stations(identity: str, rows: Rows, view: DeviceView) -> dict[tuple[int, str], Station]:
    """(VLAN, address) -> the device's interface holding that address: what answers ARP for it in that VLAN."""
    macs = {r.get("name"): str(r.get("mac-address", "")).upper() for r in rows("/interface")}
    out: dict[tuple[int, str], Station] = {}
    for r in rows("/ip/address"):
        if _true(r.get("disabled")) or _true(r.get("invalid")):
            continue
        iface = r.get("interface", "")
        vlan = vlan_of(view, iface)
        if vlan is not None:
            out[(vlan, str(r.get("address", "")).split("/")[0])] = Station(f"{identity} {iface}", macs.get(iface, ""))
    return out


@dataclass
class DhcpServer:
    device: str
    name: str
    interface: str
    vlan: int | None                 # the bridge VLAN the interface sits in (None: not on a bridge)
    pool: str
    ranges: list[tuple[int, int]]
    networks: list[ipaddress.IPv4Network]
    book: LeaseBook
    static: dict[str, str] = field(default_factory=dict)   # MAC -> address (static leases of this server)
    hint: int = 0   # every pool address below this one is taken (keeps handing out N addresses linear)
    conflict_detection: bool = True
    busy: dict[str, Station] = field(default_factory=dict)   # address -> who answered for it (lease status busy)
    _unmarked: list[str] = field(default_factory=list)

    def prefix_for(self, address: str) -> int:
        ip = ipaddress.IPv4Address(address)
        for net in self.networks:
            if ip in net:
                return net.prefixlen
        return DEFAULT_PREFIX

    def allocate(self, mac: str, holding: str | None = None, answers: Answers | None = None) -> str | None:
        """The address `mac` gets now (the one it asks for when still free), or None when the pool is full.
        `answers` says who else answers for an address in this server's VLAN (conflict detection)."""
        mac = mac.upper()
        if mac in self.static:
            return self.static[mac]
        if holding and self.book.free_for(holding, mac) and self._in_pool(holding) and holding not in self.busy:
            return holding
        for lo, hi in self.ranges:
            for n in range(max(lo, self.hint), hi + 1):
                addr = str(ipaddress.IPv4Address(n))
                if not self.book.free_for(addr, mac) or addr in self.busy:
                    continue
                who = answers(self.vlan, addr) if answers is not None and self.conflict_detection else None
                if who is not None and who.mac != mac:
                    self.busy[addr] = who
                    self._unmarked.append(addr)
                    continue
                self.hint = n
                return addr
        return None

    def new_busy(self) -> list[tuple[str, Station]]:
        """Busy addresses found since the last call (for the device's lease table)."""
        out = [(a, self.busy[a]) for a in self._unmarked]
        self._unmarked.clear()
        return out

    def _in_pool(self, address: str) -> bool:
        n = int(ipaddress.IPv4Address(address))
        return any(lo <= n <= hi for lo, hi in self.ranges)

    def freed(self, address: str) -> None:
        self.hint = min(self.hint, int(ipaddress.IPv4Address(address)))


def dhcp_servers(identity: str, rows: Rows, view: DeviceView) -> list[DhcpServer]:
    """The enabled DHCP servers of one device, in print order, with their pools and leases."""
    pools = {r.get("name"): _ranges(r.get("ranges", "")) for r in rows("/ip/pool")}
    networks = []
    for r in rows("/ip/dhcp-server/network"):
        try:
            networks.append(ipaddress.IPv4Network(r.get("address", ""), strict=False))
        except ValueError:
            continue
    leases = [r for r in rows("/ip/dhcp-server/lease") if not _true(r.get("disabled"))]
    book = LeaseBook(leases)
    out = []
    for r in rows("/ip/dhcp-server"):
        if _true(r.get("disabled")) or _true(r.get("invalid")):
            continue
        iface = r.get("interface", "")
        vlan = vlan_of(view, iface)
        static = {str(x.get("mac-address", "")).upper(): x["address"] for x in leases
                  if not _true(x.get("dynamic")) and x.get("server") in (r["name"], "all") and x.get("address")}
        out.append(DhcpServer(identity, r["name"], iface, vlan, r.get("address-pool", ""),
                              pools.get(r.get("address-pool"), []), networks, book, static,
                              conflict_detection=_true(r.get("conflict-detection", "true"))))
    return out
