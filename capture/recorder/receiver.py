"""The receive side of a session's connections, its hot path: whole socket reads into raw,
and only then looked at.

Frames that arrived in one socket read (:mod:`.wire`) go to raw together, in one ``writev``,
stamped with the read's time (the i-th plus i ns, so receive times stay distinct and in
order). A data frame's header bytes are counted for the stale-feed watch; anything else is
read after it and the frames before it are in raw: a PINGPONG or a subscription answer goes
back to the session, so raw keeps the order things happened in. An answer that ends the
connection (a send that fails, a key in use elsewhere) ends it only once the rest of the read
is in raw; nothing more of that read is answered. While the disk is full, what cannot be
written is dropped (the writer counts it and the time becomes a gap) and receiving goes on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import websocket

from capture.clock import Clock
from capture.errors import BadWebSocketFrame, DiskFull
from capture.kis import is_data_frame
from capture.rawlog import RawLogWriter
from capture.recorder.connection import Closed, Connection, close_text
from capture.recorder.wire import FrameReader

_DATA_OPCODES = (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY)


class Receiver:
    """Reads one connection at a time for a session; ``frames`` counts data frames received.

    ``note(frame, recv_ns)`` sees each data frame; ``on_message(c, text, recv_ns)`` acts on
    any other text message, once it is in raw.
    """

    def __init__(
        self,
        writer: RawLogWriter,
        clock: Clock,
        *,
        note: Callable[[bytes, int], None],
        on_message: Callable[[Connection, bytes, int], None],
    ) -> None:
        self._writer = writer
        self._clock = clock
        self._note = note
        self._on_message = on_message
        self.frames = 0

    def run(self, c: Connection) -> None:
        """Receive until the connection ends.

        Raises:
            Closed: the server sent a close frame, or a frame no server may send (answered
                with a close frame of its code, 1002 or 1009), or the key is in use elsewhere.
            OSError, websocket.WebSocketException: the socket failed or was aborted.
        """
        assert c.ws.sock is not None, "a connected websocket has its socket"
        read, now_ns, write = FrameReader(c.ws.sock).read, self._clock.now_ns, self._write
        conn, note = c.conn, self._note
        while True:
            try:
                frames = read()
            except BadWebSocketFrame as exc:
                reason = f"{exc.reason} (sent close code {exc.close_code})"
                c.close(reason, close_code=exc.close_code)
                raise Closed(reason) from exc
            recv_ns = now_ns()
            pending: list[bytes] = []
            written = received = 0
            ending: BaseException | None = None  # raised once the whole read is in raw
            for opcode, data in frames:
                if opcode in _DATA_OPCODES:
                    received += 1
                    pending.append(data)
                    if is_data_frame(data):
                        note(data, recv_ns)
                        continue
                    write(conn, pending, recv_ns + written)
                    written, pending = written + len(pending), []
                    if ending is None:
                        ending = _attempt(self._on_message, c, data, recv_ns)
                elif opcode == websocket.ABNF.OPCODE_CLOSE:
                    with contextlib.suppress(OSError, websocket.WebSocketException):
                        c.ws.send_close()
                    ending = Closed(f"server closed the connection {close_text(data)}".rstrip())
                    break
                elif opcode == websocket.ABNF.OPCODE_PING and ending is None:
                    ending = _attempt(c.ws.pong, data)
            if pending:
                write(conn, pending, recv_ns + written)
            if received:
                c.link.last_frame_ns = recv_ns
                self.frames += received
            if ending is not None:
                raise ending

    def _write(self, conn: int, payloads: list[bytes], recv_ns: int) -> None:
        with contextlib.suppress(DiskFull):  # counted by the writer; the time lost, a gap
            self._writer.append_received(conn, payloads, recv_ns)


def _attempt(answer: Callable[..., object], *args: object) -> BaseException | None:
    """Answer a message; what ending the answer met (a send failed, the connection is to
    close), for the receive loop to raise once the rest of the read is in raw, or None."""
    try:
        answer(*args)
    except (Closed, OSError, websocket.WebSocketException) as exc:
        return exc
    return None
