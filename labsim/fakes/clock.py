"""The simulator's virtual clock and event queue.

Nothing in the simulated lab waits in real time: `sleep(dt)` advances virtual time and runs every event
that falls due on the way, in time order. The same clock object is what the target hands provisioners
in sim, so a provisioner's `wait_for(..., timeout=900)` costs milliseconds and gives the same answer on
every run.

One clock for everything a client sees: virtual second 0 is the clock's `epoch`, by default the wall-clock
time (to the second) at which the lab starts, so object timestamps, `Date` headers, leases, events and
certificates' validity agree with the client's own clock. What the simulation decides (names, uids,
addresses, the order and timing of events) depends on the seed and on virtual seconds only, never on the
epoch: two runs with one seed differ only by the constant shift of their printed instants. For byte-identical
output, pin the epoch: `LABSIM_EPOCH=2026-01-01T00:00:00Z` (or `VirtualClock(epoch=...)`).
"""
from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

# The instant `LABSIM_EPOCH` pins the clocks to when a run must print the same timestamps as the last one.
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
MAX_WAIT = 86400.0       # the longest lab time one `wait` lets pass (a day)


def default_epoch() -> datetime:
    """`LABSIM_EPOCH` (RFC 3339) if set, else now, to the whole second."""
    pinned = os.environ.get("LABSIM_EPOCH")
    if pinned:
        return datetime.fromisoformat(pinned.replace("Z", "+00:00")).astimezone(timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


class VirtualClock:
    """Monotonic virtual seconds since the lab booted, plus a timeline of scheduled callbacks."""

    def __init__(self, start: float = 0.0, *, epoch: datetime | None = None):
        self.epoch = epoch or default_epoch()
        self._now = float(start)
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        # Re-entrant: an event may schedule further events or read the time.
        self._lock = threading.RLock()
        # The rate at which a driver thread moves this clock with the wall clock (`serve`, KubeLab.driven), or
        # None: then whoever waits moves it (CI: the caller owns time).
        self.driven: float | None = None

    @property
    def lock(self) -> threading.RLock:
        """The clock's lock: whoever advances time or changes the world holds it (take it first)."""
        return self._lock

    def now(self) -> float:
        return self._now

    def utcnow(self) -> datetime:
        return self.epoch + timedelta(seconds=self._now)

    def call_at(self, when: float, fn: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._queue, (max(when, self._now), next(self._seq), fn))

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.call_at(self._now + max(0.0, delay), fn)

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by `seconds`, running due events in order."""
        if seconds < 0:
            raise ValueError(f"cannot sleep a negative time: {seconds}")
        self.advance_to(self._now + seconds)

    def wait(self, seconds: float, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Let `seconds` of lab time (at most a day) pass for a client of the simulated lab, such as a process
        that sleeps in a simulated container: advanced here when nothing else moves the clock, else waited for in
        real time while the driver moves it (no lock held, so other clients go on); `cancelled` ends that wait early."""
        seconds = min(max(0.0, float(seconds)), MAX_WAIT)
        if self.driven is None:
            self.sleep(seconds)
            return
        target = self._now + seconds
        while self._now < target and not cancelled():
            scale = self.driven
            if scale is None:        # the driver stopped: the rest passes here
                self.advance_to(target)
                return
            time.sleep(min(0.05, max(0.001, (target - self._now) / scale)))

    def advance_to(self, target: float) -> None:
        with self._lock:
            while self._queue and self._queue[0][0] <= target:
                when, _, fn = heapq.heappop(self._queue)
                self._now = max(self._now, when)
                fn()
            self._now = max(self._now, target)

    def pending(self) -> int:
        return len(self._queue)
