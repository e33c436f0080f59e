"""One websocket connection of a session: the handshake that a stop can abort, and the state
of the connection once it is up (its socket, why it closed; its registrations are in its
:class:`~capture.recorder.session_logic.Link`).

websocket-client offers no way to abort a handshake in progress (``WebSocket.abort`` acts
only once it is done), so :class:`Handshake` shuts the socket down under it; and a connection
may be closed from any thread (the receive loop, the sender, the ping watchdog, a stop), so
:meth:`Connection.close` keeps the first reason given and wakes everyone else.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import websocket

from capture.recorder.session_logic import Link

HANDSHAKE_ABORT_WAIT_S = 1.0
"""How long :meth:`Handshake.abort` waits for a connecting socket to exist, to shut it."""
CLOSE_FRAME_WAIT_S = 0.2
"""How long a close waits for a send in progress to finish, to send its close frame."""
MAX_CLOSE_REASON = 123  # bytes: a close frame's payload is at most 125, its code included


class Closed(Exception):
    """The connection ended; ``reason`` is what the disconnect event says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Connection:
    """A live connection: its websocket, and its :class:`Link` (what the session's
    decisions know of it, its registrations among them)."""

    link: Link
    ws: websocket.WebSocket
    close_reason: str | None = None
    closed: threading.Event = field(default_factory=threading.Event)
    _reason_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def conn(self) -> int:
        """Its id in raw, unique across the recorder's restarts."""
        return self.link.conn

    def close(self, reason: str, *, close_code: int | None = None) -> None:
        """Keep the first reason given (callers redact it: it goes to raw and status.json)
        and wake the receive loop and the sender; from any thread. With ``close_code``, the
        first close also tells the server why, in a close frame (:meth:`_say_close`)."""
        with self._reason_lock:
            first = self.close_reason is None
            if first:
                self.close_reason = reason
        if first and close_code is not None:
            self._say_close(close_code, reason)
        self.closed.set()
        self.ws.abort()

    def _say_close(self, code: int, reason: str) -> None:
        """Send a close frame if the socket takes it at once: a stop must not wait on a
        server that does not read, nor on a send stuck under websocket-client's lock (the
        connection is aborted right after, whatever happened here). The session's websockets
        are made with ``enable_multithread``, so ``ws.lock`` is a real lock."""
        said = reason.encode()[:MAX_CLOSE_REASON].decode(errors="ignore").encode()
        frame = websocket.ABNF.create_frame(
            code.to_bytes(2, "big") + said, websocket.ABNF.OPCODE_CLOSE
        ).format()
        if not self.ws.lock.acquire(timeout=CLOSE_FRAME_WAIT_S):
            return
        try:
            sock = self.ws.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.send(frame, socket.MSG_DONTWAIT)
        finally:
            self.ws.lock.release()


class Handshake:
    """Opens a websocket in a way :meth:`abort` can cut short from another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ws: websocket.WebSocket | None = None

    def connect(
        self, url: str, timeout_s: float, cancelled: Callable[[], bool]
    ) -> websocket.WebSocket | None:
        """A connected websocket, or None if ``cancelled()`` (a stop) came first.

        Raises:
            OSError, websocket.WebSocketException: the connection failed or was aborted.
        """
        ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
        with self._lock:
            self._ws = ws
        try:
            if cancelled():  # a stop ran before this handshake was visible to abort()
                return None
            ws.connect(url, timeout=timeout_s)
        finally:
            with self._lock:
                self._ws = None
        ws.settimeout(None)  # the coordinator's ping watchdog ends a silent connection
        return ws

    def abort(self) -> None:
        """Shut the socket of a handshake in progress, so it fails at once rather than after
        its timeout. websocket-client assigns that socket only once TCP has connected: wait
        briefly (a bounded wait) for it."""
        deadline = time.monotonic() + HANDSHAKE_ABORT_WAIT_S
        while True:
            with self._lock:
                ws = self._ws
            sock = ws.sock if ws is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return
            if ws is None or time.monotonic() > deadline:
                return
            time.sleep(0.005)  # polling a library attribute that has no event


def close_text(data: bytes) -> str:
    """``(code N: reason)`` from a close frame's payload."""
    if len(data) < 2:
        return ""
    reason = data[2:].decode("utf-8", "replace")
    return f"(code {int.from_bytes(data[:2], 'big')}{': ' + reason if reason else ''})"
