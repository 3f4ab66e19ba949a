"""Steps for features/mesh_failover.feature: thin glue from a sentence to labsim.provisioners.mesh.

The clusters come from the Talos steps (labsim/steps/talos_steps.py: fabric, VMs, then each member provisioned with
Cilium); the mesh is provisioned on top with the `cilium` CLI and helm the target hands over. Traffic is
measured with probe Jobs read through the Kubernetes API; splits carry a Wilson interval and failovers a
second-by-second timeline, both attached to the sign-off as evidence.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.clock import WaitTimeout, wait_for
from labsim.provisioners.fabric.run import provision as provision_fabric
from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh import connect as C
from labsim.provisioners.mesh import run as M
from labsim.provisioners.mesh import stats, traffic
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.proxmox.run import provision as provision_vms
from labsim.provisioners.talos import run as T
from labsim.provisioners.talos.cli import Tools
from labsim.steps import proxmox_hands as hands
from labsim.steps import talos_steps
from labsim.steps.fabric_steps import _check

TOLERANCE = 0.05
NS = "kube-system"


@pytest.fixture
def mesh(target):
    """What a scenario has seen: the lab in use, the mesh context, reports, the running probe and its faults."""
    return {"lab": target.lab, "ctx": None, "reports": [], "probe": None, "faults": {}, "last": None}


def _ctx(target, talos, mesh) -> MeshContext:
    if mesh["ctx"] is None:
        tctx = talos_steps._ctx(target, talos)
        kcs = {}
        for c in mesh["lab"].mesh.clusters:
            kc = tctx.cluster_dir(c) / "kubeconfig"
            if not kc.exists():
                T.prepare_readonly(talos["lab"], c, tctx)
            kcs[c] = kc
        mesh["ctx"] = MeshContext(Tools(env=target.tool_env()), target.clock, Path(target.workdir) / "mesh", kcs)
    return mesh["ctx"]


def _transcript(evidence, mesh, name: str) -> None:
    ctx = mesh["ctx"]
    if ctx is not None and ctx.tools.transcript:
        evidence.attach(name, "\n\n".join(ctx.tools.transcript), "text/plain")
        ctx.tools.transcript.clear()


def _cluster_of(lab, name: str) -> str:
    return next(c.name for c in lab.clusters if name in (c.name, c.cilium_name))


def _svc_ns(lab, service: str) -> str:
    names = {g.name: g.namespace for g in lab.mesh.global_services}
    if lab.mesh.canary is not None:
        names[lab.mesh.canary.name] = lab.mesh.canary.namespace
    return names[service]


# --- building ----------------------------------------------------------------------------------------------------
@given("the Talos clusters of the mesh are healthy with Cilium")
def clusters_healthy(target, talos, mesh, evidence):
    """The Talos steps' provisioning of every member, the members side by side (as two engineers would: each
    cluster's provisioning only waits on its own machines), which halves the wait for a fresh lab."""
    if not target.writes_allowed:
        evidence.attach("mesh-clusters", "read-only run: the clusters are verified as found (no --apply)")
        return
    started = time.monotonic()
    provision_fabric(target.lab, target.routeros)
    provision_vms(target.lab, target.proxmox(), target.clock)
    ctx = talos_steps._ctx(target, talos)
    clusters = list(mesh["lab"].mesh.clusters)
    try:
        built = M.each(clusters, lambda c: T.provision(talos["lab"], c, ctx))
    finally:
        talos_steps._transcript(evidence, talos, "talos-tools")
    reports = dict(zip(clusters, built))
    for cluster, report in reports.items():
        evidence.attach(f"talos-{cluster}-changes", report.changes or ["nothing changed"])
        talos["reports"].append(report)
        talos.setdefault("machines", {})[cluster] = report.machines
    evidence.attach("mesh-build-seconds", f"fabric, VMs and {len(mesh['lab'].mesh.clusters)} Talos clusters: "
                    f"{time.monotonic() - started:.1f} s wall, {target.clock.now():.0f} s lab time")


