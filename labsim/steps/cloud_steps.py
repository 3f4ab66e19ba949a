"""Steps for the cloud lab features (features/cloud_cluster.feature, dns_failover.feature, backups.feature): thin glue
from a sentence to labsim.provisioners.cloud. The target hands over the providers' clients, the tools, the clock and
a workdir (labsim/steps/cloud_context.py); what a scenario saw is kept in `CloudRun`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.cloud import backup as BK
from labsim.provisioners.cloud import clients as CL
from labsim.provisioners.cloud import failover as F
from labsim.provisioners.cloud import hetzner as H
from labsim.provisioners.cloud import ingress as I
from labsim.provisioners.cloud import kubeobjects as KO
from labsim.provisioners.cloud import tailnet as T
from labsim.provisioners.cloud import talos as CT
from labsim.provisioners.cloud import watcher as W
from labsim.provisioners.cloud.context import CloudContext
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.vocabulary import Result, wait_for
from labsim.steps.cloud_context import cloud_context
from labsim.steps.common import holds

WATCHER_START = 300.0       # the watcher's pod running and its records in place (seconds of the target's clock)
BOOT_BUDGET = 300.0         # a powered-on worker boots Talos, rejoins the tailnet and serves again


@dataclass
class CloudRun:
    """What a cloud scenario has seen: its context, provisioning reports, the clients and the timeline of the
    round-robin name, the drills' times, the backup."""

    lab: Any
    tools: Tools
    ctx: CloudContext | None = None
    reports: list[CT.Report] = field(default_factory=list)
    writes: list[dict[str, int]] = field(default_factory=list)
    verified: list[Result] | None = None
    clients: CL.Clients | None = None
    timeline: F.Timeline | None = None
    off_at: float | None = None
    off: str | None = None          # the worker the scenario powered off
    on_at: float | None = None
    backup: BK.Backup | None = None
    backup_ns: str = BK.DEMO_NS


@pytest.fixture
def cloud(target) -> CloudRun:
    return CloudRun(lab=target.lab, tools=target.tools())


def context(target, cloud: CloudRun) -> CloudContext:
    if cloud.ctx is None:
        workdir = Path(target.workdir) / "talos"
        workdir.mkdir(parents=True, exist_ok=True)
        cloud.tools.cwd = workdir
        cloud.ctx = cloud_context(target, cloud.tools, workdir)
    return cloud.ctx


def transcript(evidence, cloud: CloudRun, name: str) -> None:
    if cloud.tools.transcript:
        evidence.attach(name, "\n\n".join(cloud.tools.transcript), "text/plain")
        cloud.tools.transcript.clear()


def _api(target, cloud: CloudRun, cluster: str):
    from kubernetes import config
    return config.new_client_from_config(config_file=str(context(target, cloud).cluster_dir(cluster) / "kubeconfig"))


def _provision(target, cloud: CloudRun, evidence, cluster: str) -> CT.Report:
    ctx = context(target, cloud)
    cloud.writes.append(ctx.writes() if ctx.writes else {})
    try:
        report = CT.provision(cloud.lab, cluster, ctx)
    finally:
        transcript(evidence, cloud, f"cloud-{cluster}-tools")
    cloud.writes.append(ctx.writes() if ctx.writes else {})
    evidence.attach(f"cloud-{cluster}-changes", report.changes or ["nothing changed"])
    if report.conflicts:
        evidence.attach(f"cloud-{cluster}-conflicts", report.conflicts)
    cloud.reports.append(report)
    return report


def _cluster_of_record(lab) -> str:
    rec = lab.dns.record(lab.dns.failover.record)
    return next(c.name for c in CT.cloud_clusters(lab) if set(rec.nodes) & {m.name for m in c.members()})


# --- provisioning ----------------------------------------------------------------------------------------------------
@given(parsers.parse('the cloud Talos cluster "{cluster}" is provisioned'), target_fixture="cloud")
def provisioned(target, cloud, evidence, cluster) -> CloudRun:
    if not target.writes_allowed:
        evidence.attach(f"cloud-{cluster}", "read-only run: the cluster is verified as found (no --apply)")
    else:
        _provision(target, cloud, evidence, cluster)
    return cloud


@when(parsers.parse('the cloud Talos cluster "{cluster}" is provisioned again'))
def provisioned_again(target, cloud, evidence, cluster):
    _provision(target, cloud, evidence, cluster)


