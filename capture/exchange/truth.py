"""The simulator's truth file: every record it sends, as JSON Lines, written before sending.

Tests and benchmarks reconcile what a recorder stored against this file, so a line must reach
the OS before its frame reaches the socket (the exchange flushes after each batch, before
sending it). One line per *record*; a multi-record frame gives several lines::

    {"conn": 3, "sent_ns": 1767225600000000000, "tr_id": "H0BJASP0", "values": ["KR…", …]}

Records the market counted but the exchange did not send (``--skip-trades``, or traded while
no session carried the stream) have ``unsent`` (``skipped`` or ``off_air``) and ``record``
instead of ``values``, one line each, in the order the market made them::

    {"conn": 3, "sent_ns": …, "tr_id": "H0BJCNT0", "unsent": "skipped", "record": ["KR…", …]}

Malformed frames are not records; they get their own lines so tests can count them::

    {"conn": 3, "sent_ns": …, "kind": "truncated", "encoding": "utf-8", "malformed": "0|H0B"}

``encoding`` is ``base64`` when the frame is not UTF-8 (kind ``invalid_utf8``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO


class TruthLog:
    """A JSON Lines file, truncated on open (one run, one truth).

    Call :meth:`flush` after each batch and :meth:`close` once.

    Raises:
        OSError: the file cannot be opened or written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def records(
        self, conn: int, sent_ns: int, tr_id: str, records: Sequence[Sequence[str]]
    ) -> None:
        for values in records:
            self._write({"conn": conn, "sent_ns": sent_ns, "tr_id": tr_id, "values": values})

    def unsent(
        self, conn: int, sent_ns: int, tr_id: str, why: str, records: Sequence[Sequence[str]]
    ) -> None:
        for values in records:
            line = {"conn": conn, "sent_ns": sent_ns, "tr_id": tr_id, "unsent": why}
            self._write(line | {"record": values})

    def malformed(self, conn: int, sent_ns: int, kind: str, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            encoding, text = "base64", base64.b64encode(frame).decode("ascii")
        else:
            encoding, text = "utf-8", frame
        self._write(
            {
                "conn": conn,
                "sent_ns": sent_ns,
                "kind": kind,
                "encoding": encoding,
                "malformed": text,
            }
        )

    def _write(self, line: dict[str, object]) -> None:
        self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
