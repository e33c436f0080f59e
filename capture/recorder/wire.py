"""Server-to-client websocket frames (RFC 6455), parsed from whole socket reads.

websocket-client reads a frame's header and its payload with a ``recv`` each, sized exactly,
so a frame costs two system calls and a Python frame object before the recorder sees it: at
KIS's peaks that, not the disk, is the recorder's ceiling. The recorder keeps websocket-client
for the handshake and for sending, and reads with :class:`FrameReader` instead: one ``recv`` of
up to :data:`READ_SIZE` bytes, every complete frame in it parsed at once, so the frames that
arrived together are written to raw together (one ``writev``) before the next read blocks.

Fragmented messages are put back together; control frames (close, ping, pong) come through
as they arrive, between fragments if need be. What RFC 6455 forbids a server is refused with
close code 1002 (a mask; RSV bits, no extension being negotiated; a reserved opcode; a
control frame fragmented or over 125 bytes; a 64-bit length with its top bit set; a
continuation out of place), and a message over :data:`MAX_MESSAGE` with 1009, as soon as its
header says so. The parser is pure (:class:`FrameParser`); :class:`FrameReader` feeds it
from the socket.
"""

from __future__ import annotations

import socket

from websocket import WebSocketConnectionClosedException

from capture.errors import BadWebSocketFrame

READ_SIZE = 256 * 1024
MAX_MESSAGE = 4 * 1024 * 1024
"""The largest message taken, its fragments together: far above what KIS sends (999 records
of a few hundred bytes) and below the raw log's record limit (16 MiB), so a message taken
is always one raw record."""
MAX_CONTROL_PAYLOAD = 125
NORMAL_CLOSURE, PROTOCOL_ERROR, MESSAGE_TOO_BIG = 1000, 1002, 1009  # close codes
OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY = 0x0, 0x1, 0x2
OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x8, 0x9, 0xA
_CONTROL = 0x8  # opcodes from here on are control frames
_OPCODES = frozenset({OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE,
                      OPCODE_PING, OPCODE_PONG})  # fmt: skip
Frame = tuple[int, bytes]
"""(opcode, payload) of a whole message or a control frame."""


class FrameParser:
    """The frames in a server's byte stream, fed as it arrives: no socket, no I/O.

    A bad frame breaks the stream for good: the frames complete before it are still given
    (they arrived intact and belong in raw), and the error comes after them.
    """

    def __init__(self, *, max_message: int = MAX_MESSAGE) -> None:
        self._max_message = max_message
        self._buffer = bytearray()
        self._fragments: list[bytes] = []
        self._fragments_size = 0
        self._fragmented_opcode = 0
        self._failure: BadWebSocketFrame | None = None

    def feed(self, data: bytes) -> list[Frame]:
        """The frames that ``data`` completes, in order (often none: a frame cut short).

        Raises:
            BadWebSocketFrame: a frame no server may send (``close_code`` 1002) or a message
                over the maximum (1009), when no frame came before it in this call; when
                some did, they are returned and the next call raises it, whatever its data.
        """
        if self._failure is not None:
            raise self._failure
        self._buffer += data
        frames: list[Frame] = []
        try:
            self._parse(frames)
        except BadWebSocketFrame as exc:
            self._failure = exc
            if not frames:
                raise
        return frames

    def _parse(self, frames: list[Frame]) -> None:
        """Append the complete frames of the buffer to ``frames``, consuming their bytes."""
        buffer, pos, end = self._buffer, 0, len(self._buffer)
        try:
            while end - pos >= 2:
                first, second = buffer[pos], buffer[pos + 1]
                opcode, fin, length, head = first & 0x0F, bool(first & 0x80), second & 0x7F, 2
                if first & 0x70 or second & 0x80:
                    raise _refused("a server frame with RSV bits or a mask")
                if opcode not in _OPCODES:
                    raise _refused(f"a frame of reserved opcode {opcode:#x}")
                if opcode >= _CONTROL and not fin:
                    raise _refused("a fragmented control frame")
                if opcode >= _CONTROL and length > MAX_CONTROL_PAYLOAD:
                    raise _refused(f"a control frame over {MAX_CONTROL_PAYLOAD} bytes")
                if length == 126:
                    if end - pos < 4:
                        break
                    length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
                elif length == 127:
                    if end - pos < 10:
                        break
                    length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
                    if length >> 63:
                        raise _refused("a 64-bit frame length with its top bit set")
                self._check_size(opcode, length)
                if end - pos < head + length:
                    break
                payload = bytes(buffer[pos + head : pos + head + length])
                pos += head + length
                frame = self._message(opcode, fin, payload)
                if frame is not None:
                    frames.append(frame)
        finally:
            del buffer[:pos]

    def _check_size(self, opcode: int, length: int) -> None:
        """Raises: BadWebSocketFrame: the message this frame is part of is too big (1009)."""
        size = length + (self._fragments_size if opcode == OPCODE_CONTINUATION else 0)
        if size > self._max_message:
            raise BadWebSocketFrame(
                MESSAGE_TOO_BIG,
                f"a message of {size} bytes, over the {self._max_message} bytes the recorder takes",
            )

    def _message(self, opcode: int, fin: bool, payload: bytes) -> Frame | None:
        """A whole message or a control frame, or None while a fragmented one is incomplete."""
        if opcode >= _CONTROL:
            return opcode, payload
        if opcode == OPCODE_CONTINUATION:
            if not self._fragments:
                raise _refused("a continuation frame with nothing to continue")
            self._fragments.append(payload)
            self._fragments_size += len(payload)
        elif self._fragments:
            raise _refused("a new message before the fragmented one ended")
        elif fin:
            return opcode, payload
        else:
            self._fragmented_opcode, self._fragments = opcode, [payload]
            self._fragments_size = len(payload)
        if not fin:
            return None
        whole = b"".join(self._fragments)
        self._fragments, self._fragments_size = [], 0
        return self._fragmented_opcode, whole


class FrameReader:
    """Reads the frames of one connection's socket; only the receive loop's thread calls it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._parser = FrameParser()

    def read(self) -> list[Frame]:
        """The frames complete after one or more reads: never an empty list.

        Raises:
            WebSocketConnectionClosedException: the server closed the socket.
            BadWebSocketFrame: as :meth:`FrameParser.feed` (the frames before the bad one
                come back from one call, the error from the next).
            OSError: the socket failed or was shut down under us.
        """
        feed = self._parser.feed
        frames = feed(b"")  # raises at once if the stream broke after the last frames given
        while not frames:
            data = self._sock.recv(READ_SIZE)
            if not data:
                raise WebSocketConnectionClosedException("Connection to remote host was lost.")
            frames = feed(data)
        return frames


def _refused(reason: str) -> BadWebSocketFrame:
    return BadWebSocketFrame(PROTOCOL_ERROR, reason)
