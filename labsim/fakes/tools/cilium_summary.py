"""`cilium status`: the component summary cilium-cli prints (status/k8s.go collector, status.go Format), from the
cluster's DaemonSet, Deployments, pods and Helm release. `--wait` retries until nothing is in error."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labsim.fakes.tools.kubeapi import Kube

NS = "kube-system"
LOGO = ["    /¯¯\\", " /¯¯\\__/¯¯\\", " \\__/¯¯\\__/", " /¯¯\\__/¯¯\\", " \\__/¯¯\\__/", "    \\__/"]
RETRY = 2.0


def _workload(kube: Kube, kind: str, name: str) -> tuple[int, int, int] | None:
    obj = kube.get(kind, name, NS)
    if obj is None:
        return None
    st = obj.get("status") or {}
    if kind == "DaemonSet":
        return (int(st.get("desiredNumberScheduled") or 0), int(st.get("numberReady") or 0),
                int(st.get("numberAvailable") or 0))
    return int((obj.get("spec") or {}).get("replicas", 1)), int(st.get("readyReplicas") or 0), \
        int(st.get("availableReplicas") or 0)


def collect(kube: Kube) -> dict[str, Any]:
    rows, errors = [], []
    for kind, name in (("DaemonSet", "cilium"), ("Deployment", "cilium-operator"),
                       ("Deployment", "clustermesh-apiserver")):
        w = _workload(kube, kind, name)
        if w is None:
            continue
        desired, ready, avail = w
        rows.append((kind, name, desired, ready, avail))
        if ready < desired:
            errors.append((name, f"{desired - ready} pods of {kind} {name} are not ready"))
    pods = kube.request("GET", "/api/v1/pods").get("items") or []
    images: dict[tuple[str, str], int] = {}
    running: dict[str, int] = {}
    for p in pods:
        if p["metadata"].get("namespace") != NS:
            continue
        app = (p["metadata"].get("labels") or {}).get("k8s-app") or (p["metadata"].get("labels") or {}).get("name")
        app = {"cilium": "cilium"}.get(app or "", app)
        if app not in ("cilium", "cilium-operator", "clustermesh-apiserver"):
            continue
        if (p.get("status") or {}).get("phase") == "Running":
            running[app] = running.get(app, 0) + 1
        for c in (p.get("spec") or {}).get("containers") or []:
            images[(app, c.get("image", ""))] = images.get((app, c.get("image", "")), 0) + 1
    managed = [p for p in pods if not (p.get("spec") or {}).get("hostNetwork")
               and (p.get("status") or {}).get("phase") == "Running"]
    return {"rows": rows, "errors": errors, "running": running, "images": images, "managed": len(managed)}


def _state(rows, errors, name: str) -> str:
    if not any(r[1] == name for r in rows):
        return "disabled"
    n = sum(1 for e in errors if e[0] == name)
    return f"{n} errors" if n else "OK"


def render(s: dict[str, Any], chart: str | None, log: Callable[[str], None]) -> None:
    rows, errors = s["rows"], s["errors"]
    lines = [f"Cilium:             {_state(rows, errors, 'cilium')}",
             f"Operator:           {_state(rows, errors, 'cilium-operator')}",
             "Envoy DaemonSet:    disabled (using embedded mode)",
             "Hubble Relay:       disabled",
             f"ClusterMesh:        {_state(rows, errors, 'clustermesh-apiserver')}"]
    for i, logo in enumerate(LOGO):
        log(f"{logo:<15}{lines[i - 1] if 1 <= i <= 5 else ''}".rstrip() if i else logo)
    log("")
    for kind, name, desired, ready, avail in rows:
        log(f"{kind:<23}{name:<25}Desired: {desired}, Ready: {ready}/{desired}, Available: {avail}/{desired}")
    first = True
    for app, n in sorted(s["running"].items()):
        log(f"{'Containers:' if first else '':<23}{app:<25}Running: {n}")
        first = False
    log(f"{'Cluster Pods:':<23}{s['managed']}/{s['managed']} managed by Cilium")
    if chart:
        log(f"{'Helm chart version:':<23}{chart}")
    first = True
    for (app, image), n in sorted(s["images"].items()):
        log(f"{'Image versions' if first else '':<23}{app:<25}{image}: {n}")
        first = False
    first = True
    for name, msg in errors:
        log(f"{'Errors:' if first else '':<23}{name:<25}{name:<25}{msg}")
        first = False


def run(kube: Kube, wait: bool, timeout: float, now, sleep, log, Fatal) -> int:
    from labsim.fakes.tools import helm_release as R
    start = now()
    while True:
        s = collect(kube)
        if not wait or not s["errors"]:
            break
        if now() - start >= timeout:
            last = R.latest(kube, "cilium", NS)
            render(s, last["chart"]["metadata"]["version"] if last else None, log)
            raise Fatal("Unable to determine status:  timeout while waiting for status to become successful: "
                        "context deadline exceeded")
        sleep(RETRY)
    last = R.latest(kube, "cilium", NS)
    render(s, last["chart"]["metadata"]["version"] if last else None, log)
    return 0
