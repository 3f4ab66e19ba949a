"""Time for lab code: the one waiting helper every provisioner uses.

The target hands in the clock: `RealClock` against a real lab, the simulator's virtual clock in sim.
Both offer `now()` (seconds, monotonic) and `sleep(seconds)`; lab code never calls time.sleep itself.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol


class Clock(Protocol):
    def now(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)  # the only real sleep in lab code: the real lab runs in real time


class WaitTimeout(AssertionError):
    """A condition did not hold within its timeout; carries the last observation as evidence."""

    def __init__(self, what: str, timeout: float, last: Any):
        self.what, self.timeout, self.last = what, timeout, last
        super().__init__(f"timed out after {timeout:g}s waiting for {what}; last seen: {last!r}")


@dataclass
class Waited:
    value: Any
    elapsed: float
    polls: int


def wait_for(condition: Callable[[], Any], timeout: float, interval: float, clock: Clock,
             what: str = "condition") -> Waited:
    """Poll `condition` every `interval` seconds of `clock` until it returns a truthy value.

    Returns the truthy value with the elapsed clock time; raises WaitTimeout with the last falsy
    observation when `timeout` passes. The condition is always polled at least once.
    """
    if interval <= 0:
        raise ValueError("interval must be positive")
    start = clock.now()
    polls = 0
    while True:
        value = condition()
        polls += 1
        elapsed = clock.now() - start
        if value:
            return Waited(value, elapsed, polls)
        if elapsed >= timeout:
            raise WaitTimeout(what, timeout, value)
        clock.sleep(min(interval, max(timeout - elapsed, 0.0)) or interval)
