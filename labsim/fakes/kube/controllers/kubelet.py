"""Every node's kubelet, for the pods bound to it (pkg/kubelet/status/generate.go, kubelet_pods.go, the
container runtime's events), in virtual time:

  bound -> the world's `pod_admission` hooks may hold the sandbox (`ContainerCreating`, e.g. no CNI)
        -> after `start_delay` Running, pod IP from the node's podCIDR (host IP for hostNetwork), events
           Pulled / Created / Started, the behaviour's log text written
        -> Ready after the readiness probe's initialDelaySeconds (or the behaviour's ready_delay)
        -> exits after `run_for` when it has one (Succeeded/Failed, or restarted under restartPolicy Always)
  deleted -> stopped and removed one virtual second later while the kubelet reports (node Ready True or
        False); on an Unknown node (kubelet silent) they stay Terminating until it returns or the Node is deleted.
"""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.hooks import PodBehaviour, PodBlocked, default_behaviour
from labsim.fakes.kube.images import start_lines
from labsim.fakes.kube.meta import deep, set_condition
from labsim.fakes.kube.nodes import internal_ip, kubelet_alive

from labsim.fakes.kube.controllers.util import Watching

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster
    from labsim.fakes.kube.controllers import Controllers

STOP_DELAY = 1.0
EPS = 1e-6          # virtual times are sums of floats; compare with a little slack
COND_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def normalize_image(image: str) -> str:
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if rest else f"docker.io/library/{image}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Kubelets(Watching):
    WATCHES = (("", "pods"), ("", "nodes"))

    def __init__(self, cluster: KubeCluster, controllers: Controllers):
        self.cluster = cluster
        self.controllers = controllers
        self.plans: dict[str, dict[str, Any]] = {}
        self.stop_delay = STOP_DELAY

    def due(self, since: int) -> bool:
        # a readiness probe that is a function of the rest of the cluster (the Cilium agent asks RBAC) is asked again
        # after any write, as often as before
        return super().due(since) or (self.cluster.store.rv > since and any(
            callable(plan["b"].ready) for plan in self.plans.values() if plan.get("started")))

    def behaviour(self, pod: dict[str, Any]) -> PodBehaviour:
        for hook in self.cluster.pod_behaviour:
            b = hook(pod)
            if b is not None:
                return b
        return default_behaviour(pod)

    def sync(self) -> None:
        c = self.cluster
        now = c.clock.now()
        live = set()
        for pod in list(c.store.items(("", "pods"))):
            uid = pod["metadata"]["uid"]
            live.add(uid)
            node_name = (pod.get("spec") or {}).get("nodeName")
            if not node_name:
                continue
            node = c.store.get(("", "nodes"), "", node_name)
            if node is None:   # pod GC: pods bound to a node that no longer exists
                c.remove_now("pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
                continue
            if not kubelet_alive(node):
                continue
            if pod["metadata"].get("deletionTimestamp"):
                self._stop(pod, now)
                continue
            phase = (pod.get("status") or {}).get("phase", "Pending")
            if phase in ("Succeeded", "Failed"):
                continue
            plan = self.plans.get(uid)
            if plan is None:
                blocked = self._admit(pod, node)
                if blocked is not None:
                    self._blocked(pod, node, blocked)
                    continue
                b = self.behaviour(pod)
                plan = self.plans[uid] = {"b": b, "start_at": now + b.start_delay, "started": False}
                self._write(pod, self._status(pod, node, "creating"))
                self.controllers.wake_at(plan["start_at"])
                continue
            pod = c.store.get(("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"])
            if not plan["started"]:
                if now + EPS >= plan["start_at"]:
                    self._start(pod, node, plan, now)
                else:
                    self.controllers.wake_at(plan["start_at"])
                continue
            if plan.get("exit_at") is not None and now + EPS >= plan["exit_at"]:
                self._exit(pod, node, plan, now)
                continue
            want_ready = plan["b"].ready_now(pod) and now + EPS >= plan["ready_at"]
            for t in (plan["ready_at"], plan.get("exit_at")):
                if t is not None and now + EPS < t:
                    self.controllers.wake_at(t)
            # the status is a function of the pod, its node, readiness and the restarts: when none of them moved
            # since this kubelet last wrote it, it would come out the same
            memo = (pod["metadata"]["resourceVersion"], node["metadata"]["resourceVersion"], want_ready,
                    plan.get("restarts"))
            if plan.get("memo") == memo:
                continue
            self._write(pod, self._status(pod, node, "running", ready=want_ready, plan=plan))
            pod = c.store.get(("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"])
            plan["memo"] = (pod["metadata"]["resourceVersion"], *memo[1:])
        for uid in [u for u in self.plans if u not in live]:
            del self.plans[uid]

    # --- phases ----------------------------------------------------------------------------------------
    def _admit(self, pod: dict[str, Any], node: dict[str, Any]) -> PodBlocked | None:
        for hook in self.cluster.pod_admission:
            r = hook(pod, node)
            if r is not None:
                return r
        return None

    def _blocked(self, pod: dict[str, Any], node: dict[str, Any], why: PodBlocked) -> None:
        st = self._status(pod, node, "creating", waiting_reason=why.reason)
        if self._write(pod, st) or not self.cluster.events_for(pod):
            self.cluster.record_event(pod, "Warning", why.event_reason, why.message, "kubelet", node["metadata"]["name"])
        # the kubelet retries the sandbox every sync; a hook that changes its mind is seen within 10 s
        self.controllers.wake_at(self.cluster.clock.now() + 10)

    def _start(self, pod: dict[str, Any], node: dict[str, Any], plan: dict[str, Any], now: float) -> None:
        c = self.cluster
        b: PodBehaviour = plan["b"]
        plan["started"] = True
        plan["started_at"] = c.now()
        plan["restarts"] = plan.get("restarts", 0)
        delays = [int((ct.get("readinessProbe") or {}).get("initialDelaySeconds", 0))
                  for ct in pod["spec"].get("containers") or []]
        plan["ready_at"] = now + (b.ready_delay if b.ready_delay is not None else max(delays + [0]))
        plan["exit_at"] = now + b.run_for if b.run_for is not None else None
        host = node["metadata"]["name"]
        for ct in pod["spec"].get("containers") or []:
            path = f"spec.containers{{{ct['name']}}}"
            c.record_event(pod, "Normal", "Pulled", f'Container image "{ct.get("image")}" already present on machine',
                           "kubelet", host, path)
            c.record_event(pod, "Normal", "Created", f"Created container: {ct['name']}", "kubelet", host, path)
            c.record_event(pod, "Normal", "Started", f"Started container {ct['name']}", "kubelet", host, path)
            if b.logs:
                text = b.logs(pod) if callable(b.logs) else b.logs
            else:   # what the image's own entrypoint writes (labsim/fakes/kube/images.py)
                text = start_lines(pod, ct, c.clock.utcnow())
            if text:
                c.append_log(pod["metadata"]["namespace"], pod["metadata"]["name"], ct["name"], text)
        ready = b.ready_now(pod) and now + EPS >= plan["ready_at"]
        self._write(pod, self._status(pod, node, "running", ready=ready, plan=plan))
        for t in (plan["ready_at"], plan["exit_at"]):
            if t is not None and t > now:
                self.controllers.wake_at(t)

    def _exit(self, pod: dict[str, Any], node: dict[str, Any], plan: dict[str, Any], now: float) -> None:
        b: PodBehaviour = plan["b"]
        policy = pod["spec"].get("restartPolicy", "Always")
        if policy == "Always" or (policy == "OnFailure" and b.exit_code != 0):
            plan["restarts"] = plan.get("restarts", 0) + 1
            plan["last_exit"] = (b.exit_code, plan["started_at"], self.cluster.now())
            plan["started_at"] = self.cluster.now()
            plan["exit_at"] = now + (b.run_for or 0) + 10   # a restart after the back-off
            self._write(pod, self._status(pod, node, "running", ready=b.ready_now(pod), plan=plan))
            self.controllers.wake_at(plan["exit_at"])
            return
        self._write(pod, self._status(pod, node, "exited", plan=plan))

    def _stop(self, pod: dict[str, Any], now: float) -> None:
        uid = pod["metadata"]["uid"]
        plan = self.plans.setdefault(uid, {"started": False})
        if "stop_at" not in plan:
            plan["stop_at"] = now + self.stop_delay
            if plan.get("started"):
                for ct in pod["spec"].get("containers") or []:
                    self.cluster.record_event(pod, "Normal", "Killing", f"Stopping container {ct['name']}", "kubelet",
                                              pod["spec"]["nodeName"], f"spec.containers{{{ct['name']}}}")
            self.controllers.wake_at(plan["stop_at"])
        elif now + EPS >= plan["stop_at"]:
            self.cluster.remove_now("pods", pod["metadata"]["name"], pod["metadata"]["namespace"])
        else:
            self.controllers.wake_at(plan["stop_at"])

    # --- status ----------------------------------------------------------------------------------------
    def _write(self, pod: dict[str, Any], status: dict[str, Any]) -> bool:
        if status == pod.get("status"):
            return False
        new = deep(pod)
        new["status"] = status
        self.cluster.put_status("pods", new)
        return True

    def _status(self, pod: dict[str, Any], node: dict[str, Any], stage: str, *, ready: bool = False,
                waiting_reason: str = "ContainerCreating", plan: dict[str, Any] | None = None) -> dict[str, Any]:
        c = self.cluster
        old = pod.get("status") or {}
        st = deep(old)
        host_ip = internal_ip(node) or ""
        st["hostIP"] = host_ip
        st["hostIPs"] = [{"ip": host_ip}]
        st.setdefault("startTime", c.now())
        spec = pod["spec"]
        names = [ct["name"] for ct in spec.get("containers") or []]
        now = c.now()
        if stage == "creating":
            st["phase"] = "Pending"
            set_condition(st, "PodReadyToStartContainers", "False", now, probe_times=True)
            set_condition(st, "Initialized", "True", now, probe_times=True)
            msg = f"containers with unready status: [{' '.join(names)}]"
            set_condition(st, "Ready", "False", now, "ContainersNotReady", msg, probe_times=True)
            set_condition(st, "ContainersReady", "False", now, "ContainersNotReady", msg, probe_times=True)
            st["containerStatuses"] = [{"image": ct.get("image", ""), "imageID": "", "lastState": {},
                                        "name": ct["name"], "ready": False, "restartCount": 0, "started": False,
                                        "state": {"waiting": {"reason": waiting_reason}}}
                                       for ct in spec.get("containers") or []]
        else:
            assert plan is not None
            if not st.get("podIP"):
                ip = host_ip if spec.get("hostNetwork") else c.ipam.pod_ip(
                    node["metadata"]["name"], (node.get("spec") or {}).get("podCIDR"))
                st["podIP"] = ip
                st["podIPs"] = [{"ip": ip}]
            exited = stage == "exited"
            b: PodBehaviour = plan["b"]
            if exited:
                st["phase"] = "Succeeded" if b.exit_code == 0 else "Failed"
                ready = False
            else:
                st["phase"] = "Running"
            set_condition(st, "PodReadyToStartContainers", "False" if exited else "True", now, probe_times=True)
            set_condition(st, "Initialized", "True", now, probe_times=True)
            if ready:
                set_condition(st, "Ready", "True", now, probe_times=True)
                set_condition(st, "ContainersReady", "True", now, probe_times=True)
                for cond in st["conditions"]:
                    if cond["type"] in ("Ready", "ContainersReady"):
                        cond.pop("reason", None)
                        cond.pop("message", None)
            else:
                reason = "PodCompleted" if exited else "ContainersNotReady"
                msg = None if exited else f"containers with unready status: [{' '.join(names)}]"
                set_condition(st, "Ready", "False", now, reason, msg, probe_times=True)
                set_condition(st, "ContainersReady", "False", now, reason, msg, probe_times=True)
            statuses = []
            for ct in spec.get("containers") or []:
                restarts = plan.get("restarts", 0)
                cid = "containerd://" + _digest(f"{pod['metadata']['uid']}/{ct['name']}/{restarts}")
                if exited:
                    state = {"terminated": {"containerID": cid, "exitCode": b.exit_code,
                                            "finishedAt": now, "reason": "Completed" if b.exit_code == 0 else "Error",
                                            "startedAt": plan["started_at"]}}
                else:
                    state = {"running": {"startedAt": plan["started_at"]}}
                last: dict[str, Any] = {}
                if plan.get("last_exit"):
                    code, started, finished = plan["last_exit"]
                    last = {"terminated": {"containerID": "containerd://" + _digest(
                        f"{pod['metadata']['uid']}/{ct['name']}/{restarts - 1}"), "exitCode": code,
                        "finishedAt": finished, "reason": "Completed" if code == 0 else "Error", "startedAt": started}}
                image = normalize_image(ct.get("image", ""))
                statuses.append({"containerID": cid, "image": image,
                                 "imageID": image.rsplit(":", 1)[0] + "@sha256:" + _digest(image),
                                 "lastState": last, "name": ct["name"], "ready": ready, "restartCount": restarts,
                                 "started": not exited, "state": state})
            st["containerStatuses"] = statuses
        if not any(x["type"] == "PodScheduled" for x in st.get("conditions") or []):
            set_condition(st, "PodScheduled", "True", now, probe_times=True)
        st["conditions"].sort(key=lambda x: COND_ORDER.index(x["type"]) if x["type"] in COND_ORDER else 99)
        return st
