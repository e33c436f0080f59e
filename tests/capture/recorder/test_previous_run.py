from __future__ import annotations

from pathlib import Path

from capture.clock import ManualClock
from capture.rawlog import RawLogWriter, RecordKind, events
from capture.recorder.previous_run import read_previous_run

A, B = ("H0BJASP0", "KR103502GD31"), ("H0BJCNT0", "KR103502GD31")


def test_a_killed_run_leaves_its_live_pairs_open_gaps_and_last_time_behind(tmp_path: Path) -> None:
    clock = ManualClock()
    with RawLogWriter(tmp_path, "rec1", clock=clock, seal_in_background=False) as writer:
        writer.append(RecordKind.EVENT, 0, events.recorder_start("rec1", 1, None))
        writer.append(RecordKind.EVENT, 4, events.subscription("sub_ack", 4, *A, "OPSP0000", ""))
        writer.append(RecordKind.EVENT, 5, events.subscription("sub_ack", 5, *B, "OPSP0000", ""))
        writer.append(RecordKind.EVENT, 5, events.disconnect(5, "dropped"))
        writer.append(RecordKind.EVENT, 5, events.gap_open(5, *B, 1, "dropped"))
        writer.append(RecordKind.FRAME_RECV, 4, b"0|H0BJASP0|001|x", recv_ns=clock.now_ns() + 7)
    run = read_previous_run(tmp_path, "rec1")
    assert not run.stopped_cleanly
    assert run.live_pairs() == {A} and run.gapped == {B}
    assert run.last_ns == clock.now_ns() + 7 and run.max_conn == 5


def test_state_records_at_a_segment_start_carry_the_subscriptions(tmp_path: Path) -> None:
    clock = ManualClock()
    state = [(9, events.state(9, [A, B], {}))]
    with RawLogWriter(tmp_path, "rec1", clock=clock, state_records=lambda: state) as writer:
        writer.append(RecordKind.FRAME_RECV, 9, b"0|H0BJASP0|001|x")
    assert read_previous_run(tmp_path, "rec1").live_pairs() == {A, B}
    assert read_previous_run(tmp_path, "other").last_ns is None


def test_gaps_opened_in_an_earlier_segment_are_carried_by_the_next_ones_state(
    tmp_path: Path,
) -> None:
    # A session is down across an hourly rotation, then the recorder is killed: the gap_open
    # is in the older segment, and only the newest segment is read on restart.
    clock = ManualClock()
    state = [(5, events.state(5, [], {}, {B: 123}))]
    with RawLogWriter(
        tmp_path, "rec1", clock=clock, state_records=lambda: state, seal_in_background=False
    ) as writer:
        writer.append(RecordKind.EVENT, 5, events.gap_open(5, *B, 123, "dropped"))
        clock.advance(3600)
        writer.append(RecordKind.EVENT, 0, events.recorder_start("rec1", 1, None))
    run = read_previous_run(tmp_path, "rec1")
    assert run.gapped == {B}
