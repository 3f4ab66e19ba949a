"""`cilium clustermesh status` as cilium-cli computes and prints it (clustermesh.go Status,
determineStatusConnectivity, parseAgentStatus, outputConnectivityStatus), and the `cilium status` summary.

What each agent (and KVStoreMesh replica) says about its remote clusters is asked from the lab through the
control API, standing in for `kubectl exec <pod> -- cilium-dbg status`.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsim.fakes.cilium import texts as T
from labsim.fakes.tools import client
from labsim.fakes.tools.cilium_access import NS, CliError
from labsim.fakes.tools.kubeapi import Kube


@dataclass
class Connectivity:
    connected: list[int] = field(default_factory=list)
    clusters: dict[str, dict[str, int]] = field(default_factory=dict)
    not_ready: int = 0
    errors: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)   # pod -> cluster -> (kind, text)

    @property
    def total(self) -> int:
        return len(self.connected)

    def stats(self) -> tuple[int, float, int]:
        if not self.connected:
            return -1, 0.0, 0
        return min(self.connected), sum(self.connected) / len(self.connected), max(self.connected)

    def add(self, pod: str, expected: list[str], clusters: dict[str, dict[str, Any]]) -> None:
        """parseAgentStatus."""
        ready = 0
        for name, rc in clusters.items():
            st = self.clusters.setdefault(name, {"configured": 0, "connected": 0})
            st["configured"] += 1
            if rc.get("ready"):
                ready += 1
                st["connected"] += 1
            else:
                self.errors.setdefault(pod, {}).setdefault(name, []).append(_error(rc))
        missing = False
        for exp in expected:
            if exp not in clusters:
                missing = True
                self.errors.setdefault(pod, {}).setdefault(exp, []).append(("other", T.UNKNOWN_STATUS))
        if missing or ready != len(clusters):
            self.not_ready += 1
        self.connected.append(ready)

    def to_json(self) -> dict[str, Any]:
        """ConnectivityStatus as encoding/json writes it: `connected` is a struct, so it is always there (its own
        fields `omitempty`: {} when every value is 0); maps come out with their keys sorted; a float64 that is
        whole prints without a fraction (1, not 1.0)."""
        lo, avg, hi = self.stats()
        out: dict[str, Any] = {"connected": {k: _go_number(v) for k, v in (("min", lo), ("avg", avg), ("max", hi))
                                             if v}}
        clusters = {n: {k: v for k, v in self.clusters[n].items() if v} for n in sorted(self.clusters)}
        if clusters:
            out["clusters"] = clusters
        if self.total:
            out["total"] = self.total
        if self.not_ready:
            out["not_ready"] = self.not_ready
        if self.errors:   # Go marshals an error value as {}: the texts are in the summary output only
            out["errors"] = {p: {c: {"Errors": [{} for _ in self.errors[p][c]], "Warnings": None, "Disabled": False}
                                 for c in sorted(self.errors[p])} for p in sorted(self.errors)}
        return out


def _go_number(v: float) -> float | int:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _error(rc: dict[str, Any]) -> tuple[str, str]:
    """remoteClusterStatusToError: (kind, text); kind picks the hint."""
    if not rc.get("connected"):
        return "not-connected", rc.get("status", "")
    cfg = rc.get("config")
    if cfg is None:
        return "other", "remote cluster configuration retrieval status unknown"
    if cfg.get("required") and not cfg.get("retrieved"):
        return "config", T.CONFIG_REQUIRED
    synced = rc.get("synced")
    if synced is None:
        return "other", "synchronization status unknown"
    todo = [k for k in ("endpoints", "identities", "nodes", "services") if not synced.get(k)]
    if todo:
        return "other", T.SYNC_IN_PROGRESS.format(what=", ".join(todo))
    return "other", "not ready"


def expected(kube: Kube, secret: str, local: str) -> list[str]:
    obj = kube.get("Secret", secret, NS)
    out = []
    for name, raw in ((obj or {}).get("data") or {}).items():
        if name != local and "endpoints:" in base64.b64decode(raw).decode(errors="replace"):
            out.append(name)
    return sorted(out)


def collect(kube: Kube, secret: str, selector: str, local: str) -> Connectivity:
    """determineStatusConnectivity for the agents (or the KVStoreMesh replicas)."""
    exp = expected(kube, secret, local)
    stats = Connectivity(clusters={n: {"configured": 0, "connected": 0} for n in exp})
    pods = [p["metadata"]["name"] for p in kube.list("Pod", NS, selector)]
    answer = client.call("cilium", "status", {"server": kube.server, "pods": pods}) if pods else {"pods": {}}
    for pod in pods:
        st = answer["pods"].get(pod) or {}
        if "error" in st:
            if not exp:
                continue
            raise CliError(f'unable to determine status of pod "{pod}": {st["error"]}')
        stats.add(pod, exp, st.get("clusters") or {})
    return stats


def render(agents: Connectivity, kvs: Connectivity | None, kvs_enabled: bool, log: Callable[[str], None]) -> None:
    """outputConnectivityStatus."""
    def ready_line(s: Connectivity, component: str) -> None:
        lo, avg, hi = s.stats()
        if s.not_ready > 0:
            log(T.SOME_NOT_CONNECTED.format(bad=s.not_ready, total=s.total, component=component, min=lo, avg=avg,
                                            max=hi))
        elif s.clusters:
            log(T.ALL_CONNECTED.format(total=s.total, component=component, min=lo, avg=avg, max=hi))
    log("")
    ready_line(agents, "nodes")
    if kvs is not None:
        ready_line(kvs, "KVStoreMesh replicas")
    log("")
    if agents.clusters:
        log(T.CONNECTIONS)
        for name in sorted(agents.clusters):
            st = agents.clusters[name]
            line = T.CONNECTION_LINE.format(cluster=name, configured=st["configured"], total=agents.total,
                                            connected=st["connected"])
            if kvs is not None:
                k = kvs.clusters.get(name)
                line += T.KVSTOREMESH_NA if k is None else T.KVSTOREMESH_LINE.format(
                    configured=k["configured"], total=kvs.total, connected=k["connected"])
            log(line)
    else:
        log(T.NO_CLUSTER)
    log("")
    count = len(agents.errors) + (len(kvs.errors) if kvs is not None else 0)
    if count:
        log(T.ERRORS.format(count=count))

        def errors(s: Connectivity, container: str, cmd: str, likely_kvs: bool) -> None:
            for pod in sorted(s.errors):
                for cluster, errs in s.errors[pod].items():
                    for kind, text in errs:
                        log(T.ERROR_LINE.format(pod=pod, cluster=cluster, err=text))
                        if kind == "not-connected":
                            log(T.HINT_TROUBLESHOOT.format(ns=NS, pod=pod, container=container, cmd=cmd,
                                                           cluster=cluster))
                        elif kind == "config":
                            log(T.HINT_KVSTOREMESH if likely_kvs else T.HINT_NAME)
        errors(agents, "cilium-agent", T.AGENT_TROUBLESHOOT, kvs_enabled)
        if kvs is not None:
            errors(kvs, "kvstoremesh", T.KVSTOREMESH_TROUBLESHOOT, False)


def as_json(access: dict[str, Any] | None, agents: Connectivity | None, kvs_enabled: bool,
            kvs: Connectivity | None) -> str:
    """json.MarshalIndent(s, "", " ")"""
    out: dict[str, Any] = {}
    if access:
        out["access_information"] = access
    if agents is not None:
        out["connectivity"] = agents.to_json()
    k: dict[str, Any] = {"enabled": kvs_enabled}
    if kvs is not None:
        k["status"] = kvs.to_json()
    out["kvstoremesh"] = k
    text = json.dumps(out, indent=" ", ensure_ascii=False)
    # encoding/json escapes <, > and & inside strings (they occur nowhere else in a JSON text)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def deployment_error(kube: Kube, name: str) -> str | None:
    """k8s.Client.CheckDeploymentStatus."""
    d = kube.get("Deployment", name, NS)
    if d is None:
        return f'deployments.apps "{name}" not found'
    st = d.get("status") or {}
    if int(st.get("observedGeneration") or 0) != int(d["metadata"].get("generation") or 0):
        return (f"observed generation ({st.get('observedGeneration', 0)}) is older than generation of the desired "
                f"state ({d['metadata'].get('generation', 0)})")
    replicas = int(st.get("replicas") or 0)
    if replicas == 0:
        return "replicas count is zero"
    for key, word in (("availableReplicas", "available"), ("readyReplicas", "ready"),
                      ("updatedReplicas", "up-to-date")):
        have = int(st.get(key) or 0)
        if have != replicas:
            return f"only {have} of {replicas} replicas are {word}"
    return None
