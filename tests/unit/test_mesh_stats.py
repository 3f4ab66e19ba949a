"""Reading probe logs: the JSON lines, the Wilson interval, the second-by-second timeline, the failover time."""
from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from labsim.provisioners.mesh import probe, stats
from labsim.provisioners.mesh.probe import Request

LOG = """\
{"seq":2,"t":0.1,"code":200,"answer":{"cluster":"talos-west","pod":"echo-b"}}
{"seq":1,"t":0.0,"code":200,"answer":{"cluster":"talos-east","pod":"echo-a"}}
not json: curl: (6) ignored
{"seq":3,"t":0.2,"code":0,"error":"curl: (28) Connection timed out after 2002 milliseconds"}
{"seq":4,"t":0.3,"code":503,"error":"no healthy upstream"}
{"summary":{"requests":4,"ok":2,"failed":2}}
"""


def test_parse_probe_lines():
    res = probe.parse(LOG)
    assert [r.seq for r in res.requests] == [1, 2, 3, 4]
    assert res.counts() == {"talos-east": 1, "talos-west": 1, "failed": 2}
    assert res.failed[0].error.startswith("curl: (28)") and res.failed[1].code == 503
    assert res.summary == {"requests": 4, "ok": 2, "failed": 2}


def test_the_probe_job_carries_its_parameters_as_environment():
    job = probe.job("p", "mesh-demo", "curlimages/curl:8.10.1", "http://echo.mesh-demo.svc.cluster.local:8080/", 1000)
    c = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env == {"URL": "http://echo.mesh-demo.svc.cluster.local:8080/", "REQUESTS": "1000", "INTERVAL": "0.1",
                   "TIMEOUT": "2"}
    assert c["command"][:2] == ["sh", "-c"] and "curl -sS -m" in c["command"][2]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0


def test_wilson_interval_known_values():
    lo, hi = stats.wilson(250, 1000)
    assert math.isclose(lo, 0.2242, abs_tol=1e-3) and math.isclose(hi, 0.2777, abs_tol=1e-3)
    assert stats.wilson(0, 10)[0] == 0.0 and stats.wilson(10, 10)[1] == 1.0
    assert stats.wilson(0, 0) == (0.0, 1.0)


@given(st.integers(1, 5000), st.data())
def test_wilson_contains_the_observed_share(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = stats.wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def _req(t, cluster):
    return Request(int(t * 10), t, cluster, None if cluster is None else "p", 200 if cluster else 0, None)


def test_timeline_and_failover():
    reqs = [_req(i / 10, "east") for i in range(150)] + [_req(15.0, None), _req(15.1, "west")] + \
           [_req(15.2 + i / 10, "west") for i in range(100)]
    tl = stats.timeline(reqs)
    assert tl[0] == {"t": 0, "lane": "answered by", "state": "east", "counts": {"east": 10}}
    assert next(p for p in tl if p["t"] == 15)["state"] == "west+failed"
    assert math.isclose(stats.failover(reqs, 14.95, "west"), 0.15, abs_tol=1e-9)
    assert stats.failover(reqs, 14.95, "east") is None
    assert [r.t for r in stats.failed_after(reqs, 14.0)] == [15.0]


def test_holds_within_tolerance():
    s = stats.share([_req(i, "east") for i in range(260)] + [_req(i, "west") for i in range(740)], "east")
    assert stats.holds(s, 0.25, 0.05) and not stats.holds(s, 0.5, 0.05)
