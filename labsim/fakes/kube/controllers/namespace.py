"""Namespaces: every active namespace gets its `default` ServiceAccount (serviceaccounts controller) and the
`kube-root-ca.crt` ConfigMap (root-ca-cert-publisher); a terminating one is emptied, then removed
(pkg/controller/namespace/deletion)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from labsim.fakes.kube import errors as E

from labsim.fakes.kube.controllers.util import Watching

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster


class NamespaceController(Watching):
    WATCHES = (("", "namespaces"), ("", "serviceaccounts"), ("", "configmaps"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def due(self, since: int) -> bool:
        # a terminating namespace is emptied of every kind
        return super().due(since) or (self.cluster.store.rv > since and any(
            ns["metadata"].get("deletionTimestamp") for ns in self.cluster.store.items(("", "namespaces"))))

    def sync(self) -> None:
        c = self.cluster
        for ns in list(c.store.items(("", "namespaces"))):
            name = ns["metadata"]["name"]
            if ns["metadata"].get("deletionTimestamp"):
                self._empty(name, ns)
                continue
            if c.store.get(("", "serviceaccounts"), name, "default") is None:
                c.create("serviceaccounts", {"metadata": {"name": "default"}}, name)
            if c.store.get(("", "configmaps"), name, "kube-root-ca.crt") is None:
                c.create("configmaps", {"metadata": {"name": "kube-root-ca.crt",
                                                     "annotations": {"kubernetes.io/description": (
                                                         "Contains a CA bundle that can be used to verify the "
                                                         "kube-apiserver when using internal endpoints such as the "
                                                         "internal service IP or kubernetes.default.svc. No other "
                                                         "usage is guaranteed across distributions of Kubernetes "
                                                         "clusters.")}},
                                      "data": {"ca.crt": getattr(c, "ca_pem", "")}}, name)

    def _empty(self, name: str, ns: dict) -> None:
        c = self.cluster
        left = 0
        for rt in list(c.registry.all()):
            if not rt.namespaced or (rt.crd is not None and rt.version != rt.storage_version):
                continue
            for o in list(c.store.items(rt.store_key, name)):
                left += 1
                if not o["metadata"].get("deletionTimestamp"):
                    try:
                        c.delete(rt, o["metadata"]["name"], name)
                    except E.KubeError:
                        pass
        if left == 0:
            c.remove_now("namespaces", name)
