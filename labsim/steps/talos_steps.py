"""Steps for features/talos_clusters.feature: thin glue from a sentence to labsim.provisioners.talos.

The target hands over what the lab code needs: the tools' environment (the real PATH in the lab, the fake
talosctl/helm and the control API in the simulator), its clock, a Proxmox client and a working directory
for the cluster's secrets, configs, talosconfig and kubeconfig.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from labsim.steps.checkpoints import builds
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.lab import load_lab
from labsim.provisioners.proxmox.run import provision as provision_vms
from labsim.provisioners.talos import bootstrap as B
from labsim.provisioners.talos import drills as D
from labsim.provisioners.talos import health as H
from labsim.provisioners.talos import run as T
from labsim.provisioners.talos import verify as V
from labsim.provisioners.talos.cilium import AGENT_CAPS
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.kube import Kube
from labsim.provisioners.talos.nodes import Machine
from labsim.provisioners.vocabulary import Result, WaitTimeout, plan_empty, wait_for
from labsim.steps import proxmox_hands as hands
from labsim.steps.common import cluster_data, holds, lab_copy


@dataclass
class TalosRun:
    """What a Talos scenario has seen: the lab file in use (or its copy), the provisioner's context, its reports, the
    machines provisioning found, and what the drills did. Every talosctl/helm call's transcript is attached as
    evidence by the step that ran it."""

    lab: Any
    tools: Tools
    ctx: TalosContext | None = None
    reports: list[T.Report] = field(default_factory=list)
    machines: dict[str, list[Machine]] = field(default_factory=dict)
    verified: list[Result] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    bootstrap_output: str | None = None
    second_plan: T.TalosPlan | None = None


@pytest.fixture
def talos(target) -> TalosRun:
    return TalosRun(lab=target.lab, tools=target.tools())


def context(target, talos: TalosRun) -> TalosContext:
    if talos.ctx is None:
        workdir = Path(target.workdir) / "talos"
        talos.tools.cwd = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        talos.ctx = TalosContext(talos.tools, target.clock, target.proxmox(), workdir)
    return talos.ctx


def transcript(evidence, talos: TalosRun, name: str) -> None:
    lines = talos.tools.transcript
    if lines:
        evidence.attach(name, "\n\n".join(lines), "text/plain")
        lines.clear()


def record(talos: TalosRun, evidence, report: T.Report) -> None:
    evidence.attach(f"talos-{report.cluster}-changes", (report.changes or ["nothing changed"]) + report.notes)
    talos.reports.append(report)
    talos.machines[report.cluster] = report.machines


def _provision(target, talos: TalosRun, evidence, cluster: str, **kw) -> T.Report:
    ctx = context(target, talos)
    try:
        report = T.provision(talos.lab, cluster, ctx, **kw)
    finally:
        transcript(evidence, talos, f"talos-{cluster}-tools")
    record(talos, evidence, report)
    _versions(target, talos, evidence, cluster)
    return report


def _versions(target, talos: TalosRun, evidence, cluster: str) -> None:
    """Talos and Kubernetes as the cluster reports them, for the sign-off manifest."""
    ctx = context(target, talos)
    cp = next(m for m in talos.machines[cluster] if m.control_plane)
    r = ctx.tools.run(["talosctl", "--talosconfig", str(ctx.cluster_dir(cluster) / "talosconfig"), "-n", cp.address,
                       "-e", cp.address, "version", "--short"], check=False)
    ctx.tools.transcript.pop()
    tag = next((ln.split()[-1] for ln in r.stdout.splitlines()[2:] if "Talos" in ln), "")
    if tag:
        evidence.lab_version(f"Talos {cluster}", tag)
    nodes = _kube(target, talos, cluster).nodes()
    if nodes:
        evidence.lab_version(f"Kubernetes {cluster}", nodes[0].status.node_info.kubelet_version)


def _machines(target, talos: TalosRun, cluster: str) -> list[Machine]:
    """The cluster's machines and addresses as provisioning found them (a machine powered off since keeps its
    address here), else as the guest agents report them now."""
    return talos.machines.get(cluster) or T.prepare_readonly(talos.lab, cluster, context(target, talos)).machines


def kubeconfig(target, talos: TalosRun, cluster: str) -> Path:
    """The cluster's kubeconfig: the target's when it hands one out (kind), else the one talosctl wrote."""
    return target.cluster_kubeconfig(cluster) or context(target, talos).cluster_dir(cluster) / "kubeconfig"


def _kube(target, talos: TalosRun, cluster: str) -> Kube:
    return Kube(kubeconfig(target, talos, cluster))


# --- provisioning ---------------------------------------------------------------------------------------------
@given(parsers.parse('the Talos cluster "{cluster}" is provisioned'), target_fixture="talos")
@builds
def cluster_provisioned(target, talos, evidence, cluster) -> TalosRun:
    if target.clusters_given:
        evidence.attach(f"talos-{cluster}", f"the {target.name} target hands the cluster out: used as found")
    elif not target.writes_allowed:
        evidence.attach(f"talos-{cluster}", "read-only run: the cluster is verified as found (no --apply)")
    else:
        _provision(target, talos, evidence, cluster)
    return talos


@when(parsers.parse('the Talos cluster "{cluster}" is provisioned again'))
def provisioned_again(target, talos, evidence, cluster):
    """Planned first, from what the cluster reports (the plan must be empty), then provisioned again."""
    ctx = context(target, talos)
    try:
        talos.second_plan = T.plan(talos.lab, cluster, ctx)
    finally:
        transcript(evidence, talos, f"talos-{cluster}-plan")
    evidence.attach(f"talos-{cluster}-plan", talos.second_plan.describe() or ["nothing to do"])
    _provision(target, talos, evidence, cluster)


@given(parsers.parse('a copy of the lab file where the workers of "{cluster}" have {memory:d} MiB of memory '
                     'and a {disk:d} GiB system disk'), target_fixture="talos")
def lab_copy_sized(target, talos, tmp_path, cluster, memory, disk) -> TalosRun:
    def edit(data):
        workers = cluster_data(data, cluster)["machines"]["workers"]
        workers["memory_mib"] = memory
        workers["disks"][0]["size_gib"] = disk
    talos.lab = load_lab(lab_copy(target, tmp_path, edit))
    return talos


@given(parsers.parse('a copy of the lab file where "{cluster}" has no CNI'), target_fixture="talos")
def lab_copy_without_cni(target, talos, tmp_path, cluster) -> TalosRun:
    """`cni: none` and no Cilium: the cluster is built exactly as before, and nothing installs a CNI. The copy
    leaves the mesh out (its members need Cilium)."""
    def edit(data):
        c = cluster_data(data, cluster)
        c["cni"] = "none"
        c.pop("cilium", None)
        c.pop("ceph", None)
        data.pop("mesh", None)
    talos.lab = load_lab(lab_copy(target, tmp_path, edit))
    return talos


@given("the VMs are provisioned from that copy")
def vms_from_copy(target, talos, evidence):
    done = provision_vms(talos.lab, target.proxmox(), target.clock)
    evidence.attach("vm-plan", done.plan.describe())


@when(parsers.parse('the Talos cluster "{cluster}" is provisioned from that copy'))
def provisioned_from_copy(target, talos, evidence, cluster):
    _provision(target, talos, evidence, cluster)


@when(parsers.parse('the Talos cluster "{cluster}" is provisioned with SYS_MODULE added to the Cilium agent\'s '
                    'capabilities'))
def provisioned_sys_module(target, talos, evidence, cluster):
    caps = AGENT_CAPS + ["SYS_MODULE"]
    _provision(target, talos, evidence, cluster, wait_ready=False,
               cilium_overrides={"securityContext": {"capabilities": {"ciliumAgent": caps}}})


# --- verification -----------------------------------------------------------------------------------------------
def _verified(target, talos: TalosRun, evidence, cluster: str) -> list[Result]:
    if not talos.verified:
        talos.verified = T.verify(talos.lab, cluster, context(target, talos), machines=talos.machines.get(cluster))
        transcript(evidence, talos, f"talos-{cluster}-health")
    return talos.verified


@then(parsers.parse('every talosctl health check of "{cluster}" passes'))
def health_passes(target, talos, evidence, cluster):
    holds(evidence, f"talos-{cluster}-health", [r for r in _verified(target, talos, evidence, cluster)
                                                if r.check in ("talos-health", "talos-address")])


@then(parsers.parse('every node of "{cluster}" is Ready with Cilium and CoreDNS running and kube-proxy as '
                    'the lab file says'))
def kube_healthy(target, talos, evidence, cluster):
    holds(evidence, f"talos-{cluster}-kubernetes",
          [r for r in _verified(target, talos, evidence, cluster)
           if r.check in ("k8s-node-ready", "k8s-node-schedulable", "coredns-ready", "cilium-ready", "cilium-settings",
                          "kube-proxy")])


@then(parsers.parse('kubectl with the kubeconfig talosctl wrote lists every node of "{cluster}" Ready'))
def kubectl_lists_nodes(target, talos, evidence, cluster):
    ctx = context(target, talos)
    results = D.kubectl_nodes_ready(ctx, ctx.cluster_dir(cluster) / "kubeconfig", _machines(target, talos, cluster))
    transcript(evidence, talos, f"talos-{cluster}-kubectl")
    holds(evidence, f"talos-{cluster}-kubectl-nodes", results)


def _vip(target, talos: TalosRun, cluster: str) -> Result:
    ctx = context(target, talos)
    holders = V.vip_holders(ctx, ctx.cluster_dir(cluster) / "talosconfig", _machines(target, talos, cluster),
                            str(talos.lab.cluster(cluster).vip))
    return V.vip_result(talos.lab, cluster, holders)


@then(parsers.parse('the VIP of "{cluster}" is held by exactly one control plane'))
def vip_held(target, talos, evidence, cluster):
    holds(evidence, f"talos-{cluster}-vip", [_vip(target, talos, cluster)])


@then(parsers.parse('talosctl get members of "{cluster}" lists every machine of the lab file with its planned role '
                    'and Talos version'))
def members_as_planned(target, talos, evidence, cluster):
    ctx = context(target, talos)
    specs = V.members(ctx, ctx.cluster_dir(cluster) / "talosconfig", _machines(target, talos, cluster))
    transcript(evidence, talos, f"talos-{cluster}-members")
    evidence.attach(f"talos-{cluster}-members", specs)
    holds(evidence, f"talos-{cluster}-members", V.members_results(talos.lab, cluster, specs))


@then(parsers.parse('a plan of "{cluster}" has nothing to do: every machine config, etcd and the Cilium release '
                    'as the lab file plans'))
def plan_as_planned(target, talos, evidence, cluster):
    """The provisioner's own plan, read-only: each node's running config against the one the lab file generates."""
    ctx = context(target, talos)
    try:
        p = T.plan(talos.lab, cluster, ctx)
    finally:
        transcript(evidence, talos, f"talos-{cluster}-plan")
    evidence.attach(f"talos-{cluster}-plan", p.describe() or ["nothing to do"])
    holds(evidence, f"talos-{cluster}-plan", [plan_empty(f"talos {cluster}", p)])


@then(parsers.parse('talosctl health of "{cluster}" fails at "{check}" with "{message}"'))
def health_fails_at(target, talos, evidence, cluster, check, message):
    ctx = context(target, talos)
    h = H.run(ctx, ctx.cluster_dir(cluster) / "talosconfig", _machines(target, talos, cluster), wait="10m")
    transcript(evidence, talos, f"talos-{cluster}-health")
    evidence.attach(f"talos-{cluster}-health-lines", h.lines)
    holds(evidence, f"talos-{cluster}-health-fails", D.health_fails_at(h, check, message))


# --- idempotence ------------------------------------------------------------------------------------------------
@then(parsers.parse('nothing was applied, bootstrapped or upgraded on "{cluster}"'))
def nothing_changed(talos, evidence, cluster):
    planned = [plan_empty(f"talos {cluster}", talos.second_plan)] if talos.second_plan is not None else []
    holds(evidence, f"talos-{cluster}-second-run",
          planned + D.changed_nothing([r for r in talos.reports if r.cluster == cluster][-1]))


# --- bootstrap ----------------------------------------------------------------------------------------------------
@when(parsers.parse('an engineer runs talosctl bootstrap on the first control plane of "{cluster}" again'))
def bootstrap_again(target, talos, evidence, cluster):
    ctx = context(target, talos)
    cp = next(m for m in _machines(target, talos, cluster) if m.control_plane)
    talos.bootstrap_output = B.bootstrap(ctx, ctx.cluster_dir(cluster) / "talosconfig", cp)
    transcript(evidence, talos, "talos-bootstrap-again")


@then(parsers.parse('talosctl refuses with "{message}"'))
def bootstrap_refused(talos, evidence, message):
    holds(evidence, "talosctl-refused", D.refused_with(talos.bootstrap_output, message))


# --- control plane losses -----------------------------------------------------------------------------------------
@when(parsers.parse('the control plane holding the VIP of "{cluster}" is powered off'))
def vip_holder_off(target, talos, evidence, cluster):
    result = holds(evidence, f"talos-{cluster}-vip-before", [_vip(target, talos, cluster)])[0]
    talos.lost = [result.evidence["holders"][0]]
    hands.stop(target, talos.lost[0])


@when(parsers.parse('another control plane of "{cluster}" is powered off'))
def another_cp_off(target, talos, cluster):
    other = next(m.name for m in talos.lab.cluster(cluster).control_planes() if m.name not in talos.lost)
    talos.lost.append(other)
    hands.stop(target, other)


@then(parsers.parse('the Kubernetes API of "{cluster}" still answers'))
def api_answers(target, talos, evidence, cluster):
    holds(evidence, f"talos-{cluster}-api", D.api_answers(_kube(target, talos, cluster), cluster, True, talos.lost))


@then(parsers.parse('the VIP of "{cluster}" moves to another control plane within {seconds:d} seconds'))
def vip_moves(target, talos, evidence, cluster, seconds):
    seen: list[Result] = []

    def moved():
        seen.append(_vip(target, talos, cluster))
        return seen[-1].ok and seen[-1].evidence["holders"][0] not in talos.lost
    try:
        wait_for(moved, seconds, 5, target.clock, what=f"the VIP of {cluster} to move")
    except WaitTimeout:
        pass
    transcript(evidence, talos, f"talos-{cluster}-vip")
    last = seen[-1]
    holds(evidence, f"talos-{cluster}-vip", [
        Result("talos-vip-moved", last.subject, last.ok and last.evidence["holders"][0] not in talos.lost,
               f"{last.message} (lost: {', '.join(talos.lost)}; within {seconds} s)", last.evidence)])


@then(parsers.parse('the Kubernetes API of "{cluster}" no longer answers'))
def api_gone(target, talos, evidence, cluster):
    holds(evidence, f"talos-{cluster}-api", D.api_answers(_kube(target, talos, cluster), cluster, False, talos.lost))


@then(parsers.parse('no control plane of "{cluster}" holds the VIP'))
def vip_gone(target, talos, evidence, cluster):
    r = _vip(target, talos, cluster)
    holds(evidence, f"talos-{cluster}-vip", [Result("talos-vip-gone", r.subject, not r.evidence["holders"],
                                                    f"the VIP is {r.message} without quorum", r.evidence)])


# --- a worker lost ---------------------------------------------------------------------------------------------------
@given(parsers.parse('a Deployment "{name}" with {replicas:d} replicas runs on the workers of "{cluster}"'))
def workload(target, talos, evidence, name, replicas, cluster):
    from kubernetes import client
    kube = _kube(target, talos, cluster)
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name, labels={"app": name}),
        spec=client.V1DeploymentSpec(replicas=replicas, selector=client.V1LabelSelector(match_labels={"app": name}),
                                     template=client.V1PodTemplateSpec(
                                         metadata=client.V1ObjectMeta(labels={"app": name}),
                                         spec=client.V1PodSpec(containers=[client.V1Container(
                                             name=name, image="registry.k8s.io/pause:3.10")]))))
    kube.apps.create_namespaced_deployment("default", body)
    wait_for(lambda: (kube.deployment(name, "default").status.ready_replicas or 0) == replicas, 300, 5,
             target.clock, what=f"{replicas} ready replicas of {name}")


@when(parsers.parse('the worker "{name}" is powered off'))
def worker_off(target, talos, name):
    talos.lost = [name]
    hands.stop(target, name)


@then(parsers.parse('the node "{name}" of "{cluster}" is NotReady within {seconds:d} seconds'))
def node_not_ready(target, talos, evidence, name, cluster, seconds):
    holds(evidence, f"node-{name}", D.node_not_ready_within(_kube(target, talos, cluster), name, seconds, target.clock))


@then(parsers.parse('the pods of "{app}" on "{name}" are evicted after the default toleration and run on other '
                    'workers'))
def evicted(target, talos, evidence, app, name):
    cluster = next(c.name for c in talos.lab.clusters if name in [m.name for m in c.members()])
    holds(evidence, f"evicted-{app}", D.evicted(_kube(target, talos, cluster), app, name, target.clock))


# --- Cilium on Talos -------------------------------------------------------------------------------------------------
@then(parsers.parse('the Cilium agents of "{cluster}" fail with "{message}"'))
def agents_fail(target, talos, evidence, cluster, message):
    holds(evidence, f"cilium-{cluster}-events", D.agents_fail_with(_kube(target, talos, cluster), message, target.clock))


@then(parsers.parse('the nodes of "{cluster}" stay NotReady for {seconds:d} seconds'))
def stay_not_ready(target, talos, evidence, cluster, seconds):
    holds(evidence, f"talos-{cluster}-not-ready",
          D.stay_not_ready(_kube(target, talos, cluster), cluster, seconds, target.clock))


@then(parsers.parse('the nodes of "{cluster}" reboot once the {minutes:d} minutes the Talos guide gives for '
                    'installing a CNI are over'))
def rebooted_after_cni_window(target, talos, evidence, cluster, minutes):
    names = {m.name for m in talos.machines[cluster]}
    holds(evidence, f"talos-{cluster}-reboots",
          D.rebooted_after_cni_window(_kube(target, talos, cluster), names, minutes, target.clock))
