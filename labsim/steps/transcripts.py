"""API transcripts as evidence: every word each client library sent and received during a scenario.

librouteros logs each API word at DEBUG on the "librouteros" logger (including the login password: the
sign-off redacts secret values in every file it writes). A scenario's transcript is attached to its
evidence when the scenario ends.

Taking the transcript does not change what the run's own logging shows: the logger is set to DEBUG for the
transcript, but a record goes on to the usual handlers (pytest's captured and live logs) only at the level the
logger would have without it (`--log-level=DEBUG` shows every word, the default shows warnings). Before, every
API word of a scenario went into pytest's captured log, which each test report carried, redacted, three times.
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
        self._was: dict[str, tuple[int, bool]] = {}    # each logger's own level and propagation before start()

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) < LIMIT:
            self.lines.append(f"{record.name}: {record.getMessage()}")
        else:
            self.dropped += 1
        for name, (level, propagate) in self._was.items():   # the logger this handler sits on (a record of a child
            if record.name == name or record.name.startswith(name + "."):   # logger comes through it too)
                parent = logging.getLogger(name).parent
                if propagate and parent is not None and record.levelno >= (level or parent.getEffectiveLevel()):
                    parent.handle(record)     # what the logger would have passed on without the transcript
                return

    def start(self) -> "Transcript":
        for name in LOGGERS:
            logger = logging.getLogger(name)
            self._was[name] = (logger.level, logger.propagate)
            logger.addHandler(self)
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
        return self

    def stop(self) -> str:
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self)
            if name in self._was:
                level, logger.propagate = self._was.pop(name)
                logger.setLevel(level)
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
