"""Reading the cluster's Kubernetes API with the `kubernetes` client, from the kubeconfig talosctl wrote."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError


class Kube:
    def __init__(self, kubeconfig: Path):
        api = config.new_client_from_config(config_file=str(kubeconfig))
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)

    def nodes(self) -> list[Any]:
        return self.core.list_node(_request_timeout=30).items

    def reachable(self) -> bool:
        try:
            self.core.list_namespace(_request_timeout=10)
            return True
        except (ApiException, HTTPError, OSError):
            return False

    def daemonset(self, name: str, ns: str = "kube-system") -> Any | None:
        return _or_none(self.apps.read_namespaced_daemon_set, name, ns)

    def deployment(self, name: str, ns: str = "kube-system") -> Any | None:
        return _or_none(self.apps.read_namespaced_deployment, name, ns)

    def configmap(self, name: str, ns: str = "kube-system") -> Any | None:
        return _or_none(self.core.read_namespaced_config_map, name, ns)

    def pods(self, ns: str, selector: str) -> list[Any]:
        return self.core.list_namespaced_pod(ns, label_selector=selector, _request_timeout=30).items

    def events_for(self, ns: str, name: str) -> list[Any]:
        return self.core.list_namespaced_event(ns, field_selector=f"involvedObject.name={name}",
                                               _request_timeout=30).items


def _or_none(read, name: str, ns: str) -> Any | None:
    try:
        return read(name, ns, _request_timeout=30)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))


def internal_ip(node: Any) -> str:
    return next((a.address for a in node.status.addresses or [] if a.type == "InternalIP"), "")