@given("the mesh of the lab file is built")
@given("the mesh of that copy is built")
def mesh_built(target, talos, mesh, evidence):
    clusters_healthy(target, talos, mesh, evidence)
    if target.writes_allowed:
        _provision(target, talos, mesh, evidence, "mesh-provision")


def _provision(target, talos, mesh, evidence, name: str) -> M.Report:
    ctx = _ctx(target, talos, mesh)
    try:
        report = M.provision(mesh["lab"], ctx)
    finally:
        _transcript(evidence, mesh, f"{name}-tools")
    evidence.attach(f"{name}-changes", report.changes or ["nothing changed"])
    for cluster, st in report.statuses.items():
        evidence.attach(f"{name}-status-{cluster}", st.text, "text/plain")
    mesh["reports"].append(report)
    return report


@when("the mesh is provisioned again")
def provisioned_again(target, talos, mesh, evidence):
    ctx = _ctx(target, talos, mesh)
    mesh["revisions"] = _revisions(ctx, mesh["lab"])
    _provision(target, talos, mesh, evidence, "mesh-provision-again")


def _revisions(ctx: MeshContext, lab) -> dict[str, str]:
    import json
    out = {}
    for c in lab.mesh.clusters:
        r = ctx.helm(c, "list", "-n", NS, "-o", "json", check=False)
        out[c] = next((x["revision"] for x in json.loads(r.stdout or "[]") if x["name"] == "cilium"), "none")
    return out


@then("the second mesh run changed nothing and no cilium release got a new revision")
def nothing_changed(target, talos, mesh, evidence):
    last = mesh["reports"][-1]
    after = _revisions(_ctx(target, talos, mesh), mesh["lab"])
    evidence.attach("mesh-revisions", {"before": mesh["revisions"], "after": after})
    assert not last.changes, "the second run changed the mesh:\n" + "\n".join(last.changes)
    assert after == mesh["revisions"], f"cilium releases got new revisions: {mesh['revisions']} -> {after}"


# --- the lab file's own checks ----------------------------------------------------------------------------------------
@given(parsers.re(r"a copy of the lab file where (?P<change>\S+ has the (?:Cilium cluster id|pod subnet) \S+"
                  r"|the mesh's cache_ttl is \S+)$"))
def lab_copy(target, talos, mesh, tmp_path, change):
    import re
    data = yaml.safe_load(target.labfile.read_text())
    clusters = {c["name"]: c for c in data["clusters"]}
    if m := re.fullmatch(r"(\S+) has the Cilium cluster id (\d+)", change):
        clusters[m[1]]["cilium"]["cluster_id"] = int(m[2])
    elif m := re.fullmatch(r"(\S+) has the pod subnet (\S+)", change):
        clusters[m[1]]["pod_subnet"] = m[2]
    elif m := re.fullmatch(r"the mesh's cache_ttl is (\S+)", change):
        data["mesh"]["cache_ttl"] = m[1]
    else:
        raise AssertionError(f"no such change to the lab file: {change}")
    path = tmp_path / target.labfile.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    mesh["lab"] = load_lab(path)


@when("the mesh is provisioned from that copy")
def provisioned_from_copy(target, talos, mesh, evidence):
    try:
        mesh["refused"] = None
        M.provision(mesh["lab"], None)      # refused before it needs any client
    except M.MeshRefused as exc:
        mesh["refused"] = exc
        evidence.attach("mesh-refused", [str(r) for r in exc.results])
    except Exception as exc:  # noqa: BLE001 - anything else means it went on to touch clusters
        mesh["refused"] = None
        mesh["error"] = repr(exc)


@then(parsers.parse('the mesh is refused with "{message}"'))
def refused_with(mesh, message):
    exc = mesh.get("refused")
    assert exc is not None, f"the broken lab file was not refused ({mesh.get('error', 'it went ahead')})"
    assert any(message in r.message for r in exc.results), f"expected {message!r} in: {exc}"


