"""The mesh from the lab file's `mesh:` section, end to end, and its read-only verification.

    preflight: the lab file's checks (labsim/provisioners/mesh_plan.py), then what the members' running Cilium says
               (`preflight`): the same max-connected-clusters as the lab file's mesh, kube-proxy replacement on every
               member or none, Cilium versions at most one minor apart; refused (MeshRefused) before any write
    plan:      what the members report they still need (CA, settings, enable, connect, the lab's services)
    apply:     provision the plan's mesh
    provision: plan checks (labsim/provisioners/mesh_plan.py, refused before any write) -> share the CA -> mesh settings
               on every member (Helm) -> `cilium clustermesh enable` where needed -> `connect` every pair (or hub
               and spoke) not connected yet -> `clustermesh status --wait` -> the lab file's global services
    verify:    `cilium clustermesh status` of every member (all nodes connected to all clusters), the services
               under test present with their annotations in every cluster, their backends ready

The services under test are the lab file's, or the suite's own probe services (labsim/provisioners/mesh/workload.py),
which a scenario deploys with `deploy_workload` and removes with `remove_workload`.

A second run writes nothing: each step compares what the clusters report with what the lab file wants.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError

from labsim.provisioners.vocabulary import Actions, Result, WaitTimeout, wait_for
from labsim.provisioners.mesh import connect as C
from labsim.provisioners.mesh import demo, settings
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.mesh.kube import CUSTOM
from labsim.provisioners.mesh.workload import Workload, workload
from labsim.provisioners.mesh_plan import mesh_plan

NS = "kube-system"
CRD_TIMEOUT = 300.0
READY_TIMEOUT = 300.0
INTERVAL = 5.0


class MeshRefused(Exception):
    def __init__(self, results: list[Result]):
        self.results = results
        super().__init__("the mesh is refused before any change:\n" + "\n".join(str(r) for r in results))


@dataclass
class Report:
    changes: list[str] = field(default_factory=list)
    statuses: dict[str, C.Status] = field(default_factory=dict)


def plan_checks(lab) -> list[Result]:
    """What the lab file alone says about the mesh (reused from mesh_plan): each member's id and pod CIDR."""
    out = []
    for name in lab.mesh.clusters:
        c = lab.cluster(name)
        out += mesh_plan(lab, name, c.cilium.cluster_id if c.cilium else 0)
    return out


@dataclass
class MeshPlan(Actions):
    lab: Any = None


