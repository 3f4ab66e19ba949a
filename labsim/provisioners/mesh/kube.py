"""One member cluster's Kubernetes API through the `kubernetes` client, for the handful of kinds the mesh uses.

`apply(obj)` creates what is missing and replaces what differs (keeping what the server allocated), and writes
nothing when everything the manifest says is already there: a second run makes no write.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

CEC = ("cilium.io", "v2", "ciliumenvoyconfigs")
CUSTOM = {"CiliumEnvoyConfig": CEC, "CiliumNetworkPolicy": ("cilium.io", "v2", "ciliumnetworkpolicies"),
          "HelmChartConfig": ("helm.cattle.io", "v1", "helmchartconfigs")}     # RKE2's values for its charts


class MeshKube:
    def __init__(self, kubeconfig: Path | str, context: str | None = None):
        self.api = config.new_client_from_config(config_file=str(kubeconfig), context=context)
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.batch = client.BatchV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.writes: list[str] = []

    # --- generic ---------------------------------------------------------------------------------------------
    def _ops(self, kind: str, ns: str | None) -> tuple[Callable, Callable, Callable, Callable]:
        c, a, b, x = self.core, self.apps, self.batch, self.custom
        if kind == "Namespace":
            return (c.read_namespace, lambda body: c.create_namespace(body),
                    lambda n, body: c.replace_namespace(n, body), c.delete_namespace)
        if kind in CUSTOM:
            g, v, p = CUSTOM[kind]
            return (lambda n: x.get_namespaced_custom_object(g, v, ns, p, n),
                    lambda body: x.create_namespaced_custom_object(g, v, ns, p, body),
                    lambda n, body: x.replace_namespaced_custom_object(g, v, ns, p, n, body),
                    lambda n: x.delete_namespaced_custom_object(g, v, ns, p, n))
        api, suffix = {"Service": (c, "service"), "Secret": (c, "secret"), "ConfigMap": (c, "config_map"),
                       "Deployment": (a, "deployment"), "DaemonSet": (a, "daemon_set"), "Job": (b, "job")}[kind]
        return (lambda n: getattr(api, f"read_namespaced_{suffix}")(n, ns),
                lambda body: getattr(api, f"create_namespaced_{suffix}")(ns, body),
                lambda n, body: getattr(api, f"replace_namespaced_{suffix}")(n, ns, body),
                lambda n: getattr(api, f"delete_namespaced_{suffix}")(n, ns))

    def get(self, kind: str, name: str, ns: str | None = None) -> dict[str, Any] | None:
        read = self._ops(kind, ns)[0]
        try:
            obj = read(name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj if isinstance(obj, dict) else self.api.sanitize_for_serialization(obj)

    def apply(self, obj: dict[str, Any]) -> str:
        """created | configured | unchanged"""
        kind, md = obj["kind"], obj["metadata"]
        ns = md.get("namespace")
        _, create, replace, _ = self._ops(kind, ns)
        cur = self.get(kind, md["name"], ns)
        if cur is None:
            create(obj)
            self.writes.append(f"create {kind} {ns + '/' if ns else ''}{md['name']}")
            return "created"
        if same(obj, cur):
            return "unchanged"
        new = {**obj, "metadata": {**md, "resourceVersion": cur["metadata"]["resourceVersion"]}}
        if kind == "Service":
            new["spec"] = {**obj["spec"], "clusterIP": cur["spec"].get("clusterIP")}
        replace(md["name"], new)
        self.writes.append(f"replace {kind} {ns + '/' if ns else ''}{md['name']}")
        return "configured"

    def differs(self, obj: dict[str, Any]) -> bool:
        """`apply(obj)` would write: the object is missing or not as the manifest says."""
        md = obj["metadata"]
        cur = self.get(obj["kind"], md["name"], md.get("namespace"))
        return cur is None or not same(obj, cur)

    def delete(self, kind: str, name: str, ns: str | None = None) -> bool:
        try:
            self._ops(kind, ns)[3](name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        self.writes.append(f"delete {kind} {ns + '/' if ns else ''}{name}")
        return True

    # --- what the mesh steps need ------------------------------------------------------------------------------
    def scale(self, name: str, ns: str, replicas: int) -> None:
        self.apps.patch_namespaced_deployment_scale(name, ns, {"spec": {"replicas": replicas}})
        self.writes.append(f"scale Deployment {ns}/{name} to {replicas}")

    def rollout_restart(self, kind: str, name: str, ns: str, at: str) -> None:
        body = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": at}}}}}
        if kind == "DaemonSet":
            self.apps.patch_namespaced_daemon_set(name, ns, body)
        else:
            self.apps.patch_namespaced_deployment(name, ns, body)
        self.writes.append(f"rollout restart {kind} {ns}/{name}")

    def pods(self, ns: str, selector: str) -> list[Any]:
        return self.core.list_namespaced_pod(ns, label_selector=selector, _request_timeout=30).items

    def log(self, pod: str, ns: str, container: str | None = None) -> str:
        return self.core.read_namespaced_pod_log(pod, ns, container=container, _request_timeout=30)

    def ready_replicas(self, name: str, ns: str) -> int:
        d = self.get("Deployment", name, ns)
        return int(((d or {}).get("status") or {}).get("readyReplicas") or 0)


def same(want: Any, have: Any) -> bool:
    """Everything the manifest says is there (the server adds defaults and status we never sent)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in ("apiVersion", "kind", "status") or same(v, have.get(k))
                                              for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(same(a, b) for a, b in zip(want, have))
    if isinstance(want, (int, float)) and isinstance(have, str):
        return str(want) == have
    return want == have