# --- connect refusals on live clusters ----------------------------------------------------------------------------
def _config_map(ctx: MeshContext, cluster: str) -> dict:
    return ctx.kube(cluster).get("ConfigMap", "cilium-config", NS)


@then(parsers.parse("cilium clustermesh connect from {a} to {b} is refused when {b2}'s Cilium is broken by "
                    "hand:"))
def connect_refused(target, talos, mesh, evidence, datatable, a, b, b2):
    import re
    ctx = _ctx(target, talos, mesh)
    mesh["revisions"] = _revisions(ctx, mesh["lab"])
    original = _config_map(ctx, b)
    seen = []
    for row in datatable[1:]:
        change, message = row[0], row[1]
        m = re.fullmatch(r"cilium-config (\S+) set to (\S+)", change)
        if m:
            edited = {**original, "data": {**original["data"], m[1]: m[2]}}
            ctx.kube(b).apply(edited)
        try:
            ran = ctx.cilium(a, "clustermesh", "connect", "--destination-context", ctx.context(b), check=False)
        finally:
            if m:
                ctx.kube(b).apply({**original, "metadata": {k: v for k, v in original["metadata"].items()
                                                            if k not in ("resourceVersion", "managedFields")}})
        seen.append({"change": change, "rc": ran.rc, "output": ran.output})
        assert ran.rc != 0, f"connect was accepted with {change}:\n{ran.output}"
        assert message in ran.output, f"with {change}, expected {message!r}, cilium said:\n{ran.output}"
    evidence.attach("connect-refusals", seen)
    _transcript(evidence, mesh, "connect-refusals-tools")


@then("nothing was written to either cluster's cilium release")
def no_release_written(target, talos, mesh):
    after = _revisions(_ctx(target, talos, mesh), mesh["lab"])
    assert after == mesh["revisions"], f"a refused connect changed a release: {mesh['revisions']} -> {after}"


# --- status ----------------------------------------------------------------------------------------------------------
@then("cilium clustermesh status of every member reports all nodes connected to all clusters")
def all_connected(target, talos, mesh, evidence):
    results, statuses = M.verify_status(mesh["lab"], _ctx(target, talos, mesh))
    for cluster, st in statuses.items():
        evidence.attach(f"clustermesh-status-{cluster}", st.text, "text/plain")
    _transcript(evidence, mesh, "clustermesh-status-tools")
    _check(evidence, "mesh-connected", results)


@then("cilium clustermesh status --wait of every member reports all nodes connected")
def all_connected_wait(target, talos, mesh, evidence):
    ctx = _ctx(target, talos, mesh)
    for cluster in mesh["lab"].mesh.clusters:
        st = C.status(ctx, cluster, wait="5m")
        evidence.attach(f"clustermesh-status-wait-{cluster}", st.text, "text/plain")
        assert st.rc == 0, f"cilium clustermesh status --wait failed on {cluster}:\n{st.text}"
    all_connected(target, talos, mesh, evidence)


@then("every global service of the lab file exists in every member with its annotations and ready backends")
def services_present(target, talos, mesh, evidence):
    _check(evidence, "mesh-global-services", M.verify_services(mesh["lab"], _ctx(target, talos, mesh)))


@then(parsers.parse("cilium clustermesh status of {cluster} reports its nodes not connected to {remote} within "
                    "{seconds:d} seconds"))
