"""Steps for features/talos_clusters.feature: thin glue from a sentence to labsim.provisioners.talos.

The target hands over what the lab code needs: the tools' environment (the real PATH in the lab, the fake
talosctl/helm and the control API in the simulator), its clock, a Proxmox client and a working directory
for the cluster's secrets, configs, talosconfig and kubeconfig.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from labsim.provisioners.clock import WaitTimeout, wait_for
from labsim.provisioners.lab import load_lab
from labsim.provisioners.proxmox.run import provision as provision_vms
from labsim.provisioners.talos import bootstrap as B
from labsim.provisioners.talos import run as T
from labsim.provisioners.talos import verify as V
from labsim.provisioners.talos.cilium import AGENT_CAPS
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.kube import Kube, ready
from labsim.steps import proxmox_hands as hands
from labsim.steps.fabric_steps import _check

EVICTION_GRACE = 300 + 60     # DefaultTolerationSeconds, plus the node monitor grace and a sync


@pytest.fixture
def talos(target):
    """What a scenario has seen: the context, reports, the lab file in use (or its copy), machines found.
    Every talosctl/helm call's transcript is attached as evidence by the step that ran it."""
    return {"ctx": None, "lab": target.lab, "reports": [], "tools": Tools(env=target.tool_env())}


def _ctx(target, talos) -> TalosContext:
    if talos["ctx"] is None:
        workdir = Path(target.workdir) / "talos"
        talos["tools"].cwd = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        talos["ctx"] = TalosContext(talos["tools"], target.clock, target.proxmox(), workdir)
    return talos["ctx"]


def _transcript(evidence, talos, name: str) -> None:
    lines = talos["tools"].transcript
    if lines:
        evidence.attach(name, "\n\n".join(lines), "text/plain")
        lines.clear()


def _provision(target, talos, evidence, cluster: str, **kw):
    ctx = _ctx(target, talos)
    try:
        report = T.provision(talos["lab"], cluster, ctx, **kw)
    finally:
        _transcript(evidence, talos, f"talos-{cluster}-tools")
    evidence.attach(f"talos-{cluster}-changes", (report.changes or ["nothing changed"]) + report.notes)
    talos["reports"].append(report)
    talos.setdefault("machines", {})[cluster] = report.machines
    _versions(target, talos, evidence, cluster)
    return report


def _versions(target, talos, evidence, cluster: str) -> None:
    """Talos and Kubernetes as the cluster reports them, for the sign-off manifest."""
    ctx = _ctx(target, talos)
    cp = next(m for m in talos["machines"][cluster] if m.control_plane)
    r = ctx.tools.run(["talosctl", "--talosconfig", str(ctx.cluster_dir(cluster) / "talosconfig"), "-n", cp.address,
                       "-e", cp.address, "version", "--short"], check=False)
    ctx.tools.transcript.pop()
    tag = next((ln.split()[-1] for ln in r.stdout.splitlines()[2:] if "Talos" in ln), "")
    if tag:
        evidence.lab_version(f"Talos {cluster}", tag)
    nodes = _kube(target, talos, cluster).nodes()
    if nodes:
        evidence.lab_version(f"Kubernetes {cluster}", nodes[0].status.node_info.kubelet_version)


def _machines(target, talos, cluster: str):
    """The cluster's machines and addresses as provisioning found them (a machine powered off since keeps its
    address here), else as the guest agents report them now."""
    known = talos.get("machines", {}).get(cluster)
    return known if known else T.prepare_readonly(talos["lab"], cluster, _ctx(target, talos)).machines


def _kube(target, talos, cluster: str) -> Kube:
    return Kube(_ctx(target, talos).cluster_dir(cluster) / "kubeconfig")


# --- provisioning ---------------------------------------------------------------------------------------------
@given(parsers.parse('the Talos cluster "{cluster}" is provisioned'))
@when(parsers.parse('the Talos cluster "{cluster}" is provisioned again'))
def cluster_provisioned(target, talos, evidence, cluster):
    if not target.writes_allowed:
        evidence.attach(f"talos-{cluster}", "read-only run: the cluster is verified as found (no --apply)")
        return
    _provision(target, talos, evidence, cluster)


@given(parsers.parse('a copy of the lab file where the workers of "{cluster}" have {memory:d} MiB of memory '
                     'and a {disk:d} GiB system disk'))
def lab_copy_sized(target, talos, tmp_path, cluster, memory, disk):
    data = yaml.safe_load(target.labfile.read_text())
    for c in data["clusters"]:
        if c["name"] == cluster:
            workers = c["machines"]["workers"]
            workers["memory_mib"] = memory
            workers["disks"][0]["size_gib"] = disk
    path = tmp_path / target.labfile.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    talos["lab"] = load_lab(path)


