"""`GET pods/<name>/log`: plain text from the per-container log the world writes (`cluster.append_log`), with
`container`, `tailLines`, `sinceSeconds`, `timestamps`, `limitBytes` and `follow` (streams until the pod ends,
the client leaves or the server stops). Errors are the kubelet's/apiserver's texts
(pkg/registry/core/pod/strategy.go LogLocation, pkg/kubelet/kubelet_pods.go validateContainerLogStatus)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from labsim.fakes.kube import errors as E

if TYPE_CHECKING:
    from labsim.fakes.kube.api import Response
    from labsim.fakes.kube.cluster import KubeCluster


def _pick_container(pod: dict, name: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    pname = pod["metadata"]["name"]
    if not name:
        default = (pod["metadata"].get("annotations") or {}).get("kubectl.kubernetes.io/default-container")
        if default in names:
            return default
        if len(names) == 1:
            return names[0]
        msg = f"a container name must be specified for pod {pname}, choose one of: [{' '.join(names)}]"
        if inits:
            msg += f" or one of the init containers: [{' '.join(inits)}]"
        raise E.bad_request(msg)
    if name not in names + inits:
        raise E.bad_request(f"container {name} is not valid for pod {pname}")
    return name


def _check_started(pod: dict, container: str) -> None:
    pname = pod["metadata"]["name"]
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") != container:
            continue
        state = cs.get("state") or {}
        if "waiting" in state and not cs.get("lastState"):
            reason = state["waiting"].get("reason", "")
            raise E.bad_request(f'container "{container}" in pod "{pname}" is waiting to start: {reason}')
        return
    raise E.bad_request(f'container "{container}" in pod "{pname}" is waiting to start: ContainerCreating')


def pod_log(cluster: KubeCluster, ns: str, name: str, q: dict[str, str], stopping: Callable[[], bool]) -> Response:
    from labsim.fakes.kube.api import Response
    with cluster.lock:
        pod = cluster.get("pods", name, ns)
        container = _pick_container(pod, q.get("container"))
        _check_started(pod, container)
        key = (ns, name, container)
        uid = pod["metadata"]["uid"]
    stamps = q.get("timestamps", "").lower() in ("true", "1")
    tail = E.int_param(q, "tailLines") if q.get("tailLines") not in (None, "") else None
    since = E.int_param(q, "sinceSeconds") if q.get("sinceSeconds") else None
    limit = E.int_param(q, "limitBytes") if q.get("limitBytes") else None
    follow = q.get("follow", "").lower() in ("true", "1")

    def fmt(entry: tuple[float, str]) -> bytes:
        t, line = entry
        if stamps:
            at = cluster.clock.utcnow() + timedelta(seconds=t - cluster.clock.now())
            ts = at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"     # RFC 3339 with nanoseconds, as the kubelet
            return f"{ts} {line}\n".encode()
        return f"{line}\n".encode()

    with cluster.lock:
        lines = list(cluster.logs.get(key, []))
        now = cluster.clock.now()
    seen = len(lines)
    if since is not None:
        lines = [e for e in lines if e[0] >= now - since]
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    first = b"".join(fmt(e) for e in lines)
    if limit is not None:
        first = first[:limit]
    if not follow:
        return Response(200, first, "text/plain")

    def gen() -> Iterator[bytes]:
        sent = seen
        if first:
            yield first
        while not stopping():
            with cluster.store.changed:
                seq = cluster.store.seq
            with cluster.lock:
                all_lines = cluster.logs.get(key, [])
                new = all_lines[sent:]
                sent = len(all_lines)
                live = cluster.store.get(("", "pods"), ns, name)
                ended = live is None or live["metadata"]["uid"] != uid or \
                    (live.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if new:
                yield b"".join(fmt(e) for e in new)
            if ended:
                return
            with cluster.store.changed:
                if cluster.store.seq == seq:
                    cluster.store.changed.wait(0.25)
    return Response(200, b"", "text/plain", stream=gen())
