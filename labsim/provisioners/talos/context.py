"""What the Talos provisioner needs from the target, in one place."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labsim.provisioners.vocabulary import Clock
from labsim.provisioners.talos.cli import Tools


@dataclass
class TalosContext:
    tools: Tools
    clock: Clock
    proxmox: Any            # a proxmoxer ProxmoxAPI (node addresses from the guest agent)
    workdir: Path           # per lab: <workdir>/<cluster>/{secrets.yaml,controlplane.yaml,worker.yaml,talosconfig,kubeconfig}

    def cluster_dir(self, cluster: str) -> Path:
        d = self.workdir / cluster
        d.mkdir(parents=True, exist_ok=True)
        return d
