"""The mesh datapath: one TCP connection from a pod to a Service, as Cilium's socket load balancer (and Envoy, when
a CiliumEnvoyConfig redirects the Service) would handle it.

Backend selection is Cilium's `ClusterMeshSelectBackends.SelectBackends` (pkg/clustermesh/selectbackends.go):
a Service that is not global uses its local backends only; affinity none uses local and remote together;
otherwise healthy = Active or Terminating and not Unhealthy, and
- local: local backends always, remote ones only if no local backend is Active (and some remote is healthy);
- remote: remote backends always, local ones only if no remote backend is healthy (and some local one is).
One backend per connection, uniformly at random from the selected Active ones (Terminating only when no Active
is left), seeded: with affinity none a 1:3 replica split gives about 25%/75% of connections.

Then the packet has to arrive: the client's egress policy allows it (labsim/fakes/cilium/policy.py), the backend pod
still runs, its machine is up, the fabric routes between the two clusters' VLANs, the pod CIDRs do not overlap,
and the backend's ingress policy in its own cluster allows the client's identity. A policy drop is silent to the
client (its SYN is dropped: a timeout) and counted on the dropping node as `Policy denied`. A backend the agent still believes in but that is gone (a
remote cluster lost, its last state cached) times out; a Service with no backend at all refuses at once.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from labsim.fakes.cilium import envoy, policy, services
from labsim.fakes.cilium.mesh import MeshWorld
from labsim.fakes.cilium.services import ACTIVE, TERMINATING, Backend, Flags
from labsim.fakes.kube.images import container_env

PODS = ("", "pods")
LATENCY = 0.003                       # a request that is answered (virtual seconds)
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Outcome:
    """What the client sees: an answer (`status` and `body`), a refusal, a timeout or an unknown host."""

    kind: str                          # answered | refused | timeout | unresolved
    status: int = 0
    body: str = ""
    backend: Backend | None = None
    via: str | None = None             # the CiliumEnvoyConfig that routed it
    dropped: policy.Verdict | None = None   # dropped by policy (where and why)


def select_backends(f: Flags, backends: list[Backend]) -> list[Backend]:
    """SelectBackends: which of a Service's local and remote backends the frontend uses."""
    if not f.is_global:
        return [b for b in backends if not b.remote]
    if f.affinity == "none":
        return list(backends)
    local_active = local = remote = 0
    for b in backends:
        if b.state not in (ACTIVE, TERMINATING) or b.unhealthy:
            continue
        if b.remote:
            remote += 1
        else:
            local += 1
            local_active += b.state == ACTIVE
    use_local, use_remote = True, True
    if f.affinity == "local":
        use_remote = local_active == 0 and remote > 0
    elif f.affinity == "remote":
        use_local = remote == 0 and local > 0
    return [b for b in backends if (use_remote if b.remote else use_local)]


def pick(selected: list[Backend], rng: random.Random) -> Backend | None:
    active = [b for b in selected if b.state == ACTIVE]
    pool = active or [b for b in selected if b.state == TERMINATING]
    return rng.choice(pool) if pool else None


def parse_host(host: str, client_ns: str) -> tuple[str, str] | None:
    """`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local` -> (namespace, service)."""
    parts = host.split(".")
    if len(parts) == 1:
        return client_ns, parts[0]
    if len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
        return parts[1], parts[0]
    return None


