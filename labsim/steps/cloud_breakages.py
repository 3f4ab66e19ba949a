"""Ways to break a simulated cloud lab for features/cloud_cluster.feature, dns_failover.feature and backups.feature
(`--sim-break NAME`), each the opposite of what a scenario claims, on the cluster, name or bucket the scenario is
about (the struck step's arguments, or the lab file's `dns` and `object_storage`): an engineer at a provider's API
or console (hcloud, Cloudflare, S3, the Kubernetes API), or the world (a node's tailscale service that stops,
credentials the provider revoked). The registry and its rules are in labsim/steps/breaking.py.
"""
from __future__ import annotations

from labsim.steps.breaking import Strike, breakage

PROVISIONED = 'the cloud Talos cluster "<cluster>" is provisioned'
WATCHER = 'Traefik and the failover watcher run on "<cluster>"'
WAS_OFF = 'the worker "<worker>" was powered off and lost its record'
IN_BUCKET = "the bucket holds every object of the namespace under the backup"


def _ctx(target):
    from labsim.steps.cloud_context import cloud_context
    return cloud_context(target, target.tools(), target.workdir)


def _cluster(target, at: Strike):
    return target.lab.cluster(at.args["cluster"])


def _managed_worker(target, at: Strike):
    """The cluster's first worker whose provider the suite drives (Hetzner Cloud): the one a hand edit at the
    provider's API can reach."""
    from labsim.provisioners.cloud.hetzner import managed_servers
    managed = {s.name for s in managed_servers(target.lab)}
    worker = next((m.name for m in _cluster(target, at).workers() if m.name in managed), None)
    assert worker, f"--sim-break: cluster {at.args['cluster']!r} has no worker on a provider the suite drives"
    return worker


def _zone(ctx, target) -> str:
    from labsim.provisioners.cloud.dns import zone_id
    return zone_id(ctx, target.lab.dns.zone)


def _round_robin(target) -> str:
    return target.lab.dns.fqdn(target.lab.dns.failover.record)


# --- the servers, the tailnet, the endpoint (features/cloud_cluster.feature) -----------------------------------------
@breakage("cloud-server-labels-edited", after=PROVISIONED)
def server_labels_edited(target, at: Strike) -> None:
    """Someone adds a label to the cluster's first managed worker in the Hetzner console."""
    ctx = _ctx(target)
    srv = ctx.hcloud.servers.get_by_name(_managed_worker(target, at))
    ctx.hcloud.servers.update(srv, labels={**(srv.labels or {}), "edited": "by-hand"})


@breakage("cloud-talos-port-opened", after=PROVISIONED)
def talos_port_opened(target, at: Strike) -> None:
    """Someone opens TCP 50000 to the internet on the Hetzner firewall of the cluster's servers (to reach a node in
    maintenance mode)."""
    from hcloud.firewalls import FirewallRule

    from labsim.provisioners.cloud.hetzner import hetzner_firewalls, wait_actions
    ctx = _ctx(target)
    members = {m.name for m in _cluster(target, at).members()}
    used = {f for s in target.lab.cloud.servers if s.name in members for f in s.firewalls}
    name = next(f.name for f in hetzner_firewalls(target.lab) if f.name in used)
    fw = ctx.hcloud.firewalls.get_by_name(name)
    rules = list(fw.rules) + [FirewallRule(direction="in", protocol="tcp", port="50000",
                                           source_ips=["0.0.0.0/0", "::/0"], description="Talos API (by hand)")]
    wait_actions(ctx, [a.id for a in ctx.hcloud.firewalls.set_rules(fw, rules)], "the firewall opened by hand")


@breakage("cloud-tailscale-stopped", after=PROVISIONED)
def tailscale_stopped(target, at: Strike) -> None:
    """The cluster's first worker's ext-tailscale service stops (the extension crashed): the node drops off the
    tailnet, and with it its kubelet's way to the API server."""
    cloud = target.sim.cloud
    with cloud.clock.lock:
        cloud.tailnet.stop_service(cloud.machine_named(_cluster(target, at).workers()[0].name))
    target.clock.sleep(60)       # past the node monitor's 40 s grace: the kubelet's silence shows as NotReady


