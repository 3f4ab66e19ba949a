"""Real programs as the processes of simulated pods: a pod whose container image is labsim-dnswatch runs the failover
watcher's own code (dnswatch/labsim_dnswatch), in a thread of the simulated lab, from the pod's spec as the kubelet
would give it: its args, its environment (values, Secret and ConfigMap keys), its ConfigMap volumes (files in a
folder of its own; paths under the mount point in its args are rewritten to it), its service account (a kubeconfig
with the account's bearer token), and what the simulated network supplies in place of the real one: the Cloudflare
face for api.cloudflare.com (CLOUDFLARE_BASE_URL), the lab CA in its trust store (SSL_CERT_FILE), a network on which
each node's public HTTPS is the loopback port that stands for it and nothing else of the internet exists (its
`dial`: an address the simulated internet does not have is refused, never dialled), metrics on a loopback port.

Virtual time: the watcher waits through the clock it is given (labsim_dnswatch.clock.Clock). Here each wait is a
turn handed back to the simulation: the watcher's next cycle is an event on the virtual clock, and while it runs the
simulation waits for it (the clock's lock released, so the faces it talks to can serve it). A cycle happens at the
same virtual instant on every run, and a ten-minute outage costs milliseconds. Watch events do not cut a wait short
here (they do in a cluster): the cycles' times stay reproducible.

A pod missing its Secret does not start (the kubelet's CreateContainerConfigError); a pod whose node is down does not
run (its process is frozen until the node is back); a deleted pod stops its process.
"""
from __future__ import annotations

import importlib.util
import logging
import shutil
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube import PodBehaviour

if TYPE_CHECKING:
    from labsim.fakes.kube import KubeCluster

START = 2.0                 # the kubelet's start delay for these pods (pull, create, start)
CYCLE_LIMIT = 60.0          # real seconds one cycle may take before the simulation goes on without it
RECHECK = 5.0               # a frozen process (its node down) is looked at again this often


class Stopped(Exception):
    """The pod's process ends (deleted pod, lab stopping)."""


class TurnClock:
    """labsim_dnswatch's Clock on the simulation's virtual clock, one turn at a time."""

    def __init__(self, vclock, alive: Callable[[], bool]):
        self.vclock = vclock
        self.alive = alive
        self.cond = threading.Condition(vclock.lock)
        self.turn = "sim"
        self.stopped = False
        self.slow: list[float] = []          # cycles that outran CYCLE_LIMIT (a bug to look at)

    def now(self) -> float:
        return self.vclock.now()

    def utcnow(self):
        return self.vclock.utcnow()

    def schedule(self, at: float) -> None:
        self.vclock.call_at(at, self._fire)

    def first_turn(self) -> None:
        with self.cond:
            while self.turn != "proc" and not self.stopped:
                self.cond.wait()
            if self.stopped:
                raise Stopped()

    def wait(self, seconds: float, wake: threading.Event | None = None) -> None:
        with self.cond:
            if self.stopped:
                raise Stopped()
            self.turn = "sim"
            self.cond.notify_all()
            self.vclock.call_at(self.vclock.now() + max(0.001, seconds), self._fire)
            while self.turn != "proc" and not self.stopped:
                self.cond.wait()
            if self.stopped:
                raise Stopped()
        if wake is not None:
            wake.clear()

    def _fire(self) -> None:
        """A turn (runs in whichever thread advances the clock, holding its lock)."""
        if self.stopped:
            return
        if not self.alive():
            self.vclock.call_later(RECHECK, self._fire)
            return
        with self.cond:
            self.turn = "proc"
            self.cond.notify_all()
            deadline = time.monotonic() + CYCLE_LIMIT
            while self.turn == "proc" and not self.stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.slow.append(self.vclock.now())
                    break
                self.cond.wait(left)

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()


class _PodLog(logging.Handler):
    def __init__(self, kube: KubeCluster, ns: str, pod: str, container: str):
        super().__init__()
        self.kube, self.ns, self.pod, self.container = kube, ns, pod, container
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.kube.append_log(self.ns, self.pod, self.container, self.format(record))
        except Exception:  # noqa: BLE001 - a log line must never kill the process
            pass


