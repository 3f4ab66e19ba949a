"""Intent checks on VLANs, subnets, addresses and DHCP."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from ipaddress import IPv4Address, IPv4Network

from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.model import Vlan, parse_ip


@producer(
    ("vlan-id-out-of-range", "error", "Is every VLAN id within 1-4094?"),
    ("duplicate-vlan-id", "error", "Is each VLAN id used by one VLAN only?"),
    ("duplicate-vlan-name", "error", "Is each VLAN name used once?"),
    ("multiple-native-vlans", "error", "Is at most one VLAN marked native?"),
)
def vlan_identity(ctx: Context) -> Iterator[Hit]:
    by_id: dict[int, str] = {}
    by_name: dict[str, int] = {}
    for i, (v, p) in enumerate(zip(ctx.lab.vlans, ctx.vlan_paths)):
        if not 1 <= v.id <= 4094:
            yield Hit("vlan-id-out-of-range", f"{p}.id",
                      f"{v.name} has VLAN id {v.id}; 802.1Q VLAN ids are 1-4094", {"vlan": v.name, "id": v.id})
        if v.id in by_id:
            yield Hit("duplicate-vlan-id", f"{p}.id", f"{v.name} uses VLAN id {v.id}, which {by_id[v.id]} already uses",
                      {"vlan": v.name, "id": v.id, "other": by_id[v.id]})
        else:
            by_id[v.id] = v.name
        if v.name in by_name:
            yield Hit("duplicate-vlan-name", f"vlans[{i}].name",
                      f"VLAN name {v.name} is used twice (vlans[{by_name[v.name]}] and vlans[{i}])",
                      {"vlan": v.name, "indexes": [by_name[v.name], i]})
        else:
            by_name[v.name] = i
    natives = [(v, p) for v, p in zip(ctx.lab.vlans, ctx.vlan_paths) if v.native]
    for v, p in natives[1:]:
        yield Hit("multiple-native-vlans", f"{p}.native",
                  f"{v.name} is marked native, but {natives[0][0].name} already is; a bridge has one untagged "
                  f"VLAN (its pvid)", {"vlans": [n.name for n, _ in natives]})


@producer(("overlapping-subnets", "error", "Do the VLANs' subnets stay apart?"))
def overlapping_subnets(ctx: Context) -> Iterator[Hit]:
    vl = list(zip(ctx.lab.vlans, ctx.vlan_paths))
    for j, (b, pb) in enumerate(vl):
        for a, pa in vl[:j]:
            if a.subnet.overlaps(b.subnet):
                yield Hit("overlapping-subnets", f"{pb}.subnet",
                          f"{b.name}'s subnet {b.subnet} overlaps {a.name}'s subnet {a.subnet}",
                          {"vlan": b.name, "subnet": str(b.subnet), "other": a.name, "other_subnet": str(a.subnet)})


# --- addresses that must sit inside a VLAN's subnet (data-driven) ----------------------------------

AddressRef = tuple[str, IPv4Address, Vlan, str]  # (path, address, VLAN, what it is, in words)


def _gateways(ctx: Context) -> Iterator[AddressRef]:
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        if v.gateway is not None:
            yield f"{p}.gateway", v.gateway, v, "the gateway"


def _device_addresses(ctx: Context) -> Iterator[AddressRef]:
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        for dev, iface in v.addresses.items():
            yield f"{p}.addresses.{dev}", iface.ip, v, f"{dev}'s address"


def _static_leases(ctx: Context) -> Iterator[AddressRef]:
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        if v.dhcp:
            for k, lease in enumerate(v.dhcp.static_leases):
                yield f"{p}.dhcp.static_leases[{k}].address", lease.address, v, f"the static lease for {lease.host}"


def _vips(ctx: Context) -> Iterator[AddressRef]:
    for c, p in zip(ctx.lab.clusters, ctx.cluster_paths):
        v = ctx.vlans.get(c.vlan or "")
        if c.vip is not None and v is not None:
            yield f"{p}.vip", c.vip, v, f"cluster {c.name}'s VIP"


ADDRESS_RULES: list[tuple[str, str, Callable[[Context], Iterable[AddressRef]]]] = [
    ("gateway-outside-subnet", "Is every VLAN's gateway inside its subnet?", _gateways),
    ("device-address-outside-subnet", "Is every device address inside its VLAN's subnet?", _device_addresses),
    ("static-lease-outside-subnet", "Is every static lease inside its VLAN's subnet?", _static_leases),
    ("vip-outside-subnet", "Is every cluster VIP inside its VLAN's subnet?", _vips),
]


def _usable(ip: IPv4Address, net: IPv4Network) -> str | None:
    if net.prefixlen >= 31:
        return None
    if ip == net.network_address:
        return "network"
    if ip == net.broadcast_address:
        return "broadcast"
    return None


@producer(*[(name, "error", q) for name, q, _ in ADDRESS_RULES],
          ("address-not-usable", "error", "Is no address the network or broadcast address of its subnet?"))
def addresses_in_subnet(ctx: Context) -> Iterator[Hit]:
    for name, _, select in ADDRESS_RULES:
        for path, ip, v, what in select(ctx):
            if ip not in v.subnet:
                yield Hit(name, path, f"{what} {ip} is outside {v.name}'s subnet {v.subnet}",
                          {"address": str(ip), "vlan": v.name, "subnet": str(v.subnet)})
            elif (kind := _usable(ip, v.subnet)) is not None:
                yield Hit("address-not-usable", path,
                          f"{what} {ip} is the {kind} address of {v.name}'s subnet {v.subnet}",
                          {"address": str(ip), "vlan": v.name, "subnet": str(v.subnet)})


@producer(("address-prefix-mismatch", "error", "Does every device address use its VLAN's prefix length?"))
def address_prefix(ctx: Context) -> Iterator[Hit]:
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        for dev, iface in v.addresses.items():
            if iface.network.prefixlen != v.subnet.prefixlen and iface.ip in v.subnet:
                yield Hit("address-prefix-mismatch", f"{p}.addresses.{dev}",
                          f"{dev}'s address {iface} has prefix /{iface.network.prefixlen}, but {v.name}'s subnet "
                          f"is {v.subnet}", {"address": str(iface), "subnet": str(v.subnet)})


@producer(
    ("pool-outside-subnet", "error", "Is every DHCP pool inside its VLAN's subnet?"),
    ("pools-overlap", "error", "Do a VLAN's DHCP pool ranges stay apart?"),
    ("pool-overlaps-device-address", "error",
     "Does no DHCP pool contain a device's address, the gateway or a Proxmox node's address?"),
    ("static-lease-in-pool", "warning", "Are static leases outside the dynamic pool?"),
    ("host-address-in-pool", "warning", "Is no host's fixed address inside a DHCP pool without a static lease?"),
    ("vip-in-dhcp-pool", "error", "Is every cluster VIP outside its VLAN's DHCP pool?"),
    ("endpoint-in-dhcp-pool", "error", "Is every cluster endpoint address outside the DHCP pools?"),
)
def pools(ctx: Context) -> Iterator[Hit]:
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        if v.dhcp is None:
            continue
        ranges = list(enumerate(v.dhcp.pool))
        for k, r in ranges:
            rp = f"{p}.dhcp.pool[{k}]"
            if not r.within(v.subnet):
                yield Hit("pool-outside-subnet", rp, f"pool {r} is not inside {v.name}'s subnet {v.subnet}",
                          {"pool": str(r), "vlan": v.name, "subnet": str(v.subnet)})
            else:
                for edge, kind in ((v.subnet.network_address, "network"), (v.subnet.broadcast_address, "broadcast")):
                    if v.subnet.prefixlen < 31 and edge in r:
                        yield Hit("address-not-usable", rp,
                                  f"pool {r} includes the {kind} address {edge} of {v.name}'s subnet {v.subnet}",
                                  {"pool": str(r), "address": str(edge)})
            for k2, r2 in ranges[:k]:
                if r.overlaps(r2):
                    yield Hit("pools-overlap", rp, f"pool {r} overlaps pool[{k2}] {r2} of {v.name}",
                              {"pool": str(r), "other": str(r2)})
            reported: set[IPv4Address] = set()
            for dev, iface in v.addresses.items():
                if iface.ip in r:
                    reported.add(iface.ip)
                    yield Hit("pool-overlaps-device-address", rp,
                              f"pool {r} contains {dev}'s address {iface.ip}; DHCP would hand it to a client",
                              {"pool": str(r), "device": dev, "address": str(iface.ip)})
            if v.gateway is not None and v.gateway in r and v.gateway not in reported:
                yield Hit("pool-overlaps-device-address", rp, f"pool {r} contains the gateway {v.gateway}",
                          {"pool": str(r), "address": str(v.gateway)})
            for node in ctx.pve.values():
                addrs = {node.management.address} | {b.address.ip for b in node.bridges if b.address}
                for ip in sorted(addrs):
                    if ip in r and ip not in reported:
                        reported.add(ip)
                        yield Hit("pool-overlaps-device-address", rp,
                                  f"pool {r} contains Proxmox node {node.name}'s address {ip}",
                                  {"pool": str(r), "node": node.name, "address": str(ip)})
            for d in ctx.lab.routeros.devices:
                ip = d.management.address
                if ip in r and ip not in reported:
                    reported.add(ip)
                    yield Hit("pool-overlaps-device-address", rp,
                              f"pool {r} contains {d.identity}'s management address {ip}",
                              {"pool": str(r), "device": d.identity, "address": str(ip)})
            leased = {lease.address for lease in v.dhcp.static_leases}
            for j, lease in enumerate(v.dhcp.static_leases):
                if lease.address in r:
                    yield Hit("static-lease-in-pool", f"{p}.dhcp.static_leases[{j}].address",
                              f"static lease {lease.address} for {lease.host} is inside the pool {r}; the server may "
                              f"give it to another client before {lease.host} asks",
                              {"address": str(lease.address), "pool": str(r), "host": lease.host})
            for h, hp in zip(ctx.lab.hosts, ctx.host_paths):
                if h.address is not None and h.address in r and h.address not in leased:
                    yield Hit("host-address-in-pool", f"{hp}.address",
                              f"host {h.name}'s address {h.address} is inside {v.name}'s DHCP pool {r} without a "
                              f"static lease; DHCP may give it to another client",
                              {"address": str(h.address), "pool": str(r), "vlan": v.name})
            for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
                if c.vip is not None and c.vip in r:
                    yield Hit("vip-in-dhcp-pool", f"{cp}.vip",
                              f"cluster {c.name}'s VIP {c.vip} is inside {v.name}'s DHCP pool {r}; DHCP may hand it "
                              f"to a machine", {"vip": str(c.vip), "pool": str(r), "vlan": v.name})
                ep = parse_ip(c.endpoint_host)
                fixed = leased | {h.address for h in ctx.lab.hosts if h.address is not None}   # warned about above
                if ep is not None and ep != c.vip and ep not in fixed and ep in r:
                    yield Hit("endpoint-in-dhcp-pool", f"{cp}.endpoint",
                              f"cluster {c.name}'s endpoint {c.endpoint} is inside {v.name}'s DHCP pool {r}; the pool "
                              f"may hand that address to another machine (give the node a static lease outside the "
                              f"pool, or use a VIP)", {"endpoint": c.endpoint, "pool": str(r), "vlan": v.name})


@producer(
    ("duplicate-static-lease", "error", "Is each MAC and address leased once per DHCP server?"),
    ("dhcp-server-without-address", "error", "Does every DHCP server device have an address in the VLAN it serves?"),
    ("dhcp-without-gateway", "warning", "Does every VLAN with DHCP have a gateway to hand out?"),
    ("gateway-unassigned", "warning", "Is every gateway the address of a device in the VLAN?"),
)
def dhcp(ctx: Context) -> Iterator[Hit]:
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        if v.gateway is not None and v.gateway in v.subnet and v.addresses and \
                all(iface.ip != v.gateway for iface in v.addresses.values()):
            yield Hit("gateway-unassigned", f"{p}.gateway",
                      f"gateway {v.gateway} is not the address of any device in {v.name}.addresses, so nothing in "
                      f"the lab answers there", {"gateway": str(v.gateway)})
        if v.dhcp is None:
            continue
        if v.gateway is None:
            yield Hit("dhcp-without-gateway", f"{p}.gateway",
                      f"{v.name} has a DHCP server but no gateway: clients get no default route", {"vlan": v.name})
        if v.dhcp.server in ctx.devices and v.dhcp.server not in v.addresses:
            yield Hit("dhcp-server-without-address", f"{p}.dhcp.server",
                      f"DHCP server {v.dhcp.server} has no address in {v.name} ({v.name}.addresses has "
                      f"{', '.join(v.addresses) or 'none'}); a RouterOS DHCP server needs one on its interface",
                      {"server": v.dhcp.server, "vlan": v.name})
        macs: dict[str, int] = {}
        addrs: dict[IPv4Address, int] = {}
        for j, lease in enumerate(v.dhcp.static_leases):
            lp = f"{p}.dhcp.static_leases[{j}]"
            if lease.mac in macs:
                yield Hit("duplicate-static-lease", f"{lp}.mac",
                          f"MAC {lease.mac} ({lease.host}) already has static_leases[{macs[lease.mac]}]",
                          {"mac": lease.mac})
            macs.setdefault(lease.mac, j)
            if lease.address in addrs:
                yield Hit("duplicate-static-lease", f"{lp}.address",
                          f"address {lease.address} ({lease.host}) is already leased by static_leases[{addrs[lease.address]}]",
                          {"address": str(lease.address)})
            addrs.setdefault(lease.address, j)


@producer(("address-conflict", "error", "Is every address assigned to one machine only?"))
def address_conflicts(ctx: Context) -> Iterator[Hit]:
    """Device addresses, management addresses, static leases, host addresses, Proxmox addresses and VIPs."""
    owners: dict[IPv4Address, tuple[str, str]] = {}
    entries: list[tuple[IPv4Address, str, str]] = []  # (ip, owner, path)
    for d, dp in zip(ctx.lab.routeros.devices, ctx.dev_paths):
        entries.append((d.management.address, f"device {d.identity}", f"{dp}.management.address"))
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        for dev, iface in v.addresses.items():
            entries.append((iface.ip, f"device {dev}", f"{p}.addresses.{dev}"))
    for n, np_ in zip(ctx.lab.proxmox.nodes if ctx.lab.proxmox else [], ctx.node_paths):
        entries.append((n.management.address, f"Proxmox node {n.name}", f"{np_}.management.address"))
        for b in n.bridges:
            if b.address is not None:
                entries.append((b.address.ip, f"Proxmox node {n.name}", f"{np_}.bridges[{b.name}].address"))
    vm_names = {vm.name for vm in ctx.lab.vms()}
    for h, hp in zip(ctx.lab.hosts, ctx.host_paths):
        if h.address is not None:
            entries.append((h.address, f"host {h.name}", f"{hp}.address"))
    for v, p in zip(ctx.lab.vlans, ctx.vlan_paths):
        for j, lease in enumerate(v.dhcp.static_leases if v.dhcp else []):
            kind = "host" if lease.host in ctx.hosts else ("VM" if lease.host in vm_names else "lease for")
            entries.append((lease.address, f"{kind} {lease.host}", f"{p}.dhcp.static_leases[{j}].address"))
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        if c.vip is not None:
            entries.append((c.vip, f"cluster {c.name}'s VIP", f"{cp}.vip"))
    for ip, owner, path in entries:
        first = owners.get(ip)
        if first is None:
            owners[ip] = (owner, path)
        elif first[0] != owner and not (path.endswith("management.address") and first[1].endswith("management.address")):
            # (two management addresses: duplicate-management-address reports it)
            yield Hit("address-conflict", path, f"{ip} is given to {owner} here and to {first[0]} at {first[1]}",
                      {"address": str(ip), "owner": owner, "other_owner": first[0], "other_path": first[1]})
