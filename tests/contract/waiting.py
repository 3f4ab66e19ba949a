"""Waiting in real time for something a served lab (a separate process) does: the contract tests' one poll loop."""
from __future__ import annotations

import time


def wait_for(cond, timeout: float = 30.0, what: str = "condition", poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")
