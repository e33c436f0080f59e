from __future__ import annotations

from pathlib import Path

from capture.clock import ManualClock
from capture.rawlog import RawLogWriter, RecordKind, encode_header, events
from capture.recorder.previous_run import read_previous_run

A, B = ("H0BJASP0", "KR103502GD31"), ("H0BJCNT0", "KR103502GD31")
START = events.encode(events.RecorderStart(recorder_id="rec1", pid=1, previous_last_ns=None))
DROPPED = events.encode(events.Disconnect(conn=5, reason="dropped"))


def ack(conn: int, pair: tuple[str, str]) -> bytes:
    return events.encode(
        events.SubAck(conn=conn, tr_id=pair[0], isin=pair[1], msg_cd="OPSP0000", msg1="")
    )


def gap_open(conn: int, pair: tuple[str, str], start_ns: int) -> bytes:
    return events.encode(
        events.GapOpen(conn=conn, tr_id=pair[0], isin=pair[1], start_ns=start_ns, reason="dropped")
    )


def test_a_killed_run_leaves_its_live_pairs_open_gaps_and_last_time_behind(tmp_path: Path) -> None:
    clock = ManualClock()
    with RawLogWriter(tmp_path, "rec1", clock=clock, seal_in_background=False) as writer:
        writer.append(
            RecordKind.EVENT,
            0,
            START,
        )
        writer.append(RecordKind.EVENT, 4, ack(4, A))
        writer.append(RecordKind.EVENT, 5, ack(5, B))
        writer.append(RecordKind.EVENT, 5, DROPPED)
        writer.append(RecordKind.EVENT, 5, gap_open(5, B, 1))
        writer.append(RecordKind.FRAME_RECV, 4, b"0|H0BJASP0|001|x", recv_ns=clock.now_ns() + 7)
    run = read_previous_run(tmp_path, "rec1")
    assert not run.stopped_cleanly
    assert run.live_pairs() == {A} and run.gapped == {B: 1}
    assert run.last_ns == clock.now_ns() + 7 and run.max_conn == 5


def test_state_records_at_a_segment_start_carry_the_subscriptions(tmp_path: Path) -> None:
    clock = ManualClock()
    state = [(9, events.encode_state(events.State(9, (A, B))))]
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
    state = [(5, events.encode_state(events.State(5, open_gaps={B: 123})))]
    with RawLogWriter(
        tmp_path, "rec1", clock=clock, state_records=lambda: state, seal_in_background=False
    ) as writer:
        writer.append(RecordKind.EVENT, 5, gap_open(5, B, 123))
        clock.advance(3600)
        writer.append(
            RecordKind.EVENT,
            0,
            START,
        )
    run = read_previous_run(tmp_path, "rec1")
    assert run.gapped == {B: 123}


def test_empty_segments_after_the_last_record_do_not_hide_the_runs_gaps_or_last_time(
    tmp_path: Path,
) -> None:
    # A rotation cut short (by a crash, or by a full disk on an older writer) leaves a later
    # segment with no record: a file of no bytes, or a header alone.
    clock = ManualClock()
    state = [(5, events.encode_state(events.State(5, (A,), open_gaps={B: 123})))]
    with RawLogWriter(tmp_path, "rec1", clock=clock, state_records=lambda: state) as writer:
        writer.append(RecordKind.EVENT, 4, ack(4, A))
        last = clock.now_ns() + 7
        writer.append(RecordKind.FRAME_RECV, 4, b"0|H0BJASP0|001|x", recv_ns=last)
        name = writer.current_segment
    assert name is not None
    day = (tmp_path / name).parent
    (day / f"{last + 3_600_000_000_000:019d}-rec1.seg").write_bytes(b"")
    header_only = last + 7_200_000_000_000
    (day / f"{header_only:019d}-rec1.seg").write_bytes(encode_header("rec1", header_only))
    run = read_previous_run(tmp_path, "rec1")
    assert run.last_ns == last
    assert run.live_pairs() == {A} and run.gapped == {B: 123}
    assert run.restart_plan([A, B]).carried == {B: 123}
    assert run.restart_plan([A, B]).reopen == [A]
