"""kill -9 while frames stream, then restart: raw against the simulator's truth."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from capture.clock import NS_PER_S, ManualClock
from capture.rawlog import RawLogWriter, RecordKind
from capture.rawlog import events as event
from tests.support.recorder import (
    Sim,
    data_records,
    events,
    isins,
    raw_records,
    record,
    running,
    simulator,
    stop,
    truth_by_conn,
    wait_until,
    write_config,
)


def sim_conn_holding(sim: Sim, received: list) -> int:
    """The simulator connection of which ``received`` is an unbroken prefix."""
    matches = [
        conn for conn, sent in truth_by_conn(sim).items() if sent[: len(received)] == received
    ]
    assert len(matches) == 1, f"{len(matches)} simulator connections match"
    return matches[0]


def test_a_killed_recorder_leaves_a_prefix_and_its_restart_gaps_from_the_last_record(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with simulator(tmp_path, rate=40, drop_after_frames=400) as sim:
        config, env = write_config(tmp_path, sim, isins(4))
        with running(record(config, env, stderr=subprocess.DEVNULL)) as first:
            wait_until(
                lambda: len(data_records(raw_records(data), 1)) >= 50, 20, "frames on conn 1"
            )
            first.send_signal(signal.SIGKILL)
            first.wait(5)
        before = raw_records(data)
        last_ns = before[-1].recv_ns
        killed = data_records(before, 1)

        with running(record(config, env, stderr=subprocess.DEVNULL)) as second:
            # The simulator drops conn 2 after 400 frames: all it sent was delivered by then.
            wait_until(lambda: any(e["conn"] == 2 for e in events(data, "disconnect")), 30, "drop")
            assert stop(second) == 0
        records = raw_records(data)
        assert len(truth_by_conn(sim)[sim_conn_holding(sim, data_records(records, 2))]) > 0

    truth = truth_by_conn(sim)
    # What raw holds of the killed connection is an unbroken prefix of what was sent on it.
    assert truth[sim_conn_holding(sim, killed)][: len(killed)] == killed
    assert data_records(records, 1) == killed
    # Everything sent on the restarted connection is there, in order.
    restarted = data_records(records, 2)
    assert truth[sim_conn_holding(sim, restarted)] == restarted
    # A gap from the last record of the killed run to the new acks, for every registration.
    gaps = [e for e in events(data, "gap_open") if e["reason"] == "recorder restart"]
    assert {(g["tr_id"], g["isin"]) for g in gaps} == {("H0BJASP0", i) for i in isins(4)}
    assert {g["start_ns"] for g in gaps} == {last_ns}
    acks = {(e["tr_id"], e["isin"]): e for e in events(data, "sub_ack") if e["conn"] == 2}
    ack_ns = {
        r.payload: r.recv_ns
        for r in records
        if r.kind is RecordKind.FRAME_RECV and r.conn_id == 2 and b"SUBSCRIBE" in r.payload
    }
    closes = [e for e in events(data, "gap_close") if e["conn"] == 2]
    assert {(c["tr_id"], c["isin"]) for c in closes} == set(acks)
    assert {c["end_ns"] for c in closes} <= set(ack_ns.values())


def test_a_gap_left_open_for_a_pair_no_longer_configured_is_closed_at_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    kept, dropped = (("H0BJASP0", isin) for isin in isins(2))
    clock = ManualClock(time.time_ns() - 60 * NS_PER_S)
    with RawLogWriter(data / "raw", "rec1", clock=clock, seal_in_background=False) as writer:
        start = event.RecorderStart(recorder_id="rec1", pid=1, previous_last_ns=None)
        writer.append(RecordKind.EVENT, 0, event.encode(start))
        for tr_id, isin in (kept, dropped):
            ack = event.SubAck(conn=4, tr_id=tr_id, isin=isin, msg_cd="OPSP0000", msg1="")
            writer.append(RecordKind.EVENT, 4, event.encode(ack))
        writer.append(RecordKind.EVENT, 4, event.encode(event.Disconnect(conn=4, reason="dropped")))
        for tr_id, isin in (kept, dropped):
            gap = event.GapOpen(
                conn=4, tr_id=tr_id, isin=isin, start_ns=clock.now_ns(), reason="dropped"
            )
            writer.append(RecordKind.EVENT, 4, event.encode(gap))
    with simulator(tmp_path) as sim:
        config, env = write_config(tmp_path, sim, [kept[1]])
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(
                lambda: [e for e in events(data, "sub_ack") if e["conn"] > 4], 20, "a new ack"
            )
            assert stop(recorder) == 0
    closes = {(e["tr_id"], e["isin"]): e for e in events(data, "gap_close")}
    assert set(closes) == {kept, dropped}
    assert "reason" not in closes[kept] and closes[kept]["conn"] == 5
    assert closes[dropped]["reason"] == "unsubscribed" and closes[dropped]["conn"] == 0
    assert closes[dropped]["end_ns"] > clock.now_ns()