@given(parsers.parse('a copy of the lab file where "{cluster}" has no CNI'))
def lab_copy_without_cni(target, talos, tmp_path, cluster):
    """`cni: none` and no Cilium: the cluster is built exactly as before, and nothing installs a CNI. The copy
    leaves the mesh out (its members need Cilium)."""
    data = yaml.safe_load(target.labfile.read_text())
    for c in data["clusters"]:
        if c["name"] == cluster:
            c["cni"] = "none"
            c.pop("cilium", None)
    data.pop("mesh", None)
    path = tmp_path / target.labfile.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    talos["lab"] = load_lab(path)


@given("the VMs are provisioned from that copy")
def vms_from_copy(target, talos, evidence):
    done = provision_vms(talos["lab"], target.proxmox(), target.clock)
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
@then(parsers.parse('every talosctl health check of "{cluster}" passes'))
def health_passes(target, talos, evidence, cluster):
    results, h = T.verify(talos["lab"], cluster, _ctx(target, talos),
                          machines=talos.get("machines", {}).get(cluster))
    _transcript(evidence, talos, f"talos-{cluster}-health")
    talos["health"] = h
    _check(evidence, f"talos-{cluster}-health", [r for r in results if r.check in ("talos-health", "talos-address")])
    talos["verified"] = results


@then(parsers.parse('every node of "{cluster}" is Ready with Cilium and CoreDNS running and kube-proxy as '
                    'the lab file says'))
def kube_healthy(target, talos, evidence, cluster):
    results = talos.get("verified") or T.verify(talos["lab"], cluster, _ctx(target, talos),
                                                machines=talos.get("machines", {}).get(cluster))[0]
    _check(evidence, f"talos-{cluster}-kubernetes",
           [r for r in results if r.check in ("k8s-node-ready", "k8s-node-schedulable", "coredns-ready", "cilium-ready",
                                              "cilium-settings", "kube-proxy")])


@then(parsers.parse('kubectl with the kubeconfig talosctl wrote lists every node of "{cluster}" Ready'))
def kubectl_lists_nodes(target, talos, evidence, cluster):
    ctx = _ctx(target, talos)
    r = ctx.tools.run(["kubectl", "--kubeconfig", str(ctx.cluster_dir(cluster) / "kubeconfig"), "get", "nodes",
                       "-o", "json"], check=False)
    _transcript(evidence, talos, f"talos-{cluster}-kubectl")
    assert r.rc == 0, f"kubectl get nodes failed: {r.output}"
    ready = {n["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True"
                                        for c in n["status"].get("conditions") or [])
             for n in json.loads(r.stdout)["items"]}
    evidence.attach(f"talos-{cluster}-kubectl-nodes", ready)
    want = {m.name for m in _machines(target, talos, cluster)}
    assert want <= set(ready), f"kubectl does not list {sorted(want - set(ready))}"
    assert all(ready[n] for n in want), f"NotReady in kubectl: {sorted(n for n in want if not ready[n])}"


@then(parsers.parse('the VIP of "{cluster}" is held by exactly one control plane'))
def vip_held(target, talos, evidence, cluster):
    _check(evidence, f"talos-{cluster}-vip", [_vip(target, talos, cluster)])


def _vip(target, talos, cluster):
    ctx = _ctx(target, talos)
    lab = talos["lab"]
    holders = V.vip_holders(ctx, ctx.cluster_dir(cluster) / "talosconfig", _machines(target, talos, cluster),
                            str(lab.cluster(cluster).vip))
    return V.vip_result(lab, cluster, holders)


@then(parsers.parse('talosctl health of "{cluster}" fails at "{check}" with "{message}"'))
def health_fails_at(target, talos, evidence, cluster, check, message):
    ctx = _ctx(target, talos)
    from labsim.provisioners.talos import health as H
    h = H.run(ctx, ctx.cluster_dir(cluster) / "talosconfig", _machines(target, talos, cluster), wait="10m")
    _transcript(evidence, talos, f"talos-{cluster}-health")
    evidence.attach(f"talos-{cluster}-health-lines", h.lines)
    assert h.rc != 0, f"talosctl health passed, expected it to fail at {check!r}"
    failing = next((c for c in H.CHECKS if h.state(c) not in (None, "OK", "SKIP")), None)
    assert failing == check, f"talosctl health failed at {failing!r}, expected {check!r}: {h.state(failing or '')}"
    assert message in (h.state(check) or ""), f"expected {message!r} in: {h.state(check)}"


