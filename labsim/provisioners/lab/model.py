"""Typed models of a lab file (pydantic v2).

Every model forbids unknown keys, so a typo (`vlan_filterng`) is an error that names the field rather
than a setting silently ignored. The models hold what the file says; relations between parts of the
file (a trunk naming a VLAN that does not exist, a pool outside its subnet, ...) are the intent checks'
business (`labsim.provisioners.lab.checks`), so a lab with such a mistake still loads and every mistake is
reported at once.

Paths in findings use lab-file terms: `vlans[VLAN1500].dhcp.pool[0]`, `routeros.devices[crs328-01]
.trunks[2].interface`. Lists whose items carry a name (see KEYED_LISTS) are indexed by that name; the
others by position.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import core_schema

from labsim.provisioners.lab.secrets import InlineSecret, SecretRef

# ---------------------------------------------------------------------------------------------------
# Paths in lab-file terms
# ---------------------------------------------------------------------------------------------------

# A list under this key is indexed by the item's value for that field (when present and unique).
KEYED_LISTS: dict[str, str] = {
    "devices": "identity",
    "vlans": "name",
    "nodes": "name",
    "hosts": "name",
    "clusters": "name",
    "bonds": "name",
    "bridges": "name",
    "storage": "name",
    "global_services": "name",
    "pools": "name",
    "providers": "name",
    "firewalls": "name",
    "servers": "name",
    "records": "name",
}


class Item(str):
    """A list element in a path: printed as `[label]` rather than `.key`."""


def list_labels(key: Any, items: list[Any]) -> list[str]:
    """Labels of a list's items: the name field for keyed lists (if unique and present), else index."""
    field = KEYED_LISTS.get(key) if isinstance(key, str) else None
    labels = [str(i) for i in range(len(items))]
    if field is None:
        return labels
    names: list[str | None] = []
    for item in items:
        value = item.get(field) if isinstance(item, dict) else getattr(item, field, None)
        names.append(value if isinstance(value, str) and value else None)
    counts: dict[str, int] = {}
    for n in names:
        if n is not None:
            counts[n] = counts.get(n, 0) + 1
    return [n if n is not None and counts[n] == 1 else labels[i] for i, n in enumerate(names)]


def format_path(parts: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, (Item, int)):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


# ---------------------------------------------------------------------------------------------------
# Scalar types
# ---------------------------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=False)


def _version(v: Any) -> Any:
    if isinstance(v, bool):
        raise ValueError("a version is text like 1.11.3")
    if isinstance(v, float):
        raise ValueError(f"YAML read this version as the number {v!r} (1.10 and 1.1 look alike to it); "
                         f"put the version in quotes")
    if isinstance(v, int):
        return str(v)
    return v


Version = Annotated[str, BeforeValidator(_version)]

_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")


