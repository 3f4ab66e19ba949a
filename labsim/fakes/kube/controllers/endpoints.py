"""Service endpoints (pkg/controller/endpointslice, pkg/controller/endpoint): for every Service with a selector,
one EndpointSlice (`<svc>-<random>`, label kubernetes.io/service-name, managed-by endpointslice-controller.k8s.io)
and the legacy Endpoints object, from the matching pods that have an IP. Slice conditions: ready (pod Ready and
not terminating), serving (pod Ready), terminating. Target ports named in the Service resolve per pod."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import Watching, pod_ready
from labsim.fakes.kube.meta import deep, owner_ref, terminating
from labsim.fakes.kube.selectors import from_object

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

MANAGED_BY = "endpointslice-controller.k8s.io"


def _target_port(svc_port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    tp = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(tp, int):
        return tp
    if isinstance(tp, str) and tp.isdigit():
        return int(tp)
    for ct in (pod.get("spec") or {}).get("containers") or []:
        for p in ct.get("ports") or []:
            if p.get("name") == tp and p.get("protocol", "TCP") == svc_port.get("protocol", "TCP"):
                return p.get("containerPort")
    return None


class EndpointsController(Watching):
    WATCHES = (("", "services"), ("", "pods"), ("discovery.k8s.io", "endpointslices"), ("", "endpoints"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def sync(self) -> None:
        c = self.cluster
        for svc in list(c.store.items(("", "services"))):
            sel = (svc.get("spec") or {}).get("selector")
            if not sel or svc["metadata"].get("deletionTimestamp"):
                continue
            ns = svc["metadata"]["namespace"]
            match = from_object({"matchLabels": sel})
            pods = [p for p in c.store.items(("", "pods"), ns)
                    if match.matches(p["metadata"].get("labels")) and (p.get("status") or {}).get("podIP")
                    and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
            self._slice(svc, pods)
            self._endpoints(svc, pods)

    def _ports(self, svc: dict[str, Any], pod: dict[str, Any] | None) -> list[dict[str, Any]]:
        out = []
        for sp in (svc.get("spec") or {}).get("ports") or []:
            port = _target_port(sp, pod) if pod else (sp.get("targetPort") if isinstance(sp.get("targetPort"), int)
                                                      else sp.get("port"))
            if port is None:
                continue
            out.append({"name": sp.get("name", ""), "port": port, "protocol": sp.get("protocol", "TCP")})
        return out

    def _slice(self, svc: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        c = self.cluster
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        existing = [s for s in c.store.items(("discovery.k8s.io", "endpointslices"), ns)
                    if s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == name
                    and s["metadata"].get("labels", {}).get("endpointslice.kubernetes.io/managed-by") == MANAGED_BY]
        endpoints = []
        for p in sorted(pods, key=lambda p: p["metadata"]["name"]):
            ready = pod_ready(p)
            ep = {"addresses": [p["status"]["podIP"]],
                  "conditions": {"ready": ready and not terminating(p), "serving": ready,
                                 "terminating": terminating(p)},
                  "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                "uid": p["metadata"]["uid"]}}
            if p["spec"].get("nodeName"):
                ep["nodeName"] = p["spec"]["nodeName"]
            endpoints.append(ep)
        labels = dict(svc["metadata"].get("labels") or {})
        labels.update({"endpointslice.kubernetes.io/managed-by": MANAGED_BY, "kubernetes.io/service-name": name})
        body = {"addressType": "IPv4", "endpoints": endpoints, "ports": self._ports(svc, pods[0] if pods else None)}
        if existing:
            cur = existing[0]
            want = deep(cur)
            want.update(body)
            want["metadata"]["labels"] = labels
            if want != cur:
                want["metadata"].setdefault("annotations", {})["endpoints.kubernetes.io/last-change-trigger-time"] = \
                    c.now()
                c.put("endpointslices.discovery.k8s.io", want)
            for extra in existing[1:]:
                c.delete("endpointslices.discovery.k8s.io", extra["metadata"]["name"], ns)
        else:
            c.create("endpointslices.discovery.k8s.io", {
                "metadata": {"generateName": f"{name}-", "labels": labels, "ownerReferences": [owner_ref(svc)],
                             "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": c.now()}},
                **body}, ns)

    def _endpoints(self, svc: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        c = self.cluster
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        ready, not_ready = [], []
        for p in sorted(pods, key=lambda p: p["status"]["podIP"]):
            if terminating(p):
                continue
            addr = {"ip": p["status"]["podIP"], "targetRef": {"kind": "Pod", "namespace": ns,
                                                               "name": p["metadata"]["name"],
                                                               "uid": p["metadata"]["uid"]}}
            if p["spec"].get("nodeName"):
                addr["nodeName"] = p["spec"]["nodeName"]
            (ready if pod_ready(p) else not_ready).append(addr)
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        body: dict[str, Any] = {"metadata": {"name": name, "namespace": ns}}
        if svc["metadata"].get("labels"):
            body["metadata"]["labels"] = dict(svc["metadata"]["labels"])
        if subset:
            subset["ports"] = self._ports(svc, pods[0])
            body["subsets"] = [subset]
        cur = c.store.get(("", "endpoints"), ns, name)
        if cur is None:
            c.create("endpoints", body, ns)
            return
        want = deep(cur)
        want.pop("subsets", None)
        if "subsets" in body:
            want["subsets"] = body["subsets"]
        want["metadata"].pop("labels", None)
        if body["metadata"].get("labels"):
            want["metadata"]["labels"] = body["metadata"]["labels"]
        if want != cur:
            c.put("endpoints", want)