def not_connected(target, talos, mesh, evidence, cluster, remote, seconds):
    ctx = _ctx(target, talos, mesh)
    seen: list[C.Status] = []
    want = mesh["lab"].cluster(remote).cilium_name

    def broken() -> bool:
        seen.append(C.status(ctx, cluster))
        return any(f"is not connected to cluster {want}" in e for e in seen[-1].errors())
    try:
        wait_for(broken, seconds, 5.0, target.clock, what=f"{cluster} to lose {remote}")
    except WaitTimeout:
        pass
    evidence.attach(f"clustermesh-status-{cluster}", seen[-1].text, "text/plain")
    mesh["status"] = seen[-1]
    _transcript(evidence, mesh, "clustermesh-status-tools")
    assert any(f"is not connected to cluster {want}" in e for e in seen[-1].errors()), \
        f"{cluster} still reports {remote} connected after {seconds} s:\n{seen[-1].text}"
    evidence.finding(f"{cluster} lost {remote}", True, "; ".join(seen[-1].errors()[:4]))


@then(parsers.parse('its errors name the KVStoreMesh replica "{text}"'))
def errors_name(mesh, text):
    st = mesh["status"]
    lines = [e for e in st.errors() if e.startswith("clustermesh-apiserver")]
    assert any(text in e for e in lines), f"no clustermesh-apiserver error with {text!r}:\n{st.text}"


@then(parsers.parse("cilium clustermesh status of {cluster} names {remote} as not connected"))
def names_lost(target, talos, mesh, evidence, cluster, remote):
    not_connected(target, talos, mesh, evidence, cluster, remote, 60)


# --- traffic ---------------------------------------------------------------------------------------------------------
def _record(evidence, mesh, label: str, result, lane: str) -> None:
    evidence.attach(f"{label}-counts", {"counts": result.counts(), "summary": result.summary,
                                        "first_failures": [r.__dict__ for r in result.failed[:5]]})
    evidence.timeline(label, stats.timeline(result.requests, lane), kind="failover")
    mesh["last"] = result


@when(parsers.re(r'(?P<n>\d+) requests go from (?P<cluster>\S+) to "(?P<service>[^"]+)"(?:, the (?P<how>.+) construction)?$'),
      converters={"n": int})
def requests(target, talos, mesh, evidence, n, cluster, service, how=None):
    ctx = _ctx(target, talos, mesh)
    lab = mesh["lab"]
    p, result = traffic.run(lab, ctx, _cluster_of(lab, cluster), service, _svc_ns(lab, service), requests=n)
    assert result.requests, f"probe {p.name} wrote no request lines"
    label = f"{service} from {cluster}" + (f" ({how} construction)" if how else "")
    _record(evidence, mesh, f"{p.name}-from-{cluster}", result, label)


@then(parsers.parse("every request was answered by {cluster}"))
def all_answered_by(mesh, cluster):
    res = mesh["last"]
    others = {k: v for k, v in res.counts().items() if k != cluster}
    assert not others, f"not every request was answered by {cluster}: {res.counts()}"


@then(parsers.parse("{pa:d}% were answered by {a} and {pb:d}% by {b}, within {points:d} points at 95% confidence"))
def split(mesh, evidence, pa, a, pb, b, points):
    res = mesh["last"]
    evidence.timeline(f"split {a} {pa}% / {b} {pb}%", stats.split_timeline(res.requests, {a: pa / 100, b: pb / 100},
                                                                          points / 100), kind="split")
    for name, pct in ((a, pa), (b, pb)):
        s = stats.share(res.requests, name)
        ok = stats.holds(s, pct / 100, points / 100)
        evidence.finding(f"share of {name}", ok, f"{s} (expected {pct}% +/- {points})",
                         {"hits": s.hits, "n": s.n, "low": s.low, "high": s.high})
        assert ok, f"{s} is not {pct}% +/- {points} points"
    assert not res.failed, f"{len(res.failed)} requests failed: {res.failed[:3]}"


@then(parsers.parse("about {pct:d}% of them failed"))
def about_failed(mesh, evidence, pct):
    s = stats.share(mesh["last"].requests, "failed")
    ok = stats.holds(s, pct / 100, TOLERANCE * 2)
    evidence.finding("failed share", ok, f"{s} (expected about {pct}%)")
    assert ok, f"{s} is not about {pct}%"


