"""Typed models of a lab file's cloud sections: cloud servers with their providers and firewalls, the tailnet that
joins them, the DNS zone the lab owns records in, and the object storage its backups go to.

    cloud:           providers (hetzner-cloud, oracle-cloud), firewalls, servers
    tailnet:         the Tailscale tailnet: auth key (a reference), ACL tags, advertised routes
    dns:             a Cloudflare zone: the records the lab owns, and the round-robin failover the watcher keeps
    object_storage:  an S3 endpoint and bucket for backups (credentials as references)

Relations between these and the rest of the file (a record naming a server that does not exist, a worker with no
record, a Talos API port open to the internet, a pod subnet inside the tailnet's 100.64.0.0/10, ...) are intent
checks (`checks_cloud.py`), so a file with such mistakes still loads and every mistake is reported at once.

Facts: Hetzner Cloud API (docs.hetzner.cloud: server types `cax*` are arm, locations fsn1/nbg1/hel1/ash/hil/sin,
firewall rules `{direction, protocol tcp|udp|icmp|esp|gre, port "443" | "1024-2048", source_ips}`); Cloudflare
DNS records (TTL 1 = automatic, else 60-86400 s; proxied records are always served with an automatic TTL; a
record's `comment` is free text); Tailscale (addresses from 100.64.0.0/10, tags `tag:<name>`); the owners'
tofu/ files in bouquet2/bouquet2 (firewall rules 443 tcp/udp, 41641/udp, 51820/udp; records with the node name
as comment; Talos machine config as the servers' user data).
"""
from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from labsim.provisioners.lab.model import _DURATION, Secret, Subnet, Version, _Strict

TAILNET_RANGE = IPv4Network("100.64.0.0/10")      # where Tailscale assigns node addresses (CGNAT space)
CLOUDFLARE_TTL_AUTO = 1

ProviderKind = Literal["hetzner-cloud", "oracle-cloud"]
Arch = Literal["arm64", "amd64"]


