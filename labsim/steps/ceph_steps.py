"""Steps for features/ceph_health.feature: thin glue from a sentence to labsim.provisioners.ceph.

The cluster's kubeconfig is the one the Talos provisioner keeps (<workdir>/talos/<cluster>/kubeconfig); the
tools' environment and the clock come from the target. Health is read the engineer's way, through
`kubectl exec deploy/rook-ceph-tools -- ceph ... -f json`, and every poll adds a point to the cluster's health
timeline, attached to the sign-off as a chart.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.ceph import install as I
from labsim.provisioners.ceph import verify as V
from labsim.provisioners.ceph.access import CephAccess
from labsim.provisioners.clock import wait_for
from labsim.provisioners.proxmox.tasks import wait_tasks
from labsim.provisioners.talos.cli import ToolError, Tools
from labsim.steps import proxmox_hands as hands
from labsim.steps.fabric_steps import _check

POLL = 5.0
DOWN_OUT = 600.0


STATE = pytest.StashKey()


@pytest.fixture
def ceph(target, request):
    """What a scenario has seen: per-cluster access, health timelines, the last health document."""
    state = {"tools": Tools(env=target.tool_env()), "access": {}, "timeline": {}, "health": {},
             "t0": target.clock.now()}
    request.node.stash[STATE] = state
    return state


def access(target, ceph, cluster: str) -> CephAccess:
    if cluster not in ceph["access"]:
        kubeconfig = Path(target.workdir) / "talos" / cluster / "kubeconfig"
        ceph["access"][cluster] = CephAccess(ceph["tools"], kubeconfig, target.lab.cluster(cluster).ceph.namespace)
    return ceph["access"][cluster]


def health(target, ceph, cluster: str) -> dict:
    """`ceph health detail -f json` through the toolbox, recorded on the cluster's timeline (a toolbox that does
    not answer is a point too: `unreachable`, with the error)."""
    try:
        doc = access(target, ceph, cluster).ceph("health", "detail")
    except ToolError as exc:
        doc = {"status": "unreachable", "checks": {}, "error": str(exc)}
    ceph["health"][cluster] = doc
    ceph["timeline"].setdefault(cluster, []).append(
        {"t": round(target.clock.now() - ceph["t0"], 1), "cluster": cluster, "status": doc.get("status"),
         "checks": sorted(doc.get("checks") or {})})
    return doc


def pytest_bdd_after_scenario(request, feature, scenario):
    """Each cluster's health timeline, once per scenario (also when a step failed): a chart in the sign-off."""
    state = request.node.stash.get(STATE, None)
    if state and state["timeline"]:
        evidence = request.getfixturevalue("evidence")
        for cluster, points in state["timeline"].items():
            evidence.timeline(f"ceph-health-{cluster}", points, kind="health")


def _tools_transcript(evidence, ceph, name: str) -> None:
    lines = ceph["tools"].transcript
    if lines:
        evidence.attach(name, "\n\n".join(lines[-40:]), "text/plain")
        lines.clear()


def _summary(doc: dict) -> str:
    if not doc:
        return "(no health read)"
    return f"{doc.get('status')}: " + ("; ".join(V.health_lines(doc)) or doc.get("error", ""))


# --- provisioning ------------------------------------------------------------------------------------------------
@given(parsers.parse('Rook-Ceph is provisioned on "{cluster}"'))
@when(parsers.parse('Rook-Ceph is provisioned on "{cluster}"'))
def provisioned(target, ceph, evidence, cluster):
    acc = access(target, ceph, cluster)
    if not target.writes_allowed:
        evidence.attach(f"ceph-{cluster}", "read-only run: Rook-Ceph is verified as found (no --apply)")
        return
    try:
        report = I.provision(target.lab.cluster(cluster), acc, target.clock)
    finally:
        _tools_transcript(evidence, ceph, f"ceph-{cluster}-tools")
    evidence.attach(f"ceph-{cluster}-install", report.steps + [f"HEALTH_OK after {report.waited:.0f}s"])
    evidence.lab_version("Ceph", str(((report.status.get("version") or {}).get("version")) or ""))


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
    results = _verify(target, ceph, evidence, cluster)
    ceph["results"] = results
    _check(evidence, f"ceph-{cluster}-ready", [r for r in results if r.check in ("cephcluster-ready", "ceph-health")])


@then(parsers.parse('Ceph on "{cluster}" has every mon in quorum, one OSD up and in per planned disk and every '
                    'placement group active+clean'))
def daemons_clean(target, ceph, evidence, cluster):
    results = ceph.get("results") or _verify(target, ceph, evidence, cluster)
    _check(evidence, f"ceph-{cluster}-daemons",
           [r for r in results if r.check in ("mon-quorum", "osds-up-in", "pgs-clean")])


@then(parsers.parse('verification of "{cluster}" reports "{check}" failing with "{text}"'))
def verification_fails(target, ceph, evidence, cluster, check, text):
    results = _verify(target, ceph, evidence, cluster)
    evidence.attach(f"ceph-{cluster}-verify", [r.__dict__ for r in results])
    found = [r for r in results if r.check == check]
    assert found, f"no {check} result"
    assert not found[0].ok and text in found[0].message, f"{check}: {found[0]}"


# --- health over time ---------------------------------------------------------------------------------------------
def _wait_health(target, ceph, cluster, timeout, what, pred):
    try:
        return wait_for(lambda: pred(health(target, ceph, cluster)), timeout, POLL, target.clock, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc.args[0].split('; last seen')[0]}; Ceph said: "
                             f"{_summary(ceph['health'].get(cluster, {}))}") from None


