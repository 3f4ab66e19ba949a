"""Cilium on an RKE2 cluster, installed the RKE2 way: the packaged chart `rke2-cilium` and its HelmChartConfig.

RKE2 with `cni: cilium` deploys its packaged Cilium chart as the HelmChart `rke2-cilium` (kube-system,
helm.cattle.io/v1). The owner's values go in a HelmChartConfig of the same name (usually a file in
/var/lib/rancher/rke2/server/manifests/, as rke2-ansible writes it); RKE2's helm-controller (k3s-io/helm-controller)
merges its `valuesContent` over the chart's and runs `helm upgrade --install rke2-cilium` whenever either changes
(docs.rke2.io, networking/basic_network_options, "Using Cilium"; kube-proxy replacement there is
`kubeProxyReplacement: true` with `k8sServiceHost: 127.0.0.1` and `k8sServicePort: 6443`, RKE2's local API proxy on
every node, after `disable-kube-proxy: true` in the servers' config.yaml).

The simulated lab starts as rke2-ansible leaves it: the HelmChartConfig holds what the lab file says (kube-proxy
replacement when `kube_proxy: false`, the cluster's Cilium name and id). The controller here renders the same cilium
chart the fake helm renders (labsim/fakes/cilium/chart.py) into the cluster every time the HelmChartConfig changes
(a hand edit, or the mesh's settings), keeping the chart's cilium-ca as helm's `lookup` does.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
from typing import Any

import yaml

from labsim import fastyaml
from labsim.fakes.kube import KubeCluster

NS = "kube-system"
NAME = "rke2-cilium"
GROUP, VERSION = "helm.cattle.io", "v1"
TICK = 5.0         # how often helm-controller's informer is looked at (virtual seconds)
CHART_VERSION = "1.18.5"
CRDS = (("helmcharts", "HelmChart"), ("helmchartconfigs", "HelmChartConfig"))


def lab_values(cluster: dict[str, Any]) -> dict[str, Any]:
    """What the lab file asks of an RKE2 cluster's Cilium, as the HelmChartConfig's valuesContent."""
    cil = cluster.get("cilium") or {}
    out: dict[str, Any] = {"cluster": {"name": cil.get("cluster_name") or cluster["name"],
                                       "id": int(cil.get("cluster_id", 0))}}
    if cluster.get("kube_proxy") is False:
        out.update({"kubeProxyReplacement": True, "k8sServiceHost": "127.0.0.1", "k8sServicePort": 6443})
    if cil.get("max_connected_clusters") is not None:       # what rke2-ansible installed it with (fixed from then on)
        out["clustermesh"] = {"maxConnectedClusters": int(cil["max_connected_clusters"])}
    return out


def has_cilium(cluster: dict[str, Any]) -> bool:
    return cluster.get("distribution") == "rke2" and cluster.get("cni") == "cilium"


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> tuple[dict[str, Any], str] | None:
    """valuesContent read as helm-controller reads it, and the digest of what it says (None: unreadable, or not a
    mapping). Kept by text: the controller reads it on every tick, and parsing it each time was a tenth of a run.
    Callers copy the values before they change them."""
    try:
        got = fastyaml.load(text) or {}
    except yaml.YAMLError:
        return None         # helm-controller logs the parse error and installs nothing new
    if not isinstance(got, dict):
        return None
    return got, hashlib.sha256(json.dumps(got, sort_keys=True).encode()).hexdigest()


class Rke2Cilium:
    """helm-controller for `rke2-cilium` in each RKE2 cluster with `cni: cilium`."""

    def __init__(self, clock, clusters: dict[str, KubeCluster], raw: dict[str, Any]):
        from labsim.fakes.cilium import crds
        from labsim.fakes.tools import helm_certs
        self.clock = clock
        self.clusters = {c["name"]: clusters[c["name"]] for c in raw.get("clusters") or []
                         if has_cilium(c) and c["name"] in clusters}
        self.versions = {c["name"]: str((c.get("cilium") or {}).get("version") or CHART_VERSION)
                         for c in raw.get("clusters") or [] if c["name"] in self.clusters}
        self.installed: dict[str, str] = {}          # cluster -> digest of the values last installed
        self.revision: dict[str, int] = {}
        self._ca = {name: helm_certs.gen_ca() for name in self.clusters}
        with clock.lock:
            for c in raw.get("clusters") or []:
                if c["name"] in self.clusters:
                    self._seed(self.clusters[c["name"]], c)
                    crds.install(self.clusters[c["name"]])   # its cilium-operator pods register the cilium.io CRDs
        self.reconcile()

    @staticmethod
    def _seed(kube: KubeCluster, cluster: dict[str, Any]) -> None:
        for plural, kind in CRDS:
            name = f"{plural}.{GROUP}"
            if kube.store.get(("apiextensions.k8s.io", "customresourcedefinitions"), "", name) is None:
                kube.create("customresourcedefinitions", {
                    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                    "metadata": {"name": name},
                    "spec": {"group": GROUP, "scope": "Namespaced",
                             "names": {"plural": plural, "singular": kind.lower(), "kind": kind,
                                       "listKind": kind + "List"},
                             "versions": [{"name": VERSION, "served": True, "storage": True,
                                           "schema": {"openAPIV3Schema": {
                                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
        kube.create("helmcharts", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "HelmChart",
            "metadata": {"name": NAME, "namespace": NS, "annotations": {"helm.cattle.io/chart-url":
                                                                         f"https://rke2-charts.rancher.io/assets/"
                                                                         f"rke2-cilium/{NAME}.tgz"}},
            "spec": {"chart": NAME, "bootstrap": True, "targetNamespace": NS,
                     "chartContent": "(packaged with RKE2)"}}, NS)
        kube.create("helmchartconfigs", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "HelmChartConfig",
            "metadata": {"name": NAME, "namespace": NS},
            "spec": {"valuesContent": yaml.safe_dump(lab_values(cluster), sort_keys=False)}}, NS)

    def values(self, name: str) -> dict[str, Any] | None:
        """The HelmChartConfig's valuesContent as helm-controller reads it ({} without one, None when unreadable)."""
        read = self._read(name)
        return None if read is None else copy.deepcopy(read[0])

    def _read(self, name: str) -> tuple[dict[str, Any], str] | None:
        cfg = self.clusters[name].try_get("helmchartconfigs", NAME, NS)
        return _parse((cfg.get("spec") or {}).get("valuesContent") or "" if cfg is not None else "")

    def reconcile(self) -> None:
        """Install what the HelmChartConfig now says, where it differs from what was installed."""
        from labsim.fakes.cilium import chart
        from labsim.fakes.cilium.direct import apply
        from labsim.fakes.tools import helm_certs
        with self.clock.lock:
            for name, kube in self.clusters.items():
                if kube.try_get("helmcharts", NAME, NS) is None:
                    continue
                read = self._read(name)
                if read is None or self.installed.get(name) == read[1]:
                    continue
                user, digest = copy.deepcopy(read[0]), read[1]
                existing = kube.try_get("secrets", "cilium-ca", NS)
                data = (existing or {}).get("data") or {}
                ca = {k: data[k] for k in ("ca.crt", "ca.key")} if {"ca.crt", "ca.key"} <= set(data) \
                    else self._ca[name]
                try:
                    objs = chart.render(chart.merge(chart.DEFAULTS, user), release=NAME, namespace=NS,
                                        version=self.versions[name], ca=ca,
                                        issue=helm_certs.issuer(ca, "mesh.cilium.io"))
                except chart.ChartError:
                    continue        # the install job fails; what was installed stays
                for obj in objs:
                    apply(kube, copy.deepcopy(obj))
                self.installed[name] = digest
                self.revision[name] = self.revision.get(name, 0) + 1
                self._record(kube, self.versions[name], user, objs, self.revision[name])

    def _record(self, kube: KubeCluster, version: str, user: dict[str, Any], objs: list[dict[str, Any]],
                rev: int) -> None:
        """The helm release the install job leaves (`helm list -n kube-system` shows rke2-cilium), the previous
        revision superseded."""
        from labsim.fakes.tools import helm_release as R
        now = R.lab_time(self.clock.now()).isoformat()
        prev = kube.try_get("secrets", R.secret_name(NAME, rev - 1), NS) if rev > 1 else None
        first = now
        if prev is not None:
            old = R.decode(prev["data"]["release"])
            first = old["info"].get("first_deployed") or now
            old["info"]["status"] = "superseded"
            body = R.record(old)
            body["metadata"]["resourceVersion"] = prev["metadata"]["resourceVersion"]
            kube.update("secrets", body, NS)
        release = {"name": NAME, "namespace": NS, "version": rev,
                   "info": {"first_deployed": first, "last_deployed": now, "deleted": "", "status": "deployed",
                            "description": "Upgrade complete" if rev > 1 else "Install complete"},
                   "chart": {"metadata": {"name": NAME, "version": version, "appVersion": version,
                                          "description": "Cilium, packaged for RKE2", "apiVersion": "v2"}},
                   "config": user, "manifest": R.manifest(objs)}
        kube.create("secrets", R.record(release), NS)

    def tick(self) -> None:
        self.reconcile()
        self.clock.call_later(TICK, self.tick)
