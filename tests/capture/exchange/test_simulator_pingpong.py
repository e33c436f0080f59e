from __future__ import annotations

import time

import pytest
import websocket

from capture.kis.protocol import Ping, classify
from tests.capture.conftest import StartSim
from tests.support.kis_checks import connect

INTERVAL = 0.2


def _pings_until_closed(ws: websocket.WebSocket, answer: str | None, pings: int) -> int:
    """Read ``pings`` PINGPONGs, answering each as told; the count read if the server closed."""
    seen = 0
    while seen < pings:
        try:
            message = ws.recv()
        except websocket.WebSocketConnectionClosedException:
            return seen
        if not message:  # websocket-client's answer to a close frame
            return seen
        ping = classify(message)
        assert isinstance(ping, Ping) and len(ping.datetime) == 14
        seen += 1
        if answer == "pong":
            ws.pong(message)
        elif answer == "echo":
            ws.send(message)
    return seen


def test_a_client_that_never_answers_a_ping_is_disconnected(start_sim: StartSim) -> None:
    sim = start_sim(ping_interval=INTERVAL)
    ws = connect(sim.ws_url)
    started = time.monotonic()
    assert _pings_until_closed(ws, answer=None, pings=50) < 50
    assert time.monotonic() - started < 5 * INTERVAL + 1
    assert ws.status is None or not ws.connected


@pytest.mark.parametrize("answer", ["pong", "echo"])
def test_answering_each_ping_with_its_text_keeps_the_session_alive(
    start_sim: StartSim, answer: str
) -> None:
    sim = start_sim(ping_interval=INTERVAL)
    ws = connect(sim.ws_url)
    assert _pings_until_closed(ws, answer=answer, pings=12) == 12  # 6 x the 0.4 s timeout
    ws.close()


def test_a_pong_with_other_text_does_not_count_as_an_answer(start_sim: StartSim) -> None:
    sim = start_sim(ping_interval=INTERVAL)
    ws = connect(sim.ws_url)
    ws.pong("hello")
    assert _pings_until_closed(ws, answer=None, pings=50) < 50