def _source(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return ip_network(v.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{v!r} is not an address range like 0.0.0.0/0 or 203.0.113.7/32") from None
    return v


Source = Annotated[IPv4Network | IPv6Network, BeforeValidator(_source)]


def _ports(v: Any) -> Any:
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if isinstance(v, str):
        m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", v.strip())
        if not m:
            raise ValueError(f"{v!r} is not a port or range like 443 or 1024-2048")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if not (1 <= lo <= hi <= 65535):
            raise ValueError(f"{v!r} is not a port range within 1-65535")
        return v.strip()
    return v


PortRange = Annotated[str, BeforeValidator(_ports), WithJsonSchema({  # a number is taken as written
    "anyOf": [{"type": "integer", "minimum": 1, "maximum": 65535},
              {"type": "string", "pattern": r"^\s*\d{1,5}(-\d{1,5})?\s*$", "examples": ["443", "1024-2048"]}]})]


def port_bounds(spec: str | None) -> tuple[int, int] | None:
    """(low, high) of a rule's `port` ("443", "1024-2048"); None for protocols without ports."""
    if not spec:
        return None
    lo, _, hi = spec.partition("-")
    return int(lo), int(hi or lo)


# ---------------------------------------------------------------------------------------------------
# Cloud providers, firewalls, servers
# ---------------------------------------------------------------------------------------------------


class CloudProvider(_Strict):
    name: str
    kind: ProviderKind
    managed: bool = Field(True, description="the suite creates, powers and checks this provider's servers through "
                                            "its API; false: the servers exist (launched by the owner) and are "
                                            "only checked from the outside and over the tailnet")
    token: Secret | None = Field(None, description="API token (Hetzner Cloud: a project's read & write token)")
    api: str | None = Field(None, description="API base URL (default: the provider's public API)")

    @model_validator(mode="after")
    def _token_when_managed(self) -> CloudProvider:
        if self.managed and self.token is None:
            raise ValueError(f"a managed {self.kind} provider needs token (a reference such as env:HCLOUD_TOKEN)")
        if self.managed and self.kind == "oracle-cloud":
            raise ValueError("oracle-cloud servers are declared as existing (managed: false): the suite does not "
                             "drive the OCI API; launch them with their user data and give their public_ipv4")
        return self


class CloudFirewallRule(_Strict):
    description: str | None = None
    direction: Literal["in", "out"] = "in"
    protocol: Literal["tcp", "udp", "icmp", "esp", "gre"]
    port: PortRange | None = Field(None, description="a port or range (tcp and udp only)")
    sources: list[Source] = Field([], description="address ranges allowed in (direction in)")
    destinations: list[Source] = Field([], description="address ranges allowed out (direction out)")

    @model_validator(mode="after")
    def _ports_and_ends(self) -> CloudFirewallRule:
        if self.protocol in ("tcp", "udp") and not self.port:
            raise ValueError(f"a {self.protocol} rule needs port")
        if self.protocol not in ("tcp", "udp") and self.port:
            raise ValueError(f"a {self.protocol} rule has no port")
        if self.direction == "in" and not self.sources:
            raise ValueError("an inbound rule needs sources")
        if self.direction == "out" and not self.destinations:
            raise ValueError("an outbound rule needs destinations")
        return self

    def allows(self, protocol: str, port: int) -> bool:
        b = port_bounds(self.port)
        return self.direction == "in" and self.protocol == protocol and (b is None or b[0] <= port <= b[1])


class CloudFirewall(_Strict):
    name: str
    provider: str = Field(description="name of a cloud.providers entry (Hetzner firewall, OCI security list)")
    labels: dict[str, str] = {}
    rules: list[CloudFirewallRule] = []


class CloudImage(_Strict):
    """What a server boots: a snapshot (Hetzner: the Talos disk image uploaded by the owner) or a named image."""

    snapshot: str | None = Field(None, description="Hetzner: the snapshot's description")
    name: str | None = Field(None, description="an image by name (OCI custom image display name, Hetzner system image)")
    id: int | None = Field(None, description="Hetzner: the image id")
    talos_version: Version | None = Field(None, description="the Talos release the image boots")
    extensions: list[str] = Field([], description="Talos system extensions baked into the image "
                                                  "(siderolabs/tailscale for nodes on a tailnet)")

    @model_validator(mode="after")
    def _one(self) -> CloudImage:
        if sum(x is not None for x in (self.snapshot, self.name, self.id)) != 1:
            raise ValueError("give exactly one of snapshot, name or id")
        return self

    @property
    def label(self) -> str:
        return self.snapshot or self.name or f"image {self.id}"


class OciShape(_Strict):
    ocpus: int = Field(gt=0)
    memory_gib: int = Field(gt=0)


class CloudServer(_Strict):
    name: str = Field(description="the server's name at the provider; also its Talos hostname and tailnet name")
    provider: str = Field(description="name of a cloud.providers entry")
    location: str = Field(description="Hetzner location (hel1, fsn1, nbg1, ...) or OCI region")
    type: str = Field(description="Hetzner server type (cax21, ...) or OCI shape (VM.Standard.A1.Flex)")
    shape: OciShape | None = Field(None, description="OCI flexible shapes: OCPUs and memory")
    architecture: Arch
    image: CloudImage
    role: Literal["controlplane", "worker"]
    firewalls: list[str] = Field([], description="names of cloud.firewalls entries applied to the server")
    labels: dict[str, str] = {}
    public_ipv4: IPv4Address | None = Field(None, description="the address of a server the suite does not create "
                                                              "(managed: false); managed servers get theirs from "
                                                              "the provider")
    ipv6: bool = Field(True, description="a public IPv6 network too")


class Cloud(_Strict):
    providers: list[CloudProvider] = []
    firewalls: list[CloudFirewall] = []
    servers: list[CloudServer] = []

    def provider(self, name: str) -> CloudProvider | None:
        return next((p for p in self.providers if p.name == name), None)

    def server(self, name: str) -> CloudServer | None:
        return next((s for s in self.servers if s.name == name), None)

    def firewall(self, name: str) -> CloudFirewall | None:
        return next((f for f in self.firewalls if f.name == name), None)

    def managed(self, server: CloudServer) -> bool:
        p = self.provider(server.provider)
        return bool(p and p.managed)

    def firewalls_of(self, server: CloudServer) -> list[CloudFirewall]:
        return [f for f in (self.firewall(n) for n in server.firewalls) if f is not None]


# ---------------------------------------------------------------------------------------------------
# Tailnet
# ---------------------------------------------------------------------------------------------------


def _tag(v: Any) -> Any:
    if isinstance(v, str) and not re.fullmatch(r"tag:[a-zA-Z][a-zA-Z0-9-]*", v.strip()):
        raise ValueError(f"{v!r} is not an ACL tag like tag:servers")
    return v


Tag = Annotated[str, BeforeValidator(_tag)]


class Tailnet(_Strict):
    name: str = Field(description="the tailnet's name (the organisation, or `-` for the API key's default tailnet)")
    domain: str | None = Field(None, description="MagicDNS suffix, e.g. tail1234.ts.net")
    api_key: Secret = Field(description="Tailscale API access token (devices, keys)")
    auth_key: Secret = Field(description="the auth key nodes join with (TS_AUTHKEY)")
    tags: list[Tag] = Field([], description="ACL tags the auth key gives the nodes")
    routes: list[Subnet] = Field([], description="subnet routes the control planes advertise (TS_ROUTES), "
                                                 "such as the cluster's service subnet")
    api: str | None = Field(None, description="API base URL (default https://api.tailscale.com)")


# ---------------------------------------------------------------------------------------------------
# DNS
# ---------------------------------------------------------------------------------------------------


class DnsRecord(_Strict):
    name: str = Field(description="relative to the zone (`lb`, `controlplane.internal`) or the full name")
    type: Literal["A", "AAAA", "CNAME"] = "A"
    nodes: list[str] = Field([], description="servers whose address the record holds, one record each "
                                             "(several: round-robin)")
    address: Literal["public", "tailnet"] = Field("public", description="which address of each node")
    target: str | None = Field(None, description="CNAME: the name it points at")
    ttl: int = Field(CLOUDFLARE_TTL_AUTO, description="seconds (60-86400), or 1 for Cloudflare's automatic TTL")
    proxied: bool = Field(False, description="served through Cloudflare's proxy (clients see Cloudflare's "
                                             "addresses) or DNS only")

    @model_validator(mode="after")
    def _content(self) -> DnsRecord:
        if self.type == "CNAME" and (not self.target or self.nodes):
            raise ValueError("a CNAME record gives target, not nodes")
        if self.type != "CNAME" and (self.target or not self.nodes):
            raise ValueError(f"an {self.type} record gives nodes (the servers whose addresses it holds)")
        return self


class Failover(_Strict):
    """The round-robin DNS failover watcher (labsim-dnswatch): what it watches, probes and how it decides."""

    record: str = Field(description="name of the dns.records entry it keeps equal to the healthy workers")
    host: str | None = Field(None, description="the Ingress host it probes with (SNI and Host); default the "
                                               "record's full name")
    scheme: Literal["https", "http"] = "https"
    port: int | None = Field(None, ge=1, le=65535, description="default 443 (https) or 80 (http)")
    path: str = "/"
    expect: str = Field("200-499", pattern=r"^\d{3}(-\d{3})?$",
                        description="HTTP statuses that count as the ingress answering")
    interval: str = Field("10s", pattern=_DURATION, description="time between two probes of a node")
    timeout: str = Field("3s", pattern=_DURATION)
    unstable_after: int = Field(3, ge=1, description="N: failed probes within `window` that make a node unstable")
    window: str = Field("60s", pattern=_DURATION)
    recover_after: int = Field(3, ge=1, description="M: consecutive good probes before a removed node is back")
    owner: str = Field("labsim-dnswatch", description="what the watcher writes into the comment of the records "
                                                      "it owns; records without it are never touched")
    namespace: str = "dnswatch"
    image: str = "ghcr.io/labsim/dnswatch:0.1.0"
    max_outage: str | None = Field(None, pattern=_DURATION, description="the longest a client may keep failing "
                                                                       "after a node dies (detection plus TTL)")


class DnsZone(_Strict):
    provider: Literal["cloudflare"] = "cloudflare"
    zone: str = Field(description="the zone's name, e.g. example.dev")
    api_token: Secret = Field(description="a Cloudflare API token with Zone.DNS edit on the zone")
    api: str | None = Field(None, description="API base URL (default https://api.cloudflare.com/client/v4)")
    records: list[DnsRecord] = []
    failover: Failover | None = None

    def fqdn(self, name: str) -> str:
        name = name.rstrip(".")
        if name == "@" or name == self.zone:
            return self.zone
        return name if name.endswith("." + self.zone) else f"{name}.{self.zone}"

    def record(self, name: str) -> DnsRecord | None:
        want = self.fqdn(name)
        return next((r for r in self.records if self.fqdn(r.name) == want), None)


# ---------------------------------------------------------------------------------------------------
# Object storage
# ---------------------------------------------------------------------------------------------------


class ObjectStorage(_Strict):
    provider: str = Field("hetzner", description="who runs it (hetzner, aws, minio, ...): for the report only")
    endpoint: str = Field(description="the S3 endpoint URL, e.g. https://fsn1.your-objectstorage.com")
    region: str = "us-east-1"
    bucket: str
    prefix: str = Field("labsim-backups", description="where the suite's backups go inside the bucket")
    access_key: Secret
    secret_key: Secret
    addressing: Literal["path", "virtual"] = Field("virtual", description="bucket in the host name (virtual) or "
                                                                          "in the path")