def _raised(doc: dict, code: str, text: str = "") -> bool:
    chk = (doc.get("checks") or {}).get(code)
    if chk is None:
        return False
    words = [chk["summary"]["message"], *[d["message"] for d in chk.get("detail") or []]]
    return not text or any(text in w for w in words)


def mon_on(target, ceph, cluster: str, node: str) -> str | None:
    acc = access(target, ceph, cluster)
    pods = json.loads(acc.kubectl("-n", acc.namespace, "get", "pods", "-l", "app=rook-ceph-mon", "-o", "json").stdout)
    return next((p["metadata"]["labels"].get("mon") for p in pods.get("items") or []
                 if (p.get("spec") or {}).get("nodeName") == node), None)


@then(parsers.parse('within {seconds:d} seconds Ceph on "{cluster}" reports OSD_DOWN, OSD_HOST_DOWN and '
                    'PG_DEGRADED, and MON_DOWN as a mon ran on "{node}"'))
def host_down_reported(target, ceph, cluster, seconds, node):
    mon = ceph.get("mon_on", {}).get(node)
    codes = ["OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED"] + (["MON_DOWN"] if mon else [])
    elapsed = target.clock.now() - ceph["stopped_at"]
    _wait_health(target, ceph, cluster, max(0.0, seconds - elapsed), f"{', '.join(codes)} on {cluster}",
                 lambda d: all(_raised(d, c) for c in codes))
    doc = ceph["health"][cluster]
    assert _raised(doc, "OSD_HOST_DOWN", f"host {node} (root=default)"), _summary(doc)
    if mon:
        assert _raised(doc, "MON_DOWN", f"mon.{mon} "), _summary(doc)


@then(parsers.parse('within {seconds:d} seconds Ceph on "{cluster}" reports {code} with "{text}"'))
@then(parsers.parse('Ceph on "{cluster}" reports {code} with "{text}"'))
def reports(target, ceph, cluster, code, text, seconds=0):
    _wait_health(target, ceph, cluster, seconds, f"{code} on {cluster}", lambda d: _raised(d, code, text))


@then(parsers.parse('within {minutes:d} minutes Ceph on "{cluster}" reports {code} naming the mon on "{node}"'))
def reports_mon(target, ceph, cluster, minutes, code, node):
    mon = mon_on(target, ceph, cluster, node)
    assert mon, f"no mon runs on {node}"
    _wait_health(target, ceph, cluster, minutes * 60.0, f"{code} on {cluster}",
                 lambda d: _raised(d, code, f"mon.{mon}"))


@then(parsers.parse('within {minutes:d} minutes Ceph on "{cluster}" reports {code} with "{text}"'))
def reports_minutes(target, ceph, cluster, minutes, code, text):
    _wait_health(target, ceph, cluster, minutes * 60.0, f"{code} on {cluster}",
                 lambda d: _raised(d, code, text))


@then(parsers.parse('the health of "{cluster}" is {status}'))
def health_is(target, ceph, cluster, status):
    doc = health(target, ceph, cluster)
    assert doc.get("status") == status, _summary(doc)


@then(parsers.parse('Ceph on "{cluster}" returns to HEALTH_OK within {minutes:d} minutes'))
def back_to_ok(target, ceph, cluster, minutes):
    _wait_health(target, ceph, cluster, minutes * 60.0, f"HEALTH_OK on {cluster}",
                 lambda d: d.get("status") == "HEALTH_OK")


@then(parsers.parse('the OSD of "{node}" on "{cluster}" is down and out, and placement groups stay undersized '
                    'and degraded'))
def out_but_degraded(target, ceph, evidence, cluster, node):
    acc = access(target, ceph, cluster)
    tree = acc.ceph("osd", "tree")
    evidence.attach(f"ceph-{cluster}-osd-tree", tree)
    by_id = {n["id"]: n for n in tree["nodes"]}
    host = next((n for n in tree["nodes"] if n["type"] == "host" and n["name"] == node), None)
    assert host, f"no host {node} in the CRUSH tree"
    osds = [by_id[c] for c in host.get("children") or []]
    assert osds and all(o["status"] == "down" and not o["reweight"] for o in osds), \
        f"OSDs of {node}: {[(o['name'], o['status'], o['reweight']) for o in osds]}"
    doc = health(target, ceph, cluster)
    assert _raised(doc, "PG_DEGRADED", "pgs undersized") and _raised(doc, "PG_DEGRADED", "objects degraded"), \
        _summary(doc)


# --- the engineer's hands ---------------------------------------------------------------------------------------
@when(parsers.parse('the worker VM "{node}" of "{cluster}" is stopped'))
def stop_vm(target, ceph, cluster, node):
    ceph.setdefault("mon_on", {})[node] = mon_on(target, ceph, cluster, node)
    health(target, ceph, cluster)
    ceph["stopped_at"] = target.clock.now()
    hands.stop(target, node)


@when(parsers.parse('the worker VM "{node}" of "{cluster}" is started'))
def start_vm(target, ceph, cluster, node):
    api = target.proxmox()
    pve, vmid = hands.find_vm(api, node)
    wait_tasks(api, [(pve, api.nodes(pve).qemu(vmid).status.start.post())], target.clock, hands.HAND_TIMEOUT, 1.0)


@when(parsers.parse("the down-out interval of {minutes:d} minutes has passed"))
def down_out_passed(target, ceph, minutes):
    end = ceph["stopped_at"] + minutes * 60.0 + 30.0
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

    def log():
        ran = acc.kubectl("-n", acc.namespace, "logs", f"job/rook-ceph-osd-prepare-{node}", "-c", "provision",
                          check=False)
        return ran.stdout if text in ran.stdout else None
    got = wait_for(log, 600, 15, target.clock, f"the prepare job of {node} to log {text!r}")
    evidence.attach(f"ceph-{cluster}-prepare-{node}", got.value, "text/plain")