class PodRuntime:
    """The pod_behaviour hook for one cluster's Kubernetes: starts the processes of the pods it knows."""

    def __init__(self, kube: KubeCluster, *, server, network: Callable[[], dict[str, Any]],
                 node_up: Callable[[str], bool]):
        self.kube = kube
        self.server = server                 # the cluster's KubeServer (service account kubeconfigs)
        self.network = network               # -> {"cloudflare": url, "ca": path, "internet": {"ip:port": (h, p)}}
        self.node_up = node_up
        self.procs: dict[str, dict[str, Any]] = {}     # pod uid -> {"clock", "thread", "controller", "metrics", ...}
        self._dir = Path(tempfile.mkdtemp(prefix="labsim-pods-"))

    def __call__(self, pod: dict[str, Any]) -> PodBehaviour | None:
        container = next((c for c in (pod.get("spec") or {}).get("containers") or []
                          if "dnswatch" in str(c.get("image", ""))), None)
        if container is None:
            return None
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if importlib.util.find_spec("labsim_dnswatch") is None:   # the image this simulator runs is not installed
            return PodBehaviour(start_delay=START, ready=False, logs=(
                f"Error: the simulator cannot run image {container.get('image')}: the labsim-dnswatch package is not "
                "installed beside labsim (pip install ./dnswatch from labsim's repository; make install does it)\n"))
        try:
            env = self._env(ns, container)
        except LookupError as exc:   # the kubelet's CreateContainerConfigError
            return PodBehaviour(start_delay=START, ready=False, logs=f"Error: {exc}\n")
        uid = pod["metadata"]["uid"]
        self.kube.clock.call_later(START + 0.01, lambda: self._start(uid, ns, name, pod, container, env))
        return PodBehaviour(start_delay=START, ready_delay=START + 1.0)

    # --- the kubelet's part: environment, volumes, service account ----------------------------------------------
    def _env(self, ns: str, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for e in container.get("env") or []:
            if "value" in e:
                env[e["name"]] = str(e["value"])
                continue
            src = e.get("valueFrom") or {}
            for kind, ref in (("secrets", src.get("secretKeyRef")), ("configmaps", src.get("configMapKeyRef"))):
                if not ref:
                    continue
                obj = self.kube.live(kind, ref.get("name", ""), ns)
                key = ref.get("key", "")
                data = (obj or {}).get("data") or {}
                if obj is None:
                    if ref.get("optional"):
                        continue
                    raise LookupError(f'{kind[:-1] if kind == "secrets" else "configmap"} "{ref.get("name")}" '
                                      f'not found')
                if key not in data:
                    if ref.get("optional"):
                        continue
                    raise LookupError(f"couldn't find key {key} in {kind[:-1]} {ns}/{ref.get('name')}")
                value = data[key]
                if kind == "secrets":
                    import base64
                    value = base64.b64decode(value).decode()
                env[e["name"]] = value
        return env

    def _volumes(self, ns: str, pod: dict[str, Any], container: dict[str, Any], root: Path) -> dict[str, Path]:
        vols = {v["name"]: v for v in (pod.get("spec") or {}).get("volumes") or []}
        mounts: dict[str, Path] = {}
        for m in container.get("volumeMounts") or []:
            v = vols.get(m.get("name"))
            if v is None or "configMap" not in v:
                continue
            cm = self.kube.live("configmaps", v["configMap"].get("name", ""), ns)
            target = root / m["name"]
            target.mkdir(parents=True, exist_ok=True)
            for key, text in ((cm or {}).get("data") or {}).items():
                (target / key).write_text(text)
            mounts[m["mountPath"].rstrip("/")] = target
        return mounts

    def _start(self, uid: str, ns: str, name: str, pod: dict[str, Any], container: dict[str, Any],
               env: dict[str, str]) -> None:
        live = self.kube.store.get(("", "pods"), ns, name)
        if live is None or live["metadata"]["uid"] != uid or (live.get("status") or {}).get("phase") != "Running":
            return
        root = self._dir / uid
        root.mkdir(parents=True, exist_ok=True)
        mounts = self._volumes(ns, pod, container, root)
        args = []
        for a in list(container.get("args") or []):
            for mount, path in mounts.items():
                if a == mount or a.startswith(mount + "/"):
                    a = str(path) + a[len(mount):]
            args.append(a)
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        kubeconfig = root / "kubeconfig"
        self.server.kubeconfig(kubeconfig, f"system:serviceaccount:{ns}:{sa}", auth="token",
                               groups=("system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"))
        net = self.network()
        env = {**env, "CLOUDFLARE_BASE_URL": net.get("cloudflare", ""), "SSL_CERT_FILE": net.get("ca", "")}
        args += ["--kubeconfig", str(kubeconfig), "--metrics-address", "127.0.0.1:0"]

        def dial(addr: tuple[str, int], timeout: float):
            """The pod's network: a public address reaches the loopback port that stands for it; anything else
            is not on the simulated internet (refused, never dialled for real)."""
            target = self.network().get("internet", {}).get(f"{addr[0]}:{addr[1]}")
            if target is None:
                if addr[0] == "127.0.0.1":
                    return socket.create_connection(addr, timeout=timeout)
                raise ConnectionRefusedError(f"{addr[0]}:{addr[1]} is not on the simulated internet")
            return socket.create_connection(target, timeout=timeout)
        node = (live.get("spec") or {}).get("nodeName", "")

        def alive() -> bool:
            p = self.kube.store.get(("", "pods"), ns, name)
            return p is not None and p["metadata"]["uid"] == uid and not p["metadata"].get("deletionTimestamp") \
                and self.node_up(node)

        clock = TurnClock(self.kube.clock, alive)
        log = logging.getLogger(f"labsim.pod.{self.kube.name}.{ns}.{name}")
        log.propagate = False
        log.handlers[:] = [_PodLog(self.kube, ns, name, container["name"])]
        proc: dict[str, Any] = {"clock": clock, "pod": (ns, name), "args": args}
        self.procs[uid] = proc

        def started(controller, metrics) -> None:
            proc["controller"], proc["metrics"] = controller, metrics
            clock.first_turn()

        def run() -> None:
            from labsim_dnswatch.__main__ import main
            try:
                code = main(args, environ=env, clock=clock, log=log, started=started, dial=dial)
                log.error("exited with status %s", code)
            except Stopped:
                pass
            except Exception:  # noqa: BLE001 - the process crashed: its log says how, as a container's would
                log.error("crashed:\n%s", traceback.format_exc())
            finally:
                proc["ended"] = True
                clock.stop()          # no more turns: the simulation goes on without this process

        clock.schedule(self.kube.clock.now())
        thread = threading.Thread(target=run, daemon=True, name=f"pod-{ns}-{name}")
        proc["thread"] = thread
        thread.start()
        self.kube.clock.call_later(RECHECK, lambda: self._reap(uid, alive))

    def _reap(self, uid: str, alive: Callable[[], bool]) -> None:
        proc = self.procs.get(uid)
        if proc is None or proc.get("ended"):
            return
        p = self.kube.store.get(("", "pods"), *proc["pod"])
        if p is None or p["metadata"]["uid"] != uid or p["metadata"].get("deletionTimestamp"):
            proc["clock"].stop()
            return
        self.kube.clock.call_later(RECHECK, lambda: self._reap(uid, alive))

    def stop(self) -> None:
        for proc in self.procs.values():
            proc["clock"].stop()
        for proc in self.procs.values():
            t = proc.get("thread")
            if t is not None:
                t.join(timeout=5)
        shutil.rmtree(self._dir, ignore_errors=True)

    def watcher(self, namespace: str | None = None) -> dict[str, Any] | None:
        """The running watcher process (controller, metrics server) of a pod in `namespace` (the newest)."""
        for proc in reversed(list(self.procs.values())):
            if not proc.get("ended") and (namespace is None or proc["pod"][0] == namespace):
                return proc
        return None
