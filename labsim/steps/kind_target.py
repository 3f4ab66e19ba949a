"""`--target kind`: the simulated lab (fabric, Proxmox, hosts) with the mesh's clusters as real
Kubernetes in kind, built by `python -m labsim.provisioners.kind verify` (make kind-verify).

Kubernetes clients come from the kubeconfigs that run wrote (`--kind-dir`, one per mesh member, named
after the cluster's kind name). The kind API servers listen on 127.0.0.1, so the network guard stays on.
"""
from __future__ import annotations

from pathlib import Path

from labsim.provisioners.kind.config import kind_name
from labsim.steps.targets import SimTarget


class KindTarget(SimTarget):
    name = "kind"

    def __init__(self, labfile, *, seed: int = 0, kind_dir: str = "kind"):
        super().__init__(labfile, seed=seed)
        self.kind_dir = Path(kind_dir)
        self._kube: dict = {}

    def kubernetes(self, cluster: str):
        """A `kubernetes.client.ApiClient` for one mesh member's kind cluster."""
        if cluster not in self._kube:
            from kubernetes import config

            path = self.kind_dir / f"{kind_name(self.lab, cluster)}.kubeconfig"
            if not path.is_file():
                raise FileNotFoundError(f"no kubeconfig for {cluster} at {path}: run make kind-verify first")
            self._kube[cluster] = config.new_client_from_config(str(path), context=f"kind-{kind_name(self.lab, cluster)}")
        return self._kube[cluster]
