"""Mesh worlds for tests: clusters built straight into Kubernetes fakes (labsim/fakes/cilium/direct.py), optionally served
over HTTPS with a kubeconfig holding one context per cluster and a control API, so the fake `cilium` and the
fake `helm` run against them in-process (`cli(...)`) with lab time passing virtually."""
from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from labsim.fakes.cilium.direct import DirectMesh, Spec
from labsim.fakes.control import ControlServer, Pace
from labsim.fakes.pki import CA

REPO = "https://helm.cilium.io/"


@dataclass
class Ran:
    rc: int
    stdout: str
    stderr: str


class ServedMesh:
    """Two (or more) clusters with Cilium installed by the fake helm and reachable by context name."""

    def __init__(self, tmp: Path, specs: list[Spec], *, shared_ca: bool = True):
        self.dm = DirectMesh(specs, render=False, shared_ca=shared_ca)
        self.clock = self.dm.clock
        self.ca = CA.generate("mesh test CA")
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.dm.serve(self.tmp, self.ca)
        self.control = ControlServer(Pace(self.clock))
        self.control.register("cilium", self.dm.layer.handle)
        self.control.start()
        self.env = {**self.control.env(), "KUBECONFIG": str(self.kubeconfig),
                    "HELM_CONFIG_HOME": str(self.tmp / "helm")}
        for i, s in enumerate(specs):
            if shared_ca and i:
                self.copy_ca(specs[0].name, s.name)
            self.install(s.name)
        self.clock.sleep(30)

    def kube(self, name: str):
        return self.dm.members[name].kube

    def copy_ca(self, src: str, dst: str) -> None:
        """What the owners do by hand: east's cilium-ca into west, before west's chart is (re)rendered."""
        with self.clock.lock:
            ca = self.kube(src).get("secrets", "cilium-ca", "kube-system")
            cur = self.kube(dst).try_get("secrets", "cilium-ca", "kube-system")
            body = {"metadata": {"name": "cilium-ca", "namespace": "kube-system"}, "data": ca["data"]}
            if cur is None:
                self.kube(dst).create("secrets", body, "kube-system")
            else:
                body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                self.kube(dst).update("secrets", body, "kube-system")

    def context(self, name: str) -> str:
        return f"admin@{name}"

    def install(self, name: str, values: dict | None = None) -> Ran:
        path = self.tmp / f"values-{name}.json"
        path.write_text(json.dumps(values or self.dm.values[name]))
        return self.helm("upgrade", "--install", "cilium", "cilium", "--repo", REPO, "--version", "1.18.5",
                         "-n", "kube-system", "-f", str(path), "--kube-context", self.context(name))

    def run(self, main, *argv: str) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        saved = dict(os.environ)
        os.environ.update(self.env)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(list(argv))
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return Ran(rc, out.getvalue(), err.getvalue())

    def helm(self, *argv: str) -> Ran:
        from labsim.fakes.tools.helm import main
        return self.run(main, *argv)

    def cilium(self, *argv: str) -> Ran:
        from labsim.fakes.tools.cilium import main
        return self.run(main, *argv)

    def stop(self) -> None:
        self.control.stop()
        self.dm.stop()
        self.ca.cleanup()


# --- in-process helpers for DirectMesh worlds (no servers) ----------------------------------------------------------
PLURALS = {"Namespace": "namespaces", "Deployment": "deployments", "Service": "services", "Job": "jobs",
           "CiliumEnvoyConfig": "ciliumenvoyconfigs.cilium.io"}
_jobs = iter(range(1, 1_000_000))


def put(dm, cluster: str, obj: dict) -> None:
    kube = dm.members[cluster].kube
    with dm.clock.lock:
        ns = obj["metadata"].get("namespace")
        if kube.try_get(PLURALS[obj["kind"]], obj["metadata"]["name"], ns) is None:
            kube.create(PLURALS[obj["kind"]], obj, ns)


def deploy(dm, service: str, replicas: dict[str, int], affinity: str = "none", ns: str = "mesh-demo") -> None:
    """An echo backend and its global Service in every cluster of `dm`."""
    from labsim.provisioners.mesh import demo
    for cluster in dm.members:
        put(dm, cluster, demo.namespace(ns))
        put(dm, cluster, demo.echo_deployment(service, ns, replicas.get(cluster, 0), cluster))
        put(dm, cluster, demo.global_service(service, ns, affinity, True))


def scale(dm, cluster: str, service: str, replicas: int, ns: str = "mesh-demo") -> None:
    with dm.clock.lock:
        dm.members[cluster].kube.patch("deployments", service, {"spec": {"replicas": replicas}}, ns)


def probe(dm, cluster: str, service: str, n: int, *, ns: str = "mesh-demo", interval: float = 0.1,
          timeout: float = 2.0, wait: bool = True, pod_labels: dict[str, str] | None = None):
    """Run a probe Job in `cluster` against `service` (as the pod `pod_labels` says: an application the access
    policies let in); returns (job name, parsed result or None)."""
    from labsim.provisioners.mesh import demo
    from labsim.provisioners.mesh import probe as P
    name = f"probe-{next(_jobs)}"
    put(dm, cluster, P.job(name, ns, "curlimages/curl:8.10.1", demo.url(service, ns), n, interval=interval,
                           timeout=timeout, pod_labels=pod_labels))
    if not wait:
        return name, None
    dm.clock.sleep(n * interval + timeout + 10)
    return name, read(dm, cluster, name, ns)


def read(dm, cluster: str, job: str, ns: str = "mesh-demo"):
    from labsim.provisioners.mesh import probe as P
    kube = dm.members[cluster].kube
    with dm.clock.lock:
        pod = kube.list("pods", ns, labels=f"probe={job}")[0]
        lines = kube.logs.get((ns, pod["metadata"]["name"], "probe"), [])
    return P.parse("\n".join(text for _, text in lines))
