"""Node readiness through the Kubernetes API, as rke2-ansible's roles/testing checks it (`kubectl get
no NAME -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'` must say True), for every host
the lab file names in the cluster. `core` is a `kubernetes.client.CoreV1Api`.
"""
from __future__ import annotations

from typing import Any

from labsim.provisioners.vocabulary import Result


def nodes_ready(core: Any, names: list[str]) -> list[Result]:
    nodes = {n.metadata.name: n for n in core.list_node().items}
    out = []
    for name in names:
        node = nodes.get(name)
        if node is None:
            out.append(Result("node-ready", name, False, f"no node {name} in the cluster", {"nodes": sorted(nodes)}))
            continue
        ready = next((c.status for c in node.status.conditions or [] if c.type == "Ready"), "Unknown")
        out.append(Result("node-ready", name, ready == "True", f"{name} Ready={ready}", {"ready": ready}))
    return out
