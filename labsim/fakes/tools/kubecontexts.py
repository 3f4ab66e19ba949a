"""Kubeconfig contexts as client-go resolves them for `--context`: `KUBECONFIG` may list several files (the first
one that defines a name wins), else `~/.kube/config`. Returns the file that holds the context, so the fake tools'
Kubernetes client (labsim/fakes/tools/kubeapi.py) can load it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from labsim import fastyaml
from labsim.fakes.tools.kubeapi import Kube, KubeConfigError


@dataclass(frozen=True)
class Context:
    name: str
    cluster: str          # the kubeconfig cluster entry's name (what cilium-cli calls the cluster's name)
    path: str


def files(explicit: str | None = None) -> list[str]:
    if explicit:
        return [explicit]
    env = os.environ.get("KUBECONFIG", "")
    paths = [p for p in env.split(os.pathsep) if p] if env else [str(Path.home() / ".kube" / "config")]
    return [p for p in paths if Path(p).expanduser().exists()] or paths[:1]


def resolve(context: str | None, kubeconfig: str | None = None) -> Context:
    docs = []
    for path in files(kubeconfig):
        try:
            docs.append((path, fastyaml.load(Path(path).expanduser().read_text()) or {}))
        except OSError:
            continue
    if not docs:
        raise KubeConfigError("invalid configuration: no configuration has been provided, try setting "
                              "KUBERNETES_MASTER environment variable")
    name = context or next((d.get("current-context") for _, d in docs if d.get("current-context")), None)
    for path, doc in docs:
        ctx = next((c for c in doc.get("contexts") or [] if c.get("name") == name), None)
        if ctx is not None:
            return Context(name, ctx["context"]["cluster"], path)
    raise KubeConfigError(f'context "{name}" does not exist')


def client(ctx: Context) -> Kube:
    return Kube(ctx.path, ctx.name)
