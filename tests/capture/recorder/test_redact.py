from __future__ import annotations

import logging

import pytest

from capture.recorder.redact import REDACTED, RedactingFilter, Redactor


def test_every_registered_secret_is_replaced_and_the_longest_first() -> None:
    redactor = Redactor()
    redactor.add("abc", "abcdef", "")
    assert redactor.redact("x abcdef y abc") == f"x {REDACTED} y {REDACTED}"


def test_log_records_lose_their_secrets_in_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redactor = Redactor()
    redactor.add("s3cret-key")
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(RedactingFilter(redactor))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("key is %s", "s3cret-key")
        try:
            raise ValueError("boom s3cret-key")
        except ValueError:
            logger.exception("failed")
    assert "s3cret-key" not in caplog.text
    assert f"key is {REDACTED}" in caplog.text and f"boom {REDACTED}" in caplog.text


def test_a_short_secret_never_rewrites_the_redaction_marker() -> None:
    redactor = Redactor()
    redactor.add("e", "sim")
    assert (
        redactor.redact("record the sim feed")
        == "r<redacted>cord th<redacted> <redacted> f<redacted><redacted>d"
    )