# --- idempotence ------------------------------------------------------------------------------------------------
@then(parsers.parse('nothing was applied, bootstrapped or upgraded on "{cluster}"'))
def nothing_changed(talos, cluster):
    last = [r for r in talos["reports"] if r.cluster == cluster][-1]
    assert not last.changes, "the second run changed the cluster:\n" + "\n".join(last.changes)


# --- bootstrap ----------------------------------------------------------------------------------------------------
@when(parsers.parse('an engineer runs talosctl bootstrap on the first control plane of "{cluster}" again'))
def bootstrap_again(target, talos, evidence, cluster):
    ctx = _ctx(target, talos)
    cp = next(m for m in _machines(target, talos, cluster) if m.control_plane)
    talos["bootstrap_output"] = B.bootstrap(ctx, ctx.cluster_dir(cluster) / "talosconfig", cp)
    _transcript(evidence, talos, "talos-bootstrap-again")


@then(parsers.parse('talosctl refuses with "{message}"'))
def bootstrap_refused(talos, message):
    out = talos["bootstrap_output"]
    assert out, "talosctl accepted the second bootstrap"
    assert message in out, f"expected {message!r}, talosctl said: {out}"


# --- control plane losses -----------------------------------------------------------------------------------------
@when(parsers.parse('the control plane holding the VIP of "{cluster}" is powered off'))
def vip_holder_off(target, talos, evidence, cluster):
    result = _vip(target, talos, cluster)
    assert result.ok, f"no single VIP holder before the drill: {result.message}"
    talos["lost"] = [result.evidence["holders"][0]]
    hands.stop(target, talos["lost"][0])


@when(parsers.parse('another control plane of "{cluster}" is powered off'))
def another_cp_off(target, talos, cluster):
    cps = [m.name for m in talos["lab"].cluster(cluster).control_planes()]
    other = next(n for n in cps if n not in talos["lost"])
    talos["lost"].append(other)
    hands.stop(target, other)


def _api_answers(target, talos, cluster) -> bool:
    return _kube(target, talos, cluster).reachable()


@then(parsers.parse('the Kubernetes API of "{cluster}" still answers'))
def api_answers(target, talos, evidence, cluster):
    kube = _kube(target, talos, cluster)
    assert kube.reachable(), f"the {cluster} API no longer answers after losing {talos['lost']}"
    evidence.attach(f"talos-{cluster}-nodes", [n.metadata.name for n in kube.nodes()])


@then(parsers.parse('the VIP of "{cluster}" moves to another control plane within {seconds:d} seconds'))
def vip_moves(target, talos, evidence, cluster, seconds):
    seen = []

    def moved():
        seen.append(_vip(target, talos, cluster))
        return seen[-1].ok and seen[-1].evidence["holders"][0] not in talos["lost"]
    try:
        wait_for(moved, seconds, 5, target.clock, what=f"the VIP of {cluster} to move")
    except WaitTimeout:
        pass
    _transcript(evidence, talos, f"talos-{cluster}-vip")
    evidence.attach(f"talos-{cluster}-vip", seen[-1].__dict__)
    last = seen[-1]
    assert last.ok and last.evidence["holders"][0] not in talos["lost"], \
        f"the VIP did not move within {seconds} s: {last.message}"


@then(parsers.parse('the Kubernetes API of "{cluster}" no longer answers'))
def api_gone(target, talos, cluster):
    assert not _api_answers(target, talos, cluster), \
        f"the {cluster} API still answers with {len(talos['lost'])} of 3 control planes lost"


@then(parsers.parse('no control plane of "{cluster}" holds the VIP'))
def vip_gone(target, talos, evidence, cluster):
    result = _vip(target, talos, cluster)
    evidence.attach(f"talos-{cluster}-vip", result.__dict__)
    assert not result.evidence["holders"], f"the VIP is still {result.message} without quorum"


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
    talos["workload"] = name


@when(parsers.parse('the worker "{name}" is powered off'))
def worker_off(target, talos, name):
    talos["lost"] = [name]
    hands.stop(target, name)


@then(parsers.parse('the node "{name}" of "{cluster}" is NotReady within {seconds:d} seconds'))
def node_not_ready(target, talos, evidence, name, cluster, seconds):
    kube = _kube(target, talos, cluster)

    def down():
        node = next((n for n in kube.nodes() if n.metadata.name == name), None)
        return node is not None and not ready(node)
    wait_for(down, seconds, 5, target.clock, what=f"{name} to be NotReady")
    node = next(n for n in kube.nodes() if n.metadata.name == name)
    evidence.attach(f"node-{name}", [c.to_dict() for c in node.status.conditions or []])


@then(parsers.parse('the pods of "{app}" on "{name}" are evicted after the default toleration and run on other '
                    'workers'))
