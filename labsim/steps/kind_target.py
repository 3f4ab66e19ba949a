"""`--target kind`: the simulated lab (fabric, Proxmox, hosts) with the mesh's clusters as real
Kubernetes in kind, built by `python -m labsim.provisioners.kind verify` (make kind-verify).

Every mesh and Ceph step gets its Kubernetes clients, kubeconfigs and tools from this target: the kubeconfigs that
run wrote (`--kind-dir`, one per mesh member, named after the cluster's kind name), and this machine's own
`helm`, `cilium` and `kubectl` (never the simulator's fakes). kind clusters are not Talos: the Talos scenarios are a
declared deviation (labsim/steps/markers.py). Without a kubeconfig, or with one whose API does not answer, the
preflight refuses the run before any scenario (`preflight_problems`). The kind API servers listen on 127.0.0.1,
so the network guard stays on.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from labsim.provisioners.kind.config import kind_name
from labsim.steps.targets import SimTarget


def kubeconfig_path(lab, kind_dir: str | Path, cluster: str) -> Path:
    return Path(kind_dir) / f"{kind_name(lab, cluster)}.kubeconfig"


def preflight_problems(lab, kind_dir: str | Path, timeout: float = 3.0) -> list[str]:
    """What keeps a kind run from reaching every mesh member: a kubeconfig missing, unreadable, or naming an API
    server that does not accept a connection."""
    import yaml

    problems = []
    clusters = list(lab.mesh.clusters) if lab.mesh else []
    if not clusters:
        return ["the lab file has no mesh: --target kind runs the mesh's clusters in kind"]
    for cluster in clusters:
        path = kubeconfig_path(lab, kind_dir, cluster)
        if not path.is_file():
            problems.append(f"kind cluster {kind_name(lab, cluster)} ({cluster}): no kubeconfig at {path} "
                            "(make kind-verify builds the kind clusters and writes them)")
            continue
        try:
            doc = yaml.safe_load(path.read_text()) or {}
            server = doc["clusters"][0]["cluster"]["server"]
            url = urlsplit(server)
            with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
                pass
        except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError) as exc:
            problems.append(f"kind cluster {kind_name(lab, cluster)} ({cluster}): its API server in {path} does "
                            f"not answer: {exc}")
    return problems


class KindTarget(SimTarget):
    name = "kind"
    clusters_given = True

    def __init__(self, labfile, *, seed: int = 0, kind_dir: str = "kind"):
        super().__init__(labfile, seed=seed)
        self.kind_dir = Path(kind_dir)
        self._kube: dict = {}

    def cluster_kubeconfig(self, cluster: str) -> Path:
        path = kubeconfig_path(self.lab, self.kind_dir, cluster)
        if not path.is_file():
            raise FileNotFoundError(f"no kubeconfig for {cluster} at {path}: run make kind-verify first")
        return path

    def kubeconfig(self, cluster: str) -> Path:
        return self.cluster_kubeconfig(cluster)

    def tool_env(self) -> dict[str, str]:
        """This machine's tools (helm, cilium, kubectl as installed), not the simulator's fakes."""
        return dict(os.environ)

    def kubernetes(self, cluster: str):
        """A `kubernetes.client.ApiClient` for one mesh member's kind cluster."""
        if cluster not in self._kube:
            from kubernetes import config

            self._kube[cluster] = config.new_client_from_config(str(self.cluster_kubeconfig(cluster)),
                                                                context=f"kind-{kind_name(self.lab, cluster)}")
        return self._kube[cluster]