def _mac(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        raise ValueError("YAML read this MAC address as a number (sexagesimal); put it in quotes")
    if isinstance(v, str):
        if not _MAC.match(v.strip()):
            raise ValueError(f"{v!r} is not a MAC address like D8:3A:DD:00:10:91")
        return v.strip().upper().replace("-", ":")
    return v


Mac = Annotated[str, BeforeValidator(_mac)]


def _subnet(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return IPv4Network(v.strip())
        except ValueError:
            try:
                net = IPv4Network(v.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{v!r} is not an IPv4 subnet like 192.168.15.0/24") from None
            raise ValueError(f"{v} has host bits set: the subnet is {net}") from None
    return v


Subnet = Annotated[IPv4Network, BeforeValidator(_subnet)]


def _port_spec(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return v


PortSpec = Annotated[str, BeforeValidator(_port_spec)]

_DURATION = r"^\d+(ms|s|m|h)$"


class _PlainType:
    """Mixin: a type parsed from YAML by `cls.parse`, serialized with `str`."""

    _json_schema: dict[str, Any] = {"type": "string"}

    @classmethod
    def parse(cls, value: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    @classmethod
    def _validate(cls, value: Any) -> Any:
        return value if isinstance(value, cls) else cls.parse(value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.plain_serializer_function_ser_schema(cls._serialize))

    @classmethod
    def _serialize(cls, value: Any) -> Any:
        return str(value)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return dict(cls._json_schema)


@dataclass(frozen=True)
class PoolRange(_PlainType):
    """A DHCP pool range `first-last` (RouterOS /ip/pool ranges); a single address or a CIDR also work."""

    first: IPv4Address
    last: IPv4Address

    _json_schema = {"type": "string", "description": "address range FIRST-LAST, e.g. 192.168.15.20-192.168.15.127",
                    "examples": ["192.168.15.20-192.168.15.127"]}

    @classmethod
    def parse(cls, value: Any) -> PoolRange:
        if not isinstance(value, str):
            raise ValueError("a pool range is text like 192.168.15.20-192.168.15.127")
        text = value.strip()
        try:
            if "-" in text:
                a, b = (s.strip() for s in text.split("-", 1))
                first, last = IPv4Address(a), IPv4Address(b)
            elif "/" in text:
                net = IPv4Network(text, strict=False)
                first, last = net.network_address, net.broadcast_address
            else:
                first = last = IPv4Address(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an address range like 192.168.15.20-192.168.15.127") from None
        if first > last:
            raise ValueError(f"range {text} runs backwards: {first} comes after {last}")
        return cls(first, last)

    def __contains__(self, ip: object) -> bool:
        if isinstance(ip, IPv4Interface):
            ip = ip.ip
        return isinstance(ip, IPv4Address) and self.first <= ip <= self.last

    def overlaps(self, other: PoolRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def within(self, net: IPv4Network) -> bool:
        return self.first in net and self.last in net

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


@dataclass(frozen=True)
class VidSet(_PlainType):
    """Proxmox `bridge-vids`: `2-4094`, or ids and ranges separated by spaces or commas."""

    ranges: tuple[tuple[int, int], ...]

    _json_schema = {"anyOf": [{"type": "string", "examples": ["2-4094", "10 1500 2000"]}, {"type": "integer"},
                              {"type": "array", "items": {"type": ["integer", "string"]}}]}

    @classmethod
    def parse(cls, value: Any) -> VidSet:
        items: list[Any]
        if isinstance(value, bool):
            raise ValueError("VLAN ids are numbers or ranges like 2-4094")
        if isinstance(value, int):
            items = [value]
        elif isinstance(value, str):
            items = [p for p in re.split(r"[\s,]+", value.strip()) if p]
        elif isinstance(value, list):
            items = value
        else:
            raise ValueError("VLAN ids are numbers or ranges like 2-4094")
        ranges = []
        for item in items:
            text = str(item).strip()
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
            if not m:
                raise ValueError(f"{text!r} is not a VLAN id or range like 2-4094")
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            if not (1 <= lo <= hi <= 4094):
                raise ValueError(f"{text} is not a VLAN range within 1-4094")
            ranges.append((lo, hi))
        return cls(tuple(ranges))

    def __contains__(self, vid: object) -> bool:
        return isinstance(vid, int) and any(lo <= vid <= hi for lo, hi in self.ranges)

    def __str__(self) -> str:
        return " ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges)


class Endpoint(NamedTuple):
    """One end of a cable: a RouterOS device and port, a Proxmox node and NIC, or a host and NIC."""

    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}:{self.port}"


@dataclass(frozen=True)
class Cable(_PlainType):
    """A cable between two endpoints, written `[node:port, node:port]`."""

    a: Endpoint
    b: Endpoint

    _json_schema = {"type": "array", "minItems": 2, "maxItems": 2,
                    "items": {"type": "string", "pattern": "^[^:]+:.+$"},
                    "description": "the two ends of a cable, NODE:PORT each",
                    "examples": [["crs328-01:sfp-sfpplus3", "pve:enp1s0f0"]]}

    @classmethod
    def parse(cls, value: Any) -> Cable:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError("a cable is a pair [node:port, node:port]")
        ends = []
        for end in value:
            if not isinstance(end, str):
                raise ValueError(f"cable end {end!r} is not NODE:PORT text")
            node, sep, port = end.strip().partition(":")
            if not sep or not node or not port:
                raise ValueError(f"cable end {end!r} is not NODE:PORT")
            ends.append(Endpoint(node, port))
        return cls(ends[0], ends[1])

    @classmethod
    def _serialize(cls, value: Any) -> Any:
        return [str(value.a), str(value.b)]

    @property
    def ends(self) -> tuple[Endpoint, Endpoint]:
        return (self.a, self.b)

    def peer(self, end: Endpoint) -> Endpoint | None:
        if end == self.a:
            return self.b
        if end == self.b:
            return self.a
        return None

    def __str__(self) -> str:
        return f"{self.a} - {self.b}"


class _SecretField:
    """Annotation for fields that hold a secret: loads a `SecretRef`, or an `InlineSecret` to report."""

    @staticmethod
    def _validate(value: Any) -> Any:
        if isinstance(value, (SecretRef, InlineSecret)):
            return value
        if not isinstance(value, str):
            raise ValueError("a secret is a reference such as env:NAME or file:PATH")
        try:
            return SecretRef.parse(value)
        except ValueError:
            return InlineSecret(value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.plain_serializer_function_ser_schema(str))

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return {"type": "string", "pattern": "^(env:[^=\\s]+|file:.+)$",
                "description": "a reference to a secret (env:NAME or file:PATH), never the secret itself",
                "examples": ["env:ROUTEROS_PASSWORD", "file:~/.ssh/id_ed25519"]}


Secret = Annotated[SecretRef | InlineSecret, _SecretField]

FrameTypes = Literal["admit-all", "admit-only-untagged-and-priority-tagged", "admit-only-vlan-tagged"]
Port = Annotated[int, Field(ge=1, le=65535)]

# ---------------------------------------------------------------------------------------------------
# RouterOS
# ---------------------------------------------------------------------------------------------------


class Reach(_Strict):
    """Where the suite connects when that is not the lab address itself: a port forward through a jump
    host, a NAT, or the served simulator (`python -m labsim.fakes serve --lab-out`). Intent checks keep using the
    lab address; only the client's socket goes to `host:port`."""

    host: str = Field(description="address or name the suite connects to")
    port: Port | None = Field(None, description="port there (default: the endpoint's own port)")


class LabMeta(_Strict):
    name: str
    description: str | None = None
    owner: str | None = None


class RouterOSDefaults(_Strict):
    username: str = "admin"
    password: Secret | None = None
    api_port: Port | None = Field(None, description="API port: 8728, or 8729 with tls")
    tls: bool = Field(False, description="api-ssl instead of the plain API")
    ca_file: str | None = Field(None, description="CA bundle that signed the devices' api-ssl certificates "
                                                  "(default: the system's trust store)")
    verify_tls: bool = Field(True, description="false: encrypt api-ssl without verifying the certificate")
    version: Version | None = None
    login: Literal["plain", "token"] = Field("plain", description="librouteros login method")


class RouterOSManagement(_Strict):
    address: IPv4Address
    interface: str = Field(description="the interface holding the address: the bridge, a VLAN interface or a port")
    api_port: Port | None = None
    reach: Reach | None = None


class Bridge(_Strict):
    name: str = "bridge"
    vlan_filtering: bool = False
    pvid: int = Field(1, ge=1, le=4094)
    protocol_mode: Literal["none", "stp", "rstp", "mstp"] = "rstp"
    frame_types: FrameTypes = "admit-all"
    ingress_filtering: bool = True


class Bond(_Strict):
    name: str
    slaves: list[str] = Field(min_length=1)
    mode: Literal["802.3ad", "balance-rr", "active-backup", "balance-xor", "broadcast", "balance-tlb",
                  "balance-alb"] = "802.3ad"
    lacp_rate: Literal["30secs", "1sec"] = "30secs"
    transmit_hash_policy: Literal["layer-2", "layer-2-and-3", "layer-3-and-4"] | None = None
    mtu: int | None = None


class Trunk(_Strict):
    """A bridge port carrying VLANs tagged (and the port's PVID untagged, VLAN 1 unless `native` says)."""

    interface: str
    vlans: list[str] = Field(description="names of the VLANs carried tagged")
    native: str | None = Field(None, description="name of the VLAN carried untagged (sets the port's pvid)")
    frame_types: FrameTypes | None = None
    ingress_filtering: bool | None = None
    comment: str | None = None


class Access(_Strict):
    """A bridge port carrying one VLAN untagged (pvid = that VLAN)."""

    interface: str
    vlan: str
    frame_types: FrameTypes | None = None
    ingress_filtering: bool | None = None
    comment: str | None = None


class FirewallRule(_Strict):
    chain: str
    action: str
    protocol: str | None = None
    src_address: str | None = None
    dst_address: str | None = None
    src_port: PortSpec | None = None
    dst_port: PortSpec | None = None
    in_interface: str | None = None
    out_interface: str | None = None
    in_interface_list: str | None = None
    out_interface_list: str | None = None
    connection_state: str | None = None
    comment: str | None = None
    disabled: bool = False


class RouterOSDevice(_Strict):
    identity: str
    model: str
    management: RouterOSManagement
    bridge: Bridge = Field(default_factory=Bridge)
    bonds: list[Bond] = []
    trunks: list[Trunk] = []
    access: list[Access] = []
    firewall: list[FirewallRule] = []
    username: str | None = None
    password: Secret | None = None
    api_port: Port | None = None
    version: Version | None = None
    comment: str | None = None

    def bond(self, name: str) -> Bond | None:
        return next((b for b in self.bonds if b.name == name), None)

    def bond_of(self, port: str) -> Bond | None:
        """The bond whose slave `port` is."""
        return next((b for b in self.bonds if port in b.slaves), None)


class RouterOS(_Strict):
    defaults: RouterOSDefaults = Field(default_factory=RouterOSDefaults)
    devices: list[RouterOSDevice] = []


@dataclass(frozen=True)
class RouterOSLogin:
    """How to reach one device's API (the password as a reference, resolved only by the client)."""

    identity: str
    address: IPv4Address
    port: int
    username: str
    password: SecretRef | InlineSecret | None
    login: str
    tls: bool
    ca_file: str | None = None
    verify_tls: bool = True


# ---------------------------------------------------------------------------------------------------
# VLANs
# ---------------------------------------------------------------------------------------------------


class StaticLease(_Strict):
    host: str
    mac: Mac
    address: IPv4Address
    comment: str | None = None


class Dhcp(_Strict):
    server: str = Field(description="identity of the RouterOS device running the DHCP server")
    pool: list[PoolRange] = Field(min_length=1)
    dns: list[IPv4Address] = []
    next_server: IPv4Address | None = None
    boot_file: str | None = None
    lease_time: str | None = None
    domain: str | None = None
    ntp: list[IPv4Address] = []
    static_leases: list[StaticLease] = []


class Vlan(_Strict):
    name: str = Field(description="the VLAN interface's name on every device's bridge")
    id: int = Field(description="802.1Q VLAN id, 1-4094")
    native: bool = Field(False, description="the bridge's own untagged VLAN (its pvid): addresses sit on the bridge")
    comment: str | None = None
    subnet: Subnet
    gateway: IPv4Address | None = None
    addresses: dict[str, IPv4Interface] = Field(
        {}, description="RouterOS device identity -> its address in this VLAN (prefix from the subnet)")
    dhcp: Dhcp | None = None
    mtu: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _prefix_addresses(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("addresses"), dict):
            try:
                net = IPv4Network(str(data.get("subnet")), strict=False)
            except ValueError:
                return data
            addrs = {}
            for k, v in data["addresses"].items():
                if isinstance(v, IPv4Address):
                    v = str(v)
                if isinstance(v, str) and "/" not in v:
                    v = f"{v.strip()}/{net.prefixlen}"
                addrs[k] = v
            data = {**data, "addresses": addrs}
        return data

    def address_of(self, device: str) -> IPv4Interface | None:
        return self.addresses.get(device)

    @property
    def interface_name(self) -> str:
        """The VLAN interface's name on the bridge (native VLANs use the bridge itself)."""
        return self.name


# ---------------------------------------------------------------------------------------------------
# Proxmox VE and hosts
# ---------------------------------------------------------------------------------------------------


class ProxmoxCredentials(_Strict):
    user: str = Field(description="user@realm, e.g. root@pam")
    token_id: str | None = None
    token_secret: Secret | None = None
    password: Secret | None = None

    @model_validator(mode="after")
    def _one_login(self) -> ProxmoxCredentials:
        if self.token_secret is None and self.password is None:
            raise ValueError("give token_id and token_secret (an API token), or password")
        if self.token_secret is not None and not self.token_id:
            raise ValueError("token_secret needs token_id")
        return self


class ProxmoxManagement(_Strict):
    address: IPv4Address
    port: Port = 8006
    reach: Reach | None = None


class PveBridge(_Strict):
    name: str
    ports: list[str] = []
    vlan_aware: bool = False
    vids: VidSet = Field(default_factory=lambda: VidSet(((2, 4094),)))
    pvid: int = Field(1, ge=1, le=4094, description="bridge-pvid: the VLAN untagged frames belong to")
    address: IPv4Interface | None = None
    gateway: IPv4Address | None = None
    mtu: int | None = None


StorageContent = Literal["images", "rootdir", "vztmpl", "backup", "iso", "snippets", "import"]


class Storage(_Strict):
    name: str
    type: Literal["dir", "lvm", "lvmthin", "zfspool", "nfs", "cifs", "rbd", "cephfs", "btrfs", "iscsi",
                  "pbs", "glusterfs"]
    content: list[StorageContent] = []
    size_gib: float = Field(gt=0)
    shared: bool = False


class Image(_Strict):
    volid: str = Field(pattern=r"^[^:]+:.+$", description="STORAGE:iso/NAME")
    talos_version: Version | None = None
    schematic: str | None = None


class ProxmoxNode(_Strict):
    name: str
    management: ProxmoxManagement
    version: Version | None = None
    cpus: int = Field(gt=0)
    memory_gib: float = Field(gt=0)
    nics: list[str] = []
    bridges: list[PveBridge] = []
    storage: list[Storage] = []
    images: list[Image] = []
    ssh: Ssh | None = Field(None, description="SSH login to the node itself, for host checks (address: management)")

    def storage_named(self, name: str) -> Storage | None:
        return next((s for s in self.storage if s.name == name), None)

    def bridge_of(self, nic: str) -> PveBridge | None:
        return next((b for b in self.bridges if nic in b.ports), None)


class Proxmox(_Strict):
    credentials: ProxmoxCredentials
    verify_tls: bool = True
    ca_file: str | None = None
    nodes: list[ProxmoxNode] = []


class Ssh(_Strict):
    user: str
    key: Secret | None = None
    password: Secret | None = None
    port: Port = 22
    sudo: bool = Field(True, description="checks read root-only files (RKE2's config.yaml) through sudo, as "
                                         "rke2-ansible's testinfra tests do (--sudo)")
    known_hosts: str | None = Field(None, description="known_hosts file with the hosts' keys (default "
                                                      "~/.ssh/known_hosts); an unknown host key is refused")
    reach: Reach | None = None


class Host(_Strict):
    name: str
    kind: str = Field(description="raspberry-pi-5, server, cloud-vm, ...")
    address: IPv4Address | None = None
    nic: str = "eth0"
    arch: Literal["amd64", "arm64"] | None = None
    provider: str | None = None
    region: str | None = None
    cores: int | None = Field(None, gt=0)
    memory_gib: float | None = Field(None, gt=0)
    ssh: Ssh | None = None


# ---------------------------------------------------------------------------------------------------
# Clusters
# ---------------------------------------------------------------------------------------------------

_SLOT = r"^(virtio([0-9]|1[0-5])|scsi([0-9]|[12][0-9]|30)|sata[0-5]|ide[0-3])$"


class DiskPlan(_Strict):
    slot: str = Field(pattern=_SLOT, description="Proxmox disk slot: virtio0-15, scsi0-30, sata0-5, ide0-3")
    storage: str
    size_gib: int = Field(gt=0)
    purpose: Literal["system", "ceph", "data"] | None = Field(
        None, description="system (the default for the first disk), ceph (an OSD disk) or data")


class MachinePlan(_Strict):
    names: list[str]
    first_vmid: int
    cores: int = Field(gt=0)
    sockets: int = Field(1, gt=0)
    memory_mib: int = Field(gt=0)
    cpu: str = "host"
    disks: list[DiskPlan] = Field(min_length=1)


class Machines(_Strict):
    control_plane: MachinePlan
    workers: MachinePlan | None = None


Role = Literal["controlplane", "worker"]


@dataclass(frozen=True)
class VmPlan:
    """One VM of a cluster's machine plan."""

    cluster: str
    name: str
    vmid: int
    role: Role
    cores: int
    sockets: int
    memory_mib: int
    cpu: str
    disks: tuple[DiskPlan, ...]
    node: str | None
    vlan: str | None
    plan_path: str  # e.g. clusters[talos-east].machines.workers
    index: int  # position in the plan's names

    @property
    def system_disk(self) -> DiskPlan:
        return next((d for d in self.disks if d.purpose in (None, "system")), self.disks[0])

    @property
    def ceph_disks(self) -> tuple[DiskPlan, ...]:
        return tuple(d for d in self.disks if d.purpose == "ceph")


@dataclass(frozen=True)
class Member:
    """A cluster node: a VM from a machine plan or a host from the lab's hosts."""

    name: str
    role: Role
    kind: Literal["vm", "host"]


class Cilium(_Strict):
    version: Version
    cluster_id: int = Field(description="1-255 (1-511 with max_connected_clusters 511), unique in the mesh")
    cluster_name: str | None = Field(None, description="Cilium's cluster.name; defaults to the cluster's name")
    clustermesh_service_type: Literal["NodePort", "LoadBalancer", "ClusterIP"] = "NodePort"
    clustermesh_node_port: int | None = None
    encryption: Literal["none", "wireguard", "ipsec"] = "none"
    kube_proxy_replacement: bool | None = Field(
        None, description="Cilium replaces kube-proxy (Helm kubeProxyReplacement); default: when the cluster runs "
                          "without kube-proxy")
    max_connected_clusters: int | None = Field(
        None, description="clustermesh.maxConnectedClusters this cluster's Cilium is installed with (255 or 511), "
                          "when something else installs it (RKE2's rke2-cilium HelmChartConfig): fixed once installed, "
                          "it must equal mesh.max_connected_clusters; default: the mesh's")


class CephPool(_Strict):
    name: str
    size: int = Field(ge=1)
    min_size: int | None = None
    failure_domain: Literal["host", "osd", "rack", "zone"] = "host"


class Ceph(_Strict):
    namespace: str = "rook-ceph"
    mons: int = Field(3, ge=1)
    mgrs: int = Field(2, ge=1)
    allow_multiple_per_node: bool = False
    use_all_devices: bool = True
    devices: list[str] = Field([], description="OSD devices by name (e.g. vdb) instead of all blank ones")
    pools: list[CephPool] = []
    storage_classes: list[str] = []
    image: str | None = Field(None, description="Rook's cephVersion.image, e.g. quay.io/ceph/ceph:v19.2.3 (the "
                                                "chart's when unset): the Ceph release the cluster runs")


class TalosHosts(_Strict):
    control_plane: list[str]
    workers: list[str] = []


class Rke2Hosts(_Strict):
    servers: list[str]
    agents: list[str] = []


def _endpoint_url(v: Any) -> Any:
    if isinstance(v, str):
        parts = urlsplit(v.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"{v!r} is not an endpoint URL like https://192.168.15.10:6443")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError(f"{v!r} has an invalid port") from None
    return v


EndpointUrl = Annotated[str, BeforeValidator(_endpoint_url)]


class _ClusterBase(_Strict):
    name: str
    version: Version
    vlan: str | None = Field(None, description="name of the VLAN the nodes sit on")
    endpoint: EndpointUrl
    vip: IPv4Address | None = None
    ca_file: str | None = Field(None, description="CA bundle of the Kubernetes API (default: TCP check only)")
    reach: Reach | None = Field(None, description="where the suite reaches the Kubernetes API instead of endpoint")
    cilium: Cilium | None = None
    ceph: Ceph | None = None

    @property
    def endpoint_host(self) -> str:
        return urlsplit(self.endpoint).hostname or ""

    @property
    def endpoint_port(self) -> int:
        return urlsplit(self.endpoint).port or 443

    @property
    def cilium_name(self) -> str:
        return (self.cilium.cluster_name if self.cilium and self.cilium.cluster_name else self.name)

    @property
    def replaces_kube_proxy(self) -> bool:
        """Cilium takes over kube-proxy's job: as `cilium.kube_proxy_replacement` says, else when kube-proxy is off."""
        if self.cilium is None:
            return False
        kpr = self.cilium.kube_proxy_replacement
        return (not getattr(self, "kube_proxy", True)) if kpr is None else kpr

    def members(self) -> list[Member]:  # pragma: no cover - overridden
        raise NotImplementedError

    def vms(self) -> list[VmPlan]:
        return []

    def control_planes(self) -> list[Member]:
        return [m for m in self.members() if m.role == "controlplane"]

    def workers(self) -> list[Member]:
        return [m for m in self.members() if m.role == "worker"]


class TalosCluster(_ClusterBase):
    distribution: Literal["talos"]
    kubernetes_version: Version | None = None
    proxmox_node: str | None = Field(None, description="Proxmox node hosting the VMs of `machines`")
    pod_subnet: Subnet = IPv4Network("10.244.0.0/16")
    service_subnet: Subnet = IPv4Network("10.96.0.0/12")
    install_disk: str = "/dev/sda"
    cni: Literal["none", "flannel", "custom"] = "flannel"
    kube_proxy: bool = True
    allow_scheduling_on_control_planes: bool = False
    ntp: list[str] = []
    machines: Machines | None = Field(None, description="VMs on a Proxmox node")
    hosts: TalosHosts | None = Field(None, description="bare-metal or cloud hosts instead of VMs")

    @model_validator(mode="after")
    def _machines_or_hosts(self) -> TalosCluster:
        if (self.machines is None) == (self.hosts is None):
            raise ValueError("give either machines (VMs on a Proxmox node) or hosts, not both or neither")
        if self.machines is not None and not self.proxmox_node:
            raise ValueError("machines need proxmox_node: the Proxmox node that hosts the VMs")
        return self

    def vms(self) -> list[VmPlan]:
        if self.machines is None:
            return []
        out: list[VmPlan] = []
        for key, role in (("control_plane", "controlplane"), ("workers", "worker")):
            plan: MachinePlan | None = getattr(self.machines, key)
            if plan is None:
                continue
            for i, name in enumerate(plan.names):
                out.append(VmPlan(
                    cluster=self.name, name=name, vmid=plan.first_vmid + i, role=role,  # type: ignore[arg-type]
                    cores=plan.cores, sockets=plan.sockets, memory_mib=plan.memory_mib, cpu=plan.cpu,
                    disks=tuple(plan.disks), node=self.proxmox_node, vlan=self.vlan,
                    plan_path=f"clusters[{self.name}].machines.{key}", index=i))
        return out

    def members(self) -> list[Member]:
        if self.machines is not None:
            return [Member(v.name, v.role, "vm") for v in self.vms()]
        assert self.hosts is not None
        return ([Member(n, "controlplane", "host") for n in self.hosts.control_plane]
                + [Member(n, "worker", "host") for n in self.hosts.workers])


class Rke2Cluster(_ClusterBase):
    distribution: Literal["rke2"]
    pod_subnet: Subnet = IPv4Network("10.42.0.0/16")
    service_subnet: Subnet = IPv4Network("10.43.0.0/16")
    cni: Literal["canal", "cilium", "calico", "flannel", "none"] = "canal"
    kube_proxy: bool = True
    hosts: Rke2Hosts
    token: Secret | None = None

    def members(self) -> list[Member]:
        return ([Member(n, "controlplane", "host") for n in self.hosts.servers]
                + [Member(n, "worker", "host") for n in self.hosts.agents])


Cluster = Annotated[TalosCluster | Rke2Cluster, Field(discriminator="distribution")]


# ---------------------------------------------------------------------------------------------------
# Mesh
# ---------------------------------------------------------------------------------------------------


class MeshCA(_Strict):
    source: str | None = Field(None, description="cluster whose cilium-ca every member shares")
    allow_mismatching: bool = False


class GlobalService(_Strict):
    name: str
    namespace: str = "default"
    affinity: Literal["none", "local", "remote"] = "none"
    shared: bool = True
    replicas: dict[str, int] = Field({}, description="cluster name -> backend replicas in that cluster")


class Canary(_Strict):
    name: str
    namespace: str = "default"
    weights: dict[str, int] = Field(description="global service name -> percent of requests")


class ProbeBackends(_Strict):
    """Backends of the suite's affinity-none probe service in the first two mesh members: their ratio is the
    share of requests each answers (1 and 3: 25% and 75%)."""

    first: int = Field(1, ge=0)
    second: int = Field(3, ge=0)

    @model_validator(mode="after")
    def _some(self) -> ProbeBackends:
        if self.first + self.second == 0:
            raise ValueError("give at least one backend (first or second)")
        return self


class ProbeCanary(_Strict):
    """The suite's Envoy canary: percent of requests kept in the client's cluster (a local-affinity service)
    and sent across the mesh (a remote-affinity service)."""

    local: int = Field(25, ge=0, le=100)
    remote: int = Field(75, ge=0, le=100)

    @model_validator(mode="after")
    def _hundred(self) -> ProbeCanary:
        if self.local + self.remote != 100:
            raise ValueError(f"local {self.local} and remote {self.remote} must add up to 100 (percent)")
        return self


class Probe(_Strict):
    """How the mesh features send traffic: the probe Job's image and request count, and, when the lab file names
    no global_services, the suite's own probe services (echo backends and global services in `namespace`,
    created and removed by each scenario, as `cilium connectivity test` does with its own namespace)."""

    image: str = "curlimages/curl:8.10.1"
    requests: int = Field(100, gt=0)
    namespace: str = Field("labsim-mesh-probe", description="the suite's own namespace for its probe services")
    backends: ProbeBackends = Field(default_factory=ProbeBackends)
    canary: ProbeCanary = Field(default_factory=ProbeCanary)


class Application(_Strict):
    """A workload of the mesh and the global services it may reach, from any member: the mesh provisioner allows
    exactly that with CiliumNetworkPolicies (and nothing else reaches a global service's backends)."""

    name: str
    namespace: str = "default"
    labels: dict[str, str] = Field({}, description="the pods' labels (default: app: <name>)")
    reaches: list[str] = Field(description="names of mesh.global_services (or the canary) it may reach")

    @property
    def pod_labels(self) -> dict[str, str]:
        return dict(self.labels) or {"app": self.name}


class Mesh(_Strict):
    clusters: list[str]
    topology: Literal["full", "hub-and-spoke"] = "full"
    hub: str | None = None
    max_connected_clusters: int = 255
    ca: MeshCA | None = None
    cache_ttl: str = Field("0s", pattern=_DURATION)
    global_services: list[GlobalService] = []
    canary: Canary | None = None
    applications: list[Application] = Field(
        [], description="who may reach which global service across the mesh; none: no policy is applied")
    policy_default_local_cluster: bool | None = Field(
        None, description="Helm clustermesh.policyDefaultLocalCluster (unset: the Cilium version's default)")
    probe: Probe = Field(default_factory=Probe)


# ---------------------------------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------------------------------

# The cloud sections (servers, tailnet, DNS zone, object storage) live in model_cloud.py, built on the types above.
from labsim.provisioners.lab.model_cloud import Cloud, DnsZone, ObjectStorage, Tailnet  # noqa: E402

NodeKind = Literal["routeros", "proxmox", "host"]

# Command-line tools a lab may pin (how each reports its version: labsim/provisioners/tools.py).
ToolName = Literal["talosctl", "helm", "cilium", "kubectl", "kind", "docker"]
ToolVersion = Annotated[str | None, BeforeValidator(_version),
                        Field(description="1.11.3 (exactly), 1.11 (any 1.11.x), >=1.33 (at least), or null (any)")]


class Lab(_Strict):
    """One lab file."""

    lab: LabMeta
    routeros: RouterOS = Field(default_factory=RouterOS)
    vlans: list[Vlan] = []
    cables: list[Cable] = []
    proxmox: Proxmox | None = None
    hosts: list[Host] = []
    clusters: list[Cluster] = []
    mesh: Mesh | None = None
    cloud: Cloud | None = Field(None, description="cloud servers, their providers and firewalls")
    tailnet: Tailnet | None = None
    dns: DnsZone | None = Field(None, description="the DNS zone the lab owns records in, and its failover")
    object_storage: ObjectStorage | None = Field(None, description="S3 storage for backups")
    tools: dict[ToolName, ToolVersion] = Field(
        {}, description="command-line tools the operator's workstation needs, with the version expected")

    _source: str | None = PrivateAttr(None)
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    # --- where it came from ---
    @property
    def source(self) -> str | None:
        return self._source

    def line_of(self, path: str) -> int | None:
        """The line in the lab file where `path` (lab-file terms) is written, if loaded from a file."""
        while path:
            if path in self._lines:
                return self._lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return None

    # --- lookups ---
    @property
    def devices(self) -> list[RouterOSDevice]:
        return self.routeros.devices

    def device(self, identity: str) -> RouterOSDevice:
        for d in self.routeros.devices:
            if d.identity == identity:
                return d
        raise KeyError(f"no RouterOS device {identity!r} in lab {self.lab.name}")

    def vlan(self, name: str) -> Vlan:
        for v in self.vlans:
            if v.name == name:
                return v
        raise KeyError(f"no VLAN named {name!r} in lab {self.lab.name}")

    def vlan_by_id(self, vid: int) -> Vlan:
        for v in self.vlans:
            if v.id == vid:
                return v
        raise KeyError(f"no VLAN with id {vid} in lab {self.lab.name}")

    def native_vlan(self) -> Vlan | None:
        return next((v for v in self.vlans if v.native), None)

    def proxmox_node(self, name: str) -> ProxmoxNode:
        for n in (self.proxmox.nodes if self.proxmox else []):
            if n.name == name:
                return n
        raise KeyError(f"no Proxmox node {name!r} in lab {self.lab.name}")

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no host {name!r} in lab {self.lab.name}")

    def cluster(self, name: str) -> TalosCluster | Rke2Cluster:
        for c in self.clusters:
            if c.name == name:
                return c
        raise KeyError(f"no cluster {name!r} in lab {self.lab.name}")

    def node_kind(self, name: str) -> NodeKind | None:
        """What a cable end's node is: a RouterOS device, a Proxmox node or a host (None: unknown)."""
        if any(d.identity == name for d in self.routeros.devices):
            return "routeros"
        if self.proxmox and any(n.name == name for n in self.proxmox.nodes):
            return "proxmox"
        if any(h.name == name for h in self.hosts):
            return "host"
        return None

    def cable_at(self, node: str, port: str) -> Cable | None:
        end = Endpoint(node, port)
        return next((c for c in self.cables if end in c.ends), None)

    def peer_of(self, node: str, port: str) -> Endpoint | None:
        cable = self.cable_at(node, port)
        return cable.peer(Endpoint(node, port)) if cable else None

    def vms(self) -> list[VmPlan]:
        return [vm for c in self.clusters for vm in c.vms()]

    def routeros_login(self, identity: str) -> RouterOSLogin:
        d = self.device(identity)
        dflt = self.routeros.defaults
        tls = dflt.tls
        port = d.management.api_port or d.api_port or dflt.api_port or (8729 if tls else 8728)
        reach = d.management.reach
        address: Any = d.management.address
        if reach is not None:  # a forward or the served simulator: connect there, keep the lab address for intent
            address, port = parse_ip(reach.host) or reach.host, reach.port or port
        return RouterOSLogin(identity=d.identity, address=address, port=port,
                             username=d.username or dflt.username,
                             password=d.password if d.password is not None else dflt.password,
                             login=dflt.login, tls=tls, ca_file=dflt.ca_file,
                             verify_tls=dflt.verify_tls)

    def proxmox_reach(self, name: str) -> tuple[str, int]:
        """Where the suite connects to a Proxmox node's API: its `reach` when set, else its management address."""
        m = self.proxmox_node(name).management
        return (m.reach.host, m.reach.port or m.port) if m.reach else (str(m.address), m.port)

    # --- secrets ---
    def secret_fields(self) -> list[tuple[str, SecretRef | InlineSecret]]:
        """Every field that holds a secret (reference or inline), with its path."""
        return [(format_path(p), v) for p, v in walk(self) if isinstance(v, (SecretRef, InlineSecret))]

    def secret_refs(self) -> list[tuple[str, SecretRef]]:
        """Every secret reference in the lab with its field path, in file order."""
        return [(p, v) for p, v in self.secret_fields() if isinstance(v, SecretRef)]


def walk(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every leaf value of a model with its path (list items labelled as in findings)."""
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from walk(getattr(obj, name), path + (name,))
    elif isinstance(obj, list):
        key = path[-1] if path else None
        for label, item in zip(list_labels(key, obj), obj):
            yield from walk(item, path + (Item(label),))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, path + (str(k),))
    else:
        yield path, obj


def lab_json_schema() -> dict[str, Any]:
    """The JSON Schema of a lab file (for editors and `python -m labsim.provisioners schema`)."""
    from labsim.resources import LAB_SCHEMA_ID

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": LAB_SCHEMA_ID,
              **Lab.model_json_schema()}
    schema.setdefault("title", "Lab file")
    return schema


def parse_ip(text: str) -> IPv4Address | None:
    try:
        return IPv4Address(text)
    except (ipaddress.AddressValueError, ValueError):
        return None
