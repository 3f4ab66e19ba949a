"""What each RouterOS device must be configured with, derived from the lab file.

Row names follow the owners' conventions (VLAN interfaces named after the VLAN, `pool-<VLAN>`,
`dhcp-<VLAN>`); the phase numbers give the safe order in which `apply` makes changes: a real device
must never be locked out, so the bridge VLAN table, the VLAN interfaces and the management address
all exist before `vlan-filtering=yes` is switched on, in the last phase.
"""
from __future__ import annotations

from labsim.provisioners.fabric.rows import Row, text

PHASES = {
    "identity": 0, "bridge": 1, "bond": 2, "port": 3, "bridge-vlan": 4, "vlan": 5, "address": 6,
    "pool": 7, "dhcp-network": 8, "dhcp-server": 9, "lease": 10, "firewall": 11, "filtering": 12,
}
ACCESS_FRAME_TYPES = "admit-only-untagged-and-priority-tagged"


def vlan_interface(vlan, bridge_name: str) -> str:
    """Where a VLAN's addresses and DHCP server live: the bridge itself for the native VLAN."""
    return bridge_name if vlan.native else vlan.name


def _b(v: bool) -> str:
    return text(bool(v))


def desired_rows(lab, identity: str) -> list[Row]:
    dev = lab.device(identity)
    br = dev.bridge
    rows: list[Row] = [Row("/system/identity", (), {"name": identity}, "identity", PHASES["identity"])]

    bridge_fields = {"name": br.name, "pvid": text(br.pvid), "protocol-mode": br.protocol_mode,
                     "frame-types": br.frame_types, "ingress-filtering": _b(br.ingress_filtering)}
    rows.append(Row("/interface/bridge", ("name",), bridge_fields, f"bridge {br.name}", PHASES["bridge"],
                    on_add={"vlan-filtering": "false"}))

    for bond in dev.bonds:
        rows.append(Row("/interface/bonding", ("name",),
                        {"name": bond.name, "slaves": ",".join(bond.slaves), "mode": bond.mode,
                         "lacp-rate": bond.lacp_rate}, f"bond {bond.name}", PHASES["bond"]))

    for trunk in dev.trunks:
        pvid = lab.vlan(trunk.native).id if trunk.native else br.pvid
        fields = {"bridge": br.name, "interface": trunk.interface, "pvid": text(pvid),
                  "frame-types": trunk.frame_types or "admit-all"}
        if trunk.ingress_filtering is not None:
            fields["ingress-filtering"] = _b(trunk.ingress_filtering)
        rows.append(Row("/interface/bridge/port", ("interface",), fields, f"trunk port {trunk.interface}",
                        PHASES["port"]))
    for acc in dev.access:
        fields = {"bridge": br.name, "interface": acc.interface, "pvid": text(lab.vlan(acc.vlan).id),
                  "frame-types": acc.frame_types or ACCESS_FRAME_TYPES}
        if acc.ingress_filtering is not None:
            fields["ingress-filtering"] = _b(acc.ingress_filtering)
        rows.append(Row("/interface/bridge/port", ("interface",), fields, f"access port {acc.interface}",
                        PHASES["port"]))

    for vlan in lab.vlans:
        if vlan.native:
            continue
        tagged = [t.interface for t in dev.trunks if vlan.name in t.vlans]
        untagged = [a.interface for a in dev.access if a.vlan == vlan.name]
        has_address = identity in vlan.addresses
        if has_address:
            tagged.insert(0, br.name)  # the bridge (its VLAN interface) must be a tagged member
        if not (tagged or untagged):
            continue
        rows.append(Row("/interface/bridge/vlan", ("bridge", "vlan-ids"),
                        {"bridge": br.name, "vlan-ids": text(vlan.id), "tagged": ",".join(tagged),
                         "untagged": ",".join(untagged)}, f"bridge VLAN {vlan.id}", PHASES["bridge-vlan"]))
        if has_address:
            fields = {"name": vlan.name, "vlan-id": text(vlan.id), "interface": br.name}
            if vlan.comment:
                fields["comment"] = vlan.comment
            rows.append(Row("/interface/vlan", ("name",), fields, f"VLAN interface {vlan.name}", PHASES["vlan"]))

    for vlan in lab.vlans:
        addr = vlan.addresses.get(identity)
        if addr is None:
            continue
        iface = vlan_interface(vlan, br.name)
        rows.append(Row("/ip/address", ("interface",), {"address": str(addr), "interface": iface},
                        f"address on {iface}", PHASES["address"]))

    for vlan in lab.vlans:
        dhcp = vlan.dhcp
        if dhcp is None or dhcp.server != identity:
            continue
        pool, server = f"pool-{vlan.name}", f"dhcp-{vlan.name}"
        rows.append(Row("/ip/pool", ("name",), {"name": pool, "ranges": ",".join(pool_ranges(dhcp))},
                        f"pool {pool}", PHASES["pool"]))
        net_fields = {"address": str(vlan.subnet), "gateway": str(vlan.gateway or ""),
                      "dns-server": ",".join(str(d) for d in dhcp.dns)}
        if dhcp.domain:
            net_fields["domain"] = dhcp.domain
        if dhcp.ntp:
            net_fields["ntp-server"] = ",".join(str(n) for n in dhcp.ntp)
        if dhcp.next_server:
            net_fields["next-server"] = str(dhcp.next_server)
        if dhcp.boot_file:
            net_fields["boot-file-name"] = dhcp.boot_file
        rows.append(Row("/ip/dhcp-server/network", ("address",), net_fields,
                        f"DHCP network {vlan.subnet}", PHASES["dhcp-network"]))
        rows.append(Row("/ip/dhcp-server", ("name",),
                        {"name": server, "interface": vlan_interface(vlan, br.name), "address-pool": pool,
                         **({"lease-time": dhcp.lease_time} if dhcp.lease_time else {})},
                        f"DHCP server {server}", PHASES["dhcp-server"]))
        for lease in dhcp.static_leases:
            rows.append(Row("/ip/dhcp-server/lease", ("mac-address",),
                            {"mac-address": str(lease.mac).upper(), "address": str(lease.address), "server": server,
                             "comment": lease.comment or lease.host}, f"static lease {lease.host}", PHASES["lease"]))

    for rule in dev.firewall:
        fields = firewall_fields(rule)
        rows.append(Row("/ip/firewall/filter", tuple(k for k in fields if k != "comment"), fields,
                        f"firewall {rule.chain} rule {rule.comment or fields}", PHASES["firewall"]))

    rows.append(Row("/interface/bridge", ("name",), {"name": br.name, "vlan-filtering": _b(br.vlan_filtering)},
                    f"bridge {br.name} VLAN filtering", PHASES["filtering"]))
    return rows


def pool_ranges(dhcp) -> list[str]:
    """Pool ranges as RouterOS writes them: `first-last` (or one address)."""
    return [str(r) for r in dhcp.pool]


def firewall_fields(rule) -> dict[str, str]:
    """A lab file firewall rule as /ip/firewall/filter fields (`dst_port` -> `dst-port`)."""
    data = rule.model_dump(exclude_none=True, mode="json")
    return {k.replace("_", "-"): text(v) for k, v in data.items() if v != ""}


def managed_menus(rows: list[Row]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r.menu not in seen:
            seen.append(r.menu)
    return seen
