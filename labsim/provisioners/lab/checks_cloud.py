"""Intent checks on the cloud sections: servers and their providers and firewalls, the tailnet, the DNS zone with
its round-robin failover, and the object storage.

Facts: Talos's API is TCP 50000 (apid) and 50001 (trustd), not configurable (domain.md 2.3); Tailscale assigns node
addresses from 100.64.0.0/10 and connects directly over UDP 41641, falling back to its DERP relays when that port
is closed; Cloudflare TTLs are 1 (automatic) or 60-86400 s, proxied records are served with an automatic TTL and
answer with Cloudflare's own addresses (so a proxied record cannot point at a tailnet address: Cloudflare cannot
reach it); S3 bucket names are 3-63 characters of lower-case letters, digits, dots and hyphens, starting and
ending with a letter or digit (AWS's bucket naming rules, which Hetzner Object Storage follows).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from ipaddress import IPv4Network
from urllib.parse import urlsplit

from labsim.provisioners.lab.checks_context import Context
from labsim.provisioners.lab.checks_core import Hit, producer
from labsim.provisioners.lab.model import TalosCluster, list_labels
from labsim.provisioners.lab.model_cloud import TAILNET_RANGE, port_bounds

TALOS_PORTS = (50000, 50001)
TAILSCALE_PORT = 41641
TAILSCALE_EXTENSION = "siderolabs/tailscale"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    assert m, text
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _paths(ctx: Context, key: str, items: list) -> list[str]:
    return [f"cloud.{key}[{x}]" for x in list_labels(key, items)]


def _server_path(ctx: Context, name: str) -> str:
    servers = ctx.lab.cloud.servers if ctx.lab.cloud else []
    for p, s in zip(_paths(ctx, "servers", servers), servers):
        if s.name == name:
            return p
    return f"cloud.servers[{name}]"


def _role_of(ctx: Context) -> dict[str, tuple[str, str]]:
    """Cluster host name -> (cluster, role) for every Talos cluster built from hosts."""
    out: dict[str, tuple[str, str]] = {}
    for c in ctx.lab.clusters:
        if isinstance(c, TalosCluster) and c.hosts is not None:
            for m in c.members():
                out.setdefault(m.name, (c.name, m.role))
    return out


def _open_to_all(sources) -> bool:
    return any(s.prefixlen == 0 for s in sources)


@producer(
    ("cloud-duplicate-name", "error", "Is each cloud provider, firewall and server name used once?"),
    ("cloud-provider-unknown", "error", "Does every server and firewall name a provider of cloud.providers?"),
    ("cloud-firewall-unknown", "error", "Does every firewall a server names exist in cloud.firewalls?"),
    ("cloud-firewall-other-provider", "error", "Is every firewall applied only to servers of its own provider?"),
    ("server-missing-address", "error", "Does every server the suite does not create (managed: false) give its "
                                        "public_ipv4?"),
    ("oci-shape-missing", "error", "Does every OCI flexible shape give its OCPUs and memory?"),
    ("server-role-mismatch", "error", "Is every server's role the role its cluster gives it?"),
    ("server-not-in-cluster", "warning", "Is every cloud server a node of a cluster?"),
    ("server-talos-version-mismatch", "error", "Does every server's image boot its cluster's Talos version?"),
)
def servers(ctx: Context) -> Iterator[Hit]:
    cloud = ctx.lab.cloud
    if cloud is None:
        return
    providers = {p.name: p for p in cloud.providers}
    firewalls = {f.name: f for f in cloud.firewalls}
    for key, items in (("providers", cloud.providers), ("firewalls", cloud.firewalls), ("servers", cloud.servers)):
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.name in seen:
                yield Hit("cloud-duplicate-name", f"cloud.{key}[{i}].name",
                          f"{key[:-1]} name {item.name} is used by cloud.{key}[{seen[item.name]}] and "
                          f"cloud.{key}[{i}]", {"name": item.name})
            seen.setdefault(item.name, i)
    for fp, fw in zip(_paths(ctx, "firewalls", cloud.firewalls), cloud.firewalls):
        if fw.provider not in providers:
            yield Hit("cloud-provider-unknown", f"{fp}.provider",
                      f"firewall {fw.name} belongs to provider {fw.provider}, which is not in cloud.providers "
                      f"({', '.join(providers) or 'none'})", {"provider": fw.provider})
    roles = _role_of(ctx)
    clusters = {c.name: c for c in ctx.lab.clusters}
    for sp, srv in zip(_paths(ctx, "servers", cloud.servers), cloud.servers):
        provider = providers.get(srv.provider)
        if provider is None:
            yield Hit("cloud-provider-unknown", f"{sp}.provider",
                      f"server {srv.name} runs at provider {srv.provider}, which is not in cloud.providers "
                      f"({', '.join(providers) or 'none'})", {"provider": srv.provider})
        for k, name in enumerate(srv.firewalls):
            fw = firewalls.get(name)
            if fw is None:
                yield Hit("cloud-firewall-unknown", f"{sp}.firewalls[{k}]",
                          f"server {srv.name} names firewall {name}, which is not in cloud.firewalls", {"firewall": name})
            elif fw.provider != srv.provider:
                yield Hit("cloud-firewall-other-provider", f"{sp}.firewalls[{k}]",
                          f"server {srv.name} runs at {srv.provider}, but firewall {name} belongs to {fw.provider}",
                          {"firewall": name, "provider": fw.provider})
        if provider is not None and not provider.managed and srv.public_ipv4 is None:
            yield Hit("server-missing-address", f"{sp}.public_ipv4",
                      f"server {srv.name} is not created by the suite (provider {provider.name} is managed: false), "
                      f"so the lab file gives its public address", {"server": srv.name})
        if srv.type.endswith(".Flex") and srv.shape is None:
            yield Hit("oci-shape-missing", f"{sp}.shape",
                      f"server {srv.name} uses the flexible shape {srv.type}, which needs shape.ocpus and "
                      f"shape.memory_gib", {"type": srv.type})
        member = roles.get(srv.name)
        if member is None:
            yield Hit("server-not-in-cluster", sp, f"server {srv.name} is a node of no cluster in clusters[]",
                      {"server": srv.name})
            continue
        cluster, role = member
        if role != srv.role:
            yield Hit("server-role-mismatch", f"{sp}.role",
                      f"server {srv.name} says {srv.role}, but cluster {cluster} has it as a {role}",
                      {"role": srv.role, "cluster": cluster, "cluster_role": role})
        want = clusters[cluster].version.lstrip("v")
        have = srv.image.talos_version
        if have is not None and have.lstrip("v") != want:
            yield Hit("server-talos-version-mismatch", f"{sp}.image.talos_version",
                      f"server {srv.name} boots Talos {have} from {srv.image.label}, but cluster {cluster} runs {want}",
                      {"talos_version": have, "cluster_version": want})


@producer(
    ("talos-api-open-to-internet", "error", "Is the Talos API (TCP 50000/50001) closed to the internet on every "
                                            "server's firewalls?"),
    ("talos-api-public", "warning", "Is the Talos API reached only over the tailnet (no public source allowed)?"),
    ("ingress-port-closed", "error", "Does every node with a public DNS record let HTTPS in from anywhere?"),
    ("tailscale-direct-port-closed", "warning", "Do the tailnet's nodes let Tailscale's UDP 41641 in (else their "
                                                "traffic goes through DERP relays)?"),
)
def firewall_rules(ctx: Context) -> Iterator[Hit]:
    cloud = ctx.lab.cloud
    if cloud is None:
        return
    fw_paths = dict(zip((f.name for f in cloud.firewalls), _paths(ctx, "firewalls", cloud.firewalls)))
    talos_nodes = set(_role_of(ctx))
    for fw in cloud.firewalls:
        users = [s.name for s in cloud.servers if fw.name in s.firewalls and s.name in talos_nodes]
        if not users:
            continue
        for k, rule in enumerate(fw.rules):
            b = port_bounds(rule.port)
            if rule.direction != "in" or rule.protocol != "tcp" or b is None:
                continue
            hit = [p for p in TALOS_PORTS if b[0] <= p <= b[1]]
            if not hit:
                continue
            path = f"{fw_paths[fw.name]}.rules[{k}]"
            if _open_to_all(rule.sources):
                yield Hit("talos-api-open-to-internet", path,
                          f"firewall {fw.name} lets TCP {rule.port} in from {', '.join(map(str, rule.sources))}: "
                          f"the Talos API ({', '.join(map(str, hit))}) of {', '.join(users)} is open to the internet; "
                          f"reach it over the tailnet instead", {"port": rule.port,
                                                                 "sources": [str(s) for s in rule.sources]})
            else:
                yield Hit("talos-api-public", path,
                          f"firewall {fw.name} lets TCP {rule.port} in from {', '.join(map(str, rule.sources))}: the "
                          f"Talos API of {', '.join(users)} answers on the public address from there",
                          {"port": rule.port, "sources": [str(s) for s in rule.sources]})
    dns = ctx.lab.dns
    https_port = (dns.failover.port if dns and dns.failover and dns.failover.port else 443)
    public_nodes: dict[str, str] = {}
    for rp, rec in zip(_record_paths(ctx), dns.records if dns else []):
        if rec.address == "public" and rec.type != "CNAME":
            for n in rec.nodes:
                public_nodes.setdefault(n, rp)
    for srv in cloud.servers:
        if any(cloud.firewall(n) is None for n in srv.firewalls):
            continue     # cloud-firewall-unknown says it; its rules are not known
        rules = [r for fw in cloud.firewalls_of(srv) for r in fw.rules]
        if srv.name in public_nodes:
            if not any(r.allows("tcp", https_port) and _open_to_all(r.sources) for r in rules):
                yield Hit("ingress-port-closed", f"{_server_path(ctx, srv.name)}.firewalls",
                          f"server {srv.name} is in the public record {public_nodes[srv.name]}, but its firewalls "
                          f"({', '.join(srv.firewalls) or 'none'}) do not let TCP {https_port} in from anywhere",
                          {"server": srv.name, "firewalls": list(srv.firewalls)})
        if ctx.lab.tailnet is not None and srv.name in talos_nodes and srv.firewalls:
            if not any(r.allows("udp", TAILSCALE_PORT) for r in rules):
                yield Hit("tailscale-direct-port-closed", f"{_server_path(ctx, srv.name)}.firewalls",
                          f"server {srv.name}'s firewalls do not let UDP {TAILSCALE_PORT} in: its tailnet traffic "
                          f"goes through Tailscale's DERP relays", {"server": srv.name})


@producer(
    ("tailnet-missing", "error", "Is there a tailnet when records or nodes need tailnet addresses?"),
    ("tailnet-cidr-collision", "error", "Do cluster pod and service subnets and advertised routes stay clear of "
                                        "the tailnet's 100.64.0.0/10?"),
    ("tailnet-route-unknown", "warning", "Is every route the tailnet advertises a cluster's service or pod subnet?"),
    ("server-no-tailscale-extension", "error", "Does every node of a tailnet-joined cluster boot an image with the "
                                               "siderolabs/tailscale extension?"),
)
def tailnet(ctx: Context) -> Iterator[Hit]:
    tn = ctx.lab.tailnet
    dns = ctx.lab.dns
    if tn is None:
        for rp, rec in zip(_record_paths(ctx), dns.records if dns else []):
            if rec.address == "tailnet":
                yield Hit("tailnet-missing", f"{rp}.address",
                          f"record {rec.name} holds tailnet addresses, but the lab file has no tailnet section",
                          {"record": rec.name})
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        for field in ("pod_subnet", "service_subnet"):
            net = getattr(c, field)
            if net.overlaps(TAILNET_RANGE):
                yield Hit("tailnet-cidr-collision", f"{cp}.{field}",
                          f"cluster {c.name}'s {field.replace('_', ' ')} {net} overlaps the tailnet's {TAILNET_RANGE}: "
                          f"pods and services would shadow Tailscale addresses", {field: str(net)})
    if tn is None:
        return
    subnets = [(c.name, n) for c in ctx.lab.clusters for n in (c.pod_subnet, c.service_subnet)]
    for k, route in enumerate(tn.routes):
        if route.overlaps(TAILNET_RANGE):
            yield Hit("tailnet-cidr-collision", f"tailnet.routes[{k}]",
                      f"route {route} overlaps the tailnet's own {TAILNET_RANGE}", {"route": str(route)})
        elif not any(route == n or route.subnet_of(n) for _, n in subnets if isinstance(n, IPv4Network)):
            yield Hit("tailnet-route-unknown", f"tailnet.routes[{k}]",
                      f"route {route} is no cluster's service or pod subnet", {"route": str(route)})
    cloud = ctx.lab.cloud
    roles = _role_of(ctx)
    for srv in (cloud.servers if cloud else []):
        if srv.name in roles and TAILSCALE_EXTENSION not in srv.image.extensions:
            yield Hit("server-no-tailscale-extension", f"{_server_path(ctx, srv.name)}.image.extensions",
                      f"server {srv.name} boots {srv.image.label} without {TAILSCALE_EXTENSION}: it cannot join the "
                      f"tailnet its Talos API is reached over", {"extensions": list(srv.image.extensions)})


def _record_paths(ctx: Context) -> list[str]:
    dns = ctx.lab.dns
    return [f"dns.records[{x}]" for x in list_labels("records", dns.records if dns else [])]


@producer(
    ("dns-duplicate-record", "error", "Does the lab own each DNS name once?"),
    ("dns-record-unknown-node", "error", "Does every record name servers that exist?"),
    ("dns-ttl-invalid", "error", "Is every TTL 1 (automatic) or 60-86400 seconds?"),
    ("dns-proxied-ttl", "warning", "Is every proxied record's TTL automatic (Cloudflare ignores any other)?"),
    ("dns-proxied-tailnet", "error", "Is no proxied record holding tailnet addresses (Cloudflare cannot reach them)?"),
    ("endpoint-without-record", "error", "Does every cluster endpoint inside the zone have a record?"),
    ("endpoint-record-not-control-planes", "error", "Does every endpoint record hold its cluster's control planes' "
                                                    "tailnet addresses?"),
)
def dns_records(ctx: Context) -> Iterator[Hit]:
    dns = ctx.lab.dns
    if dns is None:
        return
    servers = {s.name: s for s in (ctx.lab.cloud.servers if ctx.lab.cloud else [])}
    seen: dict[str, str] = {}
    for rp, rec in zip(_record_paths(ctx), dns.records):
        fqdn = dns.fqdn(rec.name)
        if fqdn in seen:
            yield Hit("dns-duplicate-record", f"{rp}.name", f"{fqdn} is written by {seen[fqdn]} and {rp}",
                      {"name": fqdn})
        seen.setdefault(fqdn, rp)
        for k, node in enumerate(rec.nodes):
            if node not in servers:
                yield Hit("dns-record-unknown-node", f"{rp}.nodes[{k}]",
                          f"record {fqdn} names node {node}, which is not in cloud.servers "
                          f"({', '.join(servers) or 'none'})", {"node": node})
        if rec.ttl != 1 and not (60 <= rec.ttl <= 86400):
            yield Hit("dns-ttl-invalid", f"{rp}.ttl",
                      f"TTL {rec.ttl} of {fqdn} is neither 1 (automatic) nor within 60-86400 seconds", {"ttl": rec.ttl})
        if rec.proxied and rec.ttl != 1:
            yield Hit("dns-proxied-ttl", f"{rp}.ttl",
                      f"{fqdn} is proxied, so Cloudflare serves it with an automatic TTL and ignores {rec.ttl}",
                      {"ttl": rec.ttl})
        if rec.proxied and rec.address == "tailnet":
            yield Hit("dns-proxied-tailnet", f"{rp}.proxied",
                      f"{fqdn} holds tailnet addresses, which Cloudflare's proxy cannot reach; make it DNS only",
                      {"name": fqdn})
    for c, cp in zip(ctx.lab.clusters, ctx.cluster_paths):
        host = c.endpoint_host.rstrip(".")
        if not host or not (host == dns.zone or host.endswith("." + dns.zone)):
            continue
        rec = dns.record(host)
        if rec is None:
            yield Hit("endpoint-without-record", f"{cp}.endpoint",
                      f"cluster {c.name}'s endpoint {host} is in the zone {dns.zone}, but dns.records has no record "
                      f"for it", {"endpoint": c.endpoint})
            continue
        cps = sorted(m.name for m in c.control_planes())
        if rec.address != "tailnet" or sorted(rec.nodes) != cps:
            yield Hit("endpoint-record-not-control-planes", f"{_record_paths(ctx)[dns.records.index(rec)]}",
                      f"{host} should hold the tailnet addresses of {c.name}'s control planes ({', '.join(cps)}), "
                      f"it holds the {rec.address} addresses of {', '.join(rec.nodes) or 'nothing'}",
                      {"nodes": list(rec.nodes), "address": rec.address, "control_planes": cps})


@producer(
    ("failover-record-unknown", "error", "Does the failover watch a record of dns.records?"),
    ("failover-record-not-public", "error", "Is the failover record an A record of public addresses?"),
    ("worker-without-record", "error", "Does the round-robin record hold every worker of its cluster?"),
    ("record-control-plane", "warning", "Does the round-robin record hold workers only (where the ingress runs)?"),
    ("failover-proxied", "warning", "Is the failover record DNS only (clients see the nodes and its TTL)?"),
    ("failover-window-too-short", "error", "Can N failed probes fit in the failover window?"),
    ("failover-too-slow", "error", "Is detection plus the record's TTL within the failover's max_outage?"),
)
def failover(ctx: Context) -> Iterator[Hit]:
    dns = ctx.lab.dns
    if dns is None or dns.failover is None:
        return
    fo = dns.failover
    rec = dns.record(fo.record)
    if rec is None:
        yield Hit("failover-record-unknown", "dns.failover.record",
                  f"the failover watches {fo.record}, which is not in dns.records", {"record": fo.record})
        return
    rp = _record_paths(ctx)[dns.records.index(rec)]
    if rec.type != "A" or rec.address != "public":
        yield Hit("failover-record-not-public", f"{rp}",
                  f"the failover record {dns.fqdn(rec.name)} must be an A record of public addresses (it is "
                  f"{rec.type}, {rec.address})", {"type": rec.type, "address": rec.address})
    roles = _role_of(ctx)
    clusters = {roles[n][0] for n in rec.nodes if n in roles}
    for c in ctx.lab.clusters:
        if c.name not in clusters:
            continue
        for w in c.workers():
            if w.name not in rec.nodes:
                yield Hit("worker-without-record", f"{rp}.nodes",
                          f"worker {w.name} of cluster {c.name} has no record in {dns.fqdn(rec.name)}: the ingress "
                          f"on it never gets traffic", {"worker": w.name})
    for k, n in enumerate(rec.nodes):
        if roles.get(n, ("", ""))[1] == "controlplane":
            yield Hit("record-control-plane", f"{rp}.nodes[{k}]",
                      f"{n} is a control plane: the ingress runs on the workers", {"node": n})
    if rec.proxied:
        yield Hit("failover-proxied", f"{rp}.proxied",
                  f"{dns.fqdn(rec.name)} is proxied: clients see Cloudflare's addresses, and the record's TTL does "
                  f"not reach them", {"name": dns.fqdn(rec.name)})
    interval, window = _seconds(fo.interval), _seconds(fo.window)
    if (fo.unstable_after - 1) * interval > window:
        yield Hit("failover-window-too-short", "dns.failover.window",
                  f"{fo.unstable_after} probes {fo.interval} apart span {(fo.unstable_after - 1) * interval:g}s, "
                  f"longer than the window {fo.window}: a node can never count as unstable",
                  {"window": fo.window, "interval": fo.interval, "unstable_after": fo.unstable_after})
    if fo.max_outage is not None:
        detection = fo.unstable_after * interval + _seconds(fo.timeout)
        ttl = 300 if rec.ttl == 1 else rec.ttl     # Cloudflare's automatic TTL for DNS-only records is 300 s
        if detection + ttl > _seconds(fo.max_outage):
            yield Hit("failover-too-slow", "dns.failover.max_outage",
                      f"detection ({fo.unstable_after} x {fo.interval} + {fo.timeout} = {detection:g}s) plus the TTL of "
                      f"{dns.fqdn(rec.name)} ({ttl}s) is {detection + ttl:g}s, more than max_outage {fo.max_outage}",
                      {"detection": detection, "ttl": ttl, "max_outage": fo.max_outage})


@producer(
    ("bucket-name-invalid", "error", "Is the backup bucket's name a valid S3 bucket name?"),
    ("object-storage-endpoint-invalid", "error", "Is the object storage endpoint an http(s) URL?"),
    ("object-storage-plaintext", "warning", "Does the object storage endpoint use HTTPS?"),
)
def object_storage(ctx: Context) -> Iterator[Hit]:
    s3 = ctx.lab.object_storage
    if s3 is None:
        return
    if not _BUCKET.match(s3.bucket) or ".." in s3.bucket or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", s3.bucket):
        yield Hit("bucket-name-invalid", "object_storage.bucket",
                  f"{s3.bucket!r} is not an S3 bucket name (3-63 lower-case letters, digits, dots and hyphens, "
                  f"starting and ending with a letter or digit)", {"bucket": s3.bucket})
    parts = urlsplit(s3.endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        yield Hit("object-storage-endpoint-invalid", "object_storage.endpoint",
                  f"{s3.endpoint!r} is not an endpoint URL like https://fsn1.your-objectstorage.com",
                  {"endpoint": s3.endpoint})
    elif parts.scheme == "http":
        yield Hit("object-storage-plaintext", "object_storage.endpoint",
                  f"{s3.endpoint} sends the backups and the credentials' signatures in clear text",
                  {"endpoint": s3.endpoint})
