"""A scenario's API transcript keeps every word the client library logs, and leaves the run's own logging as it
was: pytest's captured log gets librouteros's DEBUG words only when the run asks for DEBUG."""
from __future__ import annotations

import logging

from labsim.steps.transcripts import Transcript

LOG = logging.getLogger("librouteros")


def _words(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "librouteros"]


def test_every_word_is_kept_and_only_warnings_reach_the_default_log(caplog):
    level, propagate = LOG.level, LOG.propagate
    t = Transcript().start()
    LOG.debug("'/login'")
    LOG.warning("connection reset")
    text = t.stop()
    assert text.splitlines() == ["librouteros: '/login'", "librouteros: connection reset"]
    assert _words(caplog) == ["connection reset"]
    assert (LOG.level, LOG.propagate) == (level, propagate)
    LOG.debug("after the transcript")          # not enabled any more: the logger is as it was
    assert _words(caplog) == ["connection reset"]


def test_a_run_at_debug_still_sees_every_word(caplog):
    caplog.set_level(logging.DEBUG)
    t = Transcript().start()
    LOG.debug("'/interface/print'")
    t.stop()
    assert _words(caplog) == ["'/interface/print'"]


def test_a_child_loggers_record_is_kept_once_and_passed_on_once(caplog):
    caplog.set_level(logging.DEBUG)
    t = Transcript().start()
    logging.getLogger("librouteros.api").info("child")
    text = t.stop()
    assert text == "librouteros.api: child"
    assert _words(caplog) == [] and [r.getMessage() for r in caplog.records] == ["child"]
