"""Lab checkpoints (labsim/fakes/checkpoint.py): a restored lab is the lab it was taken from, to every client.

The lab file's whole mesh is built twice (fabric, VMs, the Talos clusters with Cilium, ClusterMesh), as the feature
steps build it. The first is checkpointed and stopped, then restored: every face's answers to the real clients
(librouteros, proxmoxer, the kubernetes client, the fake talosctl) are those the lab gave before it stopped, and the
same as the second, fresh lab's (where only the ports, keys, uids and instants a fresh build draws anew may differ);
the next provisioning run of every layer plans nothing and writes nothing. Then a restore broken by hand is thrown
away and the next restore of the same checkpoint is whole.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kubernetes import config as kconfig

from labsim.fakes import checkpoint
from labsim.provisioners.fabric.run import provision as provision_fabric
from labsim.provisioners.mesh import run as M
from labsim.provisioners.proxmox.run import provision as provision_vms
from labsim.provisioners.talos import run as T
from labsim.steps import mesh_steps, talos_steps
from labsim.steps.mesh_steps import MeshRun
from labsim.steps.talos_steps import TalosRun
from labsim.steps.targets import SimTarget

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "aggrik8s.yaml"
MENUS = ("/interface", "/interface/vlan", "/interface/bridge/port", "/interface/bridge/vlan", "/ip/address",
         "/ip/pool", "/ip/dhcp-server", "/ip/dhcp-server/network", "/ip/dhcp-server/lease", "/ip/route",
         "/ip/firewall/filter", "/system/identity", "/system/resource")
KINDS = (("api/v1", "nodes"), ("api/v1", "pods"), ("api/v1", "services"), ("api/v1", "configmaps"),
         ("apis/apps/v1", "deployments"), ("apis/apps/v1", "daemonsets"), ("api/v1", "secrets"))


class _Evidence:
    """What the build steps attach goes nowhere here."""

    def __getattr__(self, name):
        return lambda *a, **kw: None


def build(target: SimTarget) -> tuple[TalosRun, MeshRun]:
    talos = TalosRun(lab=target.lab, tools=target.tools())
    mesh = MeshRun(lab=target.lab)
    mesh_steps.mesh_built(target, talos, mesh, _Evidence())
    return talos, mesh


def answers(target: SimTarget, talos: TalosRun, mesh: MeshRun) -> dict[str, object]:
    """What the lab's faces answer the clients an engineer uses, read-only."""
    out: dict[str, object] = {}
    for dev in target.lab.routeros.devices:
        api = target.routeros(dev.identity)
        for menu in MENUS:
            out[f"routeros {dev.identity} {menu}"] = [dict(r) for r in api(f"{menu}/print")]
    prox = target.proxmox()
    out["proxmox /cluster/resources"] = prox.cluster.resources.get()
    for vm in prox.cluster.resources.get(type="vm"):
        node, vmid = vm["node"], vm["vmid"]
        out[f"proxmox {vmid} config"] = prox.nodes(node).qemu(vmid).config.get()
        out[f"proxmox {vmid} status"] = prox.nodes(node).qemu(vmid).status.current.get()
    for cluster in target.lab.mesh.clusters:
        api = kconfig.new_client_from_config(config_file=str(mesh.ctx.kubeconfigs[cluster]))
        for group, kind in KINDS:
            resp = api.call_api("GET", f"{api.configuration.host}/{group}/{kind}")
            resp.read()
            out[f"kube {cluster} {kind}"] = json.loads(resp.data)["items"]
        api.close()
        ctx = talos_steps.context(target, talos)
        node = talos.machines[cluster][0].address
        out[f"talosctl {cluster} members"] = ctx.tools.run(
            ["talosctl", "--talosconfig", str(ctx.cluster_dir(cluster) / "talosconfig"), "-n", node, "get", "members"],
            check=False).stdout
    return out


def plans(target: SimTarget, talos: TalosRun, mesh: MeshRun) -> dict[str, object]:
    """The next provisioning run of every layer: what it planned and the writes the lab accepted."""
    before = target.device_writes()
    out = {"fabric": provision_fabric(target.lab, target.routeros).plan.describe(),
           "vms": provision_vms(target.lab, target.proxmox(), target.clock).plan.describe()}
    for cluster in target.lab.mesh.clusters:
        out[f"talos {cluster}"] = T.plan(target.lab, cluster, talos_steps.context(target, talos)).describe()
    out["mesh"] = M.plan(target.lab, mesh.ctx).describe()
    out["writes"] = {k: v - before.get(k, 0) for k, v in target.device_writes().items() if v != before.get(k, 0)}
    return out


