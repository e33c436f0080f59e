"""How the recorder closes a connection (RFC 6455), for real: a websockets server on a free
loopback port whose connections send one good frame and then, in the same write, a frame no
server may send (or nothing), and note the close code their client ended with.

On a bad frame the recorder must keep the good frame in raw, close the connection with the
code the fault calls for (1002 protocol error, 1009 message too big), record the disconnect,
and connect again; on a clean stop it closes with 1000. Approval keys come from the
simulator's REST side.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.sync.server import ServerConnection, serve

from capture.rawlog import RecordKind
from capture.recorder.wire import MAX_MESSAGE
from tests.support.recorder import (
    events,
    isins,
    raw_records,
    record,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)

GOOD = b"0|H0BJASP0|001|the good frame"


@dataclass
class Breaker:
    """The bad server; ``close_codes`` are the codes its clients closed with, in order."""

    ws_url: str
    rest_url: str
    close_codes: list[int | None] = field(default_factory=list)


@contextmanager
def breaking_server(bad: bytes, rest_url: str) -> Iterator[Breaker]:
    breaker: Breaker

    def handler(connection: ServerConnection) -> None:
        good = Frame(Opcode.TEXT, GOOD).serialize(mask=False, extensions=[])
        connection.socket.sendall(good + bad)  # behind the library's back, on purpose
        try:
            while True:
                connection.recv()
        except ConnectionClosed as closed:
            breaker.close_codes.append(closed.rcvd.code if closed.rcvd else None)

    with serve(handler, "127.0.0.1", 0) as server:
        port = server.socket.getsockname()[1]
        breaker = Breaker(f"ws://127.0.0.1:{port}", rest_url)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield breaker
        finally:
            server.shutdown()
            thread.join(5)


@pytest.mark.parametrize(
    ("bad", "code", "why"),
    [
        (bytes([0x09, 2]) + b"hi", 1002, "a fragmented control frame"),
        (bytes([0x82, 127]) + (MAX_MESSAGE + 1).to_bytes(8, "big"), 1009, "over the"),
    ],
    ids=["control-frame-without-fin", "message-too-big"],
)
def test_a_frame_no_server_may_send_closes_with_its_code_keeps_what_came_before_and_reconnects(
    tmp_path: Path, bad: bytes, code: int, why: str
) -> None:
    with simulator(tmp_path) as sim, breaking_server(bad, sim.rest_url) as breaker:
        config, env = write_config(tmp_path, breaker, isins(1))
        data = tmp_path / "data"
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: len(breaker.close_codes) >= 2, 30, "two connections refused")
            assert stop(recorder) == 0
    assert breaker.close_codes[:2] == [code, code]
    drops = [e for e in events(data, "disconnect") if e["reason"] != "recorder stop"]
    assert len(drops) >= 2
    assert why in drops[0]["reason"] and f"close code {code}" in drops[0]["reason"]
    received = [r for r in raw_records(data) if r.kind is RecordKind.FRAME_RECV]
    assert {r.conn_id for r in received if r.payload == GOOD} >= {e["conn"] for e in drops[:2]}


def test_a_clean_stop_says_goodbye_with_a_close_frame_of_code_1000(tmp_path: Path) -> None:
    with simulator(tmp_path) as sim, breaking_server(b"", sim.rest_url) as server:
        config, env = write_config(tmp_path, server, isins(1))
        data = tmp_path / "data"
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(
                lambda: any(r.payload == GOOD for r in raw_records(data)), 30, "the first frame"
            )
            assert stop(recorder) == 0
            wait_until(lambda: server.close_codes, 5, "the server to see the connection end")
    assert server.close_codes == [1000]
    assert [e["reason"] for e in events(data, "disconnect")] == ["recorder stop"]
