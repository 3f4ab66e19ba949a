"""What the mesh provisioner needs from the target: the tools (cilium, helm), the clock, a working directory and
each member cluster's kubeconfig. The `cilium` CLI names clusters by kubeconfig context, so the members'
kubeconfigs are merged into one file (as `KUBECONFIG=a:b kubectl config view --flatten` would) that every tool
of the mesh reads.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from labsim import fastyaml
from labsim.provisioners.vocabulary import Clock
from labsim.provisioners.mesh.kube import MeshKube
from labsim.provisioners.talos.cli import Tools


@dataclass
class MeshContext:
    tools: Tools
    clock: Clock
    workdir: Path
    kubeconfigs: dict[str, Path]                 # member cluster -> its kubeconfig
    _kubes: dict[str, MeshKube] = field(default_factory=dict)
    _contexts: dict[str, str] = field(default_factory=dict)
    releases: dict[str, tuple[str | None, dict]] = field(default_factory=dict)   # read once until we write

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        merged = self.merge()
        self.tools = dataclasses.replace(self.tools, env={**self.tools.env, "KUBECONFIG": str(merged)}, cwd=self.workdir)

    def merge(self) -> Path:
        out: dict = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
        seen: set[tuple[str, str]] = set()
        for cluster, path in self.kubeconfigs.items():
            doc = fastyaml.load(Path(path).read_text()) or {}
            self._contexts[cluster] = doc.get("current-context") or doc["contexts"][0]["name"]
            for key in ("clusters", "users", "contexts"):
                for entry in doc.get(key) or []:
                    if (key, entry["name"]) not in seen:      # the first file that defines a name wins
                        seen.add((key, entry["name"]))
                        out[key].append(entry)
        out["current-context"] = next(iter(self._contexts.values()), "")
        path = self.workdir / "kubeconfig"
        path.write_text(yaml.safe_dump(out, sort_keys=False))
        path.chmod(0o600)
        return path

    def context(self, cluster: str) -> str:
        return self._contexts[cluster]

    def kube(self, cluster: str) -> MeshKube:
        if cluster not in self._kubes:
            self._kubes[cluster] = MeshKube(self.kubeconfigs[cluster])
        return self._kubes[cluster]

    def cilium(self, cluster: str, *args: str, check: bool = True):
        return self.tools.run(["cilium", "--context", self.context(cluster), *args], check=check)

    def helm(self, cluster: str, *args: str, check: bool = True):
        return self.tools.run(["helm", *args, "--kubeconfig", str(self.kubeconfigs[cluster])], check=check)
