"""Steps for features/ceph_health.feature: thin glue from a sentence to labsim.provisioners.ceph.

The cluster's kubeconfig is the one the Talos provisioner keeps (<workdir>/talos/<cluster>/kubeconfig); the
tools' environment and the clock come from the target. Health is read the engineer's way, through
`kubectl exec deploy/rook-ceph-tools -- ceph ... -f json`, and every poll adds a point to the cluster's health
timeline, attached to the sign-off as a chart.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from labsim.steps.checkpoints import builds
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.ceph import install as I
from labsim.provisioners.ceph import verify as V
from labsim.provisioners.ceph.access import CephAccess
from labsim.provisioners.proxmox.tasks import wait_tasks
from labsim.provisioners.talos.cli import ToolError, Tools
from labsim.provisioners.vocabulary import Result, WaitTimeout, plan_empty, wait_for
from labsim.steps import proxmox_hands as hands
from labsim.steps.common import holds

POLL = 5.0
WATCHES = 10    # a wait of minutes polls `ceph health` at most about this often: see `poll_every`
DOWN_OUT = 600.0


STATE = pytest.StashKey()


@dataclass
class CephRun:
    """What a Ceph scenario has seen: per-cluster access, each cluster's health timeline and last health document,
    the last verification, and the drill's times and mons."""

    tools: Tools
    t0: float
    access: dict[str, CephAccess] = field(default_factory=dict)
    timeline: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    mon_on: dict[str, str | None] = field(default_factory=dict)
    stopped_at: float = 0.0


@pytest.fixture
def ceph(target, request) -> CephRun:
    state = CephRun(tools=target.tools(), t0=target.clock.now())
    request.node.stash[STATE] = state
    return state


def access(target, ceph: CephRun, cluster: str) -> CephAccess:
    if cluster not in ceph.access:
        # the target's (kind), else the one the Talos provisioner keeps
        kubeconfig = target.cluster_kubeconfig(cluster) or Path(target.workdir) / "talos" / cluster / "kubeconfig"
        ceph.access[cluster] = CephAccess(ceph.tools, kubeconfig, target.lab.cluster(cluster).ceph.namespace)
    return ceph.access[cluster]


def health(target, ceph, cluster: str) -> dict:
    """`ceph health detail -f json` through the toolbox, recorded on the cluster's timeline (a toolbox that does
    not answer is a point too: `unreachable`, with the error)."""
    try:
        doc = access(target, ceph, cluster).ceph("health", "detail")
    except ToolError as exc:
        doc = {"status": "unreachable", "checks": {}, "error": str(exc)}
    ceph.health[cluster] = doc
    ceph.timeline.setdefault(cluster, []).append(
        {"t": round(target.clock.now() - ceph.t0, 1), "cluster": cluster, "status": doc.get("status"),
         "checks": sorted(doc.get("checks") or {})})
    return doc


def pytest_bdd_after_scenario(request, feature, scenario):
    """Each cluster's health timeline, once per scenario (also when a step failed): a chart in the sign-off."""
    state = request.node.stash.get(STATE, None)
    if state and state.timeline:
        evidence = request.getfixturevalue("evidence")
        for cluster, points in state.timeline.items():
            evidence.timeline(f"ceph-health-{cluster}", points, kind="health")


def _tools_transcript(evidence, ceph, name: str) -> None:
    lines = ceph.tools.transcript
    if lines:
        evidence.attach(name, "\n\n".join(lines[-40:]), "text/plain")
        lines.clear()


# --- provisioning ------------------------------------------------------------------------------------------------
@given(parsers.parse('Rook-Ceph is provisioned on "{cluster}"'), target_fixture="ceph")
@when(parsers.parse('Rook-Ceph is provisioned on "{cluster}"'), target_fixture="ceph")
@builds
def provisioned(target, ceph, evidence, cluster) -> CephRun:
    acc = access(target, ceph, cluster)
    if not target.writes_allowed:
        evidence.attach(f"ceph-{cluster}", "read-only run: Rook-Ceph is verified as found (no --apply)")
        return ceph
    try:
        report = I.provision(target.lab.cluster(cluster), acc, target.clock)
    finally:
        _tools_transcript(evidence, ceph, f"ceph-{cluster}-tools")
    evidence.attach(f"ceph-{cluster}-install", report.steps + [f"HEALTH_OK after {report.waited:.0f}s"])
    evidence.lab_version("Ceph", str(((report.status.get("version") or {}).get("version")) or ""))
    return ceph


