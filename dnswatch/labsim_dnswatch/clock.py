"""The watcher's sense of time. In a cluster it is the wall clock; a simulator hands in its own (virtual time),
so the same controller code runs a ten-minute outage in milliseconds."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...                       # monotonic seconds

    def utcnow(self) -> datetime: ...

    def wait(self, seconds: float, wake: threading.Event) -> None: ...   # until then, or until `wake` is set


class WallClock:
    def now(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.now(timezone.utc)

    def wait(self, seconds: float, wake: threading.Event) -> None:
        wake.wait(seconds)
        wake.clear()
