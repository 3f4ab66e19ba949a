"""Ways to break a simulated lab for features/talos_clusters.feature (`--sim-break NAME`), each the opposite of
what a scenario claims. They act as an engineer at the keyboard (talosctl, kubectl-equivalent client calls, a VM
powered off in Proxmox) or as the physical world (a wiped disk, a Talos whose rules differ).

`AFTER[name]` is the step after which the harness applies it (labsim/steps/breakages.py `breaks_after`).
"""
from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml

PROVISIONED = 'the Talos cluster "talos-east" is provisioned'
FABRIC = "the fabric is provisioned"


def _cluster_dir(target, cluster: str = "talos-east") -> Path:
    return Path(target.workdir) / "talos" / cluster


def worker_powered_off(target, monkeypatch) -> None:
    from labsim.steps import proxmox_hands
    proxmox_hands.stop(target, "wrk-e-2")


def config_changed_by_hand(target, monkeypatch) -> None:
    """An engineer adds a node label to cp-e-2's config and applies it with talosctl."""
    d = _cluster_dir(target)
    doc = yaml.safe_load((d / "cp-e-2.yaml").read_text())
    doc["machine"].setdefault("nodeLabels", {})["lab.example/edited-by-hand"] = "yes"
    path = d / "cp-e-2-by-hand.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    talos = target.sim.talos.talos
    node = next(n for n in talos.nodes.values() if n.vm.name == "cp-e-2")
    subprocess.run(["talosctl", "--talosconfig", str(d / "talosconfig"), "-n", node.address, "-e", node.address,
                    "apply-config", "--file", str(path)], env=target.tool_env(), check=True, capture_output=True)


def etcd_data_wiped(target, monkeypatch) -> None:
    """cp-e-1's etcd data directory is wiped while the node runs (the bootstrap's guard is gone)."""
    talos = target.sim.talos.talos
    with talos.clock.lock:
        node = next(n for n in talos.nodes.values() if n.vm.name == "cp-e-1")
        node.disk_state["etcd_data"] = False
        node.etcd = "waiting"


def control_plane_lost(target, monkeypatch) -> None:
    from labsim.steps import proxmox_hands
    proxmox_hands.stop(target, "cp-e-3")


def vip_holder_powered_off(target, monkeypatch) -> None:
    """The control plane holding the VIP loses power as the cluster comes up: until the etcd election lease
    expires (15-60 s) no control plane holds the VIP."""
    from labsim.steps import proxmox_hands
    talos = target.sim.talos.talos
    with talos.clock.lock:
        holder = next(n for c in talos.clusters.values() for n in [c.vip_node()] if n is not None)
    proxmox_hands.stop(target, holder.vm.name)


def workers_cordoned(target, monkeypatch) -> None:
    """An engineer cordons wrk-e-2 and wrk-e-3: nothing evicted from wrk-e-1 can go anywhere."""
    from labsim.provisioners.talos.kube import Kube
    kube = Kube(_cluster_dir(target) / "kubeconfig")
    for name in ("wrk-e-2", "wrk-e-3"):
        kube.core.patch_node(name, {"spec": {"unschedulable": True}})


def minimums_lowered(target, monkeypatch) -> None:
    """A Talos whose health checks accept small machines (its minimums are lower)."""
    from labsim.fakes.talos import texts
    monkeypatch.setattr(texts, "MIN_MEMORY_MIB", {"controlplane": 512, "worker": 256})
    monkeypatch.setattr(texts, "MIN_DISK_BYTES", 2 * 1024 ** 3)


def sys_module_allowed(target, monkeypatch) -> None:
    """A node OS that lets containers load kernel modules (not Talos)."""
    from labsim.fakes.cilium import onhost
    monkeypatch.setattr(onhost, "FORBIDDEN_CAPS", set())


def ready_without_cni(target, monkeypatch) -> None:
    """Kubelets that report Ready with no CNI at all (neither Talos nor Kubernetes does that)."""
    from labsim.fakes.talos.world import TalosWorld
    monkeypatch.setattr(TalosWorld, "cni_ready", lambda self, cluster, node: True)


TALOS_BREAKAGES: dict[str, Callable] = {
    "talos-worker-powered-off": worker_powered_off,
    "talos-config-changed-by-hand": config_changed_by_hand,
    "talos-etcd-data-wiped": etcd_data_wiped,
    "talos-control-plane-lost": control_plane_lost,
    "talos-vip-holder-powered-off": vip_holder_powered_off,
    "talos-workers-cordoned": workers_cordoned,
    "talos-minimums-lowered": minimums_lowered,
    "talos-sys-module-allowed": sys_module_allowed,
    "talos-ready-without-cni": ready_without_cni,
}
AFTER: dict[str, str] = {
    "talos-minimums-lowered": FABRIC,
    "talos-sys-module-allowed": FABRIC,
    "talos-ready-without-cni": FABRIC,
}


def breaks_after(name: str) -> str:
    return AFTER.get(name, PROVISIONED)
