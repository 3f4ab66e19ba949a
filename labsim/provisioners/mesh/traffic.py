"""Running traffic probes on a member cluster and reading what they saw, through the Kubernetes API only.

    p = start(lab, ctx, cluster, "echo", "mesh-demo", requests=1000)  # a Job: returns at once
    until(ctx, p, 20.0)                                                # the probe has run 20 s (read from its log)
    result = finish(ctx, p)                                            # Job done: its log parsed
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from labsim.provisioners.vocabulary import wait_for
from labsim.provisioners.mesh import demo
from labsim.provisioners.mesh import probe as P
from labsim.provisioners.mesh.context import MeshContext
from labsim.provisioners.mesh.workload import Client, client_for

INTERVAL = 0.1            # seconds between requests: ten a second, for a second-by-second timeline
TIMEOUT = 2.0             # curl -m: a backend that does not answer
POLL = 1.0
_seq = itertools.count(1)


@dataclass
class Probe:
    cluster: str
    name: str
    namespace: str
    requests: int
    interval: float
    timeout: float
    target: str

    @property
    def duration(self) -> float:
        return self.requests * self.interval + self.timeout


def start(lab, ctx: MeshContext, cluster: str, service: str, namespace: str, *, requests: int | None = None,
          interval: float = INTERVAL, timeout: float = TIMEOUT, client: Client | None = None) -> Probe:
    """A probe Job in `cluster` against `service`: as `client` (a namespace and pod labels), by default as the
    lab file's application that may reach the service (labsim/provisioners/mesh/workload.py client_for)."""
    n = requests or lab.mesh.probe.requests
    image = lab.mesh.probe.image
    name = f"probe-{service}-{next(_seq)}"
    client = client or client_for(lab, service, namespace)
    job = P.job(name, client.namespace, image, demo.url(service, namespace), n, interval=interval, timeout=timeout,
                pod_labels=client.labels)
    ctx.kube(cluster).apply(job)
    return Probe(cluster, name, client.namespace, n, interval, timeout, f"{namespace}/{service}")


def _pod(ctx: MeshContext, p: Probe):
    pods = ctx.kube(p.cluster).pods(p.namespace, f"probe={p.name}")
    return pods[0] if pods else None


def read(ctx: MeshContext, p: Probe) -> P.Result:
    pod = _pod(ctx, p)
    if pod is None or (pod.status.phase or "Pending") == "Pending":
        return P.Result()
    return P.parse(ctx.kube(p.cluster).log(pod.metadata.name, p.namespace, "probe"))


def until(ctx: MeshContext, p: Probe, seconds: float) -> float:
    """Wait until the probe's log shows a request at `seconds` or later; returns the probe time reached."""
    reached = wait_for(lambda: max((r.t for r in read(ctx, p).requests if r.t >= seconds), default=None),
                       seconds + 120.0, POLL, ctx.clock, what=f"{p.name} to reach t={seconds:g}s")
    return float(reached.value)


def finish(ctx: MeshContext, p: Probe) -> P.Result:
    def done():
        job = ctx.kube(p.cluster).get("Job", p.name, p.namespace)
        conds = ((job or {}).get("status") or {}).get("conditions") or []
        return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conds)
    wait_for(done, p.duration + 300.0, 5.0, ctx.clock, what=f"probe {p.name} to finish")
    return read(ctx, p)


def run(lab, ctx: MeshContext, cluster: str, service: str, namespace: str, **kw) -> tuple[Probe, P.Result]:
    p = start(lab, ctx, cluster, service, namespace, **kw)
    return p, finish(ctx, p)