@then(parsers.parse('every cloud server of "{cluster}" runs as the lab file says, behind its firewalls'))
def servers_as_lab(target, cloud, evidence, cluster):
    ctx = context(target, cloud)
    lab = cloud.lab
    results = H.verify(lab, ctx) if ctx.hcloud is not None else []
    managed = {s.name for s in H.managed_servers(lab)}
    others = [m.name for m in lab.cluster(cluster).members() if m.name not in managed]
    if others:
        online = T.addresses(lab, ctx, others, timeout=0.0, partial=True)
        for n in others:
            results.append(Result("server-running", n, n in online,
                                  f"launched by its owner, online on the tailnet at {online[n]} (the suite does not "
                                  f"drive this provider's API)" if n in online else "not online on the tailnet"))
    holds(evidence, f"cloud-{cluster}-servers", results)


@then(parsers.parse('nothing was created or changed at the providers, on the tailnet, in the zone or on the nodes of '
                    '"{cluster}"'))
def second_run_changed_nothing(cloud, evidence, cluster):
    last = [r for r in cloud.reports if r.cluster == cluster][-1]
    results = [Result("second-run", cluster, not last.changes, "nothing to do" if not last.changes else
                      "the second run changed: " + "; ".join(last.changes))]
    before, after = cloud.writes[-2], cloud.writes[-1]
    counted = {k: after[k] - before.get(k, 0) for k in after if k.startswith("cloud:")}
    if counted:
        sent = {k: n for k, n in counted.items() if n}
        results.append(Result("no-writes", cluster, not sent, "no API accepted a write" if not sent else
                              f"writes accepted during the second run: {sent}", {"writes": counted}))
    holds(evidence, f"cloud-{cluster}-second-run", results)


# --- the tailnet and the Talos API -----------------------------------------------------------------------------------
@then(parsers.parse('every node of "{cluster}" is online on the tailnet with the lab file\'s tags, its control planes '
                    'serving the lab file\'s routes'))
def on_tailnet(target, cloud, evidence, cluster):
    holds(evidence, f"cloud-{cluster}-tailnet", T.verify(cloud.lab, context(target, cloud),
                                                          CT.members(cloud.lab, cluster)))


@then(parsers.parse('the Talos API of every node of "{cluster}" answers on its tailnet address and is refused on its '
                    'public address'))
def api_tailnet_only(target, cloud, evidence, cluster):
    ctx = context(target, cloud)
    public = H.public_addresses(cloud.lab, ctx) if ctx.hcloud is not None else \
        {s.name: str(s.public_ipv4) for s in cloud.lab.cloud.servers if s.public_ipv4}
    results = CT.api_reach(cloud.lab, cluster, ctx, CT.known_machines(cloud.lab, cluster, ctx), public)
    transcript(evidence, cloud, f"cloud-{cluster}-talos-api")
    holds(evidence, f"cloud-{cluster}-talos-api", results)


@then(parsers.parse('the endpoint of "{cluster}" resolves to its control planes\' tailnet addresses'))
def endpoint_resolves(target, cloud, evidence, cluster):
    ctx = context(target, cloud)
    c = cloud.lab.cluster(cluster)
    cps = [m.name for m in c.control_planes()]
    want = sorted(T.addresses(cloud.lab, ctx, cps, timeout=0.0, partial=True).values())
    got = CL.CachingResolver(ctx.resolver.nameserver, ctx.clock).resolve(c.endpoint_host)
    holds(evidence, f"cloud-{cluster}-endpoint", [Result(
        "endpoint-dns", c.endpoint_host, bool(want) and got == want,
        f"resolves to {', '.join(got) or 'nothing'}" + ("" if got == want else
                                                          f"; the control planes are at {', '.join(want) or 'nowhere'}"),
        {"answers": got, "control planes": want})])


def _verified(target, cloud: CloudRun, evidence, cluster: str) -> list[Result]:
    if cloud.verified is None:
        cloud.verified, _ = CT.verify(cloud.lab, cluster, context(target, cloud))
        transcript(evidence, cloud, f"cloud-{cluster}-health")
    return cloud.verified


@then(parsers.parse('every talosctl health check of the cloud cluster "{cluster}" passes over the tailnet'))
def health(target, cloud, evidence, cluster):
    holds(evidence, f"cloud-{cluster}-health", [r for r in _verified(target, cloud, evidence, cluster)
                                                if r.check == "talos-health"])