class Datapath:
    def __init__(self, mesh: MeshWorld, *, seed: int = 0):
        self.mesh = mesh
        self.rng = random.Random(f"datapath:{seed}")
        self.drops: dict[tuple[str, str, str, str], int] = {}     # (member, node, direction, reason) -> packets
        self._policies: dict[str, tuple[int, list[policy.Policy]]] = {}

    # --- policy -----------------------------------------------------------------------------------------------
    def policies(self, member: str) -> list[policy.Policy]:
        m = self.mesh.member(member)
        if m is None or m.kube is None:
            return []
        hit = self._policies.get(member)
        if hit is None or hit[0] != m.kube.store.rv:
            v = self.mesh.view(m)
            local = policy.default_local_cluster(v.config, v.version)
            hit = (m.kube.store.rv, policy.policies(m.kube, v.name, local))
            self._policies[member] = hit
        return hit[1]

    def endpoint(self, member: str, pod: dict[str, Any]) -> policy.Endpoint:
        m = self.mesh.member(member)
        return policy.endpoint(m.kube, self.mesh.view(m).name, pod)

    def _drop(self, member: str, pod: dict[str, Any], verdict: policy.Verdict) -> None:
        key = (member, (pod.get("spec") or {}).get("nodeName", ""), verdict.direction, verdict.reason)
        self.drops[key] = self.drops.get(key, 0) + 1

    def drop_counts(self, member: str, node: str | None = None) -> dict[tuple[str, str], int]:
        """(direction, reason) -> drops on one node of `member` (every node when None)."""
        out: dict[tuple[str, str], int] = {}
        for (m, n, d, r), c in self.drops.items():
            if m == member and (node is None or n == node):
                out[(d, r)] = out.get((d, r), 0) + c
        return out

    # --- the load balancer ------------------------------------------------------------------------------------
    def backends(self, member: str, namespace: str, name: str) -> tuple[Flags, list[Backend]]:
        m = self.mesh.member(member)
        svc = services.service(m.kube, namespace, name) if m and m.kube else None
        if svc is None:
            return Flags(), []
        f = services.flags(svc)
        bes = services.local_backends(member, m.kube, namespace, name)
        if f.is_global:
            bes += self.mesh.remote_backends(member, namespace, name)
        return f, select_backends(f, bes)

    def connect(self, member: str, client_pod: dict[str, Any], host: str, port: int,
                timeout: float) -> Outcome:
        """One connection from `client_pod` (in cluster `member`) to `host:port`, answered or not."""
        m = self.mesh.member(member)
        if m is None or m.kube is None:
            return Outcome("timeout")
        target = parse_host(host, client_pod["metadata"].get("namespace", "default"))
        svc = services.service(m.kube, *target) if target else None
        if svc is None:
            return Outcome("unresolved")
        ns, name = target
        if not any(int(p.get("port", 0)) == port for p in (svc.get("spec") or {}).get("ports") or []):
            return Outcome("timeout")
        client = self._client_address(m, client_pod)
        view = self.mesh.view(m)
        route = envoy.route_for(m.kube, ns, name) if view.envoy else None
        if route is not None:
            ns, name = route.pick(self.rng)
            _, selected = self.backends(member, ns, name)
            chosen = pick(selected, self.rng)
            if chosen is None:
                return Outcome("answered", 503, "no healthy upstream", via=route.config)
            out = self._deliver(member, client_pod, client, chosen)
            if out.kind != "answered":
                return Outcome("answered", 503, "upstream connect error or disconnect/reset before headers. "
                               "reset reason: connection timeout", chosen, route.config)
            return Outcome(out.kind, out.status, out.body, chosen, route.config)
        _, selected = self.backends(member, ns, name)
        chosen = pick(selected, self.rng)
        if chosen is None:
            return Outcome("refused")
        return self._deliver(member, client_pod, client, chosen)

    def connect_ip(self, member: str, client_pod: dict[str, Any], ip: str, port: int) -> Outcome:
        """One connection to a pod IP: of the client's own cluster, or of a remote one once this cluster's agents
        have synced it (its nodes and pod CIDRs come through the mesh; before that the IP routes nowhere)."""
        m = self.mesh.member(member)
        if m is None or m.kube is None:
            return Outcome("timeout")
        for owner in self.mesh.members():
            if owner.kube is None:
                continue
            pod = next((p for p in owner.kube.store.items(PODS) if (p.get("status") or {}).get("podIP") == ip
                        and not (p.get("spec") or {}).get("hostNetwork")), None)
            if pod is None:
                continue
            if owner.name != member and (member, self.mesh.view(owner).name) not in self.mesh.cache:
                return Outcome("timeout")
            md = pod["metadata"]
            b = Backend(owner.name, md.get("namespace", "default"), md["name"], ip, port,
                        (pod.get("spec") or {}).get("nodeName", ""), remote=owner.name != member)
            return self._deliver(member, client_pod, self._client_address(m, client_pod), b)
        return Outcome("timeout")

    # --- the packet ---------------------------------------------------------------------------------------------
    def _client_address(self, m, pod: dict[str, Any]) -> str | None:
        host = self.mesh.hosts(m).get((pod.get("spec") or {}).get("nodeName", ""))
        return host.address if host is not None and host.up else None

    def _deliver(self, member: str, client_pod: dict[str, Any], client: str | None, b: Backend) -> Outcome:
        owner = self.mesh.member(b.cluster)
        if owner is None or owner.kube is None or client is None:
            return Outcome("timeout", backend=b)
        pod = owner.kube.store.get(PODS, b.namespace, b.pod)
        if pod is None:
            return Outcome("timeout", backend=b)
        src, dst = self.endpoint(member, client_pod), self.endpoint(b.cluster, pod)
        out = policy.decide(self.policies(member), src, dst, b.port, policy.named_ports(pod), "EGRESS", src.cluster)
        if not out.allowed:      # dropped on the client's node before it leaves
            self._drop(member, client_pod, out)
            return Outcome("timeout", backend=b, dropped=out)
        if pod is None or (pod.get("status") or {}).get("phase") != "Running" \
                or (pod.get("status") or {}).get("podIP") != b.ip:
            return Outcome("timeout", backend=b)
        host = self.mesh.hosts(owner).get((pod.get("spec") or {}).get("nodeName", ""))
        if host is None or not host.up or not host.address:
            return Outcome("timeout", backend=b)
        if b.cluster != member:
            local = self.mesh.member(member)
            mine, theirs = self.mesh.view(local).pod_cidr, self.mesh.view(owner).pod_cidr
            if mine is not None and theirs is not None and mine.overlaps(theirs):
                return Outcome("timeout", backend=b)     # the remote pod IP looks local: it never leaves
            if self.mesh.network.reach(client, host.address) is not None:
                return Outcome("timeout", backend=b)
        out = policy.decide(self.policies(b.cluster), dst, src, b.port, policy.named_ports(pod), "INGRESS",
                             dst.cluster)
        if not out.allowed:      # dropped on the backend's node, in the backend's cluster
            self._drop(b.cluster, pod, out)
            return Outcome("timeout", backend=b, dropped=out)
        body = answer(pod, b.port)
        if body is None:
            return Outcome("refused", backend=b)
        return Outcome("answered", 200, body, b)


def answer(pod: dict[str, Any], port: int) -> str | None:
    """What an echo server in `pod` answers on `port` (hashicorp/http-echo: `-listen=:PORT -text=TEXT`, with
    Kubernetes' `$(VAR)` expansion of the container's env; cilium-cli's json-mock echo: its `PORT` env), or None
    if nothing listens there."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        if "json-mock" in str(c.get("image", "")):
            env = container_env(c, pod)
            if int(env.get("PORT", "80") or 80) == port:
                return '{"headers": {}, "method": "GET", "path": "/"}'
            continue
        args = [str(a) for a in (c.get("args") or [])]
        listen = next((a.split("=", 1)[1] for a in args if a.startswith("-listen=")), ":5678")
        if int(listen.rsplit(":", 1)[1]) != port:
            continue
        text = next((a.split("=", 1)[1] for a in args if a.startswith("-text=")), None)
        if text is None:
            continue
        env = container_env(c, pod)
        return _VAR.sub(lambda mm, env=env: env.get(mm.group(1), mm.group(0)), text)
    return None