@when(parsers.parse('Rook-Ceph is installed on "{cluster}"'))
def installed(target, ceph, evidence, cluster):
    """The charts only, without waiting for health (a drill that expects a cluster that is not healthy)."""
    try:
        report = I.install(target.lab.cluster(cluster), access(target, ceph, cluster))
    finally:
        _tools_transcript(evidence, ceph, f"ceph-{cluster}-tools")
    evidence.attach(f"ceph-{cluster}-install", report.steps)


# --- verification --------------------------------------------------------------------------------------------------
def _verify(target, ceph, evidence, cluster):
    acc = access(target, ceph, cluster)
    seen = V.observe(acc)
    evidence.attach(f"ceph-{cluster}-observed", seen)
    text = acc.ceph_text("status", check=False)
    evidence.attach(f"ceph-{cluster}-status", text.output, "text/plain")
    return V.verify(target.lab.cluster(cluster), acc, seen)


@then(parsers.parse('the CephCluster of "{cluster}" is Ready and Created with HEALTH_OK'))
def cluster_ready(target, ceph, evidence, cluster):
    ceph.results = _verify(target, ceph, evidence, cluster)
    holds(evidence, f"ceph-{cluster}-ready", [r for r in ceph.results if r.check in ("cephcluster-ready", "ceph-health")])


@then(parsers.parse('Ceph on "{cluster}" has every mon in quorum, one OSD up and in per planned disk and every '
                    'placement group active+clean'))
def daemons_clean(target, ceph, evidence, cluster):
    results = ceph.results or _verify(target, ceph, evidence, cluster)
    holds(evidence, f"ceph-{cluster}-daemons", [r for r in results if r.check in ("mon-quorum", "osds-up-in", "pgs-clean")])


@then(parsers.parse('Ceph on "{cluster}" has one active mgr and the standbys the lab file plans'))
def mgrs_as_planned(target, ceph, evidence, cluster):
    try:
        status = access(target, ceph, cluster).ceph("status")
    except ToolError as exc:
        status = {"error": str(exc)}
    holds(evidence, f"ceph-{cluster}-mgrs", [V.mgrs_result(target.lab.cluster(cluster), status)])


@then(parsers.parse('Ceph on "{cluster}" has every pool the lab file plans'))
def pools_as_planned(target, ceph, evidence, cluster):
    try:
        names = access(target, ceph, cluster).ceph("osd", "pool", "ls")
    except ToolError as exc:
        names = {"error": str(exc)}
    holds(evidence, f"ceph-{cluster}-pools", [V.pools_result(target.lab.cluster(cluster), names)])


@then(parsers.parse('a second plan of Rook-Ceph on "{cluster}" has nothing to do'))
def second_plan_empty(target, ceph, evidence, cluster):
    try:
        p = I.plan(target.lab.cluster(cluster), access(target, ceph, cluster))
    finally:
        _tools_transcript(evidence, ceph, f"ceph-{cluster}-plan")
    holds(evidence, f"ceph-{cluster}-plan", [plan_empty(f"rook-ceph {cluster}", p)])


@then(parsers.parse('verification of "{cluster}" reports "{check}" failing with "{text}"'))
def verification_fails(target, ceph, evidence, cluster, check, text):
    found = [r for r in _verify(target, ceph, evidence, cluster) if r.check == check]
    holds(evidence, f"ceph-{cluster}-verify", [Result(f"{check}-fails", r.subject, not r.ok and text in r.message,
                                                      r.message) for r in found])


