"""Traffic probes: a Kubernetes Job running a curl loop against a Service, whose pod log holds one JSON line per
request and a summary. The same Job runs on a real cluster (curlimages/curl has sh and busybox) and in the
simulator (whose datapath writes the same lines).

The loop fires one request every INTERVAL seconds in the background, so a request that hangs until its timeout
does not slow the others down: the probe measures a constant request rate, second by second.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SCRIPT = r"""
t0=$(cut -d' ' -f1 /proc/uptime)
log=/tmp/probe.log
: > "$log"
i=0
while [ "$i" -lt "$REQUESTS" ]; do
  i=$((i+1))
  (
    t=$(awk -v a="$t0" '{printf "%.3f", $1-a}' /proc/uptime)
    out=$(curl -sS -m "$TIMEOUT" -w '\n%{http_code}' "$URL" 2>&1)
    code=$(printf '%s\n' "$out" | tail -n1)
    body=$(printf '%s\n' "$out" | sed '$d')
    if [ "$code" = "200" ]; then
      printf '{"seq":%d,"t":%s,"code":200,"answer":%s}\n' "$i" "$t" "$body" | tee -a "$log"
    else
      err=$(printf '%s' "$body" | tr -d '"\\' | tr '\n' ' ' | head -c 300)
      printf '{"seq":%d,"t":%s,"code":%d,"error":"%s"}\n' "$i" "$t" "${code:-0}" "$err" | tee -a "$log"
    fi
  ) &
  sleep "$INTERVAL"
done
wait
ok=$(grep -c '"code":200,' "$log")
printf '{"summary":{"requests":%d,"ok":%d,"failed":%d}}\n' "$REQUESTS" "$ok" "$((REQUESTS-ok))"
""".strip()
LABEL = "app.kubernetes.io/name"
NAME = "mesh-probe"


def job(name: str, namespace: str, image: str, url: str, requests: int, *, interval: float = 0.1,
        timeout: float = 2.0, node_selector: dict[str, str] | None = None,
        pod_labels: dict[str, str] | None = None) -> dict[str, Any]:
    """`pod_labels`: the identity the probe's pod takes (an application's labels, for the network policy)."""
    spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [{
        "name": "probe", "image": image, "command": ["sh", "-c", SCRIPT],
        "env": [{"name": "URL", "value": url}, {"name": "REQUESTS", "value": str(requests)},
                {"name": "INTERVAL", "value": f"{interval:g}"}, {"name": "TIMEOUT", "value": f"{timeout:g}"}]}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    labels = {LABEL: NAME, "probe": name}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": namespace,
                                                                    "labels": labels},
            "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {**(pod_labels or {}), **labels}},
                                                     "spec": spec}}}


@dataclass
class Request:
    seq: int
    t: float
    cluster: str | None          # who answered (None: failed)
    pod: str | None
    code: int
    error: str | None


@dataclass
class Result:
    requests: list[Request] = field(default_factory=list)
    summary: dict[str, int] | None = None

    @property
    def ok(self) -> list[Request]:
        return [r for r in self.requests if r.cluster is not None]

    @property
    def failed(self) -> list[Request]:
        return [r for r in self.requests if r.cluster is None]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.requests:
            key = r.cluster or "failed"
            out[key] = out.get(key, 0) + 1
        return out


def parse(log: str) -> Result:
    res = Result()
    for raw in log.splitlines():
        raw = raw.strip()
        if not raw.startswith("{"):
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if "summary" in obj:
            res.summary = obj["summary"]
            continue
        ans = obj.get("answer") if isinstance(obj.get("answer"), dict) else {}
        ok = obj.get("code") == 200 and bool(ans.get("cluster"))
        res.requests.append(Request(int(obj.get("seq", 0)), float(obj.get("t", 0.0)),
                                    ans.get("cluster") if ok else None, ans.get("pod") if ok else None,
                                    int(obj.get("code") or 0), None if ok else str(obj.get("error", ""))))
    res.requests.sort(key=lambda r: r.seq)
    return res
