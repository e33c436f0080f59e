"""The sender of one connection: its registrations, one at a time, paced.

KIS may block an app key that subscribes in rapid bursts, so registrations go out
``subscribe_interval_s`` apart, each with the approval key in force (fetched again when the
server rejected the last one). Every request is in raw as FRAME_SENT before it is sent, with
the approval key redacted. A registration the server asks to retry becomes due again in the
connection's :class:`~capture.recorder.subscriptions.SubscriptionTable`; the sender only
sends what is due.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import websocket

from capture.clock import Clock
from capture.errors import ApprovalError, RawLogError
from capture.kis import subscription_request
from capture.rawlog import RecordKind
from capture.recorder.approval import ApprovalKeys
from capture.recorder.connection import Connection

IDLE_WAIT_S = 1.0  # the longest nap with nothing due, so a closed connection is noticed


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    """What a session lends its senders; :meth:`run` is a sender thread's body."""

    keys: ApprovalKeys
    clock: Clock
    table_lock: threading.Lock  # the session's lock over the connection's table
    custtype: str
    interval_s: float
    append: Callable[[RecordKind, int, bytes], object]
    redact: Callable[[str], str]

    def run(self, c: Connection) -> None:
        """Send due registrations until ``c`` closes; a failure closes ``c`` with the reason."""
        while not c.closed.is_set():
            now_s = self.clock.monotonic()
            with self.table_lock:
                pair = c.link.table.next_to_send(now_s)
                if pair is not None:
                    c.link.table.mark_sent(pair)
                due = c.link.table.next_due()
            if pair is None:
                c.closed.wait(
                    IDLE_WAIT_S if due is None else min(IDLE_WAIT_S, max(0.01, due - now_s))
                )
                continue
            try:
                key = self.keys.get()
            except ApprovalError as exc:
                c.close(self.redact(f"approval key renewal failed: {exc}"))
                return
            if c.closed.is_set():  # closed while the key was fetched: nothing to send on
                return
            c.link.sent_keys[pair] = key
            text = subscription_request(key, self.custtype, *pair)
            try:
                self.append(RecordKind.FRAME_SENT, c.conn, self.redact(text).encode())
            except RawLogError as exc:  # the receive loop meets it too: the session fails
                c.close(self.redact(f"cannot write raw: {exc}"))
                return
            try:
                c.ws.send(text)
            except (OSError, websocket.WebSocketException) as exc:
                c.close(f"send failed: {type(exc).__name__}")
                return
            c.closed.wait(self.interval_s)
