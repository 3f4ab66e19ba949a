"""What a Talos cluster shows during and after fault drills, read the way an engineer reads it (`kubectl`, the
Kubernetes API, `talosctl`), each as results. Waits run on the target's clock; nothing here writes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labsim.provisioners.talos import health as H
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.kube import Kube, ready
from labsim.provisioners.talos.nodes import Machine
from labsim.provisioners.vocabulary import Result, WaitTimeout, wait_for

EVICTION_GRACE = 300 + 60     # DefaultTolerationSeconds, plus the node monitor grace and a sync


def kubectl_nodes_ready(ctx: TalosContext, kubeconfig: Path, machines: list[Machine]) -> list[Result]:
    """`kubectl get nodes` with the kubeconfig talosctl wrote lists every machine, Ready."""
    r = ctx.tools.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"], check=False)
    if r.rc != 0:
        return [Result("kubectl-nodes", str(kubeconfig), False, f"kubectl get nodes failed: {r.output}")]
    seen = {n["metadata"]["name"]: any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in n["status"].get("conditions") or [])
            for n in json.loads(r.stdout)["items"]}
    return [Result("kubectl-node-ready", m.name, seen.get(m.name, False),
                   "Ready" if seen.get(m.name) else ("not listed by kubectl" if m.name not in seen else "NotReady"),
                   {"nodes": seen}) for m in machines]


def api_answers(kube: Kube, cluster: str, want: bool, lost: list[str]) -> list[Result]:
    up = kube.reachable()
    return [Result("kube-api", cluster, up == want,
                   (f"the {cluster} API answers" if up else f"the {cluster} API no longer answers") +
                   (f" after losing {', '.join(lost)}" if lost else ""),
                   {"nodes": [n.metadata.name for n in kube.nodes()] if up else []})]


def health_fails_at(h: H.Health, check: str, message: str) -> list[Result]:
    """`talosctl health` failed, at `check` first, with `message` in its state."""
    if h.rc == 0:
        return [Result("talos-health-fails", check, False, f"talosctl health passed, expected it to fail at {check!r}")]
    failing = next((c for c in H.CHECKS if h.state(c) not in (None, "OK", "SKIP")), None)
    state = h.state(check) or ""
    return [Result("talos-health-fails-at", check, failing == check,
                   f"talosctl health failed at {failing!r}" + ("" if failing == check else
                                                               f", expected {check!r}: {h.state(failing or '')}")),
            Result("talos-health-message", check, message in state, f"{check}: {state}" if message in state
                   else f"expected {message!r} in: {state}", {"lines": h.lines[-10:]})]


def changed_nothing(report) -> list[Result]:
    """A second provisioning run applied, bootstrapped and upgraded nothing."""
    return [Result("talos-unchanged", report.cluster, not report.changes,
                   "nothing was applied, bootstrapped or upgraded" if not report.changes else
                   "the second run changed the cluster:\n" + "\n".join(report.changes))]


def refused_with(output: str | None, message: str) -> list[Result]:
    """talosctl refused a command, saying `message`."""
    if not output:
        return [Result("talosctl-refused", message, False, "talosctl accepted the second bootstrap")]
    return [Result("talosctl-refused", message, message in output, output if message in output
                   else f"expected {message!r}, talosctl said: {output}")]


def node_not_ready_within(kube: Kube, name: str, seconds: float, clock) -> list[Result]:
    def down():
        node = next((n for n in kube.nodes() if n.metadata.name == name), None)
        return node is not None and not ready(node)
    try:
        waited = wait_for(down, seconds, 5, clock, what=f"{name} to be NotReady").elapsed
    except WaitTimeout:
        waited = None
    node = next((n for n in kube.nodes() if n.metadata.name == name), None)
    conds = [c.to_dict() for c in (node.status.conditions or [])] if node is not None else []
    return [Result("node-not-ready", name, waited is not None,
                   f"{name} NotReady after {waited:.0f} s" if waited is not None
                   else f"{name} still Ready after {seconds:g} s", {"conditions": conds})]


def evicted(kube: Kube, app: str, name: str, clock, ns: str = "default") -> list[Result]:
    """The pods of Deployment `app` leave node `name` once the default toleration is over, and run elsewhere."""
    want = kube.deployment(app, ns).spec.replicas

    def moved():
        live = [p for p in kube.pods(ns, f"app={app}") if not p.metadata.deletion_timestamp]
        running = [p for p in live if p.spec.node_name != name and p.status.phase == "Running"]
        return len(running) == want and not any(p.spec.node_name == name for p in live)
    try:
        wait_for(moved, EVICTION_GRACE, 10, clock, what=f"the {app} pods to leave {name}")
        ok = True
    except WaitTimeout:
        ok = False
    where = [f"{p.metadata.name} on {p.spec.node_name}: {p.status.phase}"
             f"{' (terminating)' if p.metadata.deletion_timestamp else ''}" for p in kube.pods(ns, f"app={app}")]
    return [Result("pods-evicted", f"{app} on {name}", ok,
                   f"the {app} pods moved off {name}: {where}" if ok
                   else f"the {app} pods did not move off {name} within {EVICTION_GRACE} s: {where}")]


def agents_fail_with(kube: Kube, message: str, clock) -> list[Result]:
    """The Cilium agents report `message` (an event on their pods, or a container's termination message)."""
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
        wait_for(reported, 300, 10, clock, what="the Cilium agents' failure")
    except WaitTimeout:
        pass
    if kube.daemonset("cilium") is None:
        return [Result("cilium-fails", message, False, "no cilium DaemonSet: Cilium was not installed")]
    hit = any(message in s for s in seen)
    return [Result("cilium-fails", message, hit, f"the agents report {message!r}" if hit
                   else f"no agent reports {message!r}; seen: {sorted(set(seen))[:5]}", {"seen": sorted(set(seen))})]


def stay_not_ready(kube: Kube, cluster: str, seconds: float, clock) -> list[Result]:
    became: list[str] = []

    def some_ready() -> bool:
        became[:] = sorted(n.metadata.name for n in kube.nodes() if ready(n))
        return bool(became)
    try:
        wait_for(some_ready, seconds, 10, clock, what="a node to become Ready")
    except WaitTimeout:
        return [Result("nodes-not-ready", cluster, True, f"no node of {cluster} became Ready in {seconds:g} s")]
    return [Result("nodes-not-ready", cluster, False, f"nodes became Ready without a CNI running on them: {became}")]


def rebooted_after_cni_window(kube: Kube, names: set[str], minutes: int, clock) -> list[Result]:
    """The kubelet records a reboot on its Node (Warning `Rebooted`, a new boot ID): each node's must come after
    the window, counted from when the Node registered, and not long after (the reboot itself, the kubelet starting
    again, etcd back on the control planes)."""
    window, late = minutes * 60, 120
    seen: dict[str, tuple[Any, Any, str]] = {}

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
        wait_for(all_rebooted, window + late, 10, clock, what="every node to reboot")
    except WaitTimeout:
        pass
    out = [Result("node-rebooted", n, False, f"no reboot recorded within {window + late} s")
           for n in sorted(names - set(seen))]
    for name, (registered, rebooted, message) in sorted(seen.items()):
        after = (rebooted - registered).total_seconds()
        out.append(Result("node-rebooted", name, window <= after <= window + late,
                          f"{name} rebooted {after:.0f} s after it registered (expected {window} to {window + late} s):"
                          f" {message}", {"registered": str(registered), "rebooted": str(rebooted)}))
    return out
