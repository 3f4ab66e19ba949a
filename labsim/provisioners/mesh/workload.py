"""The services the mesh features send traffic to: the lab file's own, or the suite's probe services.

When the lab file names `mesh.global_services`, those are what is deployed and tested (the Aggrik8s lab names
its echo demo). When it names none, the suite brings its own probe workload, as `cilium connectivity test` brings
its own namespace: echo backends and global services in `mesh.probe.namespace`, created by the scenario that needs
them and removed when it ends, shaped by the lab file's `mesh.probe` ratios:

- an affinity-none service with `probe.backends.first` / `.second` backends in the first two members (the L4
  construction of the canary: 1 and 3 backends answer 25% and 75%);
- an affinity-local and an affinity-remote service with two backends in each of the first two members;
- the Envoy canary over those two, `probe.canary.local` / `.remote` percent.

"The first two members" are the first two connected ones in `mesh.clusters` order: for a hub-and-spoke mesh,
the hub and the first spoke (spokes do not see each other's services).
"""
from __future__ import annotations

from dataclasses import dataclass

from labsim.provisioners.lab.model import Application, Canary, GlobalService, Lab

AFFINITY_BACKENDS = 2    # backends per member of the suite's local- and remote-affinity services
PREFIX = "labsim-echo"   # the suite's services: labsim-echo, labsim-echo-local, -remote, -canary


def pairs(lab: Lab) -> list[tuple[str, str]]:
    """The member pairs that are connected: every pair of a full mesh, hub and spoke for hub-and-spoke."""
    mesh = lab.mesh
    if mesh is None:
        return []
    if mesh.topology == "hub-and-spoke":
        hub = mesh.hub or mesh.clusters[0]
        return [(hub, c) for c in mesh.clusters if c != hub]
    return [(a, b) for i, a in enumerate(mesh.clusters) for b in mesh.clusters[i + 1:]]


def first_two(lab: Lab) -> tuple[str, str] | None:
    connected = pairs(lab)
    return connected[0] if connected else None


@dataclass(frozen=True)
class Workload:
    """What traffic goes to: `namespace` is the suite's own (created and removed by the scenario), or None when
    these are the lab file's services (deployed by the mesh provisioner, never removed)."""

    services: tuple[GlobalService, ...]
    canary: Canary | None
    namespace: str | None = None

    @property
    def owned(self) -> bool:
        return self.namespace is not None

    def namespaces(self) -> list[str]:
        return sorted({g.namespace for g in self.services} | ({self.canary.namespace} if self.canary else set()))

    def with_affinity(self, affinity: str) -> GlobalService | None:
        return next((g for g in self.services if g.affinity == affinity), None)

    def service(self, name: str) -> GlobalService | None:
        return next((g for g in self.services if g.name == name), None)

    def namespace_of(self, name: str) -> str:
        if self.canary is not None and self.canary.name == name:
            return self.canary.namespace
        g = self.service(name)
        if g is None:
            raise KeyError(f"no service {name!r} among the mesh's services under test "
                           f"({', '.join(s.name for s in self.services)})")
        return g.namespace

    def share(self, name: str, member: str, client: str, lab: Lab) -> int:
        """Percent of an affinity-none service's requests from `client` that `member`'s backends answer: its
        backends over all the backends `client` sees (its own and those of the members it is connected to)."""
        g = self.service(name)
        if g is None:
            return 0
        seen = sees(lab, client)
        total = sum(int(g.replicas.get(c, 0)) for c in seen)
        return round(100 * int(g.replicas.get(member, 0)) / total) if total else 0

    def answered(self, name: str, client: str, lab: Lab, gone: frozenset[str] = frozenset()) -> dict[str, float]:
        """Percent of `client`'s requests to `name` (a global service, or the canary) each member's backends answer,
        for every member the client sees (its own cluster and those it is connected to), when the members in
        `gone` have no backend of it left. Cilium's rule (docs.cilium.io network/clustermesh/load-balancing
        for `service.cilium.io/global`, network/clustermesh/affinity for `service.cilium.io/affinity`, and
        pkg/clustermesh SelectBackends): `none` (the default) balances over the local and remote backends together,
        `local` uses the local backends and "remote endpoints if and only if all of local backends are not
        available", `remote` the reverse; within that set each connection goes
        to one backend at random, so each member answers in proportion to its backends (domain.md 1.3). The
        canary weighs its services by its weights (the Envoy construction)."""
        if self.canary is not None and name == self.canary.name:
            out: dict[str, float] = {}
            for svc, weight in self.canary.weights.items():
                for member, pct in self.answered(svc, client, lab, gone).items():
                    out[member] = out.get(member, 0.0) + weight * pct / 100
            return out
        g = self.service(name)
        seen = sees(lab, client)
        if g is None:
            return dict.fromkeys(seen, 0.0)
        backends = {m: 0 if m in gone else int(g.replicas.get(m, 0)) for m in seen}
        local, remote = backends[client], sum(v for m, v in backends.items() if m != client)
        use = set(seen)
        if g.affinity == "local" and local:
            use = {client}
        elif g.affinity == "remote" and remote:
            use = set(seen) - {client}
        total = sum(backends[m] for m in use)
        return {m: (100 * backends[m] / total if m in use and total else 0.0) for m in seen}