@then(parsers.parse('every node of "{cluster}" is Ready, with Cilium replacing kube-proxy through KubePrism on 7445'))
def kube_ready(target, cloud, evidence, cluster):
    holds(evidence, f"cloud-{cluster}-kubernetes",
          [r for r in _verified(target, cloud, evidence, cluster)
           if r.check in ("k8s-node-ready", "k8s-node-schedulable", "coredns-ready", "cilium-ready", "cilium-settings",
                          "kube-proxy", "kubeprism")])


# --- ingress and the failover watcher ----------------------------------------------------------------------------------
@given(parsers.parse('Traefik and the failover watcher run on "{cluster}"'))
def watcher_runs(target, cloud, evidence, cluster):
    ctx = context(target, cloud)
    lab = cloud.lab
    api = _api(target, cloud, cluster)
    workers = [m.name for m in lab.cluster(cluster).workers()]
    public = H.public_addresses(lab, ctx) if ctx.hcloud is not None else {}
    public.update({s.name: str(s.public_ipv4) for s in lab.cloud.servers if s.public_ipv4})
    if target.writes_allowed:
        done = I.provision(lab, api, len(workers))
        done += W.deploy(lab, api, public, ctx.secret(lab.dns.api_token))
        evidence.attach("failover-deployed", done or ["nothing changed"])
    rec = lab.dns.record(lab.dns.failover.record)

    def settled() -> bool:
        v = W.view(lab, api)
        return v.ready and set(W.records(lab, ctx)) == set(rec.nodes) and \
            all(r.ok for r in I.verify(lab, api, workers))
    wait_for(settled, WATCHER_START, 10.0, ctx.clock, what="the watcher running and every worker's record in place")
    holds(evidence, "failover-running", W.deployed(lab, api) + I.verify(lab, api, workers))


@then(parsers.parse('"{record}" holds one A record per healthy worker of "{cluster}", each owned by the watcher'))
def one_record_per_worker(target, cloud, evidence, record, cluster):
    ctx = context(target, cloud)
    lab = cloud.lab
    public = H.public_addresses(lab, ctx) if ctx.hcloud is not None else {}
    public.update({s.name: str(s.public_ipv4) for s in lab.cloud.servers if s.public_ipv4})
    host = lab.dns.failover.host or record
    healthy = {}
    for w in [m.name for m in lab.cluster(cluster).workers()]:
        status, err = CL.request(ctx.dialer, ctx.tls, public[w], host, lab.dns.failover.path)
        if status is not None and status < 500:
            healthy[w] = public[w]
    owned = W.records(lab, ctx)
    from labsim.provisioners.cloud.dns import zone_id
    all_a = [r for r in ctx.cloudflare.dns.records.list(zone_id=zone_id(ctx, lab.dns.zone), name={"exact": record},
                                                        type="A") if r.name == record]
    foreign = [r.content for r in all_a if r.content not in owned.values()]
    holds(evidence, f"failover-{record}", [
        Result("round-robin", record, bool(healthy) and owned == healthy,
               f"holds {sorted(owned.items())}" + ("" if owned == healthy else f"; the healthy workers are "
                                                                                 f"{sorted(healthy.items())}"),
               {"owned": owned, "healthy": healthy}),
        Result("records-owned", record, not foreign, "every record carries the watcher's comment" if not foreign else
               f"records the watcher does not own: {foreign}")])


@given(parsers.parse('clients on the internet use "{record}"'))
def clients_use(target, cloud, evidence, record):
    ctx = context(target, cloud)
    host = cloud.lab.dns.failover.host or record
    cloud.clients = CL.Clients(host, ctx, n=3, path=cloud.lab.dns.failover.path)
    cloud.timeline = F.watch(cloud.lab, ctx, 15, clients=cloud.clients)
    holds(evidence, "clients-before", [Result("clients", record, bool(cloud.timeline.outcomes) and
                                              not CL.failures(cloud.timeline.outcomes),
                                              f"{len(cloud.timeline.outcomes)} requests, "
                                              f"{len(CL.failures(cloud.timeline.outcomes))} failed")])


