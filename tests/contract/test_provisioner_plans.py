"""Every system offers the same entry points, plan / apply / verify, and a plan is made from what the system reports:
full before provisioning, empty after it (a second apply then has nothing to do), and verification holds.

Run on a simulated Aggrik8s lab through the same clients the features use (librouteros, proxmoxer, talosctl, helm,
kubectl, testinfra over SSH)."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from labsim.provisioners.ceph import run as ceph_run
from labsim.provisioners.ceph.access import CephAccess
from labsim.provisioners.fabric import run as fabric_run
from labsim.provisioners.hosts import run as hosts_run
from labsim.provisioners.hosts.connect import close_host, open_host
from labsim.provisioners.hosts.endpoints import for_target
from labsim.provisioners.proxmox import run as proxmox_run
from labsim.provisioners.talos import run as talos_run
from labsim.provisioners.talos.cli import Tools
from labsim.provisioners.talos.context import TalosContext
from labsim.steps.targets import SimTarget

CLUSTER = "talos-east"


@pytest.mark.parametrize("system", ["fabric", "proxmox", "talos", "mesh", "ceph", "hosts"])
def test_every_system_has_plan_apply_and_verify(system):
    mod = importlib.import_module(f"labsim.provisioners.{system}.run")
    assert all(callable(getattr(mod, name, None)) for name in ("plan", "apply", "verify"))


@pytest.fixture(scope="module")
def lab():
    target = SimTarget(Path(__file__).resolve().parents[2] / "labs" / "aggrik8s.yaml")
    yield target
    target.close()


def test_fabric_and_vms_plan_full_then_empty(lab):
    assert not fabric_run.plan(lab.lab, lab.routeros).empty()
    fabric_run.apply(fabric_run.plan(lab.lab, lab.routeros), lab.routeros)
    assert fabric_run.plan(lab.lab, lab.routeros).empty()
    assert all(r.ok for r in fabric_run.verify(lab.lab, lab.routeros))

    api = lab.proxmox()
    first = proxmox_run.plan(lab.lab, api)
    assert {s.action for s in first.steps} == {"create", "start"}
    proxmox_run.apply(first, api, lab.clock)
    assert proxmox_run.plan(lab.lab, api).empty()
    results = proxmox_run.verify(lab.lab, api, lab.routeros, lab.clock)
    assert results and all(r.ok for r in results), [str(r) for r in results if not r.ok]


def test_talos_and_ceph_plan_full_then_empty(lab):
    work = Path(lab.workdir) / "talos"
    work.mkdir(parents=True, exist_ok=True)
    tools = Tools(env=lab.tool_env(), cwd=work)
    ctx = TalosContext(tools, lab.clock, lab.proxmox(), work)
    first = talos_run.plan(lab.lab, CLUSTER, ctx)
    assert "talos-east: etcd bootstrapped on cp-e-1" in first.describe()
    assert "cp-e-1: config installed" in first.describe() and "talos-east: cilium installed" in first.describe()
    report = talos_run.apply(first, ctx)
    assert report.bootstrapped and report.cilium == "installed"
    assert talos_run.plan(lab.lab, CLUSTER, ctx).empty()
    assert talos_run.apply(talos_run.plan(lab.lab, CLUSTER, ctx), ctx).changes == []
    assert all(r.ok for r in talos_run.verify(lab.lab, CLUSTER, ctx))

    cluster = lab.lab.cluster(CLUSTER)
    access = CephAccess(tools, ctx.cluster_dir(CLUSTER) / "kubeconfig", cluster.ceph.namespace)
    planned = ceph_run.plan(cluster, access)
    assert planned.describe() == ["namespace rook-ceph labelled", "rook-ceph installed", "rook-ceph-cluster installed"]
    ceph_run.apply(planned, access, lab.clock)
    assert ceph_run.plan(cluster, access).empty()
    tools.transcript.clear()
    ceph_run.apply(ceph_run.plan(cluster, access), access, lab.clock)
    assert not [line for line in tools.transcript if "helm upgrade" in line]     # no new revision either
    assert all(r.ok for r in ceph_run.verify(cluster, access))


def test_hosts_are_planned_but_never_applied(lab):
    hosts = {n: open_host(ep) for n, ep in for_target(lab).items()}
    try:
        assert hosts_run.plan(lab.lab, hosts).empty()
        assert all(r.ok for r in hosts_run.verify(lab.lab, hosts))
        hosts["pve"].run("sudo systemctl stop pveproxy" if hosts["pve"].user.name != "root" else
                         "systemctl stop pveproxy")
        planned = hosts_run.plan(lab.lab, hosts)
        assert any(a.startswith("pve pveproxy: ") and a.endswith("(made by the Proxmox node's own configuration "
                                                                 "(/etc/network/interfaces, systemd))")
                   for a in planned.describe()), planned.describe()
        assert hosts_run.apply(planned).not_applied == planned.describe()
        assert not hosts_run.plan(lab.lab, hosts).empty()          # applying changed nothing
    finally:
        for h in hosts.values():
            close_host(h)