# What a fresh build draws anew, or what moves with the instant it reads (its clusters come up side by side, so
# a fresh build ends a few lab seconds earlier or later): left out of the comparison with a fresh lab.
DRAWN = frozenset({"uptime", "expires-after", "last-seen", "cpu-load", "free-memory", "diskread", "diskwrite",
                   "netin", "netout", "cpu", "mem", "digest", "meta", "uid", "resourceVersion", "creationTimestamp",
                   "managedFields", "lastTransitionTime", "lastHeartbeatTime", "lastProbeTime", "lastUpdateTime",
                   "startedAt", "startTime", "bootID", "generation", "observedGeneration"})


def _shape(key: str, value):
    """Kubernetes objects of a fresh build: the same objects by namespace and name (a pod by its generateName:
    the scheduler's choices, random name suffixes and allocated IPs are a fresh build's own; and without its
    ReplicaSet's pod-template-hash: the mesh build upgrades Cilium, and whether cilium-operator's rollout has
    replaced its pods yet moves with the instant the build ends), the rest in full."""
    if key.startswith("kube "):
        return sorted((o["metadata"].get("namespace", ""), _unhashed(o)) for o in value)
    return _fresh_parts(value)


def _unhashed(obj: dict) -> str:
    md = obj["metadata"]
    name = md.get("generateName") or md["name"]
    pth = (md.get("labels") or {}).get("pod-template-hash")
    return name.replace(f"-{pth}-", "-") if pth else name


def _fresh_parts(value):
    if isinstance(value, dict):
        return {k: _fresh_parts(v) for k, v in value.items() if k not in DRAWN}
    if isinstance(value, list):
        return [_fresh_parts(v) for v in value]
    if isinstance(value, str):
        value = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", value)
        value = re.sub(r"[A-Za-z0-9+/=]{60,}", "BLOB", value)     # certificates, keys, tokens
        return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", value)
    return value


def _first(keys: list[str], got: dict, want: dict, shape=lambda k, v: v) -> str:
    """The differing answers' names, and the first one's lines that differ."""
    import difflib
    k = keys[0]
    lines = [json.dumps(shape(k, d[k]), sort_keys=True, default=str, indent=0).splitlines() for d in (want, got)]
    return f"{keys}\n{k}:\n" + "\n".join(list(difflib.unified_diff(*lines, lineterm="", n=0))[:20])


@pytest.fixture(scope="module")
def taken(tmp_path_factory):
    first = SimTarget(LAB)
    talos, mesh = build(first)
    cp = first.checkpoint({"talos": talos, "mesh": mesh})
    assert cp is not None, first.sim.unfit_for_checkpoints()
    checkpoint.HOLDS.keep(cp)        # as the features' store does: its ports are held whenever no lab has them
    seen = answers(first, talos, mesh)
    first.close()
    assert set(cp.ports) <= checkpoint.HOLDS.held()
    yield cp, seen
    checkpoint.HOLDS.drop(cp)
    checkpoint.remove_files(cp)


def test_a_restored_lab_answers_every_client_as_before_and_as_a_fresh_build_and_plans_nothing(taken):
    cp, seen = taken
    restored, records = SimTarget.restored(cp)
    try:
        again = answers(restored, records["talos"], records["mesh"])
        assert again.keys() == seen.keys()
        differ = [k for k in seen if again[k] != seen[k]]
        assert not differ, f"the restored lab answers differently: {_first(differ, again, seen)}"
        nothing = plans(restored, records["talos"], records["mesh"])
    finally:
        restored.close()
    assert nothing["writes"] == {}, nothing["writes"]
    assert all(not plan for key, plan in nothing.items() if key != "writes"), nothing

    fresh = SimTarget(LAB)
    try:
        talos, mesh = build(fresh)
        built = answers(fresh, talos, mesh)
    finally:
        fresh.close()
    differ = [k for k in seen if _shape(k, built[k]) != _shape(k, seen[k])]
    assert not differ, f"a fresh build answers differently from the restored one: {_first(differ, built, seen, _shape)}"


def test_a_restore_broken_by_hand_does_not_reach_the_next_restore(taken):
    cp, seen = taken
    broken, records = SimTarget.restored(cp)
    dev = broken.lab.routeros.devices[0].identity
    try:
        api = broken.routeros(dev)
        vlans = list(api("/interface/vlan/print"))
        assert vlans, f"{dev} has no VLAN interface to remove"
        api.path("interface", "vlan").remove(vlans[0][".id"])       # an engineer's hand edit
        assert len(list(api("/interface/vlan/print"))) == len(vlans) - 1
        vm = next(iter(broken.sim.world.proxmox.vms.values()))
        broken.proxmox().nodes(vm.node).qemu(vm.vmid).status.stop.post()   # and a VM powered off
    finally:
        broken.close()
    whole, records = SimTarget.restored(cp)
    try:
        again = answers(whole, records["talos"], records["mesh"])
    finally:
        whole.close()
    differ = [k for k in seen if again[k] != seen[k]]
    assert not differ, f"a restore after a broken one answers differently: {_first(differ, again, seen)}"