def evicted(target, talos, evidence, app, name):
    cluster = next(c.name for c in talos["lab"].clusters if name in [m.name for m in c.members()])
    kube = _kube(target, talos, cluster)
    want = kube.deployment(app, "default").spec.replicas

    def moved():
        pods = kube.pods("default", f"app={app}")
        live = [p for p in pods if not p.metadata.deletion_timestamp]
        running = [p for p in live if p.spec.node_name != name and p.status.phase == "Running"]
        return len(running) == want and not any(p.spec.node_name == name for p in live)
    try:
        wait_for(moved, EVICTION_GRACE, 10, target.clock, what=f"the {app} pods to leave {name}")
    except WaitTimeout:
        pods = kube.pods("default", f"app={app}")
        where = [f"{p.metadata.name} on {p.spec.node_name}: {p.status.phase}"
                 f"{' (terminating)' if p.metadata.deletion_timestamp else ''}" for p in pods]
        raise AssertionError(f"the {app} pods did not move off {name} within {EVICTION_GRACE} s: {where}") from None


# --- Cilium on Talos -------------------------------------------------------------------------------------------------
@then(parsers.parse('the Cilium agents of "{cluster}" fail with "{message}"'))
def agents_fail(target, talos, evidence, cluster, message):
    kube = _kube(target, talos, cluster)
    seen: list[str] = []

    def reported():
        seen.clear()
        for pod in kube.pods("kube-system", "k8s-app=cilium"):
            seen.extend(e.message or "" for e in kube.events_for("kube-system", pod.metadata.name))
            for st in (pod.status.init_container_statuses or []) + (pod.status.container_statuses or []):
                term = (st.last_state and st.last_state.terminated) or (st.state and st.state.terminated)
                if term and term.message:
                    seen.append(term.message)
        return any(message in s for s in seen)
    try:
        wait_for(reported, 300, 10, target.clock, what="the Cilium agents' failure")
    except WaitTimeout:
        pass
    evidence.attach(f"cilium-{cluster}-events", sorted(set(seen)))
    ds = kube.daemonset("cilium")
    assert ds is not None, "no cilium DaemonSet: Cilium was not installed"
    assert any(message in s for s in seen), f"no agent reports {message!r}; seen: {sorted(set(seen))[:5]}"


@then(parsers.parse('the nodes of "{cluster}" stay NotReady for {seconds:d} seconds'))
def stay_not_ready(target, talos, cluster, seconds):
    kube = _kube(target, talos, cluster)
    became: list[str] = []

    def some_ready() -> bool:
        became[:] = sorted(n.metadata.name for n in kube.nodes() if ready(n))
        return bool(became)
    try:
        wait_for(some_ready, seconds, 10, target.clock, what="a node to become Ready")
    except WaitTimeout:
        return
    raise AssertionError(f"nodes became Ready without a CNI running on them: {became}")


@then(parsers.parse('the nodes of "{cluster}" reboot once the {minutes:d} minutes the Talos guide gives for '
                    'installing a CNI are over'))
def rebooted_after_cni_window(target, talos, evidence, cluster, minutes):
    """The kubelet records a reboot on its Node (Warning `Rebooted`, a new boot ID): each node's must come
    after the window, counted from when the Node registered, and not long after (the reboot itself, the
    kubelet starting again, etcd back on the control planes)."""
    kube = _kube(target, talos, cluster)
    window, late = minutes * 60, 120
    names = {m.name for m in talos["machines"][cluster]}
    seen: dict[str, tuple] = {}

    def all_rebooted() -> bool:
        if not kube.reachable():       # the control planes reboot too: the API is away until etcd is back
            return False
        for node in kube.nodes():
            name = node.metadata.name
            events = [e for e in kube.events_for("default", name) if e.reason == "Rebooted"]
            if name in names and events:
                first = min(events, key=lambda e: e.first_timestamp)
                seen[name] = (node.metadata.creation_timestamp, first.first_timestamp, first.message)
        return set(seen) == names
    try:
        wait_for(all_rebooted, window + late, 10, target.clock, what=f"every node of {cluster} to reboot")
    except WaitTimeout:
        pass
    evidence.attach(f"talos-{cluster}-reboots", {n: {"registered": str(r), "rebooted": str(b), "event": m}
                                                 for n, (r, b, m) in sorted(seen.items())})
    missing = sorted(names - set(seen))
    assert not missing, f"no reboot recorded within {window + late} s on {missing}"
    for name, (registered, rebooted, message) in sorted(seen.items()):
        after = (rebooted - registered).total_seconds()
        assert window <= after <= window + late, \
            f"{name} rebooted {after:.0f} s after it registered, expected {window} to {window + late} s: {message}"
