"""Jobs (pkg/controller/job/job_controller.go): keep `parallelism` pods running until `completions` succeed,
then `SuccessCriteriaMet` and `Complete`; more than `backoffLimit` failures end it with `FailureTarget` and
`Failed`/`BackoffLimitExceeded`. How long a pod runs and what it exits with come from `cluster.pod_behaviour`
(default: 5 virtual seconds, exit 0)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsim.fakes.kube.controllers.util import Watching, owned_pods, pod_from_template, pod_ready
from labsim.fakes.kube.errors import KubeError
from labsim.fakes.kube.meta import deep, get_condition, set_condition, terminating

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster


def _finished(job: dict[str, Any]) -> bool:
    return any(get_condition(job, t) and get_condition(job, t).get("status") == "True" for t in ("Complete", "Failed"))


class JobController(Watching):
    WATCHES = (("batch", "jobs"), ("", "pods"))

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster

    def sync(self) -> None:
        for job in list(self.cluster.store.items(("batch", "jobs"))):
            if not job["metadata"].get("deletionTimestamp"):
                self._sync(job)

    def _sync(self, job: dict[str, Any]) -> None:
        c = self.cluster
        ns = job["metadata"]["namespace"]
        spec = job["spec"]
        pods = owned_pods(c, job)
        phase = lambda p: (p.get("status") or {}).get("phase")
        succeeded = sum(1 for p in pods if phase(p) == "Succeeded")
        failed = sum(1 for p in pods if phase(p) == "Failed")
        running = [p for p in pods if phase(p) not in ("Succeeded", "Failed") and not terminating(p)]
        status = deep(job.get("status") or {})
        now = c.now()
        completions = int(spec.get("completions") or 1)
        finished = _finished(job)
        if not finished and not spec.get("suspend"):
            status.setdefault("startTime", now)
            if succeeded >= completions:
                for p in running:
                    c.delete("pods", p["metadata"]["name"], ns)
                set_condition(status, "SuccessCriteriaMet", "True", now, "CompletionsReached",
                              "Reached expected number of succeeded pods", probe_times=True)
                set_condition(status, "Complete", "True", now, "CompletionsReached",
                              "Reached expected number of succeeded pods", probe_times=True)
                status["completionTime"] = now
                c.record_event(job, "Normal", "Completed", "Job completed", "job-controller")
                running = []
            elif failed > int(spec.get("backoffLimit", 6)):
                for p in running:
                    c.delete("pods", p["metadata"]["name"], ns)
                set_condition(status, "FailureTarget", "True", now, "BackoffLimitExceeded",
                              "Job has reached the specified backoff limit", probe_times=True)
                set_condition(status, "Failed", "True", now, "BackoffLimitExceeded",
                              "Job has reached the specified backoff limit", probe_times=True)
                c.record_event(job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                               "job-controller")
                running = []
            else:
                want = min(int(spec.get("parallelism", 1)), completions - succeeded)
                for _ in range(want - len(running)):
                    try:
                        pod = c.create("pods", pod_from_template(c, job, spec.get("template")), ns)
                    except KubeError as err:   # refused by admission (e.g. PodSecurity)
                        c.record_event(job, "Warning", "FailedCreate", f"Error creating: {err.message}",
                                       "job-controller")
                        break
                    c.record_event(job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}",
                                   "job-controller")
                running = [p for p in owned_pods(c, job) if phase(p) not in ("Succeeded", "Failed")
                           and not terminating(p)]
        for k, v in (("active", len(running)), ("succeeded", succeeded), ("failed", failed)):
            if v:
                status[k] = v
            else:
                status.pop(k, None)
        status["ready"] = sum(1 for p in running if pod_ready(p))
        status["terminating"] = sum(1 for p in pods if terminating(p))
        status["uncountedTerminatedPods"] = {}
        if status != (job.get("status") or {}):
            new = deep(job)
            new["status"] = status
            c.put_status("jobs.batch", new)
