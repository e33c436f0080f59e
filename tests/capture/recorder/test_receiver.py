"""The receive loop over a real socket and a real raw writer: every frame of a read reaches
raw, whatever answering one of them did."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from websockets.frames import Frame, Opcode

from capture.clock import SystemClock
from capture.kis.protocol import ping_message
from capture.rawlog import RawLogWriter, RawRecord, RecordKind, read_records
from capture.recorder.connection import Connection
from capture.recorder.gaps import GapBook
from capture.recorder.receiver import Receiver
from capture.recorder.session_logic import SessionLogic

DATA = [b"0|H0BJASP0|001|%d" % i for i in range(3)]
PING = ping_message("20261204101010").encode()


def wire(opcode: Opcode, payload: bytes) -> bytes:
    return Frame(opcode, payload).serialize(mask=False, extensions=[])


@pytest.fixture
def broken_answers() -> Iterator[tuple[socket.socket, Connection]]:
    """A server socket, and a connection whose reads work and whose sends fail (its write
    side shut): the peer is going away with frames still in flight to us."""
    server, client = socket.socketpair()
    ws = websocket.WebSocket(skip_utf8_validation=True)
    ws.sock, ws.connected = client, True
    client.shutdown(socket.SHUT_WR)
    logic = SessionLogic(
        [("H0BJASP0", "KR103502GD31")], GapBook(), url="ws://x", credential="cred0",
        pong_mode="pong", ping_interval_s=10.0, retry_later_s=5.0,
    )  # fmt: skip
    link, _ = logic.connected(1, 0, 0.0)
    yield server, Connection(link, ws)
    server.close()
    client.close()


def answer_pings(c: Connection, text: bytes, recv_ns: int) -> None:
    """As the session answers a PINGPONG (here the send fails)."""
    c.ws.pong(text)


@pytest.mark.parametrize(
    ("ping", "recorded"),
    [(wire(Opcode.TEXT, PING), [PING]), (wire(Opcode.PING, b"hi"), [])],
    ids=["pingpong", "websocket-ping"],
)
def test_an_answer_that_cannot_be_sent_mid_read_loses_none_of_the_read(
    tmp_path: Path,
    broken_answers: tuple[socket.socket, Connection],
    ping: bytes,
    recorded: list[bytes],
) -> None:
    server, c = broken_answers
    server.sendall(
        wire(Opcode.TEXT, DATA[0]) + ping + b"".join(wire(Opcode.TEXT, d) for d in DATA[1:])
    )
    with RawLogWriter(tmp_path / "raw", "rec1", clock=SystemClock()) as writer:
        receiver = Receiver(writer, SystemClock(), note=lambda *_: None, on_message=answer_pings)
        with pytest.raises(BrokenPipeError):
            receiver.run(c)
    got = [r for r in read_records(tmp_path / "raw") if isinstance(r, RawRecord)]
    received = [r for r in got if r.kind is RecordKind.FRAME_RECV]
    expected = [DATA[0], *recorded, *DATA[1:]]
    assert [r.payload for r in received] == expected
    assert len({r.recv_ns for r in received}) == len(received), "receive times not distinct"
    assert receiver.frames == len(expected)
