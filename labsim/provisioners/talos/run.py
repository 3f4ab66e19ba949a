"""A Talos cluster from maintenance mode to a healthy cluster with Cilium, and its read-only verification.

    plan:      what the machines, etcd and the cilium release say they still need (one line per change)
    apply:     provision the plan's cluster (each step again decides from what the cluster reports)
    provision: machines and addresses -> configs (gen secrets once, gen config, one file per machine)
               -> apply where needed -> wait for every node -> bootstrap once -> kubeconfig
               -> wait for the API and every Node -> Cilium (helm, when it differs) -> wait for Ready
    verify:    talosctl health (every check) + Kubernetes reads + the VIP

Every wait runs on the target's clock. The report says what changed, so a second run can prove it
changed nothing (no apply, no bootstrap, no helm upgrade).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labsim.provisioners.vocabulary import Actions, Result, wait_for
from labsim.provisioners.talos import apply as A
from labsim.provisioners.talos import bootstrap as B
from labsim.provisioners.talos import cilium as C
from labsim.provisioners.talos import configs, health, nodes
from labsim.provisioners.talos import verify as V
from labsim.provisioners.talos.context import TalosContext
from labsim.provisioners.talos.kube import Kube, ready

API_TIMEOUT = 900.0        # bootstrap until the API answers and every kubelet registered
READY_TIMEOUT = 900.0      # Cilium installed until every node is Ready (inside the Talos CNI window)
INTERVAL = 10.0


@dataclass
class Report:
    cluster: str
    applied: dict[str, str] = field(default_factory=dict)   # machine -> installed | updated
    bootstrapped: bool = False
    cilium: str | None = None                               # installed | upgraded | None
    machines: list[nodes.Machine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)          # what was deliberately not done

    @property
    def changes(self) -> list[str]:
        out = [f"{m}: config {what}" for m, what in sorted(self.applied.items())]
        if self.bootstrapped:
            out.append(f"{self.cluster}: etcd bootstrapped")
        if self.cilium:
            out.append(f"{self.cluster}: cilium {self.cilium}")
        return out


@dataclass
class Prepared:
    machines: list[nodes.Machine]
    files: configs.Files

    @property
    def control_planes(self) -> list[nodes.Machine]:
        return [m for m in self.machines if m.control_plane]


def prepare(lab, cluster: str, ctx: TalosContext) -> Prepared:
    machines = nodes.machines(lab, cluster, ctx)
    files = configs.generate(lab, cluster, ctx, [m for m in machines if m.control_plane])
    return Prepared(machines, files)


@dataclass
class TalosPlan(Actions):
    lab: Any = None
    cluster: str = ""


def plan(lab, cluster: str, ctx: TalosContext) -> TalosPlan:
    """What the cluster needs, from what its machines, etcd and its cilium release report (nothing is written to
    the lab; the configs are generated into the working directory)."""
    p = prepare(lab, cluster, ctx)
    tc = p.files.talosconfig
    seen = A.states(ctx, tc, p.machines)
    actions = [f"{m.name}: config {change}" for m in p.machines
               if (change := A.change_for(seen[m.name], configs.machine_file(p.files, m)))]
    booted = B.etcd_running(ctx, tc, p.control_planes) if tc.exists() else False
    if not booted:
        actions.append(f"{cluster}: etcd bootstrapped on {p.control_planes[0].name}")
    if lab.cluster(cluster).cilium is not None:
        kc = p.files.kubeconfig
        change = C.change_for(lab, cluster, ctx, kc) if booted and kc.exists() else "installed"
        if change:
            actions.append(f"{cluster}: cilium {change}")
    return TalosPlan(f"talos {cluster}", actions, lab=lab, cluster=cluster)


def apply(plan: TalosPlan, ctx: TalosContext, **kw) -> Report:
    """Provision the planned cluster; an empty plan changes nothing (each step finds nothing to do)."""
    return provision(plan.lab, plan.cluster, ctx, **kw)


def provision(lab, cluster: str, ctx: TalosContext, *, cilium_overrides: dict[str, Any] | None = None,
              wait_ready: bool = True) -> Report:
    p = prepare(lab, cluster, ctx)
    report = Report(cluster, machines=p.machines)
    tc = p.files.talosconfig
    seen = A.states(ctx, tc, p.machines)
    for m in p.machines:
        done = A.apply(ctx, tc, m, seen[m.name], configs.machine_file(p.files, m))
        if done:
            report.applied[m.name] = done
    A.wait_configured(ctx, tc, p.machines)
    report.bootstrapped = B.bootstrap_once(ctx, tc, p.control_planes)
    kubeconfig = B.kubeconfig(ctx, tc, p.control_planes, p.files.kubeconfig)
    kube = Kube(kubeconfig)
    wait_for(lambda: kube.reachable() and len(kube.nodes()) >= len(p.machines), API_TIMEOUT, INTERVAL, ctx.clock,
             what=f"the {cluster} API and a Node for every machine")
    if lab.cluster(cluster).cilium is None:
        # `cni: none` and no Cilium in the lab file: the nodes stay NotReady (and Talos reboots them after its CNI
        # window) until someone installs a CNI. Nothing to wait for here.
        report.notes.append(f"{cluster}: no CNI in the lab file (cni: {lab.cluster(cluster).cni}, no cilium)")
        return report
    report.cilium = C.install(lab, cluster, ctx, kubeconfig, cilium_overrides)
    if wait_ready:
        wait_nodes_ready(kube, cluster, ctx, READY_TIMEOUT)
    return report


def wait_nodes_ready(kube: Kube, cluster: str, ctx: TalosContext, timeout: float) -> None:
    def not_ready() -> list[str]:
        return sorted(n.metadata.name for n in kube.nodes() if not ready(n))
    wait_for(lambda: not not_ready(), timeout, INTERVAL, ctx.clock, what=f"every {cluster} node to be Ready")


def verify(lab, cluster: str, ctx: TalosContext, *, wait: str = "10m",
           machines: list[nodes.Machine] | None = None) -> list[Result]:
    """Read-only: every `talosctl health` check, the Kubernetes reads and the VIP, as results."""
    return verify_with_health(lab, cluster, ctx, wait=wait, machines=machines)[0]


def verify_with_health(lab, cluster: str, ctx: TalosContext, *, wait: str = "10m",
                       machines: list[nodes.Machine] | None = None) -> tuple[list[Result], health.Health]:
    """`machines`: the addresses provisioning found (a machine down since keeps its address and is checked);
    else the guest agents' answers now, and a machine without one fails `talos-address`."""
    p = prepare_readonly(lab, cluster, ctx, machines)
    results = [Result("talos-address", f"{cluster} {m.name}", False, "no address from the QEMU guest agent")
               for m in p.machines if not m.address]
    p = Prepared([m for m in p.machines if m.address], p.files)
    h = health.run(ctx, p.files.talosconfig, p.machines, wait)
    results += V.health_results(cluster, h)
    results += V.kube_results(lab, cluster, Kube(p.files.kubeconfig), p.machines)
    vip = lab.cluster(cluster).vip
    if vip:
        results.append(V.vip_result(lab, cluster, V.vip_holders(ctx, p.files.talosconfig, p.machines, str(vip))))
    return results, h


def prepare_readonly(lab, cluster: str, ctx: TalosContext, machines: list[nodes.Machine] | None = None) -> Prepared:
    """What verification needs without writing to the lab: addresses, and the talosconfig/kubeconfig kept
    from provisioning (verification against a real lab uses the engineer's)."""
    machines = machines or nodes.machines(lab, cluster, ctx, timeout=60.0, partial=True)
    d = ctx.cluster_dir(cluster)
    files = configs.Files(d, d / "talosconfig", d / "controlplane.yaml", d / "worker.yaml")
    if not files.kubeconfig.exists():   # a read: talosctl asks a control plane for the admin kubeconfig
        B.kubeconfig(ctx, files.talosconfig, [m for m in machines if m.control_plane and m.address],
                     files.kubeconfig)
    return Prepared(machines, files)
