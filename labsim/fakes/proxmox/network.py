"""A node's network configuration (/etc/network/interfaces) with PVE's staged changes.

Creating, changing or deleting an interface over the API only writes `/etc/network/interfaces.new`;
`GET /nodes/{node}/network` then lists the staged configuration plus a top-level `changes` (a unified
diff). `PUT /nodes/{node}/network` runs a `srvreload` task that makes the staged file live (ifreload),
`DELETE /nodes/{node}/network` throws the staged file away. VMs attach to the *live* bridges.
Source: pve-manager PVE/API2/Network.pm.
"""
from __future__ import annotations

import copy
import difflib
import ipaddress
import re
from typing import Any


def _parse_vids(vids: str) -> set[int]:
    out: set[int] = set()
    for part in re.split(r"[\s,]+", vids.strip()):
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        else:
            out.add(int(part))
    return out


class NodeNetwork:
    def __init__(self, nics: list[str], bridges: list[dict[str, Any]]):
        ifaces: dict[str, dict[str, Any]] = {}
        prio = 1
        for nic in nics:
            ifaces[nic] = {"iface": nic, "type": "eth", "method": "manual", "method6": "manual",
                           "families": ["inet"], "exists": 1, "active": 1, "priority": prio}
            prio += 1
        for b in bridges:
            name = str(b["name"])
            ports = b.get("ports") or []
            if isinstance(ports, str):
                ports = ports.split()
            d: dict[str, Any] = {"iface": name, "type": "bridge", "method": "manual", "method6": "manual",
                                 "families": ["inet"], "autostart": 1, "active": 1, "priority": prio,
                                 "bridge_ports": " ".join(ports), "bridge_stp": "off", "bridge_fd": "0"}
            prio += 1
            if b.get("vlan_aware"):
                d["bridge_vlan_aware"] = 1
                d["bridge_vids"] = str(b.get("vids", "2-4094"))
            if b.get("address"):
                iface = ipaddress.ip_interface(str(b["address"]))
                d.update(method="static", cidr=str(iface), address=str(iface.ip),
                         netmask=str(iface.network.prefixlen))
            if b.get("gateway"):
                d["gateway"] = str(b["gateway"])
            if b.get("comments"):
                d["comments"] = str(b["comments"])
            ifaces[name] = d
        self.current: dict[str, dict[str, Any]] = ifaces
        self.staged: dict[str, dict[str, Any]] | None = None

    # --- reading ------------------------------------------------------------------------------------
    def view(self) -> dict[str, dict[str, Any]]:
        """What the API shows: the staged config when there is one, else the live one."""
        return self.staged if self.staged is not None else self.current

    def changes(self) -> str | None:
        if self.staged is None:
            return None
        a, b = render(self.current), render(self.staged)
        if a == b:
            return None
        return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), "/etc/network/interfaces",
                                              "/etc/network/interfaces.new", lineterm="")) + "\n"

    def list_json(self, typ: str | None = None) -> list[dict[str, Any]]:
        out = []
        for name in sorted(self.view()):
            d = self.view()[name]
            if typ and not (d["type"] == typ or (typ == "any_bridge" and d["type"] in ("bridge", "OVSBridge"))):
                continue
            out.append(copy.deepcopy(d))
        return out

    # --- staging ------------------------------------------------------------------------------------
    def _stage(self) -> dict[str, dict[str, Any]]:
        if self.staged is None:
            self.staged = copy.deepcopy(self.current)
        return self.staged

    def create(self, iface: str, params: dict[str, Any]) -> None:
        staged = self._stage()
        d: dict[str, Any] = {"iface": iface}
        d.update(params)
        if d.get("type") == "bridge":
            d.setdefault("bridge_stp", "off")
            d.setdefault("bridge_fd", "0")
            if d.get("bridge_vlan_aware") and "bridge_vids" not in d:
                d["bridge_vids"] = "2-4094"
        d["priority"] = max((x.get("priority", 0) for x in staged.values()), default=0) + 1
        staged[iface] = d

    def update(self, iface: str, params: dict[str, Any], delete: list[str]) -> None:
        staged = self._stage()
        d = staged[iface]
        for k in delete:
            d.pop(k, None)
            if k == "cidr":
                d.pop("address", None)
                d.pop("netmask", None)
        d.update(params)

    def delete(self, iface: str) -> None:
        staged = self._stage()
        staged.pop(iface, None)

    def revert(self) -> None:
        self.staged = None

    def apply(self) -> bool:
        """ifreload: the staged config becomes live. True when something changed."""
        if self.staged is None:
            return False
        changed = render(self.staged) != render(self.current)
        self.current = self.staged
        for d in self.current.values():
            d["active"] = 1
        self.staged = None
        return changed

    # --- questions the world asks -------------------------------------------------------------------
    def bridge(self, name: str) -> dict[str, Any] | None:
        d = self.current.get(name)
        if d and d.get("type") in ("bridge", "OVSBridge") and d.get("active"):
            return d
        return None

    def bridge_carries_vlan(self, name: str, tag: int | None) -> bool:
        """Does the live bridge pass frames of VLAN `tag` (None: untagged) to its ports?"""
        d = self.bridge(name)
        if d is None:
            return False
        if tag is None or not d.get("bridge_vlan_aware"):
            return True   # untagged, or a classic bridge where PVE builds vmbrXvTAG on the fly
        return tag in _parse_vids(str(d.get("bridge_vids", "2-4094")))


def render(ifaces: dict[str, dict[str, Any]]) -> str:
    """The /etc/network/interfaces text PVE would write (ifupdown2 syntax)."""
    lines = ["auto lo", "iface lo inet loopback", ""]
    for name in sorted(ifaces, key=lambda n: (ifaces[n].get("type") != "eth", ifaces[n].get("priority", 0), n)):
        d = ifaces[name]
        if d.get("autostart"):
            lines.append(f"auto {name}")
        method = d.get("method", "manual")
        lines.append(f"iface {name} inet {method}")
        if d.get("address"):
            lines.append(f"\taddress {d['address']}/{d.get('netmask', '24')}")
        if d.get("gateway"):
            lines.append(f"\tgateway {d['gateway']}")
        if d.get("type") == "bridge":
            lines.append(f"\tbridge-ports {d.get('bridge_ports') or 'none'}")
            lines.append(f"\tbridge-stp {d.get('bridge_stp', 'off')}")
            lines.append(f"\tbridge-fd {d.get('bridge_fd', '0')}")
            if d.get("bridge_vlan_aware"):
                lines.append("\tbridge-vlan-aware yes")
                lines.append(f"\tbridge-vids {d.get('bridge_vids', '2-4094')}")
        if d.get("type") == "bond":
            lines.append(f"\tbond-slaves {d.get('slaves', 'none')}")
            lines.append(f"\tbond-mode {d.get('bond_mode', 'balance-rr')}")
        if d.get("type") == "vlan" and d.get("vlan-raw-device"):
            lines.append(f"\tvlan-raw-device {d['vlan-raw-device']}")
        if d.get("mtu"):
            lines.append(f"\tmtu {d['mtu']}")
        if d.get("comments"):
            lines.append(f"#{d['comments']}")
        lines.append("")
    lines.append("source /etc/network/interfaces.d/*")
    return "\n".join(lines) + "\n"
