"""`talosctl health` as machined runs it server-side (pkg/cluster/check, the server's healthReporter).

The checks run one after the other, each polled at its interval until it passes (OK), skips (SKIP) or its
own timeout or the overall --wait-timeout passes. A line `waiting for <check>: <state>` is streamed each
time the state text changes, starting with `...`. Between polls virtual time advances through `pace`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsim.fakes.control import ControlError, Pace
from labsim.fakes.talos import hardware, services
from labsim.fakes.talos import texts as T
from labsim.fakes.talos.kubelink import NO_QUORUM

if TYPE_CHECKING:
    from labsim.fakes.talos.cluster import TalosCluster
    from labsim.fakes.talos.node import TalosNode
    from labsim.fakes.talos.world import TalosWorld

SKIP_CNI_NONE_FROM = (1, 13)    # Talos 1.13 skips node readiness and CoreDNS when the CNI is "none"


class Skip(Exception):
    pass


@dataclass
class Ctx:
    talos: TalosWorld
    cluster: TalosCluster
    cps: list[str]
    workers: list[str]

    @property
    def all(self) -> list[str]:
        return self.cps + self.workers

    def reach(self, ips: list[str]) -> tuple[dict[str, TalosNode], list[str]]:
        found, errors = {}, []
        for ip in ips:
            node = self.talos.node_at(ip)
            if node is None or not node.reachable or not node.apid:
                errors.append(f"{ip}: rpc error: code = Unavailable desc = " + T.UNAVAILABLE.format(ip=ip))
            else:
                found[ip] = node
        return found, errors

    def kube(self):
        link = self.cluster.kube
        if link is None:
            raise CheckFailed('Get "https://localhost:7445/api/v1/nodes": dial tcp [::1]:7445: connect: '
                              "connection refused")
        if not self.cluster.api_up():
            raise CheckFailed(NO_QUORUM[1])
        return link.cluster

    def version(self) -> tuple[int, int]:
        node = next((self.talos.node_at(ip) for ip in self.cps if self.talos.node_at(ip)), None)
        parts = (node.version if node else "1.11.3").split(".")
        return int(parts[0]), int(parts[1])

    def cni_none(self) -> bool:
        cfg = self.cluster.config_of()
        return bool(cfg and cfg.cni == "none")


class CheckFailed(Exception):
    pass


def _errors(errors: list[str]) -> None:
    if errors:
        raise CheckFailed(T.multierror(errors))


def _service(ctx: Ctx, sid: str) -> None:
    found, errors = ctx.reach(ctx.cps)
    _errors(errors)
    for ip in sorted(found):
        info = services.service(found[ip], sid)
        if info is None:
            errors.append(T.H_NO_EVENTS.format(node=ip, service=sid))
        elif info.state != "Running":
            errors.append(T.H_SERVICE_STATE.format(node=ip, service=sid, state=info.state, msg=info.event))
        elif not info.healthy:
            errors.append(T.H_SERVICE_UNHEALTHY.format(node=ip, service=sid))
    _errors(errors)


def etcd_healthy(ctx: Ctx) -> None:
    _service(ctx, "etcd")


def etcd_consistent(ctx: Ctx) -> None:
    found, errors = ctx.reach(ctx.cps)
    _errors(errors)
    lists = {ip: [m.hostname for m in ctx.cluster.members_of(n)] for ip, n in sorted(found.items())}
    if not lists:
        return
    first = next(iter(lists.values()))
    for ip, got in lists.items():
        if got != first:
            errors.append(T.H_ETCD_MEMBERS.format(node=ip, want=T.go_list(first), got=T.go_list(got)))
    _errors(errors)


def etcd_control_plane(ctx: Ctx) -> None:
    members = sorted({ctx.talos.nodes[m.vmid].address or "" for m in ctx.cluster.members.values()
                      if m.vmid in ctx.talos.nodes} - {""})
    if not set(members) <= set(ctx.cps):
        raise CheckFailed(T.H_ETCD_NOT_CP.format(members=T.go_list(members), cps=T.go_list(sorted(ctx.cps))))


def apid_ready(ctx: Ctx) -> None:
    _found, errors = ctx.reach(ctx.all)
    _errors([T.H_APID.format(node=e.split(":", 1)[0], error=e.split(": ", 1)[1]) for e in errors])


def memory_sizes(ctx: Ctx) -> None:
    found, errors = ctx.reach(ctx.all)
    _errors(errors)
    for ip, node in found.items():
        role = "controlplane" if node.control_plane else "worker"
        actual, minimum = hardware.memtotal_mib(node.vm), T.MIN_MEMORY_MIB[role]
        if actual < minimum:
            errors.append(T.H_MEMORY.format(node=ip, min=minimum, actual=actual))
    _errors(errors)


def disk_sizes(ctx: Ctx) -> None:
    found, errors = ctx.reach(ctx.all)
    _errors(errors)
    minimum = T.MIN_DISK_BYTES - T.DISK_ADJUSTMENT
    for ip in sorted(found):
        node = found[ip]
        disk = hardware.disk(node.vm, (node.config.install_disk if node.config else "") or "")
        if disk is None:
            continue
        size = max(0, disk.size - T.SYSTEM_PARTITIONS_MIB * 1024 ** 2)
        if size < minimum:
            errors.append(T.H_DISK.format(location=f"{disk.dev}6", node=ip, min=T.ibytes(minimum),
                                          actual=T.ibytes(size)))
    _errors(errors)


def no_diagnostics(ctx: Ctx) -> None:
    return None


def kubelet_healthy(ctx: Ctx) -> None:
    _service(ctx, "kubelet")


def boot_finished(ctx: Ctx) -> None:
    found, errors = ctx.reach(ctx.all)
    _errors(errors)
    by_stage: dict[str, list[str]] = {}
    for ip, node in sorted(found.items()):
        if node.stage != "running":
            by_stage.setdefault(node.stage, []).append(ip)
    if by_stage:
        raise CheckFailed(T.H_BOOTING.format(
            stages=", ".join(f"{stage}: {T.go_list(ips)}" for stage, ips in sorted(by_stage.items()))))


def _node_ips(kube) -> dict[str, str]:
    out = {}
    for node in kube.list("nodes"):
        for a in (node.get("status") or {}).get("addresses") or []:
            if a.get("type") == "InternalIP":
                out[a["address"]] = node["metadata"]["name"]
    return out


def nodes_reported(ctx: Ctx) -> None:
    have = _node_ips(ctx.kube())
    missing = sorted(set(ctx.all) - set(have))
    extra = sorted(set(have) - set(ctx.all))
    if missing:
        raise CheckFailed(T.H_K8S_MISSING.format(ips=T.go_list(missing)))
    if extra:
        raise CheckFailed(T.H_K8S_UNEXPECTED.format(ips=T.go_list(extra)))


def static_pods(ctx: Ctx) -> None:
    kube = ctx.kube()
    names = _node_ips(kube)
    errors = []
    for ip in ctx.cps:
        node = names.get(ip, "")
        missing = [c for c in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
                   if not _running(kube.try_get("pods", f"{c}-{node}", "kube-system"))]
        if missing:
            errors.append(T.H_STATIC_PODS.format(node=ip, pods=T.go_list([f"kube-system/{m}" for m in missing])))
    _errors(errors)


def components_ready(ctx: Ctx) -> None:
    kube = ctx.kube()
    for comp in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        pods = kube.list("pods", "kube-system", labels=f"k8s-app={comp}")
        ready = sum(1 for p in pods if _ready(p))
        if ready != len(ctx.cps):
            raise CheckFailed(T.H_COMPONENTS.format(component=comp, want=len(ctx.cps), got=ready))


def _skip_cni_none(ctx: Ctx) -> None:
    if ctx.cni_none() and ctx.version() >= SKIP_CNI_NONE_FROM:
        raise Skip()


def nodes_ready(ctx: Ctx) -> None:
    _skip_cni_none(ctx)
    kube = ctx.kube()
    wanted = set(ctx.all)
    not_ready = sorted(name for ip, name in _node_ips(kube).items() if ip in wanted
                       and not _ready(kube.get("nodes", name)))
    if not_ready:
        raise CheckFailed(T.H_NOT_READY.format(nodes=T.go_list(not_ready)))


def _pods_ready(kube, kind: str, selector: str) -> None:
    owners = kube.list(kind, "kube-system", labels=selector)
    if not owners:
        raise Skip()
    want = sum(int((o.get("status") or {}).get("desiredNumberScheduled", 0)) if kind == "daemonsets"
               else int((o.get("spec") or {}).get("replicas", 1)) for o in owners)
    ready = sum(1 for p in kube.list("pods", "kube-system", labels=selector) if _ready(p))
    if ready == 0:
        raise CheckFailed(T.H_NO_PODS.format(ns="kube-system", selector=selector))
    if ready != want:
        raise CheckFailed(T.H_PODS.format(want=want, got=ready))


def kube_proxy_ready(ctx: Ctx) -> None:
    _pods_ready(ctx.kube(), "daemonsets", "k8s-app=kube-proxy")


def coredns_ready(ctx: Ctx) -> None:
    _skip_cni_none(ctx)
    _pods_ready(ctx.kube(), "deployments", "k8s-app=kube-dns")


def schedulable(ctx: Ctx) -> None:
    kube = ctx.kube()
    bad = sorted(n["metadata"]["name"] for n in kube.list("nodes") if (n.get("spec") or {}).get("unschedulable"))
    if bad:
        raise CheckFailed(T.H_NOT_SCHEDULABLE.format(nodes=T.go_list(bad)))


def _ready(obj: dict | None) -> bool:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _running(pod: dict | None) -> bool:
    return bool(pod) and (pod.get("status") or {}).get("phase") == "Running"


CHECKS: dict[str, Callable[[Ctx], None]] = dict(zip([c[0] for c in T.CHECKS], [
    etcd_healthy, etcd_consistent, etcd_control_plane, apid_ready, memory_sizes, disk_sizes, no_diagnostics,
    kubelet_healthy, boot_finished, nodes_reported, static_pods, components_ready, nodes_ready,
    kube_proxy_ready, coredns_ready, schedulable]))


def state(ctx: Ctx, name: str) -> str:
    try:
        CHECKS[name](ctx)
    except Skip:
        return T.SKIP
    except CheckFailed as exc:
        return str(exc).strip()
    return T.OK


def discover(cluster: TalosCluster) -> tuple[list[str], list[str]]:
    """Nodes the way the server finds them without flags: the cluster's members (discovery)."""
    cps, workers = [], []
    for node in sorted(cluster.nodes.values(), key=lambda n: n.address or ""):
        if node.address and node.stage != "off":
            (cps if node.control_plane else workers).append(node.address)
    return cps, workers


def run(talos: TalosWorld, cluster: TalosCluster, cps: list[str], workers: list[str], wait_timeout: float,
        pace: Pace) -> Iterator[str]:
    """The progress lines; raises ControlError on timeout, as the server's stream ends with an error."""
    lock = talos.clock.lock
    ctx = Ctx(talos, cluster, cps, workers)
    yield T.DISCOVERED.format(nodes=T.go_quote_list(cps + workers))
    deadline = pace.now() + wait_timeout
    for name, timeout, interval in T.CHECKS:
        last = T.LINE.format(check=name, state=T.PENDING)
        yield last
        own = pace.now() + timeout
        while True:
            with lock:
                st = state(ctx, name)
            line = T.LINE.format(check=name, state=st)
            if line != last:
                yield line
                last = line
            if st in (T.OK, T.SKIP):
                break
            now = pace.now()
            if now >= min(deadline, own):
                raise ControlError(*T.TIMEOUT)
            pace.sleep(min(interval, min(deadline, own) - now))
