from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import websocket

from capture.errors import ProtocolError
from capture.exchange.market import Market
from capture.kis.protocol import ControlResponse, DataFrame, classify, split_records
from tests.capture.conftest import StartSim
from tests.support.kis_checks import approval_key, check_book, check_trade, connect, subscribe

ISINS = ("KR103502GD31", "KR2005021A35", "KR6000001A28")
CHECKS = {"H0BJASP0": check_book, "H0BJCNT0": check_trade}


def _subscribe_all(ws: websocket.WebSocket, key: str) -> dict[str, tuple[str, str]]:
    """Register both TRs for every ISIN; the (key, iv) of each TR."""
    keys = {}
    for tr_id in CHECKS:
        for isin in ISINS:
            ack = subscribe(ws, key, tr_id, isin)
            assert ack.msg_cd == "OPSP0000" and ack.key and ack.iv
            keys[tr_id] = (ack.key, ack.iv)
    return keys


def _data_frames(ws: websocket.WebSocket, count: int) -> list[DataFrame]:
    frames = []
    while len(frames) < count:
        message = classify(ws.recv())
        if isinstance(message, DataFrame):
            frames.append(message)
    return frames


def _truth(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_multi_record_frames_split_into_valid_records_of_subscribed_isins(
    start_sim: StartSim,
) -> None:
    sim = start_sim(seed=1, rate=100, multi_record_ratio=0.5)
    ws = connect(sim.ws_url)
    _subscribe_all(ws, approval_key(sim.rest_url))
    frames = _data_frames(ws, 200)
    assert any(f.count > 1 for f in frames) and any(f.count == 1 for f in frames)
    assert max(f.count for f in frames) <= 5
    for frame in frames:
        records = split_records(frame)
        assert len(records) == frame.count
        for record in records:
            assert record[0] in ISINS
            CHECKS[frame.tr_id](record)
    ws.close()


def test_encrypted_frames_decrypt_to_exactly_the_truth_records(
    start_sim: StartSim, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.jsonl"
    sim = start_sim(seed=3, rate=100, encrypt=True, truth=truth)
    ws = connect(sim.ws_url)
    keys = _subscribe_all(ws, approval_key(sim.rest_url))
    received = []
    for frame in _data_frames(ws, 100):
        assert frame.encrypted
        received += [(frame.tr_id, r) for r in split_records(frame, keys[frame.tr_id])]
    ws.close()
    sim.stop()
    sent = [(line["tr_id"], line["values"]) for line in _truth(truth)]
    assert {line["conn"] for line in _truth(truth)} == {1}
    assert sent[: len(received)] == received


def _streams(start_sim: StartSim, seed: int, frames: int) -> dict[tuple[str, str], list]:
    """Records per (TR, ISIN) stream, the time field left out."""
    sim = start_sim(seed=seed, rate=200, multi_record_ratio=0.3)
    ws = connect(sim.ws_url)
    _subscribe_all(ws, approval_key(sim.rest_url))
    streams: dict[tuple[str, str], list] = {}
    for frame in _data_frames(ws, frames):
        for record in split_records(frame):
            time_field = 1 if frame.tr_id == "H0BJASP0" else 2
            streams.setdefault((frame.tr_id, record[0]), []).append(
                record[:time_field] + record[time_field + 1 :]
            )
    ws.close()
    return streams


def test_the_same_seed_gives_the_same_records_per_stream(start_sim: StartSim) -> None:
    first, second, other = (_streams(start_sim, s, 150) for s in (11, 11, 12))
    for stream in first.keys() & second.keys():
        n = min(len(first[stream]), len(second[stream]))
        assert n and first[stream][:n] == second[stream][:n]
    assert any(first[s][:1] != other[s][:1] for s in first.keys() & other.keys())


def test_a_client_that_reconnects_sees_the_market_go_on_not_start_again(
    start_sim: StartSim, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.jsonl"
    sim = start_sim(seed=5, rate=200, multi_record_ratio=0, truth=truth)
    sessions = []
    for app_key in ("first", "second"):  # two app keys: no wait for the first to be released
        ws = connect(sim.ws_url)
        subscribe(ws, approval_key(sim.rest_url, app_key), "H0BJASP0", ISINS[0])
        sessions.append([split_records(frame)[0] for frame in _data_frames(ws, 20)])
        ws.close()
    sim.stop()
    assert sessions[1][0][2:] != sessions[0][0][2:]  # the time field aside
    sent = [line for line in _truth(truth) if "values" in line]
    assert {line["conn"] for line in sent} == {1, 2}
    # Every record either session was sent, in the order made, is the one stream of the
    # market the exchange started with: nothing repeated, nothing skipped.
    market = Market(5)
    expected = [market.next_record("H0BJASP0", ISINS[0], "000000") for _ in sent]
    assert [line["values"][2:] for line in sent] == [values[2:] for values in expected]


def test_drop_after_frames_closes_the_session_after_n_data_frames(start_sim: StartSim) -> None:
    sim = start_sim(rate=200, drop_after_frames=5)
    ws = connect(sim.ws_url)
    subscribe(ws, approval_key(sim.rest_url), "H0BJASP0", ISINS[0])
    frames = 0
    try:
        while message := ws.recv():
            frames += isinstance(classify(message), DataFrame)
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass
    assert frames == 5


def test_drop_every_closes_sessions_abruptly_on_schedule(start_sim: StartSim) -> None:
    sim = start_sim(rate=50, drop_every=0.3)
    ws = connect(sim.ws_url)
    started = time.monotonic()
    subscribe(ws, approval_key(sim.rest_url), "H0BJASP0", ISINS[0])
    try:
        while ws.recv():
            pass
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass
    assert time.monotonic() - started < 3


def test_malformed_frames_arrive_as_text_and_are_logged_as_such_in_the_truth(
    start_sim: StartSim, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.jsonl"
    sim = start_sim(seed=9, rate=200, malformed_rate=0.3, truth=truth)
    ws = connect(sim.ws_url, skip_utf8_validation=True)
    subscribe(ws, approval_key(sim.rest_url), "H0BJCNT0", ISINS[0])
    bad: list[bytes] = []
    good = 0
    while len(bad) < 30:
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_TEXT
        try:
            message = classify(data)
            if isinstance(message, DataFrame):
                split_records(message)
                good += 1
        except ProtocolError:
            bad.append(data)
    ws.close()
    sim.stop()
    lines = _truth(truth)
    logged = {
        base64.b64decode(line["malformed"])
        if line["encoding"] == "base64"
        else line["malformed"].encode()
        for line in lines
        if "malformed" in line
    }
    assert set(bad) <= logged and good > 0
    assert {line["kind"] for line in lines if "kind" in line} >= {"truncated", "invalid_utf8"}


def test_a_stall_silences_the_session_for_its_duration(start_sim: StartSim) -> None:
    sim = start_sim(rate=200, stall=0.5, stall_every=0.8, ping_interval=5)
    ws = connect(sim.ws_url)
    subscribe(ws, approval_key(sim.rest_url), "H0BJASP0", ISINS[0])
    last, longest, deadline = time.monotonic(), 0.0, time.monotonic() + 2
    while time.monotonic() < deadline:
        assert not isinstance(classify(ws.recv()), ControlResponse)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    assert longest >= 0.3
    ws.close()
