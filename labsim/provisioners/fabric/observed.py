"""What a device reports, read once per run (print only), and its layer 2 in the neutral model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labsim.provisioners.fabric.client import read
from labsim.provisioners.fabric.l2 import DeviceL2, PortL2
from labsim.provisioners.fabric.rows import text

MENUS = ("/system/identity", "/system/resource", "/interface", "/interface/bridge", "/interface/bridge/port",
         "/interface/bridge/vlan", "/interface/vlan", "/interface/bonding", "/ip/address", "/ip/route",
         "/ip/pool", "/ip/dhcp-server", "/ip/dhcp-server/network", "/ip/dhcp-server/lease",
         "/ip/firewall/filter")


@dataclass
class Observed:
    device: str
    menus: dict[str, list[dict[str, Any]]]

    def rows(self, menu: str, *, dynamic: bool = True) -> list[dict[str, Any]]:
        rows = self.menus.get(menu, [])
        return rows if dynamic else [r for r in rows if not _true(r.get("dynamic"))]

    @property
    def version(self) -> str:
        res = self.rows("/system/resource")
        return text(res[0].get("version", "")) if res else ""


def _true(v: Any) -> bool:
    return text(v) == "true"


def _ids(value: Any) -> set[int]:
    out: set[int] = set()
    for part in filter(None, text(value).split(",")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _names(value: Any) -> set[str]:
    return {p for p in text(value).split(",") if p}


def observe(api, device: str) -> Observed:
    return Observed(device, {m: read(api, m) for m in MENUS})


def device_l2(obs: Observed, bridge_name: str) -> DeviceL2 | None:
    """The device's forwarding state for one bridge, from its printed rows."""
    bridges = [b for b in obs.rows("/interface/bridge") if b.get("name") == bridge_name and not _true(b.get("disabled"))]
    if not bridges:
        return None
    br = bridges[0]
    # A port that is disabled or has no link (running=false: no cable, or the peer is down) forwards nothing.
    down = {r.get("name") for r in obs.rows("/interface")
            if _true(r.get("disabled")) or not _true(r.get("running", True))}
    tagged: dict[str, set[int]] = {}
    untagged: dict[str, set[int]] = {}
    for row in obs.rows("/interface/bridge/vlan", dynamic=False):
        if row.get("bridge") != bridge_name or _true(row.get("disabled")):
            continue
        ids = _ids(row.get("vlan-ids"))
        for n in _names(row.get("tagged")):
            tagged.setdefault(n, set()).update(ids)
        for n in _names(row.get("untagged")):
            untagged.setdefault(n, set()).update(ids)
    ports = {}
    for p in obs.rows("/interface/bridge/port"):
        if p.get("bridge") != bridge_name:
            continue
        name = text(p.get("interface"))
        ports[name] = PortL2(interface=name, pvid=int(text(p.get("pvid", 1)) or 1),
                             tagged=frozenset(tagged.get(name, ())), untagged=frozenset(untagged.get(name, ())),
                             frame_types=text(p.get("frame-types", "admit-all")),
                             ingress_filtering=_true(p.get("ingress-filtering", True)),
                             disabled=_true(p.get("disabled")) or name in down)
    bonds = {text(b["name"]): tuple(sorted(_names(b.get("slaves")))) for b in obs.rows("/interface/bonding")
             if not _true(b.get("disabled"))}
    vlan_ifaces = {int(text(v["vlan-id"])): text(v["name"]) for v in obs.rows("/interface/vlan")
                   if v.get("interface") == bridge_name and not _true(v.get("disabled"))}
    return DeviceL2(device=obs.device, bridge=bridge_name, vlan_filtering=_true(br.get("vlan-filtering")),
                    bridge_pvid=int(text(br.get("pvid", 1)) or 1),
                    bridge_tagged=frozenset(tagged.get(bridge_name, ())), ports=ports, bonds=bonds,
                    vlan_interfaces=vlan_ifaces)