def _power(target, cloud: CloudRun, name: str, on: bool) -> None:
    """A server powered off (hard, as a host failure) or on through its provider's API; a server the suite does not
    create is switched by its owner's hand (the simulator's, or the engineer's on a real lab)."""
    ctx = context(target, cloud)
    if name in {s.name for s in H.managed_servers(cloud.lab)}:
        srv = ctx.hcloud.servers.get_by_name(name)
        action = srv.power_on() if on else srv.power_off()
        H.wait_actions(ctx, [action.id], f"{name} powered {'on' if on else 'off'}")
        return
    sim = getattr(target, "sim", None)
    if sim is None:
        raise RuntimeError(f"power {name} {'on' if on else 'off'} at its provider by hand: the suite does not drive "
                           f"that provider's API")
    (sim.cloud.oracle.start if on else sim.cloud.oracle.stop)(name)


def _watch(target, cloud: CloudRun, seconds: float, **kw) -> F.Timeline:
    ctx = context(target, cloud)
    cloud.timeline = F.watch(cloud.lab, ctx, seconds, clients=cloud.clients, timeline=cloud.timeline, **kw)
    return cloud.timeline


@when(parsers.parse('the worker "{worker}" is powered off in its cloud'))
def worker_off(target, cloud, evidence, worker):
    cloud.off = worker
    _power(target, cloud, worker, on=False)
    cloud.off_at = context(target, cloud).clock.now()
    _watch(target, cloud, F.detection_budget(cloud.lab) + F.ttl_of(cloud.lab) + 30)
    evidence.attach("failover-timeline", cloud.timeline.as_evidence())


@then(parsers.parse('"{record}" loses the record of "{worker}" within the watcher\'s detection time'))
def record_lost(cloud, evidence, record, worker):
    holds(evidence, f"failover-{worker}-removed", [F.removed_within(cloud.lab, cloud.timeline, worker, cloud.off_at)])


@then(parsers.parse('the watcher wrote an Event on the Ingress of "{record}" and a log line saying why it removed '
                    '"{worker}"'))
def watcher_told(target, cloud, evidence, record, worker):
    lab = cloud.lab
    v = W.view(lab, _api(target, cloud, _cluster_of_record(lab)))
    events = [e for e in v.events if e["reason"] == "DNSRecordRemoved" and f"({worker})" in e["message"]]
    lines = [ln for ln in v.logs if f"({worker}) removed:" in ln]
    evidence.attach("watcher-log", v.logs[-30:])
    holds(evidence, f"failover-{worker}-told", [
        Result("watcher-event", record, bool(events), events[-1]["message"] if events else
               f"no DNSRecordRemoved Event about {worker} (events: {[e['reason'] for e in v.events]})",
               {"events": [{**e, "time": str(e["time"])} for e in v.events]}),
        Result("watcher-log", record, bool(lines), lines[-1] if lines else f"no log line about removing {worker}")])


@then(parsers.parse('no client request to "{record}" fails once the record\'s TTL has passed since the removal'))
def clients_ok_after_ttl(cloud, evidence, record):
    assert cloud.timeline is not None and cloud.off_at is not None and cloud.off, "no worker was powered off"
    holds(evidence, f"failover-{record}-clients",
          F.no_failures_after_ttl(cloud.lab, cloud.timeline, cloud.off, cloud.off_at))


@given(parsers.parse('the worker "{worker}" was powered off and lost its record'))
def worker_was_off(target, cloud, evidence, worker):
    cloud.off = worker
    _power(target, cloud, worker, on=False)
    cloud.off_at = context(target, cloud).clock.now()
    _watch(target, cloud, F.detection_budget(cloud.lab) + 30,
           until=lambda tl: tl.first_without(worker, cloud.off_at) is not None)
    holds(evidence, f"failover-{worker}-removed", [F.removed_within(cloud.lab, cloud.timeline, worker, cloud.off_at)])


@when(parsers.parse('the worker "{worker}" is powered on again'))
def worker_on(target, cloud, evidence, worker):
    ctx = context(target, cloud)
    public = H.public_addresses(cloud.lab, ctx) if ctx.hcloud is not None else {}
    public.update({s.name: str(s.public_ipv4) for s in cloud.lab.cloud.servers if s.public_ipv4})
    _power(target, cloud, worker, on=True)
    cloud.on_at = ctx.clock.now()
    fo = cloud.lab.dns.failover
    back_by = BOOT_BUDGET + fo.recover_after * F.seconds(fo.interval) + 30

    def back(tl: F.Timeline) -> bool:
        t = tl.first_with(worker, cloud.on_at)
        return t is not None and tl.records[-1][0] >= t + 10
    _watch(target, cloud, back_by, probe=(worker, public[worker]), until=back)
    evidence.attach("failover-timeline", cloud.timeline.as_evidence())


