"""Machine configs from the lab file, made the way an engineer makes them: `talosctl gen secrets` once,
`talosctl gen config` with the lab's patches, then one file per machine with its hostname
(`talosctl machineconfig patch`). The secrets bundle is kept in the working directory, so every run
generates byte-identical configs and an unchanged node is left alone.

Patches (Talos Cilium guide; aggrik8s-lab.md): the cluster's pod and service subnets, CNI `none` (or the lab's
choice) and kube-proxy disabled before bootstrap, NTP servers, kubelet server-certificate rotation, the install
disk; on control planes the shared VIP on the DHCP interface (`deviceSelector: {physical: true}`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labsim import fastyaml
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.nodes import Machine


@dataclass(frozen=True)
class Files:
    dir: Path
    talosconfig: Path
    controlplane: Path
    worker: Path

    def for_role(self, role: str) -> Path:
        return self.controlplane if role == "controlplane" else self.worker

    def machine(self, name: str) -> Path:
        return self.dir / f"{name}.yaml"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"


def patches(lab, cluster: str) -> dict[str, dict[str, Any]]:
    c = lab.cluster(cluster)
    common: dict[str, Any] = {
        "cluster": {"network": {"podSubnets": [str(c.pod_subnet)], "serviceSubnets": [str(c.service_subnet)],
                                "cni": {"name": c.cni}},
                    "proxy": {"disabled": not c.kube_proxy}},
        "machine": {"kubelet": {"extraArgs": {"rotate-server-certificates": "true"}}},
    }
    if c.ntp:
        common["machine"]["time"] = {"servers": list(c.ntp)}
    cp: dict[str, Any] = {}
    if c.vip:
        cp["machine"] = {"network": {"interfaces": [{"deviceSelector": {"physical": True}, "dhcp": True,
                                                     "vip": {"ip": str(c.vip)}}]}}
    if c.allow_scheduling_on_control_planes:
        cp.setdefault("cluster", {})["allowSchedulingOnControlPlanes"] = True
    return {"common": common, "controlplane": cp, "worker": {}}


def generate(lab, cluster: str, ctx: TalosContext, control_planes: list[Machine]) -> Files:
    c = lab.cluster(cluster)
    d = ctx.cluster_dir(cluster)
    talosctl = ctx.tools.run
    secrets = d / "secrets.yaml"
    if not secrets.exists():
        talosctl(["talosctl", "gen", "secrets", "-o", str(secrets)])
    args = ["talosctl", "gen", "config", cluster, c.endpoint, "--with-secrets", str(secrets),
            "--install-disk", c.install_disk, "--talos-version", f"v{c.version}", "-o", str(d), "--force"]
    if c.kubernetes_version:
        args += ["--kubernetes-version", str(c.kubernetes_version)]
    for kind, flag in (("common", "--config-patch"), ("controlplane", "--config-patch-control-plane"),
                       ("worker", "--config-patch-worker")):
        patch = patches(lab, cluster)[kind]
        if patch:
            path = d / f"patch-{kind}.yaml"
            path.write_text(yaml.safe_dump(patch, sort_keys=False))
            args += [flag, f"@{path}"]
    talosctl(args)
    files = Files(d, d / "talosconfig", d / "controlplane.yaml", d / "worker.yaml")
    cps = [m.address for m in control_planes]
    talosctl(["talosctl", "--talosconfig", str(files.talosconfig), "config", "endpoint", *cps])
    talosctl(["talosctl", "--talosconfig", str(files.talosconfig), "config", "node", cps[0]])
    return files


def machine_file(files: Files, machine: Machine) -> Path:
    """The machine's own config: its role's file with its hostname (what `talosctl machineconfig patch` makes)."""
    doc = fastyaml.load(files.for_role(machine.role).read_text())
    doc.setdefault("machine", {}).setdefault("network", {})["hostname"] = machine.name
    out = files.machine(machine.name)
    out.write_text(fastyaml.dump(doc, sort_keys=False, indent=4))
    return out