@then(parsers.parse('{n:d} requests from {cluster} to "{service}" all fail'))
def all_fail(target, talos, mesh, evidence, n, cluster, service):
    requests(target, talos, mesh, evidence, n, cluster, service)
    res = mesh["last"]
    assert not res.ok, f"{len(res.ok)} of {len(res.requests)} requests were still answered: {res.counts()}"


# --- probes running across a fault -------------------------------------------------------------------------------------
@given(parsers.parse('a probe of {n:d} requests runs from {cluster} against "{service}"'))
def probe_runs(target, talos, mesh, n, cluster, service):
    ctx = _ctx(target, talos, mesh)
    lab = mesh["lab"]
    mesh["probe"] = traffic.start(lab, ctx, _cluster_of(lab, cluster), service, _svc_ns(lab, service), requests=n)
    mesh["probe_from"] = cluster


def _at(target, talos, mesh, seconds: float) -> float:
    return traffic.until(_ctx(target, talos, mesh), mesh["probe"], seconds)


def _scale(target, talos, mesh, services: list[str], cluster: str, replicas: int) -> None:
    ctx = _ctx(target, talos, mesh)
    lab = mesh["lab"]
    for s in services:
        ctx.kube(_cluster_of(lab, cluster)).scale(s, _svc_ns(lab, s), replicas)


@when(parsers.parse('the "{service}" backends of {cluster} are scaled to {replicas:d} at {seconds:d} seconds into '
                    'the probe'))
def scaled_during_probe(target, talos, mesh, service, cluster, replicas, seconds):
    mesh["faults"][f"{service}@{cluster}={replicas}"] = _at(target, talos, mesh, seconds)
    mesh["fault_t"] = mesh["faults"][f"{service}@{cluster}={replicas}"]
    _scale(target, talos, mesh, [service], cluster, replicas)


@when(parsers.re(r'the "(?P<a>[^"]+)" and "(?P<b>[^"]+)" backends of (?P<cluster>\S+) are scaled to (?P<replicas>\d+)$'),
      converters={"replicas": int})
def two_scaled(target, talos, mesh, a, b, cluster, replicas):
    _scale(target, talos, mesh, [a, b], cluster, replicas)
    target.clock.sleep(5)


@when(parsers.re(r'the "(?P<service>[^"]+)" backends of (?P<cluster>\S+) are scaled to (?P<replicas>\d+)$'),
      converters={"replicas": int})
def one_scaled(target, talos, mesh, service, cluster, replicas):
    _scale(target, talos, mesh, [service], cluster, replicas)
    target.clock.sleep(5)


@then(parsers.parse("every request before that was answered by {cluster}"))
def before_fault(target, talos, mesh, evidence, cluster):
    res = traffic.read(_ctx(target, talos, mesh), mesh["probe"])
    before = [r for r in res.requests if r.t < mesh["fault_t"]]
    counts = {k: sum(1 for r in before if (r.cluster or "failed") == k) for k in {r.cluster or "failed" for r in before}}
    evidence.attach("answers-before-the-fault", counts)
    assert before and set(counts) == {cluster}, f"before t={mesh['fault_t']:.1f}s not every request was answered " \
                                                f"by {cluster}: {counts}"


@then(parsers.parse("the traffic is answered by {cluster} within {seconds:d} seconds, with no failed request after "
                    "that"))
