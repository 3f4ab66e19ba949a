"""Install Rook-Ceph on one cluster: the namespace labelled for privileged pods, the operator chart, the
cluster chart with the lab file's values, then wait for HEALTH_OK ("within 15 minutes") on the target's clock.

    plan(cluster, access)         what the namespace and the two releases still need
    apply(plan, access, clock)    exactly that, then HEALTH_OK
    verify (verify.py)            read-only: the CephCluster, mons, OSDs and placement groups

Idempotent: the namespace and label are applied only when missing, and a release already at the chart version
with the lab file's values is not upgraded (no new revision).
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsim.provisioners.ceph import values as V
from labsim.provisioners.ceph.access import CephAccess
from labsim.provisioners.vocabulary import Actions, Clock, wait_for

HEALTHY_WITHIN = 15 * 60.0
POLL = 15.0


@dataclass
class Report:
    cluster: str
    steps: list[str] = field(default_factory=list)
    waited: float = 0.0
    status: dict[str, Any] = field(default_factory=dict)


def _labels(access: CephAccess) -> dict[str, str] | None:
    got = access.kubectl("get", "namespace", access.namespace, "-o", "json", check=False)
    return ((json.loads(got.stdout).get("metadata") or {}).get("labels") or {}) if got.rc == 0 else None


def _namespace_ok(labels: dict[str, str] | None, label: bool) -> bool:
    key, want = V.NAMESPACE_LABEL
    return labels is not None and (not label or labels.get(key) == want)


def _namespace(access: CephAccess, report: Report, label: bool) -> None:
    """The namespace, labelled `pod-security.kubernetes.io/enforce=privileged` (Talos enforces `baseline`,
    which refuses the mons' host paths and the OSDs' privileged containers)."""
    ns = access.namespace
    labels = _labels(access)
    key, want = V.NAMESPACE_LABEL
    if _namespace_ok(labels, label):
        return
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {**(labels or {})}}}
    if label:
        doc["metadata"]["labels"][key] = want
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
    try:
        access.kubectl("apply", "-f", f.name)
    finally:
        Path(f.name).unlink(missing_ok=True)
    report.steps.append(f"namespace {ns}" + (f" labelled {key}={want}" if label else " (no PodSecurity label)"))


def release_change(access: CephAccess, release: str, values: dict[str, Any]) -> str | None:
    """"installed", "upgraded" (another chart version, or other values), or None: the release has them."""
    r = access.helm("list", "-n", access.namespace, "-o", "json", check=False)
    rel = next((x for x in json.loads(r.stdout or "[]") if x.get("name") == release), None) if r.rc == 0 else None
    if rel is None or rel.get("status") != "deployed":
        return "installed"
    got = access.helm("get", "values", release, "-n", access.namespace, "-o", "json", check=False)
    have = json.loads(got.stdout or "null") or {} if got.rc == 0 else None
    version = str(rel.get("chart", "")).removeprefix(f"{release}-")     # helm list: CHART is <name>-<version>
    same = have == json.loads(json.dumps(values)) and version.lstrip("v") == V.CHART_VERSION.lstrip("v")
    return None if same else "upgraded"


def _chart(access: CephAccess, release: str, chart: str, values: dict[str, Any], report: Report) -> None:
    if release_change(access, release, values) is None:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(values, f)
        path = f.name
    try:
        access.helm("upgrade", "--install", release, f"{V.REPO[0]}/{chart}", "--version", V.CHART_VERSION,
                    "-n", access.namespace, "-f", path, "--wait", "--timeout", "10m")
    finally:
        Path(path).unlink(missing_ok=True)
    report.steps.append(f"helm upgrade --install {release} {V.REPO[0]}/{chart} {V.CHART_VERSION}")


def install(cluster, access: CephAccess, *, label: bool = True) -> Report:
    """The charts and the namespace (`label=False` leaves PodSecurity at its default: for drills)."""
    report = Report(cluster.name)
    access.helm("repo", "add", *V.REPO, "--force-update")
    _namespace(access, report, label)
    _chart(access, "rook-ceph", "rook-ceph", V.operator_values(cluster.ceph), report)
    _chart(access, "rook-ceph-cluster", "rook-ceph-cluster", V.cluster_values(cluster.ceph), report)
    return report


def healthy(status: dict[str, Any] | None) -> bool:
    st = (status or {}).get("status") or {}
    return st.get("phase") == "Ready" and st.get("state") == "Created" and \
        (st.get("ceph") or {}).get("health") == "HEALTH_OK"


def wait_healthy(access: CephAccess, clock: Clock, timeout: float = HEALTHY_WITHIN) -> dict[str, Any]:
    """Poll the CephCluster until Ready / Created / HEALTH_OK, and `ceph health` in the toolbox agrees (the CR's
    health is refreshed once a minute); WaitTimeout carries the last status seen."""
    last: dict[str, Any] = {}

    def probe():
        cr = access.cephcluster() or {}
        last.clear()
        last.update(cr.get("status") or {})
        if not healthy(cr):
            return None
        live = access.ceph_text("health", "-f", "json", check=False)
        return cr if live.rc == 0 and json.loads(live.stdout or "{}").get("status") == "HEALTH_OK" else None
    try:
        return wait_for(probe, timeout, POLL, clock, "the CephCluster to be Ready, Created and HEALTH_OK").value
    except AssertionError as exc:
        exc.args = ((f"{exc.args[0]}; status: phase={last.get('phase')!r} message={last.get('message')!r} "
                    f"health={(last.get('ceph') or {}).get('health')!r} "
                    f"details={(last.get('ceph') or {}).get('details')!r}; warnings: {warnings(access)}"),)
        raise


def warnings(access: CephAccess, last: int = 5) -> list[str]:
    """The namespace's latest distinct Warning events (`kubectl get events`): why pods do not start."""
    ran = access.kubectl("-n", access.namespace, "get", "events", "--field-selector", "type=Warning", "-o", "json",
                         check=False)
    if ran.rc != 0:
        return [ran.output]
    seen: list[str] = []
    for ev in sorted(json.loads(ran.stdout or "{}").get("items") or [], key=lambda e: e.get("lastTimestamp") or ""):
        msg = f"{ev['involvedObject'].get('name')}: {ev.get('reason')}: {ev.get('message')}"
        if msg not in seen:
            seen.append(msg)
    return seen[-last:]


@dataclass
class CephPlan(Actions):
    cluster: Any = None


def plan(cluster, access: CephAccess, label: bool = True) -> CephPlan:
    """What the namespace and the two Rook releases still need, from what the cluster reports."""
    actions = [] if _namespace_ok(_labels(access), label) else [f"namespace {access.namespace} labelled"]
    for release, values in (("rook-ceph", V.operator_values(cluster.ceph)),
                            ("rook-ceph-cluster", V.cluster_values(cluster.ceph))):
        change = release_change(access, release, values)
        if change:
            actions.append(f"{release} {change}")
    return CephPlan(f"rook-ceph {cluster.name}", actions, cluster=cluster)


def apply(plan: CephPlan, access: CephAccess, clock: Clock, timeout: float = HEALTHY_WITHIN) -> Report:
    return provision(plan.cluster, access, clock, timeout)


def provision(cluster, access: CephAccess, clock: Clock, timeout: float = HEALTHY_WITHIN, label: bool = True) -> Report:
    report = install(cluster, access, label=label)
    start = clock.now()
    report.status = wait_healthy(access, clock, timeout).get("status") or {}
    report.waited = clock.now() - start
    return report
