"""How lab code reaches Rook-Ceph: `helm` and `kubectl` as subprocesses (the toolbox through `kubectl exec`),
the CephCluster through the `kubernetes` client. The same calls work against the simulator and a real lab."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labsim.provisioners.talos.cli import Ran, ToolError, Tools

TOOLBOX = "deploy/rook-ceph-tools"
DROPPED = "discarding message"      # client-go's klog line when it drops a WebSocket message


class CephAccess:
    def __init__(self, tools: Tools, kubeconfig: str | Path, namespace: str = "rook-ceph"):
        self.tools = tools
        self.kubeconfig = str(kubeconfig)
        self.namespace = namespace
        self._api = None

    def kubectl(self, *args: str, check: bool = True) -> Ran:
        return self.tools.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], check=check)

    def helm(self, *args: str, check: bool = True) -> Ran:
        return self.tools.run(["helm", *args, "--kubeconfig", self.kubeconfig], check=check)

    def ceph_text(self, *args: str, check: bool = True) -> Ran:
        """`kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph ARGS` (an engineer's way in)."""
        return self.kubectl("-n", self.namespace, "exec", TOOLBOX, "--", "ceph", *args, check=check)

    def ceph(self, *args: str) -> Any:
        """The same with `-f json`, parsed. kubectl up to 1.33 can drop a message that arrives before it has
        created its streams, and then exits 0 with no output; it says so on stderr (`Unknown stream id 1,
        discarding message`, kubernetes/kubernetes#131203). Such a read-only query is asked once more; any other
        empty or broken answer is an error."""
        ran = self.ceph_text(*args, "-f", "json")
        if DROPPED in ran.stderr:
            ran = self.ceph_text(*args, "-f", "json")
        try:
            return json.loads(ran.stdout)
        except ValueError:
            raise ToolError(Ran(ran.argv, 1, ran.stdout, f"not JSON: {ran.stdout[:200]!r} {ran.stderr[-300:]}"
                                .rstrip())) from None

    def custom(self):
        if self._api is None:
            from kubernetes import client, config
            self._api = client.CustomObjectsApi(config.new_client_from_config(config_file=self.kubeconfig))
        return self._api

    def cephcluster(self) -> dict[str, Any] | None:
        """The namespace's CephCluster (there is one per namespace), or None."""
        from kubernetes.client.rest import ApiException
        try:
            items = self.custom().list_namespaced_custom_object("ceph.rook.io", "v1", self.namespace, "cephclusters",
                                                                 _request_timeout=30).get("items") or []
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return items[0] if items else None
