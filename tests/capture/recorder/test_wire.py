"""The recorder's frame reader: whole socket reads, every complete frame in them, at once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websocket import WebSocketConnectionClosedException, WebSocketProtocolException
from websockets.frames import Frame, Opcode

from capture.recorder.wire import FrameReader

TEXT, BINARY, CONT, CLOSE, PING = 0x1, 0x2, 0x0, 0x8, 0x9


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


@pytest.mark.parametrize(
    ("stream", "error"),
    [
        (wire(Opcode.TEXT, b"masked", mask=True), "a mask"),
        (wire(Opcode.CONT, b"orphan"), "nothing to continue"),
        (wire(Opcode.TEXT, b"a", fin=False) + wire(Opcode.TEXT, b"b"), "before the fragmented"),
    ],
)
def test_what_a_server_may_not_send_is_a_protocol_error(
    pair: tuple[socket.socket, socket.socket], stream: bytes, error: str
) -> None:
    server, client = pair
    server.sendall(stream)
    with pytest.raises(WebSocketProtocolException, match=error):
        FrameReader(client).read()


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
    with pytest.raises(WebSocketProtocolException, match="a mask"):
        reader.read()
