"""A captured day read back for replay: its window, its order, its keys, what it skips."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from capture.clock import NS_PER_S, SEOUL, ManualClock
from capture.errors import ConfigError
from capture.exchange.recorded_day import DayWindow, RecordedDay, RecordedFrame, RecordedGap
from capture.exchange.replay import ReplayOptions
from capture.kis import aes, rest_book
from capture.kis.protocol import control_response, data_frame, split_data_frame, split_records
from capture.rawlog import RawLogWriter, RecordKind, events, rest
from tests.support.samples import REST_BOOK_SAMPLE

DAY = dt.date(2026, 11, 26)
A, B, C = "KR103502GD31", "KR101501DD41", "KR6000011D27"


def at(hhmmss: str, day: dt.date = DAY) -> int:
    moment = dt.datetime.combine(day, dt.time.fromisoformat(hhmmss), SEOUL)
    return int(moment.timestamp()) * NS_PER_S


def write(raw: Path, recorder: str, records: list[tuple[int, RecordKind, int, bytes]]) -> None:
    writer = RawLogWriter(raw, recorder, clock=ManualClock(records[0][0]), fsync_interval_s=None)
    for recv_ns, kind, conn, payload in records:
        writer.append(kind, conn, payload, recv_ns)
    writer.close()


def book_values(isin: str) -> list[str]:
    """A book record of ``isin``: the 34 fields, the rest plain distinct numbers."""
    return [isin, "090000", *(f"{n}.00" for n in range(32))]


def frame(*isins: str, key_iv: tuple[str, str] | None = None) -> bytes:
    return data_frame("H0BJASP0", [book_values(i) for i in isins], key_iv=key_iv).encode()


def frames_of(day: RecordedDay) -> list[RecordedFrame]:
    return [item for item in day if isinstance(item, RecordedFrame)]


def test_the_window_keeps_its_date_its_hours_and_its_isins(tmp_path: Path) -> None:
    F = RecordKind.FRAME_RECV
    write(tmp_path, "r", [
        (at("08:59:59"), F, 1, frame(A)), (at("09:00:00"), F, 1, frame(A)),
        (at("09:30:00"), F, 1, frame(B)), (at("10:00:00"), F, 1, frame(A, B)),
        (at("09:00:00", DAY + dt.timedelta(days=1)), F, 1, frame(A)),
    ])  # fmt: skip
    window = DayWindow(DAY, dt.time(9), dt.time(10), frozenset({A}))
    got = frames_of(RecordedDay(tmp_path, window))
    assert [(f.recv_ns, f.isins) for f in got] == [(at("09:00:00"), (A,))]
    whole = frames_of(RecordedDay(tmp_path, DayWindow(DAY)))
    assert [f.isins for f in whole] == [(A,), (A,), (B,), (A, B)]


def test_a_multi_record_frame_is_cut_to_the_wanted_isins_and_kept_whole_otherwise(
    tmp_path: Path,
) -> None:
    write(tmp_path, "r", [(at("09:00:00"), RecordKind.FRAME_RECV, 1, frame(A, B, C))])
    whole = frames_of(RecordedDay(tmp_path, DayWindow(DAY)))[0]
    assert whole.message(None) == frame(A, B, C).decode()
    assert whole.only(frozenset({A, B, C})) is whole
    cut = whole.only(frozenset({A, C})).message(None)
    assert cut == frame(A, C).decode()


def test_an_encrypted_frame_is_read_with_its_connections_key_and_sent_with_the_sessions(
    tmp_path: Path,
) -> None:
    recorded_key = ("k" * 32, "i" * 16)
    ack = control_response("H0BJASP0", A, "OPSP0000", key=recorded_key[0], iv=recorded_key[1])
    write(tmp_path, "r", [
        (at("09:00:00"), RecordKind.FRAME_RECV, 1, ack.encode()),
        (at("09:00:01"), RecordKind.FRAME_RECV, 1, frame(A, B, key_iv=recorded_key)),
        (at("09:00:02"), RecordKind.FRAME_RECV, 2, frame(A, key_iv=recorded_key)),  # no key
    ])  # fmt: skip
    day = RecordedDay(tmp_path, DayWindow(DAY))
    [replayed] = frames_of(day)
    session_key = ("s" * 32, "v" * 16)
    sent = split_data_frame(replayed.message(session_key))
    assert sent.encrypted and sent.count == 2
    assert split_records(sent, session_key) == [book_values(A), book_values(B)]
    assert aes.decrypt(sent.payload, *session_key) == replayed.payload
    assert day.skipped == 1  # the frame of a connection with no key in force


def test_recorders_are_merged_by_receive_time_and_gaps_come_in_their_place(
    tmp_path: Path,
) -> None:
    F = RecordKind.FRAME_RECV
    gap = events.encode(events.GapOpen(conn=1, tr_id="H0BJASP0", isin=A, start_ns=0, reason="x"))
    write(tmp_path, "one", [(at("09:00:00"), F, 1, frame(A)), (at("09:00:02"), F, 1, frame(A)),
                            (at("09:00:03"), RecordKind.EVENT, 1, gap)])  # fmt: skip
    write(tmp_path, "two", [(at("09:00:01"), F, 1, frame(B)), (at("09:00:04"), F, 1, frame(B))])
    items = list(RecordedDay(tmp_path, DayWindow(DAY)))
    assert [(i.recv_ns - at("09:00:00")) // NS_PER_S for i in items] == [0, 1, 2, 3, 4]
    assert items[3] == RecordedGap(at("09:00:03"), ("H0BJASP0", A))


def test_malformed_frames_are_counted_and_not_replayed(tmp_path: Path) -> None:
    F = RecordKind.FRAME_RECV
    write(tmp_path, "r", [
        (at("09:00:00"), F, 1, b"0|H0BJASP0|002|" + frame(A)[15:]),  # says 2, holds 1
        (at("09:00:01"), F, 1, b"0|H0BJASP0|001|\xff\xfe"),
        (at("09:00:02"), F, 1, frame(A)),
    ])  # fmt: skip
    day = RecordedDay(tmp_path, DayWindow(DAY))
    assert [f.recv_ns for f in frames_of(day)] == [at("09:00:02")]
    assert day.skipped == 2


def test_a_day_with_nothing_recorded_and_bad_windows_and_speeds_are_refused(
    tmp_path: Path,
) -> None:
    write(tmp_path, "r", [(at("09:00:00"), RecordKind.FRAME_RECV, 1, frame(A))])
    with pytest.raises(ConfigError, match="nothing was recorded that day"):
        RecordedDay(tmp_path, DayWindow(DAY - dt.timedelta(days=1)))
    with pytest.raises(ConfigError, match="--end"):
        DayWindow(DAY, dt.time(10), dt.time(9))
    with pytest.raises(ConfigError, match="--speed"):
        ReplayOptions(speed=0)


def test_rest_book_snapshots_are_read_past_without_a_skip_until_replay_serves_them(
    tmp_path: Path,
) -> None:
    F, R = RecordKind.FRAME_RECV, RecordKind.REST_RECV
    snapshot = rest.encode_rest(rest.RestResponse(
        method="GET", path=rest_book.BOOK_PATH, query=rest_book.book_query(A),
        tr_id=rest_book.BOOK_TR_ID, isin=A, status=200, sent_ns=at("09:00:00"),
        body=REST_BOOK_SAMPLE.encode(),
    ))  # fmt: skip
    write(tmp_path, "r", [
        (at("09:00:00"), F, 1, frame(A)), (at("09:00:01"), R, 1, snapshot),
        (at("09:00:02"), F, 1, frame(A)),
    ])  # fmt: skip
    day = RecordedDay(tmp_path, DayWindow(DAY))
    assert [item.recv_ns for item in day] == [at("09:00:00"), at("09:00:02")]
    assert day.skipped == 0
