"""Deployments -> ReplicaSets (pkg/controller/deployment: sync.go, rolling.go, recreate.go, progress.go).

The new ReplicaSet is `<deployment>-<pod-template-hash>`; a rolling update scales it up within maxSurge and
the old ones down within maxUnavailable; status and the Available/Progressing conditions use the controller's
reasons and messages, so `kubectl rollout status` reads them as it reads a real cluster's.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import Watching, template_hash
from labsim.fakes.kube.meta import (
    deep,
    get_condition,
    int_or_percent,
    is_owned_by,
    owner_ref,
    parse_time,
    set_condition,
)

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster
    from labsim.fakes.kube.controllers import Controllers

REV = "deployment.kubernetes.io/revision"


def _template_without_hash(t: dict[str, Any]) -> dict[str, Any]:
    """The template as the hash sees it (pod-template-hash left out): a new outer layer, the rest shared, since the
    hash only reads it."""
    t = dict(t or {})
    md = t.get("metadata") or {}
    labels = md.get("labels") or {}
    if "pod-template-hash" in labels:
        t["metadata"] = {**md, "labels": {k: v for k, v in labels.items() if k != "pod-template-hash"}}
    return t


class DeploymentController(Watching):
    WATCHES = (("apps", "deployments"), ("apps", "replicasets"), ("", "pods"))

    def __init__(self, cluster: KubeCluster, controllers: Controllers):
        self.cluster = cluster
        self.controllers = controllers

    def sync(self) -> None:
        for d in list(self.cluster.store.items(("apps", "deployments"))):
            if not d["metadata"].get("deletionTimestamp"):
                self._sync(d)

    def _rs_of(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        ns = d["metadata"]["namespace"]
        return [rs for rs in self.cluster.store.items(("apps", "replicasets"), ns) if is_owned_by(rs, d)]

    def _sync(self, d: dict[str, Any]) -> None:
        c = self.cluster
        spec = d["spec"]
        replicas = int(spec.get("replicas", 1))
        h = template_hash(_template_without_hash(spec.get("template")),
                          (d.get("status") or {}).get("collisionCount", 0))
        rss = self._rs_of(d)
        new = next((rs for rs in rss if rs["metadata"].get("labels", {}).get("pod-template-hash") == h), None)
        olds = [rs for rs in rss if rs is not new]
        created = False
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        surge, unavail = self._limits(spec, replicas)
        if spec.get("paused"):
            self._status(d, new, rss, h, False)
            return
        if new is None:
            rev = max([int(rs["metadata"].get("annotations", {}).get(REV, "0")) for rs in olds] + [0]) + 1
            start = 0
            if strategy == "RollingUpdate":
                total = sum(int(rs["spec"].get("replicas", 0)) for rs in olds)
                start = replicas if not olds or total == 0 else max(0, min(replicas, replicas + surge - total))
            elif not any(self._pods_of(rs) for rs in olds) and all(rs["spec"].get("replicas", 0) == 0 for rs in olds):
                start = replicas
            new = self._create_rs(d, h, rev, start, surge)
            created = True
            c.record_event(d, "Normal", "ScalingReplicaSet",
                           f"Scaled up replica set {new['metadata']['name']} from 0 to {start}", "deployment-controller")
        else:
            rev = int(new["metadata"].get("annotations", {}).get(REV, "1"))
            self._annotate_rs(new, d, rev, surge)
        if strategy == "Recreate":
            self._recreate(d, new, olds, replicas)
        else:
            self._rolling(d, new, olds, replicas, surge, unavail)
        self._cleanup(d, olds)
        if d["metadata"].get("annotations", {}).get(REV) != str(rev):
            nd = deep(d)
            nd["metadata"].setdefault("annotations", {})[REV] = str(rev)
            c.put("deployments.apps", nd)
        d = c.live("deployments.apps", d["metadata"]["name"], d["metadata"]["namespace"])
        new = c.live("replicasets.apps", new["metadata"]["name"], new["metadata"]["namespace"])
        self._status(d, new, self._rs_of(d), h, created)

    def _limits(self, spec: dict[str, Any], replicas: int) -> tuple[int, int]:
        ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge = int_or_percent(ru.get("maxSurge", "25%"), replicas, True)
        unavail = int_or_percent(ru.get("maxUnavailable", "25%"), replicas, False)
        if surge == 0 and unavail == 0:
            unavail = 1
        return surge, unavail

    def _pods_of(self, rs: dict[str, Any]) -> list[dict]:
        from labsim.fakes.kube.controllers.util import owned_pods
        return owned_pods(self.cluster, rs)

    def _create_rs(self, d: dict[str, Any], h: str, rev: int, replicas: int, surge: int) -> dict[str, Any]:
        t = deep(d["spec"].get("template") or {})
        t.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        sel = deep(d["spec"].get("selector") or {})
        sel.setdefault("matchLabels", {})["pod-template-hash"] = h
        dreps = int(d["spec"].get("replicas", 1))
        rs = {"metadata": {"name": f"{d['metadata']['name']}-{h}", "namespace": d["metadata"]["namespace"],
                           "labels": dict(t["metadata"]["labels"]),
                           "annotations": {"deployment.kubernetes.io/desired-replicas": str(dreps),
                                           "deployment.kubernetes.io/max-replicas": str(dreps + surge), REV: str(rev)},
                           "ownerReferences": [owner_ref(d)]},
              "spec": {"replicas": replicas, "minReadySeconds": d["spec"].get("minReadySeconds", 0),
                       "selector": sel, "template": t}}
        if not rs["spec"]["minReadySeconds"]:
            del rs["spec"]["minReadySeconds"]
        return self.cluster.create("replicasets.apps", rs, d["metadata"]["namespace"])

    def _annotate_rs(self, rs: dict[str, Any], d: dict[str, Any], rev: int, surge: int) -> None:
        dreps = int(d["spec"].get("replicas", 1))
        want = {"deployment.kubernetes.io/desired-replicas": str(dreps),
                "deployment.kubernetes.io/max-replicas": str(dreps + surge)}
        ann = rs["metadata"].get("annotations") or {}
        if any(ann.get(k) != v for k, v in want.items()):
            new = deep(rs)
            new["metadata"].setdefault("annotations", {}).update(want)
            self.cluster.put("replicasets.apps", new)

    def _scale(self, d: dict[str, Any], rs: dict[str, Any], to: int) -> None:
        cur = int(rs["spec"].get("replicas", 0))
        if cur == to:
            return
        new = deep(rs)
        new["spec"]["replicas"] = to
        self.cluster.put("replicasets.apps", new)
        verb = "up" if to > cur else "down"
        self.cluster.record_event(d, "Normal", "ScalingReplicaSet",
                                  f"Scaled {verb} replica set {rs['metadata']['name']} from {cur} to {to}",
                                  "deployment-controller")

    def _rolling(self, d: dict, new: dict, olds: list[dict], replicas: int, surge: int, unavail: int) -> None:
        c = self.cluster
        new = c.live("replicasets.apps", new["metadata"]["name"], new["metadata"]["namespace"])
        active_olds = [rs for rs in olds if int(rs["spec"].get("replicas", 0)) > 0]
        if not active_olds:
            self._scale(d, new, replicas)
            return
        total = sum(int(rs["spec"].get("replicas", 0)) for rs in olds) + int(new["spec"].get("replicas", 0))
        nrep = int(new["spec"].get("replicas", 0))
        if nrep < replicas:
            room = replicas + surge - total
            if room > 0:
                self._scale(d, new, nrep + min(room, replicas - nrep))
        elif nrep > replicas:
            self._scale(d, new, replicas)
        new = c.live("replicasets.apps", new["metadata"]["name"], new["metadata"]["namespace"])
        all_reps = sum(int(rs["spec"].get("replicas", 0)) for rs in olds) + int(new["spec"].get("replicas", 0))
        min_available = replicas - unavail
        new_unavailable = int(new["spec"].get("replicas", 0)) - int((new.get("status") or {}).get("availableReplicas", 0))
        budget = all_reps - min_available - new_unavailable
        # unhealthy old replicas go first: they cost no availability
        for rs in sorted(active_olds, key=lambda r: r["metadata"]["creationTimestamp"]):
            reps = int(rs["spec"].get("replicas", 0))
            unhealthy = reps - int((rs.get("status") or {}).get("availableReplicas", 0))
            if unhealthy > 0:
                drop = min(unhealthy, reps)
                self._scale(d, rs, reps - drop)
        olds = [c.live("replicasets.apps", rs["metadata"]["name"], rs["metadata"]["namespace"]) for rs in active_olds]
        all_reps = sum(int(rs["spec"].get("replicas", 0)) for rs in olds) + int(new["spec"].get("replicas", 0))
        budget = all_reps - min_available - new_unavailable
        for rs in sorted(olds, key=lambda r: r["metadata"]["creationTimestamp"]):
            if budget <= 0:
                break
            reps = int(rs["spec"].get("replicas", 0))
            drop = min(reps, budget)
            if drop:
                self._scale(d, rs, reps - drop)
                budget -= drop

    def _recreate(self, d: dict, new: dict, olds: list[dict], replicas: int) -> None:
        for rs in olds:
            self._scale(d, rs, 0)
        if any(p for rs in olds for p in self._pods_of(rs)):
            return
        new = self.cluster.live("replicasets.apps", new["metadata"]["name"], new["metadata"]["namespace"])
        self._scale(d, new, replicas)

    def _cleanup(self, d: dict, olds: list[dict]) -> None:
        limit = int(d["spec"].get("revisionHistoryLimit", 10))
        idle = [rs for rs in olds if int(rs["spec"].get("replicas", 0)) == 0
                and int((rs.get("status") or {}).get("replicas", 0)) == 0]
        idle.sort(key=lambda r: int(r["metadata"].get("annotations", {}).get(REV, "0")))
        for rs in idle[:max(0, len(idle) - limit)]:
            self.cluster.delete("replicasets.apps", rs["metadata"]["name"], rs["metadata"]["namespace"])

    def _status(self, d: dict, new: dict | None, rss: list[dict], h: str, created: bool) -> None:
        c = self.cluster
        spec = d["spec"]
        replicas = int(spec.get("replicas", 1))
        _, unavail = self._limits(spec, replicas)
        st = lambda rs, k: int((rs.get("status") or {}).get(k, 0))
        total = sum(st(rs, "replicas") for rs in rss)
        updated = st(new, "replicas") if new else 0
        ready = sum(st(rs, "readyReplicas") for rs in rss)
        available = sum(st(rs, "availableReplicas") for rs in rss)
        status = deep(d.get("status") or {})
        status["observedGeneration"] = d["metadata"].get("generation", 1)
        for k, v in (("replicas", total), ("updatedReplicas", updated), ("readyReplicas", ready),
                     ("availableReplicas", available), ("unavailableReplicas", max(replicas - available, 0))):
            if v:
                status[k] = v
            else:
                status.pop(k, None)
        now = c.now()
        if available >= replicas - unavail:
            set_condition(status, "Available", "True", now, "MinimumReplicasAvailable",
                          "Deployment has minimum availability.", update_time=True)
        else:
            set_condition(status, "Available", "False", now, "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.", update_time=True)
        name = new["metadata"]["name"] if new else ""
        complete = updated == replicas and available == replicas and total == replicas and \
            (new is None or st(new, "observedGeneration") >= new["metadata"].get("generation", 1))
        prog = get_condition({"status": status}, "Progressing")
        if spec.get("paused"):
            set_condition(status, "Progressing", "Unknown", now, "DeploymentPaused", "Deployment is paused",
                          update_time=True)
        elif complete:
            set_condition(status, "Progressing", "True", now, "NewReplicaSetAvailable",
                          f'ReplicaSet "{name}" has successfully progressed.', update_time=True)
        elif created:
            set_condition(status, "Progressing", "True", now, "NewReplicaSetCreated", f'Created new replica set "{name}"',
                          update_time=True)
        else:
            deadline = int(spec.get("progressDeadlineSeconds", 600))
            if prog is None or self._progressed(d, status) or prog.get("reason") == "NewReplicaSetAvailable":
                set_condition(status, "Progressing", "True", now, "ReplicaSetUpdated",
                              f'ReplicaSet "{name}" is progressing.', update_time=True)
                get_condition({"status": status}, "Progressing")["lastUpdateTime"] = now
                self.controllers.wake_at(c.clock.now() + deadline)
            elif prog.get("reason") != "ProgressDeadlineExceeded":
                last = parse_time(prog.get("lastUpdateTime")) or c.clock.utcnow()
                waited = (c.clock.utcnow() - last).total_seconds()
                if waited + 1e-6 >= deadline:
                    set_condition(status, "Progressing", "False", now, "ProgressDeadlineExceeded",
                                  f'ReplicaSet "{name}" has timed out progressing.', update_time=True)
                else:
                    self.controllers.wake_at(c.clock.now() + deadline - waited)
        status["conditions"].sort(key=lambda x: {"Available": 0, "Progressing": 1}.get(x["type"], 2))
        if status != (d.get("status") or {}):
            nd = deep(d)
            nd["status"] = status
            c.put_status("deployments.apps", nd)

    def _progressed(self, d: dict, status: dict) -> bool:
        old = d.get("status") or {}
        return any(old.get(k, 0) != status.get(k, 0) for k in ("updatedReplicas", "availableReplicas", "readyReplicas",
                                                               "replicas"))
