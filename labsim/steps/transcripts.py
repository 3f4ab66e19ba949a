"""API transcripts as evidence: every word each client library sent and received during a scenario.

librouteros logs each API word at DEBUG on the "librouteros" logger (including the login password: the
sign-off redacts secret values in every file it writes). A scenario's transcript is attached to its
evidence when the scenario ends.
"""
from __future__ import annotations

import contextlib
import logging
from typing import Iterator

LOGGERS = ("librouteros",)
LIMIT = 20000  # lines per scenario; a transcript longer than that is cut, and says so


class Transcript(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) < LIMIT:
            self.lines.append(f"{record.name}: {record.getMessage()}")
        else:
            self.dropped += 1

    def start(self) -> "Transcript":
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.setLevel(logging.DEBUG)
        return self

    def stop(self) -> str:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(self)
        tail = f"\n... {self.dropped} more lines not kept" if self.dropped else ""
        return "\n".join(self.lines) + tail


@contextlib.contextmanager
def off_record() -> Iterator[None]:
    """What the client libraries log meanwhile goes into no transcript (a restored lab's re-login: labsim/steps/
    targets.py)."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    was = [log.disabled for log in loggers]
    for log in loggers:
        log.disabled = True
    try:
        yield
    finally:
        for log, disabled in zip(loggers, was):
            log.disabled = disabled
