"""The object store (what etcd is to the apiserver): objects by (group, resource, namespace, name), one
cluster-wide resourceVersion counter, and a bounded history of changes that watches replay from.

Every write takes the next resourceVersion (a string on the wire). A watch from resourceVersion X gets every
later event still in the history; one older than the history window is `410 Expired`
("too old resource version: X (oldest-1)", staging/src/k8s.io/apiserver/pkg/storage/cacher/watch_cache.go).
Callers hold the cluster lock; waiters (watches, followed logs) block on `changed`, never on that lock.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str]          # (group, plural)
# what a settled cluster goes on writing, which nothing that watches its content reacts to: the kubelets' node lease
# renewals (every 10 s) and events
HEARTBEATS: tuple[Key, ...] = (("coordination.k8s.io", "leases"), ("", "events"), ("events.k8s.io", "events"))


@dataclass(frozen=True)
class Event:
    rv: int
    type: str                  # ADDED, MODIFIED, DELETED
    key: Key
    namespace: str
    name: str
    obj: dict[str, Any]        # the object after the change (the last state for DELETED)
    prev: dict[str, Any] | None


class Store:
    def __init__(self, *, history: int = 10000, first_rv: int = 1000):
        self._objects: dict[Key, dict[tuple[str, str], dict[str, Any]]] = {}
        self.rv = first_rv
        self.history: deque[Event] = deque(maxlen=history)
        self._floor = first_rv          # events at or below this were compacted away
        self.changed = threading.Condition()
        self.seq = 0                    # bumps on every write and on `poke`, for waiters
        # the names of each kind (and of each kind in one namespace) in list order, kept until a name comes or goes:
        # controllers list the same kinds on every tick, and sorting them each time was a tenth of a mesh run
        self._order: dict[tuple[Key, str | None], list[tuple[str, str]]] = {}
        self.changed_at: dict[Key, int] = {}    # the resourceVersion of each kind's last write (caches key on it)

    # --- reads ----------------------------------------------------------------------------------------
    def get(self, key: Key, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(key, {}).get((namespace, name))

    def items(self, key: Key, namespace: str | None = None) -> list[dict[str, Any]]:
        bucket = self._objects.get(key, {})
        keys = self._order.get((key, namespace))
        if keys is None:
            keys = self._order[(key, namespace)] = sorted(k for k in bucket if namespace is None or k[0] == namespace)
        return [bucket[k] for k in keys]

    def count(self, key: Key) -> int:
        return len(self._objects.get(key, {}))

    def kinds(self) -> list[Key]:
        return list(self._objects)

    def last_write(self, ignoring: tuple[Key, ...] = HEARTBEATS) -> int:
        """The resourceVersion of the last write to any kind but `ignoring`'s (by default, the content of the
        cluster: a cache of what it holds keys on it)."""
        return max((rv for k, rv in self.changed_at.items() if k not in ignoring), default=0)

    def changed_since(self, keys: tuple[Key, ...], rv: int) -> bool:
        """Whether any of these kinds was written after resourceVersion `rv`."""
        changed = self.changed_at
        return any(changed.get(k, 0) > rv for k in keys)

    # --- writes ---------------------------------------------------------------------------------------
    def _next(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, key: Key, obj: dict[str, Any]) -> Event:
        md = obj["metadata"]
        ns, name = md.get("namespace", "") or "", md["name"]
        bucket = self._objects.setdefault(key, {})
        prev = bucket.get((ns, name))
        rv = self._next()
        md["resourceVersion"] = str(rv)
        bucket[(ns, name)] = obj
        self.changed_at[key] = rv
        if prev is None:
            self._reorder(key, ns)
        ev = Event(rv, "MODIFIED" if prev is not None else "ADDED", key, ns, name, obj, prev)
        self._record(ev)
        return ev

    def remove(self, key: Key, namespace: str, name: str) -> Event | None:
        bucket = self._objects.get(key, {})
        prev = bucket.pop((namespace, name), None)
        if prev is None:
            return None
        last = dict(prev)
        last["metadata"] = dict(prev["metadata"], resourceVersion=str(self._next()))
        self.changed_at[key] = self.rv
        self._reorder(key, namespace)
        ev = Event(self.rv, "DELETED", key, namespace, name, last, prev)
        self._record(ev)
        return ev

    def _reorder(self, key: Key, namespace: str) -> None:
        self._order.pop((key, None), None)
        self._order.pop((key, namespace), None)

    def _record(self, ev: Event) -> None:
        if len(self.history) == self.history.maxlen and self.history:
            self._floor = self.history[0].rv
        self.history.append(ev)
        self.poke()

    def poke(self) -> None:
        """Wake every waiter (a write, a fault that drops watches, a new log line)."""
        with self.changed:
            self.seq += 1
            self.changed.notify_all()

    # --- watch history --------------------------------------------------------------------------------
    def oldest(self) -> int:
        """The smallest resourceVersion a watch may start from (`oldest-1` in the 410 message)."""
        return self._floor

    def compact(self) -> None:
        """Forget the history (etcd compaction): watches from any earlier resourceVersion get 410."""
        self.history.clear()
        self._floor = self.rv

    def since(self, rv: int) -> Iterator[Event]:
        for ev in self.history:
            if ev.rv > rv:
                yield ev