def failed_over(target, talos, mesh, evidence, cluster, seconds):
    ctx, p, fault = _ctx(target, talos, mesh), mesh["probe"], mesh["fault_t"]
    traffic.until(ctx, p, min(fault + seconds + 5.0, p.requests * p.interval - p.interval))
    res = traffic.read(ctx, p)
    window = [r for r in res.requests if fault <= r.t <= fault + seconds + 5.0]
    took = stats.failover(window, fault, cluster)
    bad = stats.failed_after(window, fault + (took or 0.0))
    evidence.timeline(f"{p.name}-to-{cluster}", stats.timeline(res.requests, f"{p.target} from {mesh['probe_from']}"),
                      kind="failover")
    evidence.finding(f"failover to {cluster}", took is not None and took <= seconds and not bad,
                     f"all answers from {cluster} {took:.1f} s after t={fault:.1f}s" if took is not None
                     else f"not settled on {cluster} within {seconds + 5} s after t={fault:.1f}s")
    assert took is not None and took <= seconds, \
        f"traffic did not settle on {cluster} within {seconds} s of t={fault:.1f}s: " \
        f"{stats.timeline(window)}"
    assert not bad, f"{len(bad)} requests failed after the failover: {bad[:3]}"


@when(parsers.parse("the clustermesh-apiserver of {cluster} is scaled to {replicas:d} replicas at {seconds:d} "
                    "seconds into the probe"))
def apiserver_scaled(target, talos, mesh, cluster, replicas, seconds):
    mesh["fault_t"] = _at(target, talos, mesh, seconds)
    _ctx(target, talos, mesh).kube(cluster).scale("clustermesh-apiserver", NS, replicas)
    target.clock.sleep(5)


@when(parsers.parse("the clustermesh-apiserver of {cluster} is scaled back to {replicas:d} replica"))
def apiserver_back(target, talos, mesh, cluster, replicas):
    ctx = _ctx(target, talos, mesh)
    mesh["back_t"] = max((r.t for r in traffic.read(ctx, mesh["probe"]).requests), default=0.0)
    ctx.kube(cluster).scale("clustermesh-apiserver", NS, replicas)


@when("the Cilium agents of both clusters are restarted and their rollout completes")
def agents_restarted(target, talos, mesh):
    ctx = _ctx(target, talos, mesh)
    stamp = f"mesh-drill-{target.clock.now():.0f}"
    for c in mesh["lab"].mesh.clusters:
        ctx.kube(c).rollout_restart("DaemonSet", "cilium", NS, stamp)

    def rolled() -> bool:
        """As `kubectl rollout status ds/cilium`: the new generation observed, every pod updated and available."""
        for c in mesh["lab"].mesh.clusters:
            ds = ctx.kube(c).get("DaemonSet", "cilium", NS) or {}
            st = ds.get("status") or {}
            want = int(st.get("desiredNumberScheduled") or 0)
            if int(st.get("observedGeneration") or 0) < int(ds.get("metadata", {}).get("generation") or 1) or \
                    not want or int(st.get("updatedNumberScheduled") or 0) != want or \
                    int(st.get("numberAvailable") or 0) != want:
                return False
        return True
    wait_for(rolled, 300, 5, target.clock, what="the cilium DaemonSets to roll out")


@when(parsers.parse('the "{service}" backends of {cluster} are scaled to {replicas:d} while its '
                    'clustermesh-apiserver is away'))
def scaled_while_away(target, talos, mesh, service, cluster, replicas):
    ctx = _ctx(target, talos, mesh)
    lab = mesh["lab"]
    kube = ctx.kube(_cluster_of(lab, cluster))
    ns = _svc_ns(lab, service)
    mesh["old_pods"] = {p.metadata.name for p in kube.pods(ns, f"app={service}")}
    mesh["scaled_t"] = max((r.t for r in traffic.read(ctx, mesh["probe"]).requests), default=0.0)
    kube.scale(service, ns, replicas)
    target.clock.sleep(20)
    mesh["new_cluster"] = lab.cluster(_cluster_of(lab, cluster)).cilium_name


def _new_answers(ctx, mesh, after: float):
    res = traffic.read(ctx, mesh["probe"])
    return res, [r for r in res.requests if r.t >= after and r.cluster == mesh["new_cluster"]
                 and r.pod not in mesh["old_pods"]]