def sees(lab: Lab, client: str) -> list[str]:
    """The members whose backends `client` can use: itself, then the members it is connected to in mesh order."""
    linked = {b if a == client else a for a, b in pairs(lab) if client in (a, b)}
    return [client] + [m for m in (lab.mesh.clusters if lab.mesh else []) if m != client and m in linked]


def with_backends(shares: dict[str, float]) -> list[str]:
    return [m for m, pct in shares.items() if pct > 0]


def shares_text(shares: dict[str, float]) -> str:
    """"25% by talos-east, 50% by talos-west and 25% by piCluster": how a step names a split, every member the
    client sees (a member that must answer nothing is named with 0%)."""
    parts = [f"{round(pct)}% by {m}" for m, pct in shares.items()]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass(frozen=True)
class Client:
    """Who a probe runs as: its namespace and its pod's labels (its identity for Cilium's policies)."""

    namespace: str
    labels: dict[str, str]
    name: str


def client_for(lab: Lab, service: str, namespace: str) -> Client:
    """The lab file's first application that may reach `service` (when it declares applications), else a plain
    probe pod in the suite's own probe namespace (`mesh.probe.namespace`: the suite's probe services live there too;
    a lab file's services are reached across namespaces, as no access policy guards them without applications)."""
    mesh = lab.mesh
    canary = mesh.canary.name if mesh and mesh.canary else None
    weighed = set(mesh.canary.weights) if mesh and mesh.canary else set()
    for app in (mesh.applications if mesh else []):
        if service in app.reaches or (canary in app.reaches and service in weighed | {canary}):
            return Client(app.namespace, app.pod_labels, app.name)
    return Client(mesh.probe.namespace if mesh else namespace, {}, "a probe pod")


def without_labels(app: Application) -> Client:
    """A pod in the application's namespace without its labels: what its policy must keep out."""
    return Client(app.namespace, {}, f"a pod without {app.name}'s labels")


def workload(lab: Lab) -> Workload:
    mesh = lab.mesh
    if mesh is None:
        return Workload((), None)
    if mesh.global_services:
        return Workload(tuple(mesh.global_services), mesh.canary)
    two = first_two(lab)
    if two is None:
        return Workload((), None)
    a, b = two
    probe, ns = mesh.probe, mesh.probe.namespace
    local, remote = f"{PREFIX}-local", f"{PREFIX}-remote"
    services = (
        GlobalService(name=PREFIX, namespace=ns, affinity="none",
                      replicas={a: probe.backends.first, b: probe.backends.second}),
        GlobalService(name=local, namespace=ns, affinity="local", replicas={a: AFFINITY_BACKENDS, b: AFFINITY_BACKENDS}),
        GlobalService(name=remote, namespace=ns, affinity="remote",
                      replicas={a: AFFINITY_BACKENDS, b: AFFINITY_BACKENDS}),
    )
    canary = Canary(name=f"{PREFIX}-canary", namespace=ns,
                    weights={local: probe.canary.local, remote: probe.canary.remote})
    return Workload(services, canary, namespace=ns)
