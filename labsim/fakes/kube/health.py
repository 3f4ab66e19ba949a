"""`/healthz`, `/livez`, `/readyz` (with `?verbose`, and `/readyz/<check>`) and `/metrics`, as kube-apiserver
answers them (staging/src/k8s.io/apiserver/pkg/server/healthz/healthz.go: `[+]name ok` lines, then
`<endpoint> check passed`; an excluded or unknown check: 404 `no such health check`).

The checks are the names a v1.3x apiserver lists; all pass while the fake answers at all (an etcd outage is
a fault on every path, labsim/fakes/talos/kubelink.py). `/metrics` is Prometheus text with the families a lab's
monitoring asks first: requests served by verb, resource and code, and objects stored per resource.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

_HOOKS = ["start-apiserver-admission-initializer", "generic-apiserver-start-informers",
          "priority-and-fairness-config-consumer",
          "priority-and-fairness-filter", "storage-object-count-tracker-hook", "start-apiextensions-informers",
          "start-apiextensions-controllers", "crd-informer-synced", "start-system-namespaces-controller",
          "start-service-ip-repair-controllers", "rbac/bootstrap-roles", "scheduling/bootstrap-system-priority-classes",
          "priority-and-fairness-config-producer", "bootstrap-controller", "start-kube-aggregator-informers",
          "apiservice-status-local-available-controller", "apiservice-registration-controller",
          "apiservice-discovery-controller", "kube-apiserver-autoregistration", "aggregator-reload-proxy-client-cert"]
CHECKS = {
    "/livez": ["ping", "log", "etcd"] + [f"poststarthook/{h}" for h in _HOOKS] + ["autoregister-completion"],
    "/readyz": ["ping", "log", "etcd", "etcd-readiness", "informer-sync"] + [f"poststarthook/{h}" for h in _HOOKS]
               + ["autoregister-completion", "shutdown"],
    "/healthz": ["ping", "log", "etcd"] + [f"poststarthook/{h}" for h in _HOOKS] + ["autoregister-completion"],
}


def check(path: str, query: dict[str, str]) -> tuple[int, str] | None:
    """(status, text) for a health path, or None if `path` is not one."""
    for endpoint, names in CHECKS.items():
        if path == endpoint:
            excluded = {v for k, v in query.items() if k == "exclude"}
            if "verbose" not in query:
                return 200, "ok"
            lines = [f"[+]{n} {'excluded: ok' if n in excluded else 'ok'}" for n in names]
            return 200, "\n".join(lines) + f"\n{endpoint[1:]} check passed\n"
        if path.startswith(endpoint + "/"):
            name = path[len(endpoint) + 1:]
            return (200, "ok") if name in names else (404, "404 page not found\n")
    return None


def metrics(cluster: KubeCluster, requests: Counter) -> str:
    out = ["# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run "
           "value, group, version, resource, scope, component, and HTTP response code.",
           "# TYPE apiserver_request_total counter"]
    for (verb, group, version, resource, code), n in sorted(requests.items()):
        out.append(f'apiserver_request_total{{code="{code}",component="apiserver",dry_run="",group="{group}",'
                   f'resource="{resource}",scope="",subresource="",verb="{verb}",version="{version}"}} {n}')
    out += ["# HELP apiserver_storage_objects [STABLE] Number of stored objects at the time of last check split by "
            "kind. In case of a fetching error, the value will be -1.",
            "# TYPE apiserver_storage_objects gauge"]
    with cluster.lock:
        for group, plural in sorted(cluster.store.kinds()):
            res = f"{plural}.{group}" if group else plural
            out.append(f'apiserver_storage_objects{{resource="{res}"}} {cluster.store.count((group, plural))}')
    return "\n".join(out) + "\n"
