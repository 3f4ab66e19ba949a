"""Ways to break a simulated lab for features/talos_clusters.feature (`--sim-break NAME`), each the opposite of
what a scenario claims, on the cluster the scenario provisions (the struck step's "<cluster>"): an engineer at the
keyboard (talosctl, the Kubernetes API, helm, Proxmox's API) or the physical world (a VM powered off, a wiped disk).
The registry and its rules are in labsim/steps/breaking.py.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from labsim.steps import proxmox_hands
from labsim.steps.breaking import Strike, breakage

PROVISIONED = 'the Talos cluster "<cluster>" is provisioned'
FROM_COPY = 'the Talos cluster "<cluster>" is provisioned from that copy'
WITH_SYS_MODULE = ('the Talos cluster "<cluster>" is provisioned with SYS_MODULE added to the Cilium agent\'s '
                   'capabilities')


def _cluster(target, at: Strike):
    return target.lab.cluster(at.args["cluster"])


def _cluster_dir(target, cluster: str) -> Path:
    return Path(target.workdir) / "talos" / cluster


def _second(members):
    return members[1] if len(members) > 1 else members[0]


@breakage("talos-worker-powered-off", after=PROVISIONED)
def worker_powered_off(target, at: Strike) -> None:
    proxmox_hands.stop(target, _second(_cluster(target, at).workers()).name)


@breakage("talos-config-changed-by-hand", after=PROVISIONED)
def config_changed_by_hand(target, at: Strike) -> None:
    """An engineer adds a node label to the second control plane's config and applies it with talosctl."""
    cluster = at.args["cluster"]
    name = _second(_cluster(target, at).control_planes()).name
    d = _cluster_dir(target, cluster)
    doc = yaml.safe_load((d / f"{name}.yaml").read_text())
    doc["machine"].setdefault("nodeLabels", {})["lab.example/edited-by-hand"] = "yes"
    path = d / f"{name}-by-hand.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    address = _address(target, at, name)
    subprocess.run(["talosctl", "--talosconfig", str(d / "talosconfig"), "-n", address, "-e", address,
                    "apply-config", "--file", str(path)], env=target.tool_env(), check=True, capture_output=True)


def _address(target, at: Strike, name: str) -> str:
    """The address the Talos provisioner found the machine at (its DHCP lease), as the scenario's run recorded it."""
    talos = at.request.getfixturevalue("talos")
    return next(m.address for m in talos.machines[at.args["cluster"]] if m.name == name)


@breakage("talos-etcd-data-wiped", after=PROVISIONED)
def etcd_data_wiped(target, at: Strike) -> None:
    """The first control plane's etcd data directory is gone from its disk while the node runs (the physical world:
    the data on the EPHEMERAL partition lost), so nothing guards against a second bootstrap."""
    name = _cluster(target, at).control_planes()[0].name
    talos = target.sim.talos.talos
    with talos.clock.lock:
        node = next(n for n in talos.nodes.values() if n.vm.name == name)
        node.disk_state["etcd_data"] = False
        node.etcd = "waiting"


@breakage("talos-control-plane-lost", after=PROVISIONED)
def control_plane_lost(target, at: Strike) -> None:
    """The last control plane is powered off before the drill: the first loss is already the second."""
    proxmox_hands.stop(target, _cluster(target, at).control_planes()[-1].name)


@breakage("talos-lost-control-plane-powered-on", before='the Kubernetes API of "<cluster>" no longer answers')
def lost_control_plane_powered_on(target, at: Strike) -> None:
    """Someone powers the first control plane the drill lost back on (Proxmox start) before the second loss is
    judged: two of three are up again, so the API and the VIP should be back."""
    proxmox_hands.start(target, at.request.getfixturevalue("talos").lost[0])
    target.clock.sleep(120)