@then(parsers.parse('the new {cluster} backend of "{service}" gets no request from {client}'))
def new_backend_unknown(target, talos, mesh, evidence, cluster, service, client):
    res, new = _new_answers(_ctx(target, talos, mesh), mesh, mesh["scaled_t"])
    evidence.attach("answers-while-apiserver-away", res.counts())
    assert not new, f"{client} already sent {len(new)} requests to the new backend {new[0].pod}, " \
                    f"although {cluster}'s clustermesh-apiserver is away"


@then(parsers.parse('the new {cluster} backend of "{service}" answers requests from {client} within {seconds:d} '
                    'seconds'))
def new_backend_known(target, talos, mesh, evidence, cluster, service, client, seconds):
    ctx = _ctx(target, talos, mesh)
    back = mesh["back_t"]

    def seen():
        return _new_answers(ctx, mesh, back)[1]
    try:
        wait_for(seen, seconds + 10, 2.0, target.clock, what=f"the new {cluster} backend to answer")
    except WaitTimeout:
        pass
    new = seen()
    assert new and new[0].t - back <= seconds, \
        f"the new {cluster} backend answered no request from {client} within {seconds} s of t={back:.1f}s"
    evidence.finding("new endpoint synced", True, f"first answer from {new[0].pod} at t={new[0].t:.1f}s "
                     f"({new[0].t - back:.1f} s after the clustermesh-apiserver returned)")


@then("no request of the probe failed")
def probe_clean(target, talos, mesh, evidence):
    ctx = _ctx(target, talos, mesh)
    res = traffic.finish(ctx, mesh["probe"])
    _record(evidence, mesh, mesh["probe"].name, res, f"{mesh['probe'].target} from {mesh['probe_from']}")
    assert not res.failed, f"{len(res.failed)} of {len(res.requests)} requests failed, first: {res.failed[:3]}"


# --- losing a whole cluster ----------------------------------------------------------------------------------------------
def _power_off(target, mesh, cluster: str) -> None:
    for m in mesh["lab"].cluster(cluster).members():
        hands.stop(target, m.name)


@when(parsers.parse("every machine of {cluster} is powered off at {seconds:d} seconds into the probe"))
def cluster_lost_during_probe(target, talos, mesh, cluster, seconds):
    mesh["fault_t"] = _at(target, talos, mesh, seconds)
    _power_off(target, mesh, cluster)


@when(parsers.parse("every machine of {cluster} is powered off"))
def cluster_lost(target, mesh, cluster):
    _power_off(target, mesh, cluster)
    target.clock.sleep(10)


@then(parsers.parse("about {pct:d}% of the requests after the loss fail, until the end of the probe"))
def fail_after_loss(target, talos, mesh, evidence, pct):
    ctx = _ctx(target, talos, mesh)
    res = traffic.finish(ctx, mesh["probe"])
    _record(evidence, mesh, mesh["probe"].name, res, f"{mesh['probe'].target} from {mesh['probe_from']}")
    after = [r for r in res.requests if r.t >= mesh["fault_t"] + 1.0]
    s = stats.share(after, "failed")
    ok = stats.holds(s, pct / 100, TOLERANCE * 2)
    evidence.finding("requests failing after the loss", ok, f"{s} (expected about {pct}%)")
    assert ok, f"after the loss {s}, expected about {pct}% (Cilium keeps the last-known backends)"
    tail = after[-len(after) // 5:]
    assert any(r.cluster is None for r in tail), "requests stopped failing before the end of the probe"


@when(parsers.parse("{minutes:d} minutes pass"))
def minutes_pass(target, minutes):
    target.clock.sleep(minutes * 60)


# --- the fabric ---------------------------------------------------------------------------------------------------------
@when(parsers.parse("{device}'s address on {vlan} is disabled"))
def address_disabled(target, device, vlan):
    api = target.routeros(device)
    row = next(r for r in api.path("ip", "address") if r.get("interface") == vlan)
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})