def preflight(lab, ctx: MeshContext) -> list[Result]:
    """What each member's running Cilium says about joining the others, read before anything is written (a hybrid
    mesh: the piCluster's Cilium is RKE2's, installed by rke2-ansible, not by this provisioner):
    - `max-connected-clusters` in cilium-config is the mesh's: Cilium supports 255 and 511, fixed once installed,
      and `cilium clustermesh connect` refuses members that differ (domain.md 1.1);
    - `kube-proxy-replacement` the same on every member (global NodePort and host clients reach remote backends only
      with it: domain.md 1.3 Limits);
    - the agents' Cilium versions at most one minor apart (Documentation/operations/upgrade-warning.rst: "The only
      tested rollback and upgrade path is between consecutive minor releases"; Cilium's ClusterMesh upgrade CI,
      cilium/cilium#27232, runs a mesh across one minor version).
    A member without cilium-config yet is left to the plan (it says to provision it first)."""
    seen: dict[str, dict[str, str]] = {}
    versions: dict[str, tuple[int, int]] = {}
    out = []
    for cluster in lab.mesh.clusters:
        kube = ctx.kube(cluster)
        cm = ((kube.get("ConfigMap", "cilium-config", NS) or {}).get("data")) or None
        if cm is None:
            continue
        seen[cluster] = cm
        have, want = cm.get("max-connected-clusters", "255"), str(lab.mesh.max_connected_clusters)
        out.append(Result("mesh-preflight-max-connected", cluster, have == want,
                          f"{cluster}'s Cilium runs with max-connected-clusters {have}" + ("" if have == want else
                          f" (cilium-config), the lab file's mesh.max_connected_clusters is {want}: Cilium cannot "
                          f"change it on a running cluster; reinstall {cluster}'s Cilium with "
                          f"clustermesh.maxConnectedClusters={want}, or set the mesh's to {have}"),
                          {"cilium-config": have, "mesh.max_connected_clusters": want}))
        image = next((c.get("image", "") for c in (((((kube.get("DaemonSet", "cilium", NS) or {}).get("spec") or {})
                      .get("template") or {}).get("spec") or {}).get("containers") or [])
                      if c.get("name") == "cilium-agent"), "")
        m = re.search(r":v?(\d+)\.(\d+)", image.split("@")[0])
        if m:
            versions[cluster] = (int(m[1]), int(m[2]))
    kpr = {c: cm.get("kube-proxy-replacement", "false") == "true" for c, cm in seen.items()}
    if len(set(kpr.values())) > 1:
        out.append(Result("mesh-preflight-kpr", "mesh", False,
                          "kube-proxy replacement differs between members (cilium-config kube-proxy-replacement): "
                          + ", ".join(f"{c} {'true' if v else 'false'}" for c, v in kpr.items()), kpr))
    elif kpr:
        out.append(Result("mesh-preflight-kpr", "mesh", True, "kube-proxy replacement is "
                          + ("on" if next(iter(kpr.values())) else "off") + " in every member", kpr))
    if versions:
        lo, hi = min(versions.values()), max(versions.values())
        ok = lo[0] == hi[0] and hi[1] - lo[1] <= 1
        shown = ", ".join(f"{c} {a}.{b}" for c, (a, b) in versions.items())
        out.append(Result("mesh-preflight-cilium-versions", "mesh", ok,
                          f"the members' Cilium agents run {shown}" + ("" if ok else
                          ": more than one minor version apart, which Cilium does not support in one mesh"),
                          {c: f"{a}.{b}" for c, (a, b) in versions.items()}))
    return out


def _refuse_unless_ready(lab, ctx: MeshContext | None) -> None:
    """The lab file's checks, then (with clients) the members' running Cilium: refused before any write."""
    bad = [r for r in plan_checks(lab) if not r.ok]
    if not bad and ctx is not None:
        bad = [r for r in preflight(lab, ctx) if not r.ok]
    if bad:
        raise MeshRefused(bad)


def plan(lab, ctx: MeshContext) -> MeshPlan:
    """What the mesh needs, from what the members report; refused (MeshRefused) when the lab file's mesh is wrong."""
    _refuse_unless_ready(lab, ctx)
    members = list(lab.mesh.clusters)
    actions = [f"{c}: cilium-ca copied from {lab.mesh.ca.source}" for c in settings.ca_differs(lab, ctx)]
    for c in members:
        version, have = settings.deployed(ctx, c)
        if version is None:
            actions.append(f"{c}: no deployed cilium release: provision the Talos cluster first")
        elif not settings.subset(settings.wanted(lab, c), have):
            actions.append(f"{c}: cilium mesh settings upgraded")
    actions += [f"{c}: clustermesh enabled" for c in members if not C.is_enabled(lab, ctx, c)]
    actions += [f"{a} <=> {b}: connected" for a, b in C.pairs(lab) if not C.connected(lab, ctx, a, b)]
    wl = workload(lab)
    if not wl.owned:
        actions += [f"{c}: {o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}"
                    for c in members for o in demo.manifests(wl, lab, c) if ctx.kube(c).differs(o)]
    return MeshPlan("mesh", actions, lab=lab)


def apply(plan: MeshPlan, ctx: MeshContext) -> Report:
    return provision(plan.lab, ctx)


