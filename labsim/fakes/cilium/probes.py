"""Traffic probes in the world: what a probe Job's container (a curl loop, labsim/provisioners/mesh/probe.py) prints,
written into its pod log by the datapath at the virtual times the requests happen.

The container fires one `curl -sS -m TIMEOUT URL` every INTERVAL seconds in the background (a constant rate,
like a load generator), so the run lasts REQUESTS x INTERVAL plus the last request's timeout. Each request
prints one JSON line when it completes, `{"seq", "t", "code", "answer"}` or `{"seq", "t", "code", "error"}`
(t = seconds since the container started), and the container ends with a `{"summary": ...}` line. A probe pod
is one whose container runs a curl image with URL, REQUESTS, INTERVAL and TIMEOUT in its environment.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from labsim.fakes.cilium import texts as T
from labsim.fakes.cilium.datapath import Datapath, Outcome
from labsim.fakes.kube import KubeCluster, PodBehaviour

START = 2.0          # pod bound -> container running (the kubelet's start_delay)
KEYS = ("URL", "REQUESTS", "INTERVAL", "TIMEOUT")


def spec_of(pod: dict[str, Any]) -> dict[str, str] | None:
    for c in (pod.get("spec") or {}).get("containers") or []:
        env = {e["name"]: str(e.get("value", "")) for e in c.get("env") or [] if "value" in e}
        if "curl" in str(c.get("image", "")) and all(k in env for k in KEYS):
            return {**env, "container": c["name"]}
    return None


def line(seq: int, t: float, out: Outcome, host: str, port: int, timeout: float) -> str:
    if out.kind == "answered" and out.status == 200:
        try:
            body = json.loads(out.body)
        except ValueError:
            body = out.body.strip()
        return json.dumps({"seq": seq, "t": round(t, 3), "code": 200, "answer": body}, separators=(",", ":"))
    if out.kind == "answered":
        err = out.body
    elif out.kind == "refused":
        err = T.CURL_REFUSED.format(host=host, port=port)
    elif out.kind == "unresolved":
        err = T.CURL_RESOLVE.format(host=host)
    else:
        err = T.CURL_TIMEOUT.format(ms=int(timeout * 1000) + 2)
    return json.dumps({"seq": seq, "t": round(t, 3), "code": out.status, "error": err}, separators=(",", ":"))


class Probes:
    """The pod_behaviour hook for one member's Kubernetes: runs probe containers against the datapath."""

    def __init__(self, member: str, kube: KubeCluster, datapath: Datapath):
        self.member, self.kube, self.datapath = member, kube, datapath

    def __call__(self, pod: dict[str, Any]) -> PodBehaviour | None:
        spec = spec_of(pod)
        if spec is None:
            return None
        n, interval, timeout = int(spec["REQUESTS"]), float(spec["INTERVAL"]), float(spec["TIMEOUT"])
        url = urlsplit(spec["URL"])
        host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
        clock = self.kube.clock
        start = clock.now() + START + 0.01     # just after the kubelet has marked the container running
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        results: list[bool] = []

        def write(text: str) -> None:
            self.kube.append_log(ns, name, spec["container"], text)

        def request(seq: int) -> None:
            live = self.kube.store.get(("", "pods"), ns, name)
            if live is None or (live.get("status") or {}).get("phase") != "Running":
                return
            out = self.datapath.connect(self.member, live, host, port, timeout)
            ok = out.kind == "answered" and out.status == 200
            results.append(ok)
            text = line(seq, clock.now() - start, out, host, port, timeout)
            if out.kind == "timeout":
                clock.call_later(timeout, lambda: write(text))
            else:
                write(text)

        for i in range(n):
            clock.call_at(start + i * interval, lambda seq=i + 1: request(seq))
        end = start + (n - 1) * interval + timeout + 0.01

        def summary() -> None:
            ok = sum(results)
            write(json.dumps({"summary": {"requests": len(results), "ok": ok, "failed": len(results) - ok}},
                             separators=(",", ":")))
        clock.call_at(end, summary)
        return PodBehaviour(start_delay=START, run_for=end - start + 0.51, logs=None)
