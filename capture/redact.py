"""The one place secrets are scrubbed: app keys, app secrets and approval keys.

The recorder registers every secret here as soon as it holds it; log handlers carry a
:class:`RedactingFilter`, and frames written to raw as FRAME_SENT go through
:meth:`Redactor.redact`. Nothing else needs to remember which strings are secret.
"""

from __future__ import annotations

import logging
import threading

REDACTED = "<redacted>"


class Redactor:
    """A thread-safe set of secret strings, replaced by ``<redacted>`` wherever they appear."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        """Remember more secrets (empty strings are ignored: they match everywhere)."""
        with self._lock:
            known = set(self._secrets)
            known.update(s for s in secrets if s)
            # Longest first, so a secret that contains another is replaced whole.
            self._secrets = tuple(sorted(known, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


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