def provision(lab, ctx: MeshContext, *, checks: bool = True) -> Report:
    if checks:
        _refuse_unless_ready(lab, ctx)
    report = Report()
    members = list(lab.mesh.clusters)
    shared = settings.share_ca(lab, ctx)
    report.changes += [f"{c}: cilium-ca copied from {lab.mesh.ca.source}" for c in shared]
    settings.ensure_repo(ctx)
    done = each(members, lambda c: settings.apply(lab, ctx, c, force=c in shared))
    report.changes += [f"{c}: cilium {d}" for c, d in zip(members, done) if d]
    done = each(members, lambda c: C.enable(lab, ctx, c))
    report.changes += [f"{c}: clustermesh enabled" for c, d in zip(members, done) if d]
    for a, b in C.pairs(lab):        # one at a time: each connect rewrites both sides' values
        if C.connect(lab, ctx, a, b):
            report.changes.append(f"{a} <=> {b}: connected")
    for cluster, st in zip(members, each(members, lambda c: C.status(ctx, c, wait=C.WAIT, with_json=False))):
        report.statuses[cluster] = st
        if st.rc != 0:
            raise RuntimeError(f"cilium clustermesh status --wait failed on {cluster}:\n{st.text}")
    wl = workload(lab)
    if not wl.owned:     # the lab file's own services are part of what it asks for; the suite's are the scenario's
        report.changes += deploy_workload(lab, ctx, wl)
    return report


def deploy_workload(lab, ctx: MeshContext, wl: Workload) -> list[str]:
    """The workload's backends, services and canary in every member (only what differs), then every backend ready."""
    members = list(lab.mesh.clusters)
    changes = []
    for cluster, writes in zip(members, each(members, lambda c: _deploy(wl, lab, ctx, c))):
        changes += [f"{cluster}: {w}" for w in writes]
    each(members, lambda c: wait_workload_ready(wl, ctx, c))
    return changes


def remove_workload(lab, ctx: MeshContext, wl: Workload) -> list[str]:
    """The suite's own namespace out of every member again (the lab file's services are never removed). A member
    whose API does not answer (a drill powered it off) keeps it: that is said, not raised."""
    if not wl.owned:
        return []
    out = []
    for c in lab.mesh.clusters:
        try:
            if ctx.kube(c).delete("Namespace", wl.namespace):
                out.append(f"{c}: namespace {wl.namespace} deleted")
        except (ApiException, OSError, HTTPError) as exc:
            out.append(f"{c}: namespace {wl.namespace} not deleted: {getattr(exc, 'reason', None) or exc}")
    return out


