"""The EVENT and STATE payloads the recorder writes to raw, and the normalizer reads back.

Each builder returns the exact JSON bytes; the shapes are a contract with storage/, so they
are defined here once. Connection id 0 stands for the recorder itself (start and stop).
Timestamps are UTC nanoseconds; ``start_ns`` of a gap is the receive time of the last record
known to be complete before it, ``end_ns`` the receive time of the ack that ends it (or the
recorder's start, for a gap of a pair no longer configured).

Choices the normalizer can rely on:

- Gaps pair by (tr_id, isin): ``gap_open.conn`` is the connection that was lost (0 for a
  "recorder restart" gap), ``gap_close.conn`` the new connection whose ack ended it.
- A PINGPONG stays in raw as the FRAME_RECV it arrived as (every frame is kept) and is also
  logged as a ``ping`` event saying how it was answered; it is never data.
- websocket control frames (ping, pong, close) are not FRAME_RECV records; a close frame's
  code and reason go into the ``disconnect`` event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from capture.kis.protocol import Pair

RECORDER_CONN = 0


def _dump(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def connect(conn: int, url: str, credential: str) -> bytes:
    return _dump({"type": "connect", "conn": conn, "url": url, "credential": credential})


def disconnect(conn: int, reason: str) -> bytes:
    return _dump({"type": "disconnect", "conn": conn, "reason": reason})


def subscription(kind: str, conn: int, tr_id: str, isin: str, msg_cd: str, msg1: str) -> bytes:
    """``kind`` is ``sub_ack`` (OPSP0000/0002) or ``sub_error`` (every other code)."""
    return _dump(
        {"type": kind, "conn": conn, "tr_id": tr_id, "isin": isin, "msg_cd": msg_cd, "msg1": msg1}
    )


def gap_open(conn: int, tr_id: str, isin: str, start_ns: int, reason: str) -> bytes:
    return _dump(
        {
            "type": "gap_open",
            "conn": conn,
            "tr_id": tr_id,
            "isin": isin,
            "start_ns": start_ns,
            "reason": reason,
        }
    )


def gap_close(conn: int, tr_id: str, isin: str, end_ns: int, reason: str | None = None) -> bytes:
    """``reason`` only when no ack ended the gap (``unsubscribed``: the pair left the config)."""
    event: dict[str, object] = {
        "type": "gap_close",
        "conn": conn,
        "tr_id": tr_id,
        "isin": isin,
        "end_ns": end_ns,
    }
    if reason is not None:
        event["reason"] = reason
    return _dump(event)


def ping(conn: int, datetime: str, answer: str) -> bytes:
    """A PINGPONG received and answered (``answer`` is ``pong`` or ``text``)."""
    return _dump({"type": "ping", "conn": conn, "datetime": datetime, "answer": answer})


def recorder_start(recorder_id: str, pid: int, previous_last_ns: int | None) -> bytes:
    return _dump(
        {
            "type": "recorder_start",
            "conn": RECORDER_CONN,
            "recorder_id": recorder_id,
            "pid": pid,
            "previous_last_ns": previous_last_ns,
        }
    )


def recorder_stop(recorder_id: str, reason: str) -> bytes:
    return _dump(
        {
            "type": "recorder_stop",
            "conn": RECORDER_CONN,
            "recorder_id": recorder_id,
            "reason": reason,
        }
    )


def state(
    conn: int,
    subscriptions: Iterable[Pair],
    aes: Mapping[str, tuple[str, str]],
    open_gaps: Mapping[Pair, int] | None = None,
) -> bytes:
    """One session's state in force: its live connection's subscriptions and AES key/iv per
    TR, and the gaps still open (pair and start), so a segment that begins while the session
    is down still says which gaps a restarted recorder must close."""
    return _dump(
        {
            "conn": conn,
            "subscriptions": [list(pair) for pair in subscriptions],
            "aes": {tr_id: {"key": key, "iv": iv} for tr_id, (key, iv) in aes.items()},
            "open_gaps": [
                [tr_id, isin, start] for (tr_id, isin), start in (open_gaps or {}).items()
            ],
        }
    )