@then(parsers.parse('"{record}" regains the record of "{worker}" after {m:d} good probes, not sooner'))
def regained(cloud, evidence, record, worker, m):
    holds(evidence, f"failover-{worker}-regained", F.regained_after(cloud.lab, cloud.timeline, worker, cloud.on_at))


@when(parsers.parse('every worker of "{cluster}" is powered off in its cloud'))
def all_off(target, cloud, evidence, cluster):
    for w in cloud.lab.cluster(cluster).workers():
        _power(target, cloud, w.name, on=False)
    cloud.off_at = context(target, cloud).clock.now()
    _watch(target, cloud, 2 * F.detection_budget(cloud.lab) + 60)
    evidence.attach("failover-timeline", cloud.timeline.as_evidence())


@then(parsers.parse('"{record}" keeps exactly one record'))
def one_left(cloud, evidence, record):
    counts = cloud.timeline.counts(cloud.off_at)
    holds(evidence, f"failover-{record}-last", [Result(
        "last-record", record, bool(counts) and min(counts) >= 1 and counts[-1] == 1,
        f"records after every worker went down: {counts}" if counts else "the records were never read",
        {"timeline": cloud.timeline.as_evidence()})])


@then("the watcher says that every worker is out and that it keeps the last record")
def watcher_says_last(target, cloud, evidence):
    lab = cloud.lab
    v = W.view(lab, _api(target, cloud, _cluster_of_record(lab)))
    lines = [ln for ln in v.logs if "every node is out" in ln and "as the last record" in ln]
    events = [e for e in v.events if e["reason"] == "DNSLastRecordKept"]
    evidence.attach("watcher-log", v.logs[-30:])
    holds(evidence, "failover-last-record-told", [
        Result("watcher-log", "last record", bool(lines), lines[-1] if lines else "no log line says so"),
        Result("watcher-event", "last record", bool(events), events[-1]["message"] if events else
               "no DNSLastRecordKept Event")])


# --- backups ------------------------------------------------------------------------------------------------------
@given(parsers.parse('an app\'s namespace holds its usual objects on "{cluster}"'))
def app_namespace(target, cloud, evidence, cluster):
    api = _api(target, cloud, cluster)
    dyn = KO.client(api)
    done = [f"{o['kind']} {o['metadata']['name']}: {w}" for o in BK.demo(cloud.backup_ns)
            if (w := KO.ensure(dyn, o))] if target.writes_allowed else []
    evidence.attach("backup-demo", done or ["nothing changed"])


@when("that namespace is backed up to the lab's bucket")
def backed_up(target, cloud, evidence):
    ctx = context(target, cloud)
    cluster = CT.cloud_clusters(cloud.lab)[0].name
    s3 = ctx.s3()
    made = BK.ensure_bucket(cloud.lab, s3)
    name = f"{cloud.backup_ns}-{int(ctx.clock.now())}"
    cloud.backup = BK.backup(cloud.lab, _api(target, cloud, cluster), s3, cloud.backup_ns, name,
                             str(ctx.clock.now()))
    evidence.attach("backup", {"bucket": cloud.lab.object_storage.bucket, "bucket created": bool(made),
                               "keys": cloud.backup.keys})


@then("the bucket holds every object of the namespace under the backup")
def bucket_holds(target, cloud, evidence):
    ctx = context(target, cloud)
    got = BK.stored(cloud.lab, ctx.s3(), cloud.backup.name)
    results = [Result("backed-up-object", key, got.get(key) == obj, "in the bucket as it was" if got.get(key) == obj
                      else ("missing from the bucket" if key not in got else "differs in the bucket"))
               for key, obj in sorted(cloud.backup.items.items())]
    holds(evidence, "backup-in-bucket", results)


@when("the backup is restored into a new namespace")
def restored(target, cloud, evidence):
    ctx = context(target, cloud)
    cluster = CT.cloud_clusters(cloud.lab)[0].name
    done = BK.restore(cloud.lab, _api(target, cloud, cluster), ctx.s3(), cloud.backup.name,
                      f"{cloud.backup_ns}-restored")
    evidence.attach("restore", done)


@then("the new namespace holds the same objects as the one backed up")
def same_objects(target, cloud, evidence):
    cluster = CT.cloud_clusters(cloud.lab)[0].name
    holds(evidence, "restore-compared", BK.compare(_api(target, cloud, cluster), cloud.backup_ns,
                                                   f"{cloud.backup_ns}-restored"))
