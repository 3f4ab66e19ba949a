"""Faults a test can inject into a Kubernetes API server (`cluster.faults`, also `server.faults`).

    faults.http_error(r"/api/v1/nodes$", 503, times=1)      # answer one request with a 503 Status
    faults.http_error(r"/apis/apps/", 500, method="PATCH", times=None)   # every PATCH under apps
    faults.drop_watches()                                   # end every open watch stream now
    faults.expire_watch_history()                           # etcd compaction: resuming watches get 410
    faults.latency = 0.2                                    # real seconds added to every answer
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from labsim.fakes.face import HttpFault, HttpFaults
from labsim.fakes.kube import errors as E

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

_REASONS = {500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
            429: "TooManyRequests", 403: "Forbidden", 401: "Unauthorized"}

__all__ = ["Faults", "HttpFault"]


class Faults:
    def __init__(self, cluster: KubeCluster):
        self._cluster = cluster
        self._http = HttpFaults()          # the faces' one registry (labsim/fakes/face.py)
        self._lock = self._http._lock
        self.http: list[HttpFault] = self._http.http
        self.latency = 0.0
        self.watch_generation = 0        # bumped by drop_watches; open streams end when it changes
        self.triggered: list[str] = self._http.triggered

    def http_error(self, pattern: str, status: int = 500, message: str | None = None, *,
                   method: str | None = None, times: int | None = 1) -> None:
        """Answer requests whose path matches `pattern` (re.search) with a failure Status of `status`."""
        self._http.add(pattern, status, message or _default_message(status), method=method, times=times)

    def take(self, method: str, path: str) -> E.KubeError | None:
        f = self._http.take(method, path)
        if f is None:
            return None
        return E.KubeError(f.status, _REASONS.get(f.status, "InternalError"), f.message, {})

    def drop_watches(self) -> None:
        self.watch_generation += 1
        self.triggered.append("drop watches")
        self._cluster.store.poke()

    def expire_watch_history(self) -> None:
        with self._cluster.lock:
            self._cluster.store.compact()
        self.triggered.append("compact watch history")
        self.drop_watches()

    def add_latency(self, seconds: float) -> None:
        self.latency = float(seconds)

    def clear(self) -> None:
        self._http.clear()
        self.latency = 0.0


def _default_message(status: int) -> str:
    if status == 503:
        return "the server is currently unable to handle the request"
    if status == 504:
        return "Timeout: request did not complete within the allotted timeout"
    if status == 429:
        return "Too many requests, please try again later."
    return "Internal error occurred: injected fault"
