"""The recorder's frame reader: whole socket reads, every complete frame in them, at once."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websocket import WebSocketConnectionClosedException
from websockets.frames import Frame, Opcode

from capture.errors import BadWebSocketFrame
from capture.rawlog.format import MAX_PAYLOAD
from capture.recorder.wire import MAX_MESSAGE, FrameParser, FrameReader

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def wire(opcode: Opcode, payload: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    """A frame as a server (or, masked, a client) puts it on the wire: websockets' encoder."""
    return Frame(opcode, payload, fin=fin).serialize(mask=mask, extensions=[])


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def read_all(reader: FrameReader, count: int) -> list[tuple[int, bytes]]:
    got: list[tuple[int, bytes]] = []
    while len(got) < count:
        got += reader.read()
    return got


def test_frames_of_every_length_form_come_whole_however_the_bytes_are_cut(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    payloads = [b"0|H0BJASP0|001|x", b"y" * 125, b"z" * 126, b"w" * 70_000]
    stream = b"".join(wire(Opcode.TEXT, p) for p in payloads)
    sender = threading.Thread(target=lambda: [server.sendall(stream[i : i + 7])
                                              for i in range(0, len(stream), 7)])  # fmt: skip
    sender.start()
    got = read_all(FrameReader(client), len(payloads))
    sender.join()
    assert got == [(TEXT, p) for p in payloads]


def test_several_frames_in_one_read_come_back_from_one_call(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    server.sendall(b"".join(wire(Opcode.TEXT, b"%d" % i) for i in range(50)))
    assert FrameReader(client).read() == [(TEXT, b"%d" % i) for i in range(50)]


def test_a_fragmented_message_is_put_together_around_a_ping_between_its_fragments(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    server.sendall(
        wire(Opcode.TEXT, b"0|H0BJ", fin=False) + wire(Opcode.PING, b"hi")
        + wire(Opcode.CONT, b"ASP0|", fin=False) + wire(Opcode.CONT, b"001|x")
    )  # fmt: skip
    assert read_all(FrameReader(client), 2) == [(PING, b"hi"), (TEXT, b"0|H0BJASP0|001|x")]


def head(first: int, length: int) -> bytes:
    """A frame header with any first byte and a 64-bit length (what no encoder makes)."""
    return bytes([first, 127]) + length.to_bytes(8, "big")


BAD = [
    (wire(Opcode.TEXT, b"masked", mask=True), 1002, "a mask"),
    (wire(Opcode.CONT, b"orphan"), 1002, "nothing to continue"),
    (wire(Opcode.TEXT, b"a", fin=False) + wire(Opcode.TEXT, b"b"), 1002, "before the fragmented"),
    (bytes([0x09, 2]) + b"hi", 1002, "a fragmented control frame"),
    (bytes([0x89, 126]) + (126).to_bytes(2, "big") + b"p" * 126, 1002, "over 125 bytes"),
    (bytes([0x83, 1]) + b"x", 1002, "reserved opcode 0x3"),
    (bytes([0x8B, 0]), 1002, "reserved opcode 0xb"),
    (head(0x81, 1 << 63), 1002, "top bit"),
    (head(0x82, MAX_MESSAGE + 1), 1009, "over the 4194304 bytes"),
    (
        wire(Opcode.TEXT, b"a" * (MAX_MESSAGE // 2), fin=False)
        + wire(Opcode.CONT, b"b" * (MAX_MESSAGE // 2 + 1)),
        1009,
        "over the 4194304 bytes",
    ),
]


@pytest.mark.parametrize(("stream", "code", "error"), BAD)
def test_what_a_server_may_not_send_is_refused_with_its_close_code(
    pair: tuple[socket.socket, socket.socket], stream: bytes, code: int, error: str
) -> None:
    server, client = pair
    sender = threading.Thread(target=send_until_refused, args=(server, stream))
    sender.start()
    with pytest.raises(BadWebSocketFrame, match=error) as refused:
        read_all(FrameReader(client), 1)
    client.shutdown(socket.SHUT_RDWR)  # the reader stopped early: unblock the sender
    sender.join()
    assert refused.value.close_code == code


def send_until_refused(server: socket.socket, stream: bytes) -> None:
    with contextlib.suppress(OSError):  # the reader may refuse before the last byte
        server.sendall(stream)


@pytest.mark.parametrize(("stream", "code", "error"), BAD)
def test_frames_before_a_refused_one_come_first_and_the_stream_stays_broken(
    stream: bytes, code: int, error: str
) -> None:
    parser = FrameParser()
    assert parser.feed(wire(Opcode.TEXT, b"kept") + stream) == [(TEXT, b"kept")]
    for _ in range(2):
        with pytest.raises(BadWebSocketFrame, match=error) as refused:
            parser.feed(wire(Opcode.TEXT, b"never"))
        assert refused.value.close_code == code


def test_the_largest_message_taken_fits_a_raw_record() -> None:
    assert MAX_MESSAGE < MAX_PAYLOAD


def test_a_socket_closed_by_the_server_ends_the_reading(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    server.sendall(wire(Opcode.TEXT, b"last") + wire(Opcode.CLOSE, b"\x03\xe8bye")[:3])
    server.close()
    reader = FrameReader(client)
    assert reader.read() == [(TEXT, b"last")]
    with pytest.raises(WebSocketConnectionClosedException):
        reader.read()


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=30),
    cut=st.integers(min_value=1, max_value=64),
)
def test_any_frames_cut_anywhere_read_back_as_sent(payloads: list[bytes], cut: int) -> None:
    server, client = socket.socketpair()
    try:
        stream = b"".join(wire(Opcode.BINARY, p) for p in payloads)
        sender = threading.Thread(
            target=lambda: [server.sendall(stream[i : i + cut]) for i in range(0, len(stream), cut)]
        )
        sender.start()
        got = read_all(FrameReader(client), len(payloads))
        sender.join()
        assert got == [(BINARY, p) for p in payloads]
    finally:
        server.close()
        client.close()


def test_frames_complete_before_a_bad_one_in_the_same_read_come_back_before_the_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    good = [wire(Opcode.TEXT, b"0|H0BJASP0|001|%d" % i) for i in range(3)]
    server.sendall(b"".join(good) + wire(Opcode.TEXT, b"masked", mask=True) + good[0])
    reader = FrameReader(client)
    assert reader.read() == [(TEXT, b"0|H0BJASP0|001|%d" % i) for i in range(3)]
    with pytest.raises(BadWebSocketFrame, match="a mask"):
        reader.read()


@settings(max_examples=300, deadline=None)
@given(
    good=st.lists(st.binary(max_size=200), max_size=5),
    junk=st.binary(max_size=300),
    cut=st.integers(min_value=1, max_value=64),
)
def test_any_bytes_give_frames_or_a_documented_refusal(
    good: list[bytes], junk: bytes, cut: int
) -> None:
    """Valid frames then anything, fed in any pieces: the valid frames come back whole, then
    more frames or a BadWebSocketFrame with a close code, nothing else."""
    stream = b"".join(wire(Opcode.BINARY, p) for p in good) + junk
    parser, got = FrameParser(), []
    try:
        for i in range(0, len(stream), cut):
            got += parser.feed(stream[i : i + cut])
    except BadWebSocketFrame as exc:
        assert exc.close_code in (1002, 1009)
    assert got[: len(good)] == [(BINARY, p) for p in good]
    assert all(opcode in (BINARY, TEXT, CLOSE, PING, PONG) for opcode, _ in got)
    assert all(len(payload) <= 125 for opcode, payload in got if opcode >= CLOSE)
