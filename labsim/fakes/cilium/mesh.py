"""ClusterMesh in the world: which agents (and KVStoreMesh replicas) are connected to which remote clusters, and
what each cluster knows of the others' global services.

Connectivity is computed, never declared. Every MESH_TICK the world reads each member's Cilium configuration
(labsim/fakes/cilium/view.py) and dials every configured remote the way the client would:
- the address comes from hostAliases (for a NodePort Service: the first node's IP, as `connect` recorded it);
- the fabric must route between the two VLANs (labsim/fakes/l3.py), the node must be up and its agent must serve the
  NodePort, the remote clustermesh-apiserver must have a ready pod on a machine that is up;
- a client with kube-proxy replacement whose own cluster exposes the same NodePort reaches its *own*
  clustermesh-apiserver instead (cilium/cilium#24692): connected, but the remote configuration never shows up;
- both sides must trust each other's CA (cilium-ca, plus the tls.caBundle of --allow-mismatching-ca).
A link that works becomes connected after CONNECT and synced after SYNC more. With KVStoreMesh, the agents read
remote clusters from their own clustermesh-apiserver, whose kvstoremesh container holds the remote links.

Caches: each clustermesh-apiserver publishes its cluster's global shared services while it runs and its
Kubernetes API answers. A cluster's agents copy a remote's publication while their path to it is synced; when it
breaks they keep the last copy (BPF maps survive agent restarts too) until `clustermesh-cache-ttl` has passed
without the link, and forever with the default 0s (cilium/cilium#20729, #19217).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labsim.fakes.cilium import services
from labsim.fakes.cilium import texts as T
from labsim.fakes.cilium import view as V
from labsim.fakes.cilium.members import Host, Member

MESH_TICK = 1.0
CONNECT = 2.0          # reachable -> connected (TLS handshake, etcd session)
SYNC = 2.0             # connected -> synced (nodes, endpoints, identities, services)
NOT_SYNCED = "endpoints, identities, nodes, services"


@dataclass
class Link:
    up_since: float | None = None
    error: str = T.ETCD_UNREACHABLE
    config: bool = True         # the remote cluster configuration was retrieved (the right cluster answered)
    target: str | None = None   # the member that answered
    port: int = 2379
    host: str = ""              # the endpoint's host name, as the client's etcd status prints it


@dataclass(frozen=True)
class RemoteStatus:
    """One remote cluster as an agent or a KVStoreMesh replica reports it (api/v1/models RemoteCluster)."""

    name: str
    connected: bool
    ready: bool
    status: str
    config: bool = True
    synced: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "connected": self.connected, "ready": self.ready,
                               "status": self.status}
        if self.connected:
            out["config"] = {"required": True, "retrieved": self.config}
            if self.config:
                s = self.synced
                out["synced"] = {"nodes": s, "endpoints": s, "identities": s, "services": s}
        return out


class MeshWorld:
    def __init__(self, clock, members: Callable[[], list[Member]], network):
        self.clock = clock
        self.members = members
        self.network = network
        self.links: dict[tuple[str, str, str], Link] = {}        # (member, client pod uid, remote) -> link
        self.published: dict[str, dict] = {}                    # member -> what its apiserver serves
        self.cache: dict[tuple[str, str], dict] = {}            # (member, remote name) -> what it knows
        self.down_since: dict[tuple[str, str], float] = {}
        self._views: dict[str, tuple[int, V.View]] = {}
        self._published_rv: dict[str, int] = {}
        self._hosts: dict[str, dict[str, Host]] = {}
        self._by_ip: dict[str, tuple[Member, Host]] = {}
        self._ticking = False
        self._seen: set[str] = set()
        self.on_member: list[Callable[[Member], None]] = []        # once per member (hooks on its Kubernetes)
        self.on_tick: list[Callable[[Member, V.View], None]] = []  # every pass, per member running Cilium

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> MeshWorld:
        if not self._ticking:
            self._ticking = True
            self.clock.call_later(MESH_TICK, self._tick)
        return self

    def _tick(self) -> None:
        self.sync()
        self.clock.call_later(MESH_TICK, self._tick)

    # --- reads -----------------------------------------------------------------------------------------------
    def member(self, name: str) -> Member | None:
        return next((m for m in self.members() if m.name == name), None)

    def view(self, m: Member) -> V.View:
        kube = m.kube
        if kube is None:
            return V.View()
        hit = self._views.get(m.name)
        rv = kube.store.last_write()       # lease renewals and events change nothing the view reads
        if hit is None or hit[0] != rv:
            hit = (rv, V.read(kube))
            self._views[m.name] = hit
        return hit[1]

    def hosts(self, m: Member) -> dict[str, Host]:
        if m.name not in self._hosts:
            self._hosts[m.name] = m.hosts()
        return self._hosts[m.name]

    # --- the periodic pass -------------------------------------------------------------------------------------
    def sync(self) -> None:
        now = self.clock.now()
        members = [m for m in self.members() if m.kube is not None]
        self._hosts.clear()
        self._by_ip = {h.address: (m, h) for m in members for h in self.hosts(m).values() if h.address}
        for m in members:
            if m.name not in self._seen:
                self._seen.add(m.name)
                for fn in self.on_member:
                    fn(m)
            v = self.view(m)
            if v.configured:
                for fn in self.on_tick:
                    fn(m, v)
            written = m.kube.store.last_write()
            if v.configured and self._apiserver_up(m, v) and m.api_up() and self._published_rv.get(m.name) != written:
                self.published[m.name] = services.exports(m.name, m.kube)
                self._published_rv[m.name] = written
        live: set[tuple[str, str, str]] = set()
        for m in members:
            v = self.view(m)
            if v.configured:
                live |= self._sync_member(m, v, now)
        for key in [k for k in self.links if k not in live]:
            del self.links[key]

    def _sync_member(self, m: Member, v: V.View, now: float) -> set[tuple[str, str, str]]:
        hosts = self.hosts(m)
        live = set()
        for pod in v.apiservers if v.kvstoremesh else []:
            for r in v.kvs_remotes.values():
                key = (m.name, pod.uid, r.name)
                live.add(key)
                host = hosts.get(pod.node)
                self._dial(self.links.setdefault(key, Link()), m, v, host if pod.running else None, r, now)
        ready: dict[str, str | None] = {}      # remote -> the member an agent is synced with
        for node, pod in v.agents.items():
            for r in v.remotes.values():
                key = (m.name, pod.uid, r.name)
                live.add(key)
                link = self.links.setdefault(key, Link())
                host = hosts.get(node) if pod.running else None
                if v.kvstoremesh:
                    self._via_kvstoremesh(link, m, v, host, r, now)
                else:
                    self._dial(link, m, v, host, r, now)
                if self.synced(link, now) and link.config and not ready.get(r.name):
                    ready[r.name] = link.target
                ready.setdefault(r.name, None)
        for r, src in ready.items():
            self._refresh_cache(m, v, r, src, now)
        for key in [k for k in self.cache if k[0] == m.name and k[1] not in v.remotes]:
            del self.cache[key]      # disconnected: the agents drop the remote's state at once
        return live

    # --- links ---------------------------------------------------------------------------------------------------
    @staticmethod
    def _set(link: Link, ok: bool, now: float, error: str = T.ETCD_UNREACHABLE) -> None:
        if ok:
            if link.up_since is None:
                link.up_since = now
        else:
            link.up_since = None
            link.error = error

    @staticmethod
    def connected(link: Link, now: float) -> bool:
        return link.up_since is not None and now - link.up_since >= CONNECT - 1e-9

    @staticmethod
    def synced(link: Link, now: float) -> bool:
        return link.up_since is not None and now - link.up_since >= CONNECT + SYNC - 1e-9

    def _apiserver_up(self, m: Member, v: V.View) -> bool:
        hosts = self.hosts(m)
        return any(p.running and hosts.get(p.node, Host("", None, False)).up for p in v.apiservers)

    def _dial(self, link: Link, m: Member, v: V.View, host: Host | None, r: V.Remote, now: float) -> None:
        """A client on `host` (None: its pod does not run) opens the etcd connection to remote `r`."""
        target = self._answering(m, v, host, r)
        link.port, link.host = r.port, r.host
        if target is None:
            self._set(link, False, now)
            return
        tv = self.view(target)
        ok = self._apiserver_up(target, tv) and tv.server_ca in v.trust and v.client_ca in tv.trust
        self._set(link, ok, now)
        link.target = target.name
        link.config = tv.name == r.name

    def _answering(self, m: Member, v: V.View, host: Host | None, r: V.Remote) -> Member | None:
        if host is None or not host.up or not host.address or not r.ips:
            return None
        if v.kpr and v.service_type == "NodePort" and v.node_port == r.port:
            return m     # the local socket LB takes the shared NodePort (cilium/cilium#24692)
        ip = r.ips[0]
        owner = self._by_ip.get(ip)
        if owner is None:
            return self._load_balancer(host, ip, r.port)
        target, node = owner
        if not node.up or self.network.reach(host.address, ip, r.port) is not None:
            return None
        tv = self.view(target)
        agent = tv.agents.get(node.name)
        serves = tv.service_type == "NodePort" and tv.node_port == r.port and agent is not None and agent.running
        return target if serves else None

    def _load_balancer(self, host: Host, ip: str, port: int) -> Member | None:
        """A LoadBalancer Service's address (status.loadBalancer.ingress, set by whatever allocates it): answered
        while the fabric routes the client to it and one of that cluster's nodes is up with a running agent (the
        agents' BPF load balancer serves the address on every node)."""
        target = next((x for x in self.members() if x.kube is not None and ip in self.view(x).lb_ips), None)
        if target is None:
            return None
        tv = self.view(target)
        if tv.service_type != "LoadBalancer" or port != tv.service_port:
            return None
        serving = [n for n, h in self.hosts(target).items() if h.up and (a := tv.agents.get(n)) and a.running]
        if not serving or self.network.reach(host.address, ip, port) is not None:
            return None
        return target

    def _via_kvstoremesh(self, link: Link, m: Member, v: V.View, host: Host | None, r: V.Remote,
                         now: float) -> None:
        """With KVStoreMesh the agent reads `r` from its own clustermesh-apiserver, which must hold it."""
        local = host is not None and host.up and self._apiserver_up(m, v)
        kvs = self._kvs_link(m, v, r.name, now)
        ready = local and kvs is not None and self.synced(kvs, now) and kvs.config
        link.target = kvs.target if kvs is not None else None
        link.port, link.host = r.port, r.host
        link.config = ready
        if not local:
            self._set(link, False, now)
            link.config = True
            return
        self._set(link, True, now)
        if not ready:
            link.up_since = now - CONNECT     # connected to the local etcd, nothing of `r` in it yet

    def _kvs_link(self, m: Member, v: V.View, remote: str, now: float) -> Link | None:
        best = None
        for pod in v.apiservers:
            link = self.links.get((m.name, pod.uid, remote))
            if link is not None and (best is None or (link.up_since or now + 1) < (best.up_since or now + 1)):
                best = link
        return best

    # --- what the agents know of the remotes ------------------------------------------------------------------------
    def _refresh_cache(self, m: Member, v: V.View, remote: str, src: str | None, now: float) -> None:
        key = (m.name, remote)
        if src is not None:
            if src in self.published:
                self.cache[key] = self.published[src]
            self.down_since.pop(key, None)
            return
        since = self.down_since.setdefault(key, now)
        if key in self.cache and v.cache_ttl > 0 and now - since >= v.cache_ttl - 1e-9:
            del self.cache[key]      # clustermesh-cache-ttl: the remote's state is revoked

    def remote_backends(self, member: str, namespace: str, name: str) -> list[services.Backend]:
        out: list[services.Backend] = []
        for (m, _remote), known in self.cache.items():
            if m == member:
                out.extend(known.get((namespace, name), ()))
        return out

    # --- status, as `cilium-dbg status` and `kvstoremesh-dbg status` report it --------------------------------------
    def remote_status(self, link: Link, name: str, now: float) -> RemoteStatus:
        if not self.connected(link, now):
            return RemoteStatus(name, False, False, link.error if link.up_since is None else T.ETCD_UNREACHABLE)
        ok = T.ETCD_OK.format(host=link.host or f"{name}.mesh.cilium.io", port=link.port)
        if not link.config:
            return RemoteStatus(name, True, False, ok, config=False)
        synced = self.synced(link, now)
        return RemoteStatus(name, True, synced, ok, True, synced)

    def pod_status(self, member: str, pod: str) -> dict[str, Any]:
        """`clusters` of one agent or clustermesh-apiserver pod, or `error` when it cannot be asked."""
        m = self.member(member)
        if m is None or m.kube is None:
            return {"error": f'pods "{pod}" not found'}
        v = self.view(m)
        found = next((p for p in v.agent_pods + v.apiservers if p.name == pod), None)
        if found is None or found.phase != "Running":
            container = "cilium-agent" if found is None or found in v.agent_pods else "kvstoremesh"
            return {"error": f'unable to upgrade connection: container not found ("{container}")'}
        host = self.hosts(m).get(found.node)
        if host is None or not host.up:
            ip = host.address if host else "?"
            return {"error": f"error dialing backend: dial tcp {ip}:10250: connect: no route to host"}
        now = self.clock.now()
        remotes = v.kvs_remotes if found in v.apiservers else v.remotes
        out = {}
        for r in sorted(remotes):
            link = self.links.get((member, found.uid, r))
            out[r] = self.remote_status(link or Link(), r, now).to_json()
        return {"clusters": out, "global_services": self._global_services(m)}

    def _global_services(self, m: Member) -> int:
        return sum(1 for svc in m.kube.store.items(services.SERVICES) if services.flags(svc).is_global)
