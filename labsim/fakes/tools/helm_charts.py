"""The charts the fake helm knows, by repository URL (there is no network: `helm repo add` of any other URL
fails as an unreachable repository would). Issue 6 adds the Rook charts here.

A chart entry renders its manifests from user values; `ca`/`issue` give it certificates (the cilium chart
generates its CA with `genCA` and keeps an existing one through `lookup`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labsim.fakes.ceph import charts as rook
from labsim.fakes.cilium import chart as cilium
from labsim.fakes.tools.kubeapi import KINDS


@dataclass(frozen=True)
class Chart:
    name: str
    versions: list[str]
    description: str
    render: Callable[..., list[dict[str, Any]]]
    defaults: dict[str, Any]
    notes: str

    def values(self, user: dict[str, Any]) -> dict[str, Any]:
        return cilium.merge(self.defaults, user)


REPOSITORIES: dict[str, dict[str, Chart]] = {
    "https://helm.cilium.io/": {
        "cilium": Chart("cilium", cilium.VERSIONS, "eBPF-based Networking, Security, and Observability",
                        cilium.render, cilium.DEFAULTS, cilium.NOTES),
    },
    rook.URL: {name: Chart(name, rook.VERSIONS, *spec) for name, spec in rook.CHARTS.items()},
}
KINDS.update(rook.KUBE_KINDS)   # the CRDs, StorageClasses and Ceph resources the Rook charts create


def normalize(url: str) -> str:
    return url.rstrip("/") + "/"


def find(url: str) -> dict[str, Chart] | None:
    return REPOSITORIES.get(normalize(url))
