"""Watch streams: one JSON event per line, `{"type": "ADDED|MODIFIED|DELETED|BOOKMARK|ERROR", "object": {...}}`
(staging/src/k8s.io/apiserver/pkg/endpoints/handlers/watch.go, storage/cacher).

- no resourceVersion (or "0"): synthetic ADDED events for what exists now, then changes;
- resourceVersion X: every later change still in the store's history, or one ERROR event with a 410
  `Expired` Status ("too old resource version: X (Y)") when X is older than the history;
- a change that makes an object start/stop matching the selectors arrives as ADDED/DELETED;
- `allowWatchBookmarks=true`: BOOKMARK events (only `metadata.resourceVersion`) while quiet and at the end;
- `sendInitialEvents=true`: the initial ADDED events end with a BOOKMARK annotated
  `k8s.io/initial-events-end: "true"`;
- the stream ends after `timeoutSeconds` of real OR virtual time, whichever comes first (a simulation that is
  not advancing its clock must not hold a client forever), when `faults.drop_watches()` is called, or when the
  server stops.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from labsim.fakes.kube import errors as E
from labsim.fakes.kube.resources import ResourceType
from labsim.fakes.kube.selectors import FieldSelector, LabelSelector

if TYPE_CHECKING:
    from labsim.fakes.kube.cluster import KubeCluster

BOOKMARK_EVERY = 5.0     # real seconds of quiet between bookmarks


def _line(ev_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": ev_type, "object": obj}, separators=(",", ":")).encode() + b"\n"


def stream(cluster: KubeCluster, rt: ResourceType, namespace: str | None, lsel: LabelSelector, fsel: FieldSelector,
           rv_param: str | None, *, timeout: float | None, bookmarks: bool, initial: bool | None,
           render: Callable[[dict[str, Any], bool], dict[str, Any]], stopping: Callable[[], bool]) -> Iterator[bytes]:
    """Yield the encoded events. `render(obj, first)` turns a stored object into what the client asked for."""
    store = cluster.store
    matches = lambda o: (namespace is None or o["metadata"].get("namespace", "") == namespace) and \
        lsel.matches(o["metadata"].get("labels")) and fsel.matches(o, rt.plural)
    gen = cluster.faults.watch_generation
    started_real, started_virtual = time.monotonic(), cluster.clock.now()
    first = True
    out: list[bytes] = []
    gone: E.KubeError | None = None
    with cluster.lock:
        send_initial = initial if initial is not None else rv_param in (None, "", "0")
        if rv_param not in (None, "", "0"):
            try:
                last = int(rv_param)
            except ValueError:
                raise E.bad_request(f"invalid resource version: {rv_param}") from None
            gone = E.expired(last, store.oldest()) if last < store.oldest() else None
        else:
            last = store.rv
        if send_initial and gone is None:
            for o in store.items(rt.store_key, namespace or None):
                if matches(o):
                    out.append(_line("ADDED", render(o, first)))
                    first = False
            last = store.rv if rv_param in (None, "", "0") else last
            if initial:
                out.append(_line("BOOKMARK", _bookmark(rt, store.rv, initial_end=True)))
    if gone is not None:
        yield _line("ERROR", gone.status())
        return
    yield from out
    quiet_since = time.monotonic()
    while True:
        with store.changed:
            seq = store.seq
        out = []
        with cluster.lock:
            gone = E.expired(last, store.oldest()) if last < store.oldest() else None
            for ev in [] if gone else store.since(last):
                last = ev.rv
                if ev.key != rt.store_key:
                    continue
                now_m = matches(ev.obj) if ev.type != "DELETED" else False
                was = ev.prev is not None and matches(ev.prev)
                if ev.type == "DELETED":
                    if was:
                        out.append(_line("DELETED", render(ev.obj, first)))
                elif now_m and (ev.type == "ADDED" or not was):
                    out.append(_line("ADDED", render(ev.obj, first)))
                elif now_m:
                    out.append(_line("MODIFIED", render(ev.obj, first)))
                elif was:
                    out.append(_line("DELETED", render(ev.obj, first)))
                else:
                    continue
                first = False
            virtual_elapsed = cluster.clock.now() - started_virtual
            current_rv = store.rv
        if gone is not None:
            yield _line("ERROR", gone.status())
            return
        if out:
            yield b"".join(out)
            quiet_since = time.monotonic()
        real_elapsed = time.monotonic() - started_real
        ended = (timeout is not None and (real_elapsed >= timeout or virtual_elapsed >= timeout)) \
            or cluster.faults.watch_generation != gen or stopping()
        if ended:
            if bookmarks and timeout is not None and cluster.faults.watch_generation == gen:
                yield _line("BOOKMARK", _bookmark(rt, current_rv))
            return
        if bookmarks and time.monotonic() - quiet_since >= BOOKMARK_EVERY:
            yield _line("BOOKMARK", _bookmark(rt, current_rv))
            quiet_since = time.monotonic()
        with store.changed:
            if store.seq == seq:
                store.changed.wait(0.25)


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> dict[str, Any]:
    md: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        md["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": md}
