"""The clusters the mesh world looks at, whatever built them: Talos clusters of the simulated lab, or clusters
made directly (benchmarks, unit tests). A member offers its Kubernetes (the object store the agents watch),
whether its API answers, and its machines (node name, address, powered and on the network).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from labsim.fakes.kube import KubeCluster


@dataclass(frozen=True)
class Host:
    name: str                 # the Kubernetes node name
    address: str | None       # the node's IP on its VLAN
    up: bool                  # powered on and on the network


class Member(Protocol):
    name: str

    @property
    def kube(self) -> KubeCluster | None: ...

    @property
    def url(self) -> str: ...

    def api_up(self) -> bool: ...

    def hosts(self) -> dict[str, Host]: ...


class TalosMember:
    """A Talos cluster of the simulated lab (labsim.fakes.talos.cluster.TalosCluster)."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.name = cluster.name

    @property
    def kube(self) -> KubeCluster | None:
        return self.cluster.kube.cluster if self.cluster.kube is not None else None

    @property
    def url(self) -> str:
        return self.cluster.kube.url if self.cluster.kube is not None else ""

    def api_up(self) -> bool:
        return self.cluster.api_up()

    def hosts(self) -> dict[str, Host]:
        return {n.hostname: Host(n.hostname, n.address, n.reachable) for n in self.cluster.nodes.values()}


@dataclass
class DirectMember:
    """A cluster built straight into a KubeCluster (no VMs, no Talos): for benchmarks and unit tests."""

    name: str
    kube: KubeCluster
    addresses: dict[str, str]                       # node name -> address
    url: str = ""
    down: set[str] = field(default_factory=set)     # nodes powered off
    api: bool = True

    def api_up(self) -> bool:
        return self.api

    def hosts(self) -> dict[str, Host]:
        return {n: Host(n, a, n not in self.down) for n, a in self.addresses.items()}


class Rke2Member:
    """An RKE2 cluster of the simulated lab (labsim.fakes.rke2.Rke2Face): nodes on its hosts, up while their rke2
    unit runs; its API answers while a server's rke2-server runs."""

    def __init__(self, face, name: str):
        self.face = face
        self.name = name

    @property
    def kube(self) -> KubeCluster | None:
        return self.face.clusters.get(self.name)

    @property
    def url(self) -> str:
        srv = self.face.servers.get(self.name)
        return srv.url if srv is not None else ""

    def api_up(self) -> bool:
        return self.face.api_up(self.name)

    def hosts(self) -> dict[str, Host]:
        return {n: Host(n, a or None, self.face.running(self.name, n))
                for n, a in self.face.addresses.get(self.name, {}).items()}


def rke2_members(face_of: Callable[[], object | None]) -> Callable[[], list[Member]]:
    """The RKE2 clusters with Cilium (`cni: cilium`) of the face `face_of()` returns once the lab has started it."""
    cache: dict[str, Rke2Member] = {}

    def members() -> list[Member]:
        face = face_of()
        if face is None:
            return []
        return [cache.setdefault(n, Rke2Member(face, n)) for n in face.cilium.clusters]
    return members


def talos_members(talos) -> Callable[[], list[Member]]:
    """The Talos clusters that have a Kubernetes API (labsim.fakes.talos.world.TalosWorld), as members."""
    cache: dict[int, TalosMember] = {}

    def members() -> list[Member]:
        out = []
        for c in talos.clusters.values():
            if c.kube is not None:
                out.append(cache.setdefault(id(c), TalosMember(c)))
        return out
    return members