# --- health over time ---------------------------------------------------------------------------------------------
def poll_every(timeout: float, floor: float = POLL) -> float:
    """How often a wait for Ceph polls it: every 5 s (or `floor`), or every tenth of a longer wait (66 s in 11
    minutes). Each poll is a `kubectl exec` into the toolbox (the real kubectl: about 60 ms of CPU to start), in the
    lab as in the simulator; a check that is allowed minutes is not made more precise by watching it every 5 s, and
    the deadline itself is always polled. A breakage that keeps it from holding costs a run 10 polls, not 132."""
    return max(floor, timeout / WATCHES)


def _within(target, ceph: CephRun, cluster: str, timeout: float, wants: list[tuple[str, str]]) -> list[Result]:
    """Poll `ceph health detail` (every point on the cluster's timeline) until every (code, text) is raised, or
    `timeout` passes; the results then say what Ceph said last."""
    try:
        wait_for(lambda: all(V.raised(health(target, ceph, cluster), c, t) for c, t in wants), timeout, poll_every(timeout),
                 target.clock, f"{', '.join(c for c, _ in wants)} on {cluster}")
    except WaitTimeout:
        pass
    return V.reports(ceph.health.get(cluster, {}), cluster, wants)


def mon_on(target, ceph, cluster: str, node: str) -> str | None:
    acc = access(target, ceph, cluster)
    pods = json.loads(acc.kubectl("-n", acc.namespace, "get", "pods", "-l", "app=rook-ceph-mon", "-o", "json").stdout)
    return next((p["metadata"]["labels"].get("mon") for p in pods.get("items") or []
                 if (p.get("spec") or {}).get("nodeName") == node), None)


@then(parsers.parse('within {seconds:d} seconds Ceph on "{cluster}" reports OSD_DOWN, OSD_HOST_DOWN and '
                    'PG_DEGRADED, and MON_DOWN as a mon ran on "{node}"'))
def host_down_reported(target, ceph, evidence, cluster, seconds, node):
    mon = ceph.mon_on.get(node)
    wants = [("OSD_DOWN", ""), ("OSD_HOST_DOWN", f"host {node} (root=default)"), ("PG_DEGRADED", "")] + \
        ([("MON_DOWN", f"mon.{mon} ")] if mon else [])
    elapsed = target.clock.now() - ceph.stopped_at
    holds(evidence, f"ceph-{cluster}-reports", _within(target, ceph, cluster, max(0.0, seconds - elapsed), wants))


@then(parsers.parse('within {seconds:d} seconds Ceph on "{cluster}" reports {code} with "{text}"'))
@then(parsers.parse('Ceph on "{cluster}" reports {code} with "{text}"'))
def reports(target, ceph, evidence, cluster, code, text, seconds=0):
    holds(evidence, f"ceph-{cluster}-reports", _within(target, ceph, cluster, seconds, [(code, text)]))


@then(parsers.parse('within {minutes:d} minutes Ceph on "{cluster}" reports {code} naming the mon on "{node}"'))
def reports_mon(target, ceph, evidence, cluster, minutes, code, node):
    mon = mon_on(target, ceph, cluster, node)
    holds(evidence, f"ceph-{cluster}-reports", _within(target, ceph, cluster, minutes * 60.0, [(code, f"mon.{mon}")])
          if mon else [Result("ceph-reports", f"{cluster} {code}", False, f"no mon runs on {node}")])


@then(parsers.parse('within {minutes:d} minutes Ceph on "{cluster}" reports {code} with "{text}"'))
def reports_minutes(target, ceph, evidence, cluster, minutes, code, text):
    holds(evidence, f"ceph-{cluster}-reports", _within(target, ceph, cluster, minutes * 60.0, [(code, text)]))


@then(parsers.parse('the health of "{cluster}" is {status}'))
def health_is(target, ceph, evidence, cluster, status):
    doc = health(target, ceph, cluster)
    holds(evidence, f"ceph-{cluster}-status", [Result("ceph-status", cluster, doc.get("status") == status,
                                                      V.summary(doc))])


