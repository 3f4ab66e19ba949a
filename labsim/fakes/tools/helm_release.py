"""Helm 3 release records, stored as helm's Secret driver stores them: Secret `sh.helm.release.v1.NAME.vREV`
of type `helm.sh/release.v1` in the release's namespace, labels name/owner=helm/status/version, and
`data.release` = base64(gzip(JSON release)) (base64 once more on the wire, as Secret data is)."""
from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from labsim import fastyaml
from labsim.fakes.tools.kubeapi import Kube

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)   # the simulated lab's epoch (labsim/fakes/clock.py)


def lab_time(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def secret_name(name: str, rev: int) -> str:
    return f"sh.helm.release.v1.{name}.v{rev}"


def manifest(objs: list[dict[str, Any]]) -> str:
    """A release's manifest: its objects as one YAML stream, in the chart's order. libyaml's emitter writes the same
    text as PyYAML's several times faster (a Cilium chart's manifest was an eighth of starting a simulated lab)."""
    return fastyaml.dump_all(objs, sort_keys=False)


def encode(release: dict[str, Any]) -> str:
    inner = base64.b64encode(gzip.compress(json.dumps(release).encode())).decode()
    return base64.b64encode(inner.encode()).decode()


def decode(data: str) -> dict[str, Any]:
    return json.loads(gzip.decompress(base64.b64decode(base64.b64decode(data))))


def history(kube: Kube, name: str, namespace: str) -> list[dict[str, Any]]:
    items = kube.list("Secret", namespace, f"owner=helm,name={name}")
    return sorted((decode(s["data"]["release"]) for s in items if (s.get("data") or {}).get("release")),
                  key=lambda r: r["version"])


def latest(kube: Kube, name: str, namespace: str) -> dict[str, Any] | None:
    h = history(kube, name, namespace)
    return h[-1] if h else None


def all_releases(kube: Kube, namespace: str | None) -> list[dict[str, Any]]:
    by_name: dict[tuple[str, str], dict[str, Any]] = {}
    for s in kube.list("Secret", namespace, "owner=helm") if namespace else _all_namespaces(kube):
        if not (s.get("data") or {}).get("release"):
            continue
        r = decode(s["data"]["release"])
        key = (r["namespace"], r["name"])
        if key not in by_name or r["version"] > by_name[key]["version"]:
            by_name[key] = r
    return [by_name[k] for k in sorted(by_name)]


def _all_namespaces(kube: Kube) -> list[dict[str, Any]]:
    return kube.request("GET", "/api/v1/secrets?labelSelector=owner%3Dhelm").get("items") or []


def record(release: dict[str, Any]) -> dict[str, Any]:
    """The Secret that holds a release (also what RKE2's helm-controller leaves, labsim/fakes/rke2_cilium.py)."""
    name, rev, ns = release["name"], release["version"], release["namespace"]
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": secret_name(name, rev), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": release["info"]["status"],
                                    "version": str(rev)}},
            "data": {"release": encode(release)}}


def store(kube: Kube, release: dict[str, Any]) -> None:
    kube.apply(record(release))


def supersede(kube: Kube, release: dict[str, Any]) -> None:
    release["info"]["status"] = "superseded"
    store(kube, release)
