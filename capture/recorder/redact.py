"""The one place secrets are scrubbed: app keys, app secrets and approval keys.

The recorder registers every secret here as soon as it holds it; log handlers carry a
:class:`RedactingFilter`, and frames written to raw as FRAME_SENT go through
:meth:`Redactor.redact`. Nothing else needs to remember which strings are secret.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "<redacted>"


class Redactor:
    """A thread-safe set of secret strings, replaced by ``<redacted>`` wherever they appear."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        """Remember more secrets (empty strings are ignored: they match everywhere)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s)
            # One alternation, longest first: a secret containing another is replaced whole,
            # and text is scanned once, so a short secret never rewrites a "<redacted>".
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each log record's message (and traceback text) without the secrets."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._redactor.redact(formatted)
            record.exc_info = None
        return True