@then(parsers.parse('Ceph on "{cluster}" returns to HEALTH_OK within {minutes:d} minutes'))
def back_to_ok(target, ceph, evidence, cluster, minutes):
    try:
        wait_for(lambda: health(target, ceph, cluster).get("status") == "HEALTH_OK", minutes * 60.0,
                 poll_every(minutes * 60.0), target.clock, f"HEALTH_OK on {cluster}")
    except WaitTimeout:
        pass
    doc = ceph.health.get(cluster, {})
    holds(evidence, f"ceph-{cluster}-status", [Result("ceph-status", cluster, doc.get("status") == "HEALTH_OK",
                                                      f"within {minutes} minutes: {V.summary(doc)}")])


@then(parsers.parse('the OSD of "{node}" on "{cluster}" is down and out, and placement groups stay undersized '
                    'and degraded'))
def out_but_degraded(target, ceph, evidence, cluster, node):
    tree = access(target, ceph, cluster).ceph("osd", "tree")
    evidence.attach(f"ceph-{cluster}-osd-tree", tree)
    holds(evidence, f"ceph-{cluster}-out", V.osd_down_and_out(tree, node) + V.reports(
        health(target, ceph, cluster), cluster, [("PG_DEGRADED", "pgs undersized"), ("PG_DEGRADED", "objects degraded")]))


# --- the engineer's hands ---------------------------------------------------------------------------------------
@when(parsers.parse('the worker VM "{node}" of "{cluster}" is stopped'))
def stop_vm(target, ceph, cluster, node):
    ceph.mon_on[node] = mon_on(target, ceph, cluster, node)
    health(target, ceph, cluster)
    ceph.stopped_at = target.clock.now()
    hands.stop(target, node)


@when(parsers.parse('the worker VM "{node}" of "{cluster}" is started'))
def start_vm(target, ceph, cluster, node):
    api = target.proxmox()
    pve, vmid = hands.find_vm(api, node)
    wait_tasks(api, [(pve, api.nodes(pve).qemu(vmid).status.start.post())], target.clock, hands.HAND_TIMEOUT, 1.0)


@when(parsers.parse("the down-out interval of {minutes:d} minutes has passed"))
def down_out_passed(target, ceph, minutes):
    end = ceph.stopped_at + minutes * 60.0 + 30.0
    target.clock.sleep(max(0.0, end - target.clock.now()))


@when(parsers.parse('an engineer scales the OSDs of "{a}" and "{b}" on "{cluster}" to zero'))
def scale_osds(target, ceph, cluster, a, b):
    acc = access(target, ceph, cluster)
    for node in (a, b):
        acc.kubectl("-n", acc.namespace, "scale", "deployment", "-l",
                    f"app=rook-ceph-osd,topology-location-host={node}", "--replicas=0")


@when(parsers.parse('an engineer archives the crash reports of "{cluster}"'))
def archive(target, ceph, cluster):
    access(target, ceph, cluster).ceph_text("crash", "archive-all")


@then(parsers.parse('the OSD prepare log of "{node}" on "{cluster}" says \'{text}\''))
def prepare_log(target, ceph, evidence, cluster, node, text):
    acc = access(target, ceph, cluster)
    got: list[str] = []

    def log():
        ran = acc.kubectl("-n", acc.namespace, "logs", f"job/rook-ceph-osd-prepare-{node}", "-c", "provision",
                          check=False)
        got[:] = [ran.stdout]
        return text in ran.stdout
    try:
        wait_for(log, 600, poll_every(600, 15), target.clock, f"the prepare job of {node} to log {text!r}")
    except WaitTimeout:
        pass
    evidence.attach(f"ceph-{cluster}-prepare-{node}", got[0] if got else "", "text/plain")
    holds(evidence, f"ceph-{cluster}-prepare-log", [Result("osd-prepare-log", node, bool(got) and text in got[0],
                                                           f"the prepare job of {node} logs {text!r}" if got and text in got[0]
                                                           else f"waiting for the prepare job of {node} to log {text!r}: "
                                                                f"{(got[0] if got else '')[-500:]}")])