@breakage("talos-worker-powered-on-at-once", before='the node "<name>" of "<cluster>" is NotReady within <seconds> seconds')
def worker_powered_on_at_once(target, at: Strike) -> None:
    """Someone powers the worker straight back on (Proxmox start) before the node's lease runs out: its kubelet
    posts status again within the node-monitor grace period, so the node is never reported NotReady."""
    proxmox_hands.start(target, at.args["name"])


@breakage("talos-vip-holder-powered-off", after=PROVISIONED)
def vip_holder_powered_off(target, at: Strike) -> None:
    """The control plane holding the VIP (as talosctl reports it) loses power: until the etcd election lease
    expires (15-60 s) no control plane holds the VIP."""
    from labsim.provisioners.talos import verify as V
    from labsim.steps.talos_steps import _machines, context

    talos = at.request.getfixturevalue("talos")
    cluster = at.args["cluster"]
    ctx = context(target, talos)
    holders = V.vip_holders(ctx, ctx.cluster_dir(cluster) / "talosconfig", _machines(target, talos, cluster),
                            str(talos.lab.cluster(cluster).vip))
    proxmox_hands.stop(target, holders[0])


@breakage("talos-workers-cordoned", after='a Deployment "probe" with <n> replicas runs on the workers of "<cluster>"')
def workers_cordoned(target, at: Strike) -> None:
    """An engineer cordons every worker but the first: nothing evicted from the first can go anywhere."""
    from labsim.provisioners.talos.kube import Kube
    kube = Kube(_cluster_dir(target, at.args["cluster"]) / "kubeconfig")
    for m in _cluster(target, at).workers()[1:]:
        kube.core.patch_node(m.name, {"spec": {"unschedulable": True}})


@breakage("talos-workers-given-room", before=FROM_COPY)
def workers_given_room(target, at: Strike) -> None:
    """Before Talos is installed, an engineer gives the copy's small workers back the memory and system disk the
    lab file plans (Proxmox: memory, disk resize, reboot): talosctl health then has nothing to report."""
    api = target.proxmox()
    for vm in (v for v in _cluster(target, at).vms() if v.role == "worker"):
        node, vmid = proxmox_hands.find_vm(api, vm.name)
        disk = vm.system_disk
        have = api.nodes(node).qemu(vmid).config.get()
        size = next((p.split("=", 1)[1] for p in str(have.get(disk.slot, "")).split(",") if p.startswith("size=")),
                    "0G")
        if _gib(size) < disk.size_gib:
            api.nodes(node).qemu(vmid).resize.put(disk=disk.slot, size=f"{disk.size_gib}G")
        proxmox_hands.set_memory_and_reboot(target, vm.name, vm.memory_mib)


def _gib(size: str) -> float:
    unit = {"K": 1 / 1024 ** 2, "M": 1 / 1024, "G": 1, "T": 1024}
    return float(size[:-1]) * unit[size[-1]] if size[-1] in unit else float(size) / 1024 ** 3


@breakage("talos-cilium-installed-by-hand", after=FROM_COPY)
def cilium_installed_by_hand(target, at: Strike) -> None:
    """An engineer installs Cilium with helm (the values the lab file plans) on the cluster built without a CNI."""
    _cilium_as_planned(target, at)


@breakage("talos-sys-module-removed-by-hand", after=WITH_SYS_MODULE)
def sys_module_removed_by_hand(target, at: Strike) -> None:
    """An engineer upgrades the Cilium release with the lab file's capabilities (no SYS_MODULE) right away."""
    _cilium_as_planned(target, at)


def _cilium_as_planned(target, at: Strike) -> None:
    from labsim.provisioners.talos import cilium
    from labsim.steps.talos_steps import context

    talos = at.request.getfixturevalue("talos")
    cluster = at.args["cluster"]
    ctx = context(target, talos)
    cilium.install(target.lab, cluster, ctx, ctx.cluster_dir(cluster) / "kubeconfig")
    target.clock.sleep(30)