def each(clusters: list[str], fn):
    """`fn(cluster)` for every member at once (as one engineer per cluster would): results in order, the first
    error raised."""
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def one(cluster: str) -> None:
        try:
            results[cluster] = fn(cluster)
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            errors.append(exc)
    threads = [threading.Thread(target=one, args=(c,), name=f"mesh-{c}") for c in clusters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [results[c] for c in clusters]


def _deploy(wl: Workload, lab, ctx: MeshContext, cluster: str) -> list[str]:
    kube = ctx.kube(cluster)
    before = len(kube.writes)
    for obj in demo.manifests(wl, lab, cluster):
        if obj["kind"] in CUSTOM:
            _wait_crd(ctx, cluster, obj)
        kube.apply(obj)
    return kube.writes[before:]


def _wait_crd(ctx: MeshContext, cluster: str, obj) -> None:
    """Cilium registers its CRDs (CiliumEnvoyConfig, CiliumNetworkPolicy) when it starts: wait for the kind."""
    kube = ctx.kube(cluster)
    group, version, plural = CUSTOM[obj["kind"]]

    def served() -> bool:
        try:
            kube.custom.list_namespaced_custom_object(group, version, obj["metadata"]["namespace"],
                                                      plural, _request_timeout=30)
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
    wait_for(served, CRD_TIMEOUT, INTERVAL, ctx.clock, what=f"the {obj['kind']} CRD in {cluster}")


def wait_workload_ready(wl: Workload, ctx: MeshContext, cluster: str) -> None:
    kube = ctx.kube(cluster)
    want = {(g.name, g.namespace): int(g.replicas.get(cluster, 0)) for g in wl.services}
    wait_for(lambda: all(kube.ready_replicas(n, ns) == r for (n, ns), r in want.items()), READY_TIMEOUT,
             INTERVAL, ctx.clock, what=f"the echo backends of {cluster} to be ready")


# --- verification (read-only) -----------------------------------------------------------------------------------------
def verify_status(lab, ctx: MeshContext) -> tuple[list[Result], dict[str, C.Status]]:
    results, statuses = [], {}
    for cluster in lab.mesh.clusters:
        st = C.status(ctx, cluster)
        statuses[cluster] = st
        remotes = C.remotes_of(lab, cluster)
        ok = st.all_connected(remotes)
        c = st.connectivity
        msg = (f"all {c.get('total')} nodes of {cluster} are connected to {', '.join(remotes)}" if ok else
               f"{cluster}: " + ("; ".join(st.errors()) or st.text.strip().splitlines()[-1] if st.text.strip()
                                 else "no status"))
        results.append(Result("mesh-connected", cluster, ok, msg, {"connectivity": c, "remotes": remotes}))
    return results, statuses


def verify_services(lab, ctx: MeshContext, wl: Workload | None = None) -> list[Result]:
    """Every service under test (the lab file's, else the suite's probe services) in every member, global with its
    affinity, with its backends ready."""
    wl = wl or workload(lab)
    out = []
    for cluster in lab.mesh.clusters:
        kube = ctx.kube(cluster)
        for g in wl.services:
            svc = kube.get("Service", g.name, g.namespace)
            ann = ((svc or {}).get("metadata") or {}).get("annotations") or {}
            want = int(g.replicas.get(cluster, 0))
            ready = kube.ready_replicas(g.name, g.namespace) if svc else 0
            ok = svc is not None and ann.get(demo.GLOBAL) == "true" and ann.get(demo.AFFINITY) == g.affinity \
                and ready == want
            msg = (f"{g.namespace}/{g.name} is global (affinity {g.affinity}) with {ready}/{want} ready backends"
                   if ok else f"{g.namespace}/{g.name} in {cluster}: " +
                   ("missing" if svc is None else f"annotations {ann}, {ready}/{want} ready backends"))
            out.append(Result("mesh-global-service", f"{cluster} {g.namespace}/{g.name}", ok, msg))
    return out


def verify_agents(lab, ctx: MeshContext) -> list[Result]:
    """Each member's Cilium as the mesh needs it, read from the cluster: the agents' DaemonSet ready on every node,
    and `cilium-config` carrying the member's cluster name and id and the mesh's max-connected-clusters (the keys
    `cilium clustermesh connect` compares: cilium-cli clustermesh/clustermesh.go)."""
    out = []
    for cluster in lab.mesh.clusters:
        kube, c = ctx.kube(cluster), lab.cluster(cluster)
        ds = kube.get("DaemonSet", "cilium", NS)
        st = (ds or {}).get("status") or {}
        want, have = st.get("desiredNumberScheduled") or 0, st.get("numberReady") or 0
        out.append(Result("mesh-cilium-ready", cluster, ds is not None and want > 0 and have == want,
                          f"{have}/{want} Cilium agents ready" if ds is not None else "no cilium DaemonSet in kube-system"))
        cm = (kube.get("ConfigMap", "cilium-config", NS) or {}).get("data") or {}
        planned = {"cluster-name": c.cilium_name, "cluster-id": str(c.cilium.cluster_id),
                   "max-connected-clusters": str(lab.mesh.max_connected_clusters)}
        wrong = [f"{k}={cm.get(k)!r} (the lab file asks for {w!r})" for k, w in planned.items() if cm.get(k) != w]
        out.append(Result("mesh-cilium-values", cluster, not wrong,
                          "; ".join(wrong) if wrong else f"cluster {c.cilium_name}, id {c.cilium.cluster_id}",
                          {"cilium-config": {k: cm.get(k) for k in planned}}))
    return out


def verify_apiservers(lab, ctx: MeshContext) -> list[Result]:
    """Each member's clustermesh-apiserver Deployment has all its replicas available (at least one)."""
    out = []
    for cluster in lab.mesh.clusters:
        dep = ctx.kube(cluster).get("Deployment", "clustermesh-apiserver", NS)
        spec, st = (dep or {}).get("spec") or {}, (dep or {}).get("status") or {}
        want, have = spec.get("replicas", 1), st.get("availableReplicas") or 0
        out.append(Result("mesh-apiserver", cluster, dep is not None and want > 0 and have >= want,
                          f"clustermesh-apiserver {have}/{want} available" if dep is not None
                          else "no clustermesh-apiserver Deployment in kube-system"))
    return out


def verify_policies(lab, ctx: MeshContext, wl: Workload | None = None) -> list[Result]:
    """Every access policy of the lab file's applications in every member, as the provisioner writes it."""
    wl = wl or workload(lab)
    out = []
    for cluster in lab.mesh.clusters:
        kube = ctx.kube(cluster)
        for want in demo.policies(wl, lab):
            md = want["metadata"]
            have = kube.get("CiliumNetworkPolicy", md["name"], md["namespace"])
            ok = have is not None and not kube.differs(want)
            out.append(Result("mesh-policy", f"{cluster} {md['namespace']}/{md['name']}", ok,
                              f"CiliumNetworkPolicy {md['namespace']}/{md['name']} in {cluster}: {want['spec']['description']}"
                              if ok else f"CiliumNetworkPolicy {md['namespace']}/{md['name']} in {cluster} is "
                              + ("missing" if have is None else f"not as the lab file says: {have.get('spec')}"),
                              {"want": want["spec"], "have": (have or {}).get("spec")}))
    return out


def verify(lab, ctx: MeshContext, wl: Workload | None = None) -> list[Result]:
    results, _ = verify_status(lab, ctx)
    return results + verify_services(lab, ctx, wl) + verify_policies(lab, ctx, wl)


def wait_connected(lab, ctx: MeshContext, timeout: float = 300.0) -> dict[str, C.Status]:
    seen: dict[str, C.Status] = {}

    def all_ok() -> bool:
        results, statuses = verify_status(lab, ctx)
        seen.update(statuses)
        return all(r.ok for r in results)
    try:
        wait_for(all_ok, timeout, 10.0, ctx.clock, what="every member connected to every other")
    except WaitTimeout:
        pass
    return seen


# --- the owners' sign-off: cilium connectivity test --multi-cluster -----------------------------------------------------
def connectivity_test(lab, ctx: MeshContext, a: str, b: str, tests: str = "") -> tuple[list[Result], str, str]:
    """`cilium --context A connectivity test --multi-cluster B --junit-file ...`, the owners' one verification step:
    its results by named test from the junit file, the junit itself (evidence) and the CLI's output."""
    import xml.etree.ElementTree as ET
    junit = ctx.workdir / f"connectivity-{a}-{b}.xml"
    junit.unlink(missing_ok=True)
    args = ["connectivity", "test", "--multi-cluster", ctx.context(b), "--junit-file", str(junit)]
    if tests:
        args += ["--test", tests]
    ran = ctx.cilium(a, *args, check=False)
    text = junit.read_text() if junit.exists() else ""
    out = []
    if text:
        for case in ET.fromstring(text).iter("testcase"):
            status = case.get("status")
            if status == "skipped":
                continue       # listed in the junit evidence with the reason, never counted as passed
            fail = case.find("failure")
            out.append(Result("connectivity-test", case.get("name", ""), status == "passed",
                              f"{case.get('name')} passed" if status == "passed" else
                              f"{case.get('name')} failed: {(fail.text or '').strip()[:600] if fail is not None else ''}"))
    out.append(Result("connectivity-test-exit", f"{a} -> {b}", ran.rc == 0 and bool(text),
                      "cilium connectivity test passed" if ran.rc == 0 and text else
                      f"cilium connectivity test exited {ran.rc}: {ran.output.strip().splitlines()[-1] if ran.output.strip() else ''}"))
    return out, text, ran.output
