"""Ways to break a simulated cloud lab (`--sim-break NAME`), each the opposite of what a scenario of
features/cloud_cluster.feature, dns_failover.feature or backups.feature claims. They act as an engineer at a
provider's API or console (hcloud, Cloudflare, kubectl-equivalent calls), or as the world (a node's tailscale
service that stops, credentials the provider revoked). For the bouquet2 lab file (labs/bouquet2.yaml): its names
are in the steps they follow.

`AFTER[name]` is the step after which the harness applies it (labsim/steps/breakages.py `breaks_after`).
"""
from __future__ import annotations

from collections.abc import Callable

PROVISIONED = 'the cloud Talos cluster "bouquet2" is provisioned'
WATCHER = 'Traefik and the failover watcher run on "bouquet2"'
WAS_OFF = 'the worker "lily" was powered off and lost its record'


def _hcloud(target):
    from labsim.steps.cloud_context import cloud_context
    from labsim.provisioners.talos.cli import Tools
    return cloud_context(target, Tools(env=target.tool_env()), target.workdir)


def server_labels_edited(target, monkeypatch) -> None:
    """Someone relabels lily in the Hetzner console."""
    ctx = _hcloud(target)
    srv = ctx.hcloud.servers.get_by_name("lily")
    ctx.hcloud.servers.update(srv, labels={"type": "talos-worker", "edited": "by-hand"})


def talos_port_opened(target, monkeypatch) -> None:
    """Someone opens TCP 50000 to the internet on the Hetzner firewall (to reach a node in maintenance mode)."""
    from hcloud.firewalls import FirewallRule
    ctx = _hcloud(target)
    fw = ctx.hcloud.firewalls.get_by_name("bouquet2")
    rules = list(fw.rules) + [FirewallRule(direction="in", protocol="tcp", port="50000",
                                           source_ips=["0.0.0.0/0", "::/0"], description="Talos API (by hand)")]
    for a in ctx.hcloud.firewalls.set_rules(fw, rules):
        from labsim.provisioners.cloud.hetzner import wait_actions
        wait_actions(ctx, [a.id], "the firewall opened by hand")


def tailscale_stopped(target, monkeypatch) -> None:
    """lily's ext-tailscale service stops (a crash of the extension): lily drops off the tailnet."""
    cloud = target.sim.cloud
    with cloud.clock.lock:
        cloud.tailnet.stop_service(cloud.machine_named("lily"))
    target.clock.sleep(60)       # long enough for the kubelet's silence to show


def endpoint_record_edited(target, monkeypatch) -> None:
    """Someone points controlplane.internal at another address in the Cloudflare dashboard."""
    ctx = _hcloud(target)
    from labsim.provisioners.cloud.dns import zone_id
    zid = zone_id(ctx, "kreato.dev")
    for r in ctx.cloudflare.dns.records.list(zone_id=zid, name={"exact": "controlplane.internal.kreato.dev"}):
        ctx.cloudflare.dns.records.edit(r.id, zone_id=zid, name=r.name, type="A", content="100.64.99.99", ttl=r.ttl)


def _scale_watcher(target, replicas: int) -> None:
    from kubernetes import client, config
    api = config.new_client_from_config(config_file=str(target.workdir / "talos" / "bouquet2" / "kubeconfig"))
    client.AppsV1Api(api).patch_namespaced_deployment_scale("dnswatch", "dnswatch",
                                                            {"spec": {"replicas": replicas}})
    target.clock.sleep(10)


def watcher_stopped(target, monkeypatch) -> None:
    """Someone scales the watcher's Deployment to zero (kubectl scale --replicas=0)."""
    _scale_watcher(target, 0)


def record_added_by_hand(target, monkeypatch) -> None:
    """Someone adds an A record for lb.kreato.dev by hand, pointing at an old server."""
    ctx = _hcloud(target)
    from labsim.provisioners.cloud.dns import zone_id
    ctx.cloudflare.dns.records.create(zone_id=zone_id(ctx, "kreato.dev"), name="lb", type="A",
                                      content="49.12.200.200", ttl=60, comment="old server")


def record_ttl_raised(target, monkeypatch) -> None:
    """Someone sets the TTL of the round-robin records to an hour in the Cloudflare dashboard."""
    ctx = _hcloud(target)
    from labsim.provisioners.cloud.dns import zone_id
    zid = zone_id(ctx, "kreato.dev")
    for r in ctx.cloudflare.dns.records.list(zone_id=zid, name={"exact": "lb.kreato.dev"}, type="A"):
        ctx.cloudflare.dns.records.edit(r.id, zone_id=zid, name=r.name, type="A", content=r.content, ttl=3600,
                                        comment=r.comment)


def s3_key_revoked(target, monkeypatch) -> None:
    """The object storage's access key is revoked at the provider (rotated without updating the lab's secret)."""
    from moto.iam.models import iam_backends
    s3 = target.sim.cloud_faces.s3
    iam = iam_backends[s3.account_id]["aws"]
    iam.access_keys.pop(s3.access_key, None)
    for user in iam.users.values():
        user.access_keys[:] = [k for k in user.access_keys if k.access_key_id != s3.access_key]


CLOUD_BREAKAGES: dict[str, Callable] = {
    "cloud-server-labels-edited": server_labels_edited,
    "cloud-talos-port-opened": talos_port_opened,
    "cloud-tailscale-stopped": tailscale_stopped,
    "cloud-endpoint-record-edited": endpoint_record_edited,
    "failover-watcher-stopped": watcher_stopped,
    "failover-watcher-stopped-while-out": watcher_stopped,
    "failover-record-added-by-hand": record_added_by_hand,
    "failover-record-ttl-raised": record_ttl_raised,
    "s3-key-revoked": s3_key_revoked,
}
AFTER: dict[str, str] = {
    "failover-watcher-stopped": WATCHER,
    "failover-watcher-stopped-while-out": WAS_OFF,
    "failover-record-added-by-hand": WATCHER,
    "failover-record-ttl-raised": WATCHER,
}


def breaks_after(name: str) -> str:
    return AFTER.get(name, PROVISIONED)
