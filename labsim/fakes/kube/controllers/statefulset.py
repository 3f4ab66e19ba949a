"""StatefulSets (pkg/controller/statefulset, simplified): pods `<sts>-<ordinal>` created in order, each waiting
for the previous to be Ready under OrderedReady; scale-down removes the highest ordinal first; a template
change replaces pods from the highest ordinal down, one at a time. PVCs from volumeClaimTemplates are created
(`<template>-<sts>-<ordinal>`) but nothing binds them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import (
    Watching,
    owned_pods,
    pod_available,
    pod_from_template,
    pod_ready,
    template_hash,
)
from labsim.fakes.kube.meta import deep, owner_ref, terminating

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster


def _ordinal(pod: dict[str, Any], name: str) -> int:
    tail = pod["metadata"]["name"][len(name) + 1:]
    return int(tail) if tail.isdigit() else -1


class StatefulSetController(Watching):
    WATCHES = (("apps", "statefulsets"), ("", "pods"), ("", "persistentvolumeclaims"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def sync(self) -> None:
        for s in list(self.cluster.store.items(("apps", "statefulsets"))):
            if not s["metadata"].get("deletionTimestamp"):
                self._sync(s)

    def _sync(self, s: dict[str, Any]) -> None:
        c = self.cluster
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        spec = s["spec"]
        want = int(spec.get("replicas", 1))
        revision = f"{name}-{template_hash(spec.get('template') or {})}"
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {(_ordinal(p, name)): p for p in owned_pods(c, s)}
        for i in range(want):
            p = pods.get(i)
            if p is None:
                self._create(s, i, revision)
                if ordered:
                    break
                continue
            if (p.get("status") or {}).get("phase") in ("Failed", "Succeeded") and not terminating(p):
                c.delete("pods", p["metadata"]["name"], ns)
                if ordered:
                    break
            if ordered and (not pod_ready(p) or terminating(p)):
                break
        else:
            extra = sorted((i for i in pods if i >= want), reverse=True)
            if extra:
                p = pods[extra[0]]
                if not terminating(p) and (not ordered or all(pod_ready(pods[i]) for i in pods if i < want)):
                    c.delete("pods", p["metadata"]["name"], ns)
                    c.record_event(s, "Normal", "SuccessfulDelete",
                                   f"delete Pod {p['metadata']['name']} in StatefulSet {name} successful",
                                   "statefulset-controller")
            elif (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
                live = [pods[i] for i in range(want) if i in pods]
                if all(pod_ready(p) and not terminating(p) for p in live):
                    stale = [i for i in range(want) if i in pods and
                             pods[i]["metadata"].get("labels", {}).get("controller-revision-hash") != revision]
                    if stale:
                        c.delete("pods", pods[max(stale)]["metadata"]["name"], ns)
        self._status(c.live("statefulsets.apps", name, ns), revision)

    def _create(self, s: dict[str, Any], i: int, revision: str) -> None:
        c = self.cluster
        ns, name = s["metadata"]["namespace"], s["metadata"]["name"]
        pname = f"{name}-{i}"
        t = deep(s["spec"].get("template") or {})
        pspec = t.setdefault("spec", {})
        pspec["hostname"] = pname
        if s["spec"].get("serviceName"):
            pspec["subdomain"] = s["spec"]["serviceName"]
        for vct in s["spec"].get("volumeClaimTemplates") or []:
            claim = f"{vct['metadata']['name']}-{name}-{i}"
            if c.store.get(("", "persistentvolumeclaims"), ns, claim) is None:
                pvc = deep(vct)
                pvc["metadata"] = {"name": claim, "labels": dict(t.get("metadata", {}).get("labels") or {})}
                if (s["spec"].get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted") == "Delete":
                    pvc["metadata"]["ownerReferences"] = [owner_ref(s)]
                c.create("persistentvolumeclaims", pvc, ns)
            vols = pspec.setdefault("volumes", [])
            if not any(v.get("name") == vct["metadata"]["name"] for v in vols):
                vols.append({"name": vct["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
        pod = pod_from_template(c, s, t, name=pname, extra_labels={
            "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pname,
            "apps.kubernetes.io/pod-index": str(i)})
        c.create("pods", pod, ns)
        c.record_event(s, "Normal", "SuccessfulCreate", f"create Pod {pname} in StatefulSet {name} successful",
                       "statefulset-controller")

    def _status(self, s: dict[str, Any], revision: str) -> None:
        c = self.cluster
        pods = [p for p in owned_pods(c, s) if not terminating(p)]
        now = c.clock.utcnow()
        min_ready = int(s["spec"].get("minReadySeconds", 0))
        updated = sum(1 for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") == revision)
        status = {"observedGeneration": s["metadata"].get("generation", 1), "replicas": len(pods),
                  "readyReplicas": sum(1 for p in pods if pod_ready(p)),
                  "currentReplicas": updated, "updatedReplicas": updated,
                  "currentRevision": revision, "updateRevision": revision,
                  "collisionCount": 0,
                  "availableReplicas": sum(1 for p in pods if pod_available(p, min_ready, now))}
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[k]:
                del status[k]
        if status != (s.get("status") or {}):
            new = deep(s)
            new["status"] = status
            c.put_status("statefulsets.apps", new)
