"""The garbage collector (pkg/controller/garbagecollector): dependents whose owners are all gone are deleted
(background propagation); an owner deleted with `Foreground` keeps its `foregroundDeletion` finalizer until
its dependents are gone; `Orphan` strips the owner reference from its dependents.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.meta import deep
from labsim.fakes.kube import errors as E

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster


class GarbageCollector:
    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def due(self, since: int) -> bool:
        """Only a write that can leave a dependent without its owner, or move a foreground deletion on, gives the
        collector work: a removal, an object added or re-owned with owner references, or one being deleted. Events,
        lease renewals and status updates do not (the graph builder sees them and finds nothing to do)."""
        store = self.cluster.store
        if store.rv <= since:
            return False
        if since < store.oldest():
            return True
        for ev in reversed(store.history):      # the newest first, back to what this loop saw
            if ev.rv <= since:
                break
            md = ev.obj["metadata"]
            refs = md.get("ownerReferences")
            if ev.type == "DELETED" or md.get("deletionTimestamp") or (
                    refs and (ev.prev is None or ev.prev["metadata"].get("ownerReferences") != refs)):
                return True
        return False

    def _all(self) -> list[tuple[Any, dict[str, Any]]]:
        out = []
        for rt in list(self.cluster.registry.all()):
            if rt.crd is not None and rt.version != rt.storage_version:
                continue
            for o in self.cluster.store.items(rt.store_key):
                out.append((rt, o))
        return out

    def sync(self) -> None:
        objs = self._all()
        uids = {o["metadata"]["uid"] for _, o in objs}
        dependents: dict[str, list[tuple[Any, dict]]] = {}
        for rt, o in objs:
            for ref in o["metadata"].get("ownerReferences") or []:
                dependents.setdefault(ref.get("uid"), []).append((rt, o))
        for rt, o in objs:
            refs = o["metadata"].get("ownerReferences") or []
            if refs and not any(r.get("uid") in uids for r in refs) and not o["metadata"].get("deletionTimestamp"):
                self._delete(rt, o)
        for rt, o in objs:
            md = o["metadata"]
            if md.get("deletionTimestamp") and "foregroundDeletion" in (md.get("finalizers") or []):
                deps = dependents.get(md["uid"], [])
                live = [(drt, d) for drt, d in deps
                        if self.cluster.store.get(drt.store_key, d["metadata"].get("namespace", ""),
                                                  d["metadata"]["name"]) is not None]
                for drt, d in live:
                    if not d["metadata"].get("deletionTimestamp"):
                        self._delete(drt, d, "Foreground")
                if not live:
                    new = deep(o)
                    new["metadata"]["finalizers"] = [f for f in md["finalizers"] if f != "foregroundDeletion"]
                    if not new["metadata"]["finalizers"]:
                        del new["metadata"]["finalizers"]
                    self.cluster.update(rt, new, md.get("namespace") or None)

    def _delete(self, rt: Any, o: dict[str, Any], propagation: str | None = None) -> None:
        try:
            self.cluster.delete(rt, o["metadata"]["name"], o["metadata"].get("namespace") or None,
                                propagation=propagation)
        except E.KubeError:
            pass

    def orphan(self, owner: dict[str, Any]) -> None:
        uid = owner["metadata"]["uid"]
        for rt, o in self._all():
            refs = o["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == uid for r in refs):
                new = deep(o)
                new["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self.cluster.put(rt, new)