@breakage("cloud-endpoint-record-edited", after=PROVISIONED)
def endpoint_record_edited(target, at: Strike) -> None:
    """Someone points the cluster's endpoint name at another tailnet address in the Cloudflare dashboard."""
    ctx = _ctx(target)
    zid, host = _zone(ctx, target), _cluster(target, at).endpoint_host
    for r in ctx.cloudflare.dns.records.list(zone_id=zid, name={"exact": host}):
        ctx.cloudflare.dns.records.edit(r.id, zone_id=zid, name=r.name, type="A", content="100.64.99.99", ttl=r.ttl)


# --- the failover watcher and the round-robin name (features/dns_failover.feature) -----------------------------------
@breakage("failover-watcher-stopped", after=WATCHER)
def watcher_stopped(target, at: Strike) -> None:
    """Someone scales the watcher's Deployment to zero (kubectl scale --replicas=0)."""
    _scale_watcher(target, _cluster(target, at).name, 0)


@breakage("failover-watcher-stopped-while-out", after=WAS_OFF)
def watcher_stopped_while_out(target, at: Strike) -> None:
    """The same, while the worker is out: nobody puts its record back when it returns."""
    fo = target.lab.dns.failover
    rec = target.lab.dns.record(fo.record)
    cluster = next(c.name for c in target.lab.clusters if set(rec.nodes) & {m.name for m in c.members()})
    _scale_watcher(target, cluster, 0)


def _scale_watcher(target, cluster: str, replicas: int) -> None:
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=str(target.workdir / "talos" / cluster / "kubeconfig"))
    apps, ns = client.AppsV1Api(api), target.lab.dns.failover.namespace
    for d in apps.list_namespaced_deployment(ns, label_selector="app.kubernetes.io/name=labsim-dnswatch").items:
        apps.patch_namespaced_deployment_scale(d.metadata.name, ns, {"spec": {"replicas": replicas}})
    target.clock.sleep(10)


@breakage("failover-record-added-by-hand", after=WATCHER)
def record_added_by_hand(target, at: Strike) -> None:
    """Someone adds an A record to the round-robin name by hand, pointing at an old server (TEST-NET-3)."""
    ctx = _ctx(target)
    ctx.cloudflare.dns.records.create(zone_id=_zone(ctx, target), name=_round_robin(target), type="A",
                                      content="203.0.113.200", ttl=60, comment="old server")


@breakage("failover-record-ttl-raised", after=WATCHER)
def record_ttl_raised(target, at: Strike) -> None:
    """Someone sets the TTL of the round-robin records to an hour in the Cloudflare dashboard."""
    ctx = _ctx(target)
    zid, name = _zone(ctx, target), _round_robin(target)
    for r in ctx.cloudflare.dns.records.list(zone_id=zid, name={"exact": name}, type="A"):
        ctx.cloudflare.dns.records.edit(r.id, zone_id=zid, name=r.name, type="A", content=r.content, ttl=3600,
                                        comment=r.comment)


# --- backups (features/backups.feature) ------------------------------------------------------------------------------
@breakage("s3-key-revoked", after=PROVISIONED)
def s3_key_revoked(target, at: Strike) -> None:
    """The object storage's access key is revoked at the provider (rotated without updating the lab's secret)."""
    from moto.iam.models import iam_backends
    s3 = target.sim.cloud_faces.s3
    iam = iam_backends[s3.account_id]["aws"]
    iam.access_keys.pop(s3.access_key, None)
    for user in iam.users.values():
        user.access_keys[:] = [k for k in user.access_keys if k.access_key_id != s3.access_key]


@breakage("s3-backup-object-deleted", before=IN_BUCKET)
def s3_backup_object_deleted(target, at: Strike) -> None:
    """Someone deletes one of the backup's ConfigMaps from the bucket (`aws s3 rm`, or an expiry rule on the
    prefix) between the backup and the check: it is neither in the bucket nor restored."""
    store = target.lab.object_storage
    s3 = _ctx(target).s3()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/backups/")
            .get("Contents") or [] if "/resources/configmaps/" in o["Key"]]
    assert keys, f"--sim-break: no ConfigMap of a backup in bucket {store.bucket}"
    s3.delete_object(Bucket=store.bucket, Key=sorted(keys)[-1])
