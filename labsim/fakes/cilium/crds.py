"""The cilium.io CustomResourceDefinitions, registered by cilium-operator when it starts (data/crds.yaml: the 1.18
list, names, versions, printer columns and the schemas' shape, with their sources).

The chart itself ships no CRD: the operator creates each one that is missing and updates one whose
`io.cilium.k8s.crd.schema.version` label is older than its own (register.go createUpdateCRD/needsUpdateV1), as its
ServiceAccount. So on a cluster with Cilium `kubectl get crd` lists them once an operator pod runs, and
`kubectl explain cnp.spec`, `kubectl auth can-i list ciliumnetworkpolicies.cilium.io` and field validation of
Cilium's kinds behave as there. An operator whose ServiceAccount may not create CRDs logs the API server's
`forbidden` answer and is not ready; it registers them once the permission is back (the kubelet asks again on
every sync, as the operator retries).

    install(kube)     # once per cluster that runs Cilium: the kubelets' hook for cilium-operator pods
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from labsim.fakes.kube import PodBehaviour, rbac
from labsim.fakes.kube.auth import UserInfo
from labsim.fakes.kube.meta import deep

GROUP = "cilium.io"
LABEL = "io.cilium.k8s.crd.schema.version"
OPERATOR_IMAGE = "quay.io/cilium/operator"
CRD = ("apiextensions.k8s.io", "customresourcedefinitions")


@functools.cache
def _data() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).with_name("data") / "crds.yaml").read_text())


def names() -> list[str]:
    return [f"{c['plural']}.{GROUP}" for c in _data()["crds"]]


def definitions() -> list[dict[str, Any]]:
    """Each CRD as the operator sends it (a fresh copy)."""
    return [deep(crd) for crd in _definitions()]


@functools.cache
def _definitions() -> tuple[dict[str, Any], ...]:
    """Each CRD, built once: the operator's readiness registers them on every kubelet sync (read, never changed)."""
    data = _data()
    out = []
    for c in data["crds"]:
        schema: dict[str, Any] = {"type": "object", "properties": {**data["api_fields"], **c.get("properties", {})}}
        if c.get("description"):
            schema = {"description": c["description"], **schema}
        if c.get("required"):
            schema["required"] = list(c["required"])
        versions = []
        for i, v in enumerate(c["versions"]):
            ver: dict[str, Any] = {"name": v, "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": schema}}
            if c.get("columns"):
                ver["additionalPrinterColumns"] = c["columns"]
            if c.get("subresources"):
                ver["subresources"] = {s: {} for s in c["subresources"]}
            versions.append(ver)
        names_ = {"plural": c["plural"], "singular": c["kind"].lower(), "kind": c["kind"], "listKind": c["kind"] + "List",
                  "categories": list(c.get("categories") or [])}
        if c.get("shortNames"):
            names_["shortNames"] = list(c["shortNames"])
        out.append(deep({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{c['plural']}.{GROUP}", "labels": {LABEL: data["schema_version"]}},
            "spec": {"group": GROUP, "scope": c["scope"], "names": names_, "versions": versions}}))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _parts(v: str) -> tuple[int, ...]:
    """A schema version label as numbers (an unparsable one is older than any): the operator's readiness check
    compares every CRD's on each kubelet sync."""
    try:
        return tuple(int(x) for x in v.split("."))
    except ValueError:
        return (-1,)


def _older(have: str | None, want: str) -> bool:
    return have is None or _parts(have) < _parts(want)


def register(kube) -> None:
    """Create the CRDs that are missing, update those whose schema version label is older (or unparsable)."""
    for crd in _definitions():
        name = crd["metadata"]["name"]
        cur = kube.store.get(CRD, "", name)
        if cur is None:
            kube.create("customresourcedefinitions", deep(crd))
        elif _older(((cur["metadata"].get("labels") or {}).get(LABEL)), crd["metadata"]["labels"][LABEL]):
            new = deep(cur)
            new["metadata"].setdefault("labels", {})[LABEL] = crd["metadata"]["labels"][LABEL]
            new["spec"] = deep(crd["spec"])
            kube.update("customresourcedefinitions", new)


def _forbidden(kube, pod: dict[str, Any]) -> str | None:
    ns = pod["metadata"].get("namespace") or "kube-system"
    sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    user = UserInfo.of(f"system:serviceaccount:{ns}:{sa}", ("system:serviceaccounts", f"system:serviceaccounts:{ns}"))
    for verb in ("get", "create"):
        a = rbac.Attributes(verb, True, "apiextensions.k8s.io", "", "customresourcedefinitions")
        allowed, reason = rbac.authorize(kube, user, a)
        if not allowed:
            return rbac.forbidden(user, a, reason).message
    return None


def is_operator(pod: dict[str, Any]) -> bool:
    return any(str(c.get("image", "")).startswith(OPERATOR_IMAGE)
               for c in (pod.get("spec") or {}).get("containers") or [])


def install(kube) -> None:
    """The hook on `kube`'s kubelets that makes its cilium-operator pods register the CRDs (once per cluster)."""
    if getattr(kube, "_cilium_crds_hooked", False):
        return
    kube._cilium_crds_hooked = True
    logged: dict[str, str] = {}

    def ready(pod: dict[str, Any]) -> bool:
        why = _forbidden(kube, pod)
        uid = pod["metadata"]["uid"]
        if why is not None:
            if logged.get(uid) != why:     # the operator's log line (the words around the API's text are [unv])
                logged[uid] = why
                container = pod["spec"]["containers"][0]["name"]
                text = why.replace('"', '\\"')
                kube.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], container,
                                f'time="{kube.now()}" level=error msg="Unable to create CRDs" error="{text}" '
                                f'subsys=cilium-operator-generic\n')
            return False
        logged.pop(uid, None)
        register(kube)
        return True

    kube.pod_behaviour.append(lambda pod: PodBehaviour(ready=ready) if is_operator(pod) else None)
