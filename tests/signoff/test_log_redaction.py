"""The secret filter for logs (labsim/signoff/redact.py LogRedaction): every logger, child loggers and loggers made
later included, is redacted before any handler sees the record; exception texts too."""
from __future__ import annotations

import logging

import pytest

from labsim.signoff.redact import LogRedaction, Redactor

SECRET = "s3cr3t-Value-1234"


@pytest.fixture
def redaction():
    r = Redactor()
    r.add([SECRET])
    logs = LogRedaction(r)
    logs.install()
    yield logs
    logs.uninstall()


@pytest.mark.parametrize("name", ["librouteros", "paramiko.transport", "urllib3.connectionpool",
                                  "kubernetes.client.rest", "proxmoxer.core", "a.logger.made.later"])
def test_every_library_logger_is_redacted_before_any_handler(redaction, caplog, name):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger(name)
    log.warning("<--- %r", f"=password={SECRET}")   # proxmoxer's logger passes WARNING and up only
    log.warning("token is %s", SECRET)
    text = caplog.text + "".join(str(r.msg) + str(r.args) for r in caplog.records)
    assert SECRET not in text and text.count("[REDACTED]") == 4


def test_exception_text_is_redacted(redaction, caplog):
    try:
        raise RuntimeError(f"login failed for {SECRET}")
    except RuntimeError:
        logging.getLogger("librouteros").exception("connect")
    assert SECRET not in caplog.text and "RuntimeError: login failed for [REDACTED]" in caplog.text


def test_records_without_secrets_keep_their_arguments(redaction, caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("x").info("%d devices", 3)
    assert caplog.records[-1].args == (3,)


def test_uninstall_restores_the_factory():
    before = logging.getLogRecordFactory()
    logs = LogRedaction(Redactor())
    logs.install()
    assert logging.getLogRecordFactory() is not before
    logs.uninstall()
    assert logging.getLogRecordFactory() is before
