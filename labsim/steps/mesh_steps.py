"""Steps for features/mesh_failover.feature: thin glue from a sentence to labsim.provisioners.mesh.

The clusters come from the Talos steps (labsim/steps/talos_steps.py: fabric, VMs, then each member provisioned with
Cilium); the mesh is provisioned on top with the `cilium` CLI and helm the target hands over. Traffic goes to the
services under test (the lab file's, or the suite's probe services, deployed for the scenario and removed after
it: labsim/provisioners/mesh/workload.py) and is measured with probe Jobs read through the Kubernetes API; splits
carry a Wilson interval and failovers a second-by-second timeline, both attached to the sign-off as evidence.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from labsim.steps.checkpoints import builds
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.fabric.run import provision as provision_fabric
from labsim.provisioners.lab import load_lab
from labsim.provisioners.mesh import checks as K
from labsim.provisioners.mesh import connect as C
from labsim.provisioners.mesh import run as M
from labsim.provisioners.mesh import stats, traffic
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.mesh.probe import Result as Traffic
from labsim.provisioners.mesh.workload import Workload, workload
from labsim.provisioners.proxmox.run import provision as provision_vms
from labsim.provisioners.talos import run as T
from labsim.provisioners.vocabulary import WaitTimeout, plan_empty, wait_for
from labsim.steps import proxmox_hands as hands
from labsim.steps import talos_steps
from labsim.steps.common import holds, lab_copy

NS = "kube-system"


@dataclass
class MeshRun:
    """What a mesh scenario has seen: the lab file in use (or its copy), the mesh context and reports, the services
    under test (and whether this scenario deployed the suite's own), the running probe and the faults' times."""

    lab: Any
    ctx: MeshContext | None = None
    reports: list[M.Report] = field(default_factory=list)
    workload: Workload | None = None
    deployed: bool = False            # the suite's probe services are in the members: removed when the scenario ends
    refused: list | None = None
    error: str | None = None
    copy: Path | None = None          # a lab file copy the scenario is about
    revisions: dict[str, str] = field(default_factory=dict)
    probe: traffic.Probe | None = None
    probe_from: str = ""
    fault_t: float = 0.0
    back_t: float = 0.0
    scaled_t: float = 0.0
    old_pods: set[str] = field(default_factory=set)
    new_cluster: str = ""
    status: C.Status | None = None
    last: Traffic | None = None
    second_plan: M.MeshPlan | None = None
    drops_before: dict[str, float] = field(default_factory=dict)     # member -> policy drops before a probe
    probes: list[traffic.Probe] = field(default_factory=list)       # every probe Job started: removed at the end
    probe_namespaces: list[tuple[str, str]] = field(default_factory=list)   # (member, namespace) created for them


@pytest.fixture
def mesh(target):
    run = MeshRun(lab=target.lab)
    yield run
    for line in remove_probes(run):      # passed or failed: nothing of the probes stays in the lab
        print(line)
    if run.deployed and run.ctx is not None and run.workload is not None:
        for line in M.remove_workload(run.lab, run.ctx, run.workload):   # the suite's namespace goes, as it came
            print(line)


def start_probe(target, talos, mesh: MeshRun, cluster: str, service: str, n: int, client=None) -> traffic.Probe:
    """A probe Job, only where the target allows probe pods (a real lab: --allow-probes). It runs in the suite's
    probe namespace (`mesh.probe.namespace`, created here when a member lacks it), or in an application's
    namespace when it runs as that application (its identity for Cilium's policies is its namespace and labels).
    Recorded before it is waited on, so `remove_probes` finds it however the scenario ends."""
    from labsim.provisioners.mesh.demo import namespace as namespace_doc
    from labsim.provisioners.mesh.workload import client_for

    _probes_allowed(target, f"a probe pod against {service}")
    ctx, member = _ctx(target, talos, mesh), _member(mesh.lab, cluster)
    ns = _services(mesh).namespace_of(service)
    client = client or client_for(mesh.lab, service, ns)
    kube = ctx.kube(member)
    if kube.get("Namespace", client.namespace) is None:
        kube.apply(namespace_doc(client.namespace))
        mesh.probe_namespaces.append((member, client.namespace))
    p = traffic.start(mesh.lab, ctx, member, service, ns, requests=n, client=client)
    mesh.probes.append(p)
    return p


def _probes_allowed(target, what: str) -> None:
    if not target.probes_allowed:
        raise AssertionError(f"{what} refused: the {target.name} target allows no probe pod without --allow-probes "
                             "(a scenario that runs probes is tagged @probes)")


def remove_probes(run: MeshRun) -> list[str]:
    """Every probe Job the scenario started (with its pods: background propagation, as `kubectl delete job` does),
    then every namespace it created for them. A member whose API does not answer (a drill powered it off) keeps
    them: that is said, not raised."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    out: list[str] = []
    if run.ctx is None:
        return out
    for p in run.probes:
        try:
            run.ctx.kube(p.cluster).batch.delete_namespaced_job(p.name, p.namespace, propagation_policy="Background")
            out.append(f"{p.cluster}: probe job {p.namespace}/{p.name} deleted")
        except ApiException as exc:
            if exc.status != 404:
                out.append(f"{p.cluster}: probe job {p.namespace}/{p.name} not deleted: {exc.reason}")
        except (OSError, HTTPError) as exc:
            out.append(f"{p.cluster}: probe job {p.namespace}/{p.name} not deleted: {exc}")
    for member, ns in run.probe_namespaces:
        try:
            if run.ctx.kube(member).delete("Namespace", ns):
                out.append(f"{member}: probe namespace {ns} deleted")
        except (ApiException, OSError, HTTPError) as exc:
            out.append(f"{member}: probe namespace {ns} not deleted: {getattr(exc, 'reason', None) or exc}")
    run.probes, run.probe_namespaces = [], []
    return out


def _ctx(target, talos, mesh: MeshRun) -> MeshContext:
    if mesh.ctx is None:
        kcs = {}
        for c in mesh.lab.mesh.clusters:
            if mesh.lab.cluster(c).distribution == "rke2":      # not ours to build: its API's kubeconfig
                kcs[c] = target.kubeconfig(c)
                continue
            kc = talos_steps.kubeconfig(target, talos, c)   # the target's (kind), else the one talosctl wrote
            if not kc.exists() and not target.clusters_given:
                T.prepare_readonly(talos.lab, c, talos_steps.context(target, talos))
            kcs[c] = kc
        mesh.ctx = MeshContext(target.tools(), target.clock, Path(target.workdir) / "mesh", kcs)
    return mesh.ctx


def _transcript(evidence, mesh: MeshRun, name: str) -> None:
    ctx = mesh.ctx
    if ctx is not None and ctx.tools.transcript:
        evidence.attach(name, "\n\n".join(ctx.tools.transcript), "text/plain")
        ctx.tools.transcript.clear()


def _member(lab, name: str) -> str:
    """The mesh member a step names (by its lab file name or its Cilium cluster name)."""
    return next(c.name for c in lab.clusters if name in (c.name, c.cilium_name))


def _answers(lab, name: str) -> str:
    """Who answers for a member in a probe's log: its Cilium cluster name."""
    return lab.cluster(_member(lab, name)).cilium_name


def _members(text: str) -> list[str]:
    """The members a step names: one ("west"), or several together ("west and pi", the others of
    a mesh of three: labsim/steps/subjects.py `names`)."""
    from labsim.steps.subjects import names
    return names(text)


def _named(lab, text: str) -> list[str]:
    """The mesh members a step names, as the lab file names them."""
    return [_member(lab, n) for n in _members(text)]


def _answering(lab, text: str) -> list[str]:
    """Who answers for the members a step names, in a probe's log."""
    return [_answers(lab, n) for n in _members(text)]


def _services(mesh: MeshRun) -> Workload:
    if mesh.workload is None:
        mesh.workload = workload(mesh.lab)
    return mesh.workload


# --- building ----------------------------------------------------------------------------------------------------
@given("the Talos clusters of the mesh are healthy with Cilium", target_fixture="mesh")
@builds
def clusters_healthy(target, talos, mesh, evidence) -> MeshRun:
    """The Talos steps' provisioning of every member, the members side by side (as two engineers would: each
    cluster's provisioning only waits on its own machines), which halves the wait for a fresh lab."""
    if target.clusters_given:
        evidence.attach("mesh-clusters", f"the {target.name} target hands the clusters out: used as found")
        return mesh
    if not target.writes_allowed:
        evidence.attach("mesh-clusters", "read-only run: the clusters are verified as found (no --apply)")
        return mesh
    started = time.monotonic()
    provision_fabric(target.lab, target.routeros)
    provision_vms(target.lab, target.proxmox(), target.clock)
    ctx = talos_steps.context(target, talos)
    # the Talos members; an RKE2 member (the piCluster) is rke2-ansible's, found running with its Cilium
    clusters = [c for c in mesh.lab.mesh.clusters if mesh.lab.cluster(c).distribution == "talos"]
    try:
        built = M.each(clusters, lambda c: T.provision(talos.lab, c, ctx))
    finally:
        talos_steps.transcript(evidence, talos, "talos-tools")
    for report in built:
        talos_steps.record(talos, evidence, report)
    evidence.attach("mesh-build-seconds", f"fabric, VMs and {len(clusters)} Talos clusters: "
                    f"{time.monotonic() - started:.1f} s wall, {target.clock.now():.0f} s lab time")
    return mesh


@given("the mesh of the lab file is built", target_fixture="mesh")
@given("the mesh of that copy is built", target_fixture="mesh")
@builds
def mesh_built(target, talos, mesh, evidence) -> MeshRun:
    clusters_healthy(target, talos, mesh, evidence)
    if target.writes_allowed:
        _provision(target, talos, mesh, evidence, "mesh-provision")
        wl = _services(mesh)
        if wl.owned:     # the suite's own probe services, for this scenario only
            mesh.deployed = True
            changes = M.deploy_workload(mesh.lab, _ctx(target, talos, mesh), wl)
            evidence.attach("mesh-probe-services", changes or ["already there"])
    return mesh


def _provision(target, talos, mesh: MeshRun, evidence, name: str) -> M.Report:
    ctx = _ctx(target, talos, mesh)
    try:
        report = M.provision(mesh.lab, ctx)
    finally:
        _transcript(evidence, mesh, f"{name}-tools")
    evidence.attach(f"{name}-changes", report.changes or ["nothing changed"])
    for cluster, st in report.statuses.items():
        evidence.attach(f"{name}-status-{cluster}", st.text, "text/plain")
    mesh.reports.append(report)
    return report


@when("the mesh is provisioned again")
def provisioned_again(target, talos, mesh, evidence):
    """Planned first, from what the members report (the plan must be empty), then provisioned again."""
    ctx = _ctx(target, talos, mesh)
    mesh.revisions = _revisions(ctx, mesh.lab)
    try:
        mesh.second_plan = M.plan(mesh.lab, ctx)
    finally:
        _transcript(evidence, mesh, "mesh-plan-tools")
    evidence.attach("mesh-plan", mesh.second_plan.describe() or ["nothing to do"])
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
    after = _revisions(_ctx(target, talos, mesh), mesh.lab)
    holds(evidence, "mesh-second-run", [plan_empty("mesh", mesh.second_plan)] + K.changed_nothing(mesh.reports[-1].changes)
          + K.revisions_unchanged(mesh.revisions, after, "second mesh run"))


# --- the lab file's own checks ----------------------------------------------------------------------------------------
@given(parsers.re(r"a copy of the lab file where (?P<change>\S+ has the (?:Cilium cluster id|pod subnet) \S+"
                  r"|the mesh's cache_ttl is \S+)$"), target_fixture="mesh")
def mesh_lab_copy(target, mesh, tmp_path, change) -> MeshRun:
    def edit(data):
        clusters = {c["name"]: c for c in data["clusters"]}
        if m := re.fullmatch(r"(\S+) has the Cilium cluster id (\d+)", change):
            clusters[m[1]]["cilium"]["cluster_id"] = int(m[2])
        elif m := re.fullmatch(r"(\S+) has the pod subnet (\S+)", change):
            clusters[m[1]]["pod_subnet"] = m[2]
        elif m := re.fullmatch(r"the mesh's cache_ttl is (\S+)", change):
            data["mesh"]["cache_ttl"] = m[1]
        else:
            raise AssertionError(f"no such change to the lab file: {change}")
    mesh.copy = lab_copy(target, tmp_path, edit)
    mesh.lab = load_lab(mesh.copy)
    return mesh


@when("the mesh is provisioned from that copy")
def provisioned_from_copy(mesh, evidence):
    mesh.lab = load_lab(mesh.copy)      # the file as it is when the run starts (as `labsim` would read it)
    try:
        M.provision(mesh.lab, None)      # refused before it needs any client
    except M.MeshRefused as exc:
        mesh.refused = exc.results
        evidence.attach("mesh-refused", [str(r) for r in exc.results])
    except Exception as exc:  # noqa: BLE001 - anything else means it went on to touch clusters
        mesh.error = repr(exc)


@then(parsers.parse('the mesh is refused with "{message}"'))
def refused_with(mesh, evidence, message):
    holds(evidence, "mesh-refused", K.refused_with(mesh.refused, message, mesh.error))


# --- connect refusals on live clusters ----------------------------------------------------------------------------
@then(parsers.parse("cilium clustermesh connect from {a} to {b} is refused when {b2}'s Cilium is broken by "
                    "hand:"))
def connect_refused(target, talos, mesh, evidence, datatable, a, b, b2):
    ctx = _ctx(target, talos, mesh)
    mesh.revisions = _revisions(ctx, mesh.lab)
    original = ctx.kube(b).get("ConfigMap", "cilium-config", NS)
    results, seen = [], []
    for change, message in datatable[1:]:
        m = re.fullmatch(r"cilium-config (\S+) set to (\S+)", change)
        if m:
            ctx.kube(b).apply({**original, "data": {**original["data"], m[1]: m[2]}})
        try:
            ran = ctx.cilium(a, "clustermesh", "connect", "--destination-context", ctx.context(b), check=False)
        finally:
            if m:
                ctx.kube(b).apply({**original, "metadata": {k: v for k, v in original["metadata"].items()
                                                            if k not in ("resourceVersion", "managedFields")}})
        seen.append({"change": change, "rc": ran.rc, "output": ran.output})
        results.append(K.connect_refused(change, ran.rc, ran.output, message))
    evidence.attach("connect-refusals", seen)
    _transcript(evidence, mesh, "connect-refusals-tools")
    holds(evidence, "connect-refused", results)


@then("nothing was written to either cluster's cilium release")
def no_release_written(target, talos, mesh, evidence):
    holds(evidence, "release-revisions", K.revisions_unchanged(
        mesh.revisions, _revisions(_ctx(target, talos, mesh), mesh.lab), "refused connects"))


# --- status ----------------------------------------------------------------------------------------------------------
@then("cilium clustermesh status of every member reports all nodes connected to all clusters")
def all_connected(target, talos, mesh, evidence):
    results, statuses = M.verify_status(mesh.lab, _ctx(target, talos, mesh))
    for cluster, st in statuses.items():
        evidence.attach(f"clustermesh-status-{cluster}", st.text, "text/plain")
    _transcript(evidence, mesh, "clustermesh-status-tools")
    holds(evidence, "mesh-connected", results)


@then("cilium clustermesh status --wait of every member reports all nodes connected")
def all_connected_wait(target, talos, mesh, evidence):
    from labsim.provisioners.vocabulary import Result

    ctx = _ctx(target, talos, mesh)
    waited = []
    for cluster in mesh.lab.mesh.clusters:
        st = C.status(ctx, cluster, wait="5m")
        evidence.attach(f"clustermesh-status-wait-{cluster}", st.text, "text/plain")
        waited.append(Result("mesh-status-wait", cluster, st.rc == 0,
                             f"cilium clustermesh status --wait on {cluster}: all connected" if st.rc == 0
                             else f"cilium clustermesh status --wait failed on {cluster}:\n{st.text}"))
    holds(evidence, "mesh-status-wait", waited)
    all_connected(target, talos, mesh, evidence)


@then("every global service under test exists in every member with its annotations and ready backends")
def services_present(target, talos, mesh, evidence):
    holds(evidence, "mesh-global-services", M.verify_services(mesh.lab, _ctx(target, talos, mesh), _services(mesh)))


@then("the Cilium agents of every mesh member are ready with the cluster name, id and values the lab file asks for")
def agents_as_planned(target, talos, mesh, evidence):
    holds(evidence, "mesh-cilium", M.verify_agents(mesh.lab, _ctx(target, talos, mesh)))


@then("the clustermesh-apiserver of every mesh member is available")
def apiservers_available(target, talos, mesh, evidence):
    holds(evidence, "mesh-apiservers", M.verify_apiservers(mesh.lab, _ctx(target, talos, mesh)))


@then(parsers.parse("cilium clustermesh status of {cluster} reports its nodes not connected to {remote} within "
                    "{seconds:d} seconds"))
def not_connected(target, talos, mesh, evidence, cluster, remote, seconds):
    ctx = _ctx(target, talos, mesh)
    seen: list[C.Status] = []
    want = _answers(mesh.lab, remote)

    def broken() -> bool:
        seen.append(C.status(ctx, cluster))
        return any(f"is not connected to cluster {want}" in e for e in seen[-1].errors())
    try:
        wait_for(broken, seconds, 5.0, target.clock, what=f"{cluster} to lose {remote}")
    except WaitTimeout:
        pass
    evidence.attach(f"clustermesh-status-{cluster}", seen[-1].text, "text/plain")
    mesh.status = seen[-1]
    _transcript(evidence, mesh, "clustermesh-status-tools")
    holds(evidence, f"{cluster}-lost-{remote}", K.not_connected(seen[-1], want, seconds), findings=True)


@then(parsers.parse('its errors name the KVStoreMesh replica "{text}"'))
def errors_name(mesh, evidence, text):
    holds(evidence, "mesh-status-errors", K.errors_name(mesh.status, text))


@then(parsers.parse("cilium clustermesh status of {cluster} names {remote} as not connected"))
def names_lost(target, talos, mesh, evidence, cluster, remote):
    not_connected(target, talos, mesh, evidence, cluster, remote, 60)


# --- traffic ---------------------------------------------------------------------------------------------------------
def _record(evidence, mesh: MeshRun, label: str, result: Traffic, lane: str) -> None:
    evidence.attach(f"{label}-counts", {"counts": result.counts(), "summary": result.summary,
                                        "first_failures": [r.__dict__ for r in result.failed[:5]]})
    evidence.timeline(label, stats.timeline(result.requests, lane), kind="failover")
    mesh.last = result


@when(parsers.re(r'(?P<n>\d+) requests go from (?P<cluster>\S+) to "(?P<service>[^"]+)"(?:, the (?P<how>.+) construction)?$'),
      converters={"n": int})
def requests(target, talos, mesh, evidence, n, cluster, service, how=None):
    ctx = _ctx(target, talos, mesh)
    p = start_probe(target, talos, mesh, cluster, service, n)
    result = traffic.finish(ctx, p)
    assert result.requests, f"probe {p.name} wrote no request lines"
    label = f"{service} from {cluster}" + (f" ({how} construction)" if how else "")
    _record(evidence, mesh, f"{p.name}-from-{cluster}", result, label)


@then(parsers.parse("every request was answered by {cluster}"))
def all_answered_by(mesh, evidence, cluster):
    holds(evidence, "answered-by", K.answered_only_by(mesh.last, _answering(mesh.lab, cluster)))


@then(parsers.re(r"the requests were answered (?P<text>\d+% by .+), within (?P<points>\d+) points at 95% confidence$"),
      converters={"points": int})
def split(mesh, evidence, text, points):
    """Each member answered its share ("25% by talos-east, 50% by talos-west and 25% by piCluster": every member the
    client sees, labsim/provisioners/mesh/workload.py `shares_text`), and no request failed."""
    said = [re.fullmatch(r"(\d+)% by (.+)", part) for part in _members(text)]
    if not all(said):
        raise AssertionError(f"not a split of the requests: {text!r} (want \"25% by a, 50% by b and 25% by c\")")
    shares = [(_answers(mesh.lab, m[2]), int(m[1])) for m in said]
    evidence.timeline("split " + " / ".join(f"{n} {p}%" for n, p in shares),
                      stats.split_timeline(mesh.last.requests, {n: p / 100 for n, p in shares}, points / 100),
                      kind="split")
    holds(evidence, "split", K.split(mesh.last, shares, points), findings=True)


@then(parsers.parse("about {pct:d}% of them failed"))
def about_failed(mesh, evidence, pct):
    holds(evidence, "failed-share", K.about_failed(mesh.last.requests, pct), findings=True)


@then(parsers.parse('{n:d} requests from {cluster} to "{service}" all fail'))
def all_fail(target, talos, mesh, evidence, n, cluster, service):
    requests(target, talos, mesh, evidence, n, cluster, service)
    holds(evidence, "all-failed", K.all_failed(mesh.last))


# --- probes running across a fault -------------------------------------------------------------------------------------
@given(parsers.parse('a probe of {n:d} requests runs from {cluster} against "{service}"'))
def probe_runs(target, talos, mesh, n, cluster, service):
    mesh.probe = start_probe(target, talos, mesh, cluster, service, n)
    mesh.probe_from = cluster


def _at(target, talos, mesh: MeshRun, seconds: float) -> float:
    return traffic.until(_ctx(target, talos, mesh), mesh.probe, seconds)


def _scale(target, talos, mesh: MeshRun, services: list[str], cluster: str, replicas: int) -> None:
    ctx = _ctx(target, talos, mesh)
    for member in _members(cluster):
        for s in services:
            ctx.kube(_member(mesh.lab, member)).scale(s, _services(mesh).namespace_of(s), replicas)


@when(parsers.parse('the "{service}" backends of {cluster} are scaled to {replicas:d} at {seconds:d} seconds into '
                    'the probe'))
def scaled_during_probe(target, talos, mesh, service, cluster, replicas, seconds):
    mesh.fault_t = _at(target, talos, mesh, seconds)
    _scale(target, talos, mesh, [service], cluster, replicas)


@when(parsers.re(r'the "(?P<a>[^"]+)" and "(?P<b>[^"]+)" backends of (?P<cluster>.+?) are scaled to (?P<replicas>\d+)$'),
      converters={"replicas": int})
def two_scaled(target, talos, mesh, a, b, cluster, replicas):
    _scale(target, talos, mesh, [a, b], cluster, replicas)
    target.clock.sleep(5)


@when(parsers.re(r'the "(?P<service>[^"]+)" backends of (?P<cluster>.+?) are scaled to (?P<replicas>\d+)$'),
      converters={"replicas": int})
def one_scaled(target, talos, mesh, service, cluster, replicas):
    _scale(target, talos, mesh, [service], cluster, replicas)
    target.clock.sleep(5)


@then(parsers.parse("every request before that was answered by {cluster}"))
def before_fault(target, talos, mesh, evidence, cluster):
    res = traffic.read(_ctx(target, talos, mesh), mesh.probe)
    holds(evidence, "answers-before-the-fault", K.answered_before(res, mesh.fault_t, _answers(mesh.lab, cluster)))


@then(parsers.parse("the traffic is answered by {cluster} within {seconds:d} seconds, with no failed request after "
                    "that"))
def failed_over(target, talos, mesh, evidence, cluster, seconds):
    ctx, p, fault = _ctx(target, talos, mesh), mesh.probe, mesh.fault_t
    traffic.until(ctx, p, min(fault + seconds + 5.0, p.requests * p.interval - p.interval))
    res = traffic.read(ctx, p)
    evidence.timeline(f"{p.name}-to-{cluster}", stats.timeline(res.requests, f"{p.target} from {mesh.probe_from}"),
                      kind="failover")
    holds(evidence, f"failover-to-{cluster}", K.failed_over(res, fault, _answering(mesh.lab, cluster), seconds),
          findings=True)


@when(parsers.parse("the clustermesh-apiserver of {cluster} is scaled to {replicas:d} replicas at {seconds:d} "
                    "seconds into the probe"))
def apiserver_scaled(target, talos, mesh, cluster, replicas, seconds):
    mesh.fault_t = _at(target, talos, mesh, seconds)
    _ctx(target, talos, mesh).kube(cluster).scale("clustermesh-apiserver", NS, replicas)
    target.clock.sleep(5)


@when(parsers.parse("the clustermesh-apiserver of {cluster} is scaled back to {replicas:d} replica"))
def apiserver_back(target, talos, mesh, cluster, replicas):
    ctx = _ctx(target, talos, mesh)
    mesh.back_t = max((r.t for r in traffic.read(ctx, mesh.probe).requests), default=0.0)
    ctx.kube(cluster).scale("clustermesh-apiserver", NS, replicas)


@when("the Cilium agents of every member are restarted and their rollout completes")
def agents_restarted(target, talos, mesh):
    ctx = _ctx(target, talos, mesh)
    stamp = f"mesh-drill-{target.clock.now():.0f}"
    for c in mesh.lab.mesh.clusters:
        ctx.kube(c).rollout_restart("DaemonSet", "cilium", NS, stamp)

    def rolled() -> bool:
        """As `kubectl rollout status ds/cilium`: the new generation observed, every pod updated and available."""
        for c in mesh.lab.mesh.clusters:
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
    kube = ctx.kube(_member(mesh.lab, cluster))
    ns = _services(mesh).namespace_of(service)
    mesh.old_pods = {p.metadata.name for p in kube.pods(ns, f"app={service}")}
    mesh.scaled_t = max((r.t for r in traffic.read(ctx, mesh.probe).requests), default=0.0)
    kube.scale(service, ns, replicas)
    target.clock.sleep(20)
    mesh.new_cluster = _answers(mesh.lab, cluster)


def _new_answers(ctx, mesh: MeshRun, after: float):
    res = traffic.read(ctx, mesh.probe)
    return res, [r for r in res.requests if r.t >= after and r.cluster == mesh.new_cluster
                 and r.pod not in mesh.old_pods]


@then(parsers.parse('the new {cluster} backend of "{service}" gets no request from {client}'))
def new_backend_unknown(target, talos, mesh, evidence, cluster, service, client):
    res, new = _new_answers(_ctx(target, talos, mesh), mesh, mesh.scaled_t)
    evidence.attach("answers-while-apiserver-away", res.counts())
    holds(evidence, "new-backend-unknown", K.new_backend_silent(new, cluster, client))


@then(parsers.parse('the new {cluster} backend of "{service}" answers requests from {client} within {seconds:d} '
                    'seconds'))
def new_backend_known(target, talos, mesh, evidence, cluster, service, client, seconds):
    ctx = _ctx(target, talos, mesh)

    def seen():
        return _new_answers(ctx, mesh, mesh.back_t)[1]
    try:
        wait_for(seen, seconds + 10, 2.0, target.clock, what=f"the new {cluster} backend to answer")
    except WaitTimeout:
        pass
    holds(evidence, "new-backend-synced", K.new_backend_answers(seen(), mesh.back_t, seconds, cluster, client),
          findings=True)


@then("no request of the probe failed")
def probe_clean(target, talos, mesh, evidence):
    res = traffic.finish(_ctx(target, talos, mesh), mesh.probe)
    _record(evidence, mesh, mesh.probe.name, res, f"{mesh.probe.target} from {mesh.probe_from}")
    holds(evidence, "probe-clean", [r for r in K.split(res, [], 0) if r.check == "no-failed-request"])


# --- losing a whole cluster ----------------------------------------------------------------------------------------------
def _power_off(target, mesh: MeshRun, cluster: str) -> None:
    for m in mesh.lab.cluster(cluster).members():
        hands.stop(target, m.name)


@when(parsers.parse("every machine of {cluster} is powered off at {seconds:d} seconds into the probe"))
def cluster_lost_during_probe(target, talos, mesh, cluster, seconds):
    mesh.fault_t = _at(target, talos, mesh, seconds)
    _power_off(target, mesh, cluster)


@when(parsers.parse("every machine of {cluster} is powered off"))
def cluster_lost(target, mesh, cluster):
    _power_off(target, mesh, cluster)
    target.clock.sleep(10)


@then(parsers.parse("about {pct:d}% of the requests after the loss fail, until the end of the probe"))
def fail_after_loss(target, talos, mesh, evidence, pct):
    from labsim.provisioners.vocabulary import Result

    res = traffic.finish(_ctx(target, talos, mesh), mesh.probe)
    _record(evidence, mesh, mesh.probe.name, res, f"{mesh.probe.target} from {mesh.probe_from}")
    after = [r for r in res.requests if r.t >= mesh.fault_t + 1.0]
    tail = after[-len(after) // 5:] if after else []
    still = any(r.cluster is None for r in tail)
    holds(evidence, "requests-failing-after-the-loss",
          [*K.about_failed(after, pct, "requests failing after the loss (Cilium keeps the last-known backends)"),
           Result("failing-until-the-end", "requests", still, "requests still fail at the end of the probe" if still
                  else "requests stopped failing before the end of the probe")], findings=True)


@when(parsers.parse("{minutes:d} minutes pass"))
def minutes_pass(target, minutes):
    target.clock.sleep(minutes * 60)


# --- the fabric ---------------------------------------------------------------------------------------------------------
@when(parsers.parse("{device}'s address on {vlan} is disabled"))
def address_disabled(target, device, vlan):
    api = target.routeros(device)
    row = next(r for r in api.path("ip", "address") if r.get("interface") == vlan)
    api.path("ip", "address").update(**{".id": row[".id"], "disabled": True})


# --- policy: who may reach whom (features/mesh_policy.feature) ---------------------------------------------------------
def _app(lab, name: str):
    return next(a for a in lab.mesh.applications if a.name == name)


def _drops_before(target, talos, mesh: MeshRun, members: list[str]) -> None:
    """The policy drops of the members a later step counts, before a probe, to tell the probe's own drops apart."""
    from labsim.provisioners.mesh import drops
    ctx = _ctx(target, talos, mesh)
    mesh.drops_before = {c: drops.read(ctx, c).reason("Policy denied") for c in members}


@then("every member has the access policies of the lab file's applications")
def policies_present(target, talos, mesh, evidence):
    holds(evidence, "mesh-policies", M.verify_policies(mesh.lab, _ctx(target, talos, mesh), _services(mesh)))


@when(parsers.re(r'(?P<n>\d+) requests go from (?P<app>\S+) in (?P<cluster>\S+) to "(?P<service>[^"]+)"$'),
      converters={"n": int})
def requests_as_app(target, talos, mesh, evidence, request, n, app, cluster, service):
    from labsim.provisioners.mesh.workload import Client
    a = _app(mesh.lab, app)
    _probe_as(target, talos, mesh, evidence, n, cluster, service, Client(a.namespace, a.pod_labels, a.name),
              _counted(request, mesh.lab))


@when(parsers.re(r'(?P<n>\d+) requests go from a pod without (?P<app>\S+)\'s labels in (?P<cluster>\S+) to '
                 r'"(?P<service>[^"]+)"$'), converters={"n": int})
def requests_unlabelled(target, talos, mesh, evidence, request, n, app, cluster, service):
    from labsim.provisioners.mesh.workload import without_labels
    _probe_as(target, talos, mesh, evidence, n, cluster, service, without_labels(_app(mesh.lab, app)),
              _counted(request, mesh.lab))


def _counted(request, lab) -> list[str]:
    """The members whose Cilium agents a later step counts this probe's drops on (`denied_and_counted`, before the
    next probe): only their agents' counts are read before it, a `kubectl exec` into each agent pod (four per
    member here). A step whose members are not plain names gets every member read."""
    from labsim.steps import harness
    for step in harness.steps_after(request):
        if m := DROPS_COUNTED.search(step):
            try:
                return _named(lab, m["cluster"])
            except StopIteration:
                return list(lab.mesh.clusters)
        if PROBE_AS.search(step):     # the next probe reads its own
            return []
    return []


def _probe_as(target, talos, mesh: MeshRun, evidence, n: int, cluster: str, service: str, client,
              counted: list[str]) -> None:
    if counted:
        _drops_before(target, talos, mesh, counted)
    ctx = _ctx(target, talos, mesh)
    p = start_probe(target, talos, mesh, cluster, service, n, client)
    result = traffic.finish(ctx, p)
    assert result.requests, f"probe {p.name} wrote no request lines"
    _record(evidence, mesh, f"{p.name}-from-{cluster}", result, f"{service} from {client.name} in {cluster}")


DROPS_COUNTED = re.compile(r"every request failed, and (?P<cluster>.+)'s Cilium agents count them as \"")
PROBE_AS = re.compile(r"^\d+ requests go from (?:\S+|a pod without \S+'s labels) in \S+ to \"")


@then(parsers.parse("every request failed, and {cluster}'s Cilium agents count them as \"{reason}\""))
def denied_and_counted(target, talos, mesh, evidence, cluster, reason):
    from labsim.provisioners.mesh import drops
    counted = 0.0
    for member in _named(mesh.lab, cluster):     # the others of a mesh of three: together
        after = drops.read(_ctx(target, talos, mesh), member)
        evidence.attach(f"cilium-drops-{member}", after.text, "text/plain")
        assert member in mesh.drops_before, f"{member}'s drops were not read before the probe: nothing to count from"
        counted += after.reason(reason) - mesh.drops_before[member]
    _transcript(evidence, mesh, "cilium-drops-tools")
    holds(evidence, "policy-denied", K.all_failed(mesh.last) + K.drops_counted(
        " and ".join(_named(mesh.lab, cluster)), reason, counted, len(mesh.last.requests)))


@when(parsers.parse('the access policy of "{service}" is deleted by hand in {cluster}'))
def policy_deleted(target, talos, mesh, service, cluster):
    from labsim.provisioners.mesh.demo import POLICY_PREFIX
    ctx = _ctx(target, talos, mesh)
    ctx.kube(_member(mesh.lab, cluster)).delete("CiliumNetworkPolicy", POLICY_PREFIX + service,
                                                _services(mesh).namespace_of(service))
    target.clock.sleep(5)


@then(parsers.parse('the mesh verification finds the access policy of "{service}" missing in {cluster}'))
def policy_found_missing(target, talos, mesh, evidence, service, cluster):
    from labsim.provisioners.mesh.demo import POLICY_PREFIX
    results = M.verify_policies(mesh.lab, _ctx(target, talos, mesh), _services(mesh))
    evidence.attach("mesh-policies", [str(r) for r in results])
    member = _member(mesh.lab, cluster)
    holds(evidence, "policy-missing", K.found_missing(results, f"{member} ", POLICY_PREFIX + service))


# --- the owners' verification: cilium connectivity test --------------------------------------------------------------
def _test_namespaces(ctx: MeshContext, cluster: str) -> set[str]:
    """The namespaces `cilium connectivity test` deploys its workloads to (`--test-namespace`, default cilium-test,
    suffixed -1 .. -N by cilium-cli 0.18)."""
    return {n.metadata.name for n in ctx.kube(cluster).core.list_namespace().items
            if re.fullmatch(r"cilium-test(?:-\d+)?", n.metadata.name)}


@then(parsers.parse("cilium connectivity test from {a} with --multi-cluster {b} passes every test it runs, its junit "
                    "in the evidence"))
def connectivity_test(target, talos, mesh, evidence, a, b):
    _probes_allowed(target, "cilium connectivity test")
    ctx = _ctx(target, talos, mesh)
    members = [_member(mesh.lab, a), _member(mesh.lab, b)]
    before = {c: _test_namespaces(ctx, c) for c in members}
    try:
        results, junit, output = M.connectivity_test(mesh.lab, ctx, *members)
    finally:   # cilium-cli leaves its test namespaces (cilium-test-N) behind: the suite's probes, removed at the end
        mesh.probe_namespaces += [(c, ns) for c in members for ns in sorted(_test_namespaces(ctx, c) - before[c])]
    evidence.attach("cilium-connectivity-test", output, "text/plain")
    if junit:
        evidence.attach("cilium-connectivity-test-junit", junit, "application/xml")
    _transcript(evidence, mesh, "cilium-connectivity-test-tools")
    holds(evidence, "cilium-connectivity-test", results)
