from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from pathlib import Path

import pytest

from capture.clock import ManualClock, seoul_date
from capture.errors import RawLogError, RecorderLocked
from capture.rawlog import (
    RawLogWriter,
    RecordKind,
    list_segments,
    read_records,
    seal_segment,
)
from tests.support.rawlog import records, seoul_ns, writer
from tests.support.recorder import wait_until

STATE = [(1, b'{"subscriptions":["H0BJASP0|KR1035027A28"]}'), (2, b'{"aes":{"key":"k","iv":"i"}}')]


def test_every_new_segment_starts_with_its_header_then_one_state_record_per_entry(
    tmp_path: Path,
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 30, 0))
    with writer(tmp_path, clock, state_records=lambda: STATE) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"a")
        w.append(RecordKind.FRAME_RECV, 1, b"b", recv_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    segments = list_segments(tmp_path)
    assert len(segments) == 2
    for info in segments:
        got = records(read_records(tmp_path, start=None))
        firsts = [r for r in got if r.segment == info.name][:2]
        assert [(r.kind, r.conn_id, r.payload) for r in firsts] == [
            (RecordKind.STATE, conn, payload) for conn, payload in STATE
        ]
        assert all(r.recv_ns == info.open_ns for r in firsts)


def test_a_record_one_ns_before_nine_stays_and_nine_oclock_rotates(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 8, 30, 0))
    last_of_eight = seoul_ns(2026, 11, 26, 8, 59, 59, ns=999_999_999)
    nine = seoul_ns(2026, 11, 26, 9, 0, 0)
    with writer(tmp_path, clock) as w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"8h", recv_ns=last_of_eight)
        second = w.append(RecordKind.FRAME_RECV, 1, b"9h", recv_ns=nine)
        assert w.current_segment == second.segment
    assert first.segment == f"2026-11-26/{seoul_ns(2026, 11, 26, 8, 30, 0):019d}-rec1.seg"
    assert second.segment == f"2026-11-26/{nine:019d}-rec1.seg"
    assert [r.payload for r in records(read_records(tmp_path))] == [b"8h", b"9h"]


def test_records_that_arrived_together_are_written_whole_in_order_past_one_writevs_limit(
    tmp_path: Path,
) -> None:
    nine = seoul_ns(2026, 11, 26, 9, 0, 0)
    payloads = [f"0|H0BJASP0|001|{i}".encode() for i in range(1500)]  # 3,000 buffers
    with writer(tmp_path, ManualClock(nine)) as w:
        w.append_received(3, payloads, nine + 5)
    got = records(read_records(tmp_path))
    assert [r.payload for r in got] == payloads
    assert [r.recv_ns for r in got] == [nine + 5 + i for i in range(1500)]  # distinct, ordered
    assert {(r.conn_id, r.kind) for r in got} == {(3, RecordKind.FRAME_RECV)}


def test_the_receive_loops_append_writes_what_append_writes_and_rotates_at_the_hour(
    tmp_path: Path,
) -> None:
    last_of_eight = seoul_ns(2026, 11, 26, 8, 59, 59, ns=999_999_999)
    nine = seoul_ns(2026, 11, 26, 9, 0, 0)
    with writer(tmp_path / "a", ManualClock(seoul_ns(2026, 11, 26, 8, 30, 0))) as w:
        w.append(RecordKind.FRAME_RECV, 7, b"0|H0BJASP0|001|x", recv_ns=last_of_eight)
        w.append(RecordKind.FRAME_RECV, 7, b"0|H0BJCNT0|001|y", recv_ns=nine)
    with writer(tmp_path / "b", ManualClock(seoul_ns(2026, 11, 26, 8, 30, 0))) as w:
        w.append_received(7, [b"0|H0BJASP0|001|x"], last_of_eight)
        w.append_received(7, [b"0|H0BJCNT0|001|y"], nine)
    for name in ("a", "b"):
        assert [info.name for info in list_segments(tmp_path / name)] == [
            f"2026-11-26/{seoul_ns(2026, 11, 26, 8, 30, 0):019d}-rec1.seg",
            f"2026-11-26/{nine:019d}-rec1.seg",
        ]
    files = [sorted((tmp_path / n).rglob("*.seg")) for n in ("a", "b")]
    assert [p.read_bytes() for p in files[0]] == [p.read_bytes() for p in files[1]]


@pytest.mark.parametrize(
    "boundary",
    [seoul_ns(2026, 11, 26, 10, 0, 0), seoul_ns(2026, 11, 27, 0, 0, 0)],
    ids=["hour", "midnight"],
)
def test_records_of_one_read_stamped_past_the_hour_or_midnight_go_to_the_next_segment(
    tmp_path: Path, boundary: int
) -> None:
    # One socket read's records are stamped read time + i ns: the last ones may cross.
    payloads = [f"0|H0BJASP0|001|{i}".encode() for i in range(5)]
    read_ns = boundary - 2
    clock = ManualClock(boundary - 60 * 1_000_000_000)
    with writer(tmp_path / "a", clock) as w:
        for i, payload in enumerate(payloads):
            w.append(RecordKind.FRAME_RECV, 7, payload, recv_ns=read_ns + i)
    with writer(tmp_path / "b", clock) as w:
        w.append_received(7, payloads, read_ns)
        assert w.current_segment == f"{seoul_date(boundary)}/{boundary:019d}-rec1.seg"
    got = records(read_records(tmp_path / "b"))
    assert [(r.segment.split("/")[1][:19], r.recv_ns) for r in got] == [
        (f"{clock.now_ns():019d}", read_ns),
        (f"{clock.now_ns():019d}", read_ns + 1),
        (f"{boundary:019d}", boundary),
        (f"{boundary:019d}", boundary + 1),
        (f"{boundary:019d}", boundary + 2),
    ]
    files = [sorted((tmp_path / n).rglob("*.seg*")) for n in ("a", "b")]
    assert [p.relative_to(tmp_path / "a") for p in files[0]] == [
        p.relative_to(tmp_path / "b") for p in files[1]
    ]
    assert [p.read_bytes() for p in files[0]] == [p.read_bytes() for p in files[1]]


def test_a_record_from_before_the_hour_arriving_after_rotation_stays_in_the_new_segment(
    tmp_path: Path,
) -> None:
    # Two sessions racing at the hour: one took its receive time 1 ns before nine, the other
    # rotated first. Going back would create an earlier-named segment a reader never reads.
    clock = ManualClock(seoul_ns(2026, 11, 26, 8, 30, 0))
    last_of_eight = seoul_ns(2026, 11, 26, 8, 59, 59, ns=999_999_999)
    nine = seoul_ns(2026, 11, 26, 9, 0, 0)
    with writer(tmp_path, clock) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"8h")
        rotated = w.append(RecordKind.FRAME_RECV, 2, b"9h", recv_ns=nine)
        late = w.append(RecordKind.FRAME_RECV, 1, b"late 8h", recv_ns=last_of_eight)
    assert late.segment == rotated.segment
    assert len(list_segments(tmp_path)) == 2
    got = records(read_records(tmp_path))
    assert [(r.payload, r.recv_ns) for r in got[-2:]] == [
        (b"9h", nine),
        (b"late 8h", last_of_eight),
    ]


def test_a_clock_stepped_back_an_hour_never_creates_an_earlier_named_segment(
    tmp_path: Path,
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 10, 15, 0))
    with writer(tmp_path, clock) as w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"10h")
        clock.advance(-3600)
        stepped = w.append(RecordKind.FRAME_RECV, 1, b"9h, live")
    assert stepped.segment == first.segment
    with writer(tmp_path, clock) as w:  # a restart still behind: the segment is continued
        restarted = w.append(RecordKind.FRAME_RECV, 1, b"9h, restarted")
    assert restarted.segment == first.segment
    seal_segment(tmp_path / first.segment)  # e.g. sealed by hand: it cannot be continued
    with writer(tmp_path, clock) as w:
        fresh = w.append(RecordKind.FRAME_RECV, 1, b"9h, new segment")
    assert [s.open_ns for s in list_segments(tmp_path)] == [
        seoul_ns(2026, 11, 26, 10, 15, 0),
        seoul_ns(2026, 11, 26, 10, 15, 0) + 1,
    ]
    assert fresh.segment > first.segment
    assert [r.payload for r in records(read_records(tmp_path))] == [
        b"10h",
        b"9h, live",
        b"9h, restarted",
        b"9h, new segment",
    ]


def test_seoul_midnight_rotates_into_the_next_dates_directory(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 23, 59, 59))
    with writer(tmp_path, clock) as w:
        before = w.append(RecordKind.FRAME_RECV, 1, b"late")
        clock.set_ns(seoul_ns(2026, 11, 27, 0, 0, 0))
        after = w.append(RecordKind.FRAME_RECV, 1, b"early")
    assert before.segment.startswith("2026-11-26/")
    assert after.segment.startswith("2026-11-27/")
    assert (tmp_path / "2026-11-26" / (Path(before.segment).name + ".zst")).exists()


def test_appended_positions_are_where_the_reader_finds_the_records(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock) as w:
        positions = [w.append(RecordKind.FRAME_RECV, 3, b"x" * n) for n in range(5)]
    got = records(read_records(tmp_path))
    assert [(r.segment, r.offset) for r in got] == [(p.segment, p.offset) for p in positions]
    assert [r.recv_ns for r in got] == [clock.now_ns()] * 5


def test_the_flusher_thread_fsyncs_appended_records_within_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced_sizes: list[int] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        size = os.fstat(fd).st_size
        real_fsync(fd)
        synced_sizes.append(size)

    monkeypatch.setattr(os, "fsync", spy)
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock, fsync_interval_s=0.05) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"a")
        size = w.bytes_written
        clock.advance(1.0)
        wait_until(
            lambda: (
                any(s >= size for s in synced_sizes) and w.last_fsync_monotonic == clock.monotonic()
            ),
            5,
            "an fsync covering it",
        )
        assert size == (tmp_path / w.current_segment).stat().st_size  # type: ignore[operator]


def test_an_append_goes_through_while_an_fsync_is_stuck_on_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow disk cannot be made here: fsync is held on an event instead. Every session
    # appends through the writer's lock; an fsync must never hold it.
    stuck, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        stuck.set()
        release.wait(10)
        real_fsync(fd)

    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock, fsync_interval_s=None) as w:
        monkeypatch.setattr(os, "fsync", slow_fsync)
        flush = threading.Thread(target=w.fsync)
        flush.start()
        try:
            assert stuck.wait(5), "the fsync did not start"
            appended = threading.Thread(target=w.append, args=(RecordKind.FRAME_RECV, 1, b"x"))
            appended.start()
            appended.join(2)
            assert not appended.is_alive(), "append waited for a stuck fsync"
        finally:
            release.set()
            flush.join()
            monkeypatch.setattr(os, "fsync", real_fsync)
    assert [r.payload for r in records(read_records(tmp_path))] == [b"x"]


def test_torn_last_record_is_cut_at_every_offset_and_reported_by_an_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    original = tmp_path / "original"
    with writer(original, clock) as w:
        for i in range(4):
            w.append(RecordKind.FRAME_RECV, 1, f"frame {i}".encode())
        last = w.append(RecordKind.FRAME_RECV, 1, b"the torn one")
    (segment,) = list_segments(original)
    intact = segment.path.read_bytes()[: last.offset]
    for cut in range(last.offset + 1, segment.size_bytes):
        raw = tmp_path / f"cut{cut}"
        shutil.copytree(original, raw)
        with (raw / segment.name).open("r+b") as f:
            f.truncate(cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING), writer(raw, clock) as w:
            w.append(RecordKind.FRAME_RECV, 1, b"after restart")
        assert "truncated 1 torn tail(s)" in caplog.text
        assert (raw / segment.name).read_bytes()[: last.offset] == intact
        got = records(read_records(raw))
        assert [r.payload for r in got[:4]] == [f"frame {i}".encode() for i in range(4)]
        assert got[4].kind is RecordKind.EVENT
        assert json.loads(got[4].payload) == {
            "type": "torn_tail_truncated",
            "segment": segment.name,
            "offset": last.offset,
            "bytes": cut - last.offset,
        }
        assert got[4].offset == last.offset
        assert got[5].payload == b"after restart"
        assert len(got) == 6


def test_a_clean_restart_in_the_same_hour_continues_the_segment_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock) as w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"one")
    clock.advance(60)
    with caplog.at_level(logging.WARNING), writer(tmp_path, clock) as w:
        second = w.append(RecordKind.FRAME_RECV, 1, b"two")
    assert second.segment == first.segment
    assert caplog.text == ""
    assert [r.payload for r in records(read_records(tmp_path))] == [b"one", b"two"]


def test_a_restart_in_a_later_hour_seals_the_old_segment_and_opens_a_new_one(
    tmp_path: Path,
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock, seal_in_background=True) as w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"one")
    clock.advance(3600)
    with writer(tmp_path, clock, seal_in_background=True) as w:
        second = w.append(RecordKind.FRAME_RECV, 1, b"two")
    assert second.segment != first.segment
    assert [(s.name, s.sealed) for s in list_segments(tmp_path)] == [
        (first.segment, True),
        (second.segment, False),
    ]


def test_a_segment_without_a_whole_header_is_removed_and_reported(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock) as w:
        name = w.current_segment
    assert name is not None
    (tmp_path / name).write_bytes(b"BTRAW")
    with writer(tmp_path, clock) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"fresh")
    got = records(read_records(tmp_path))
    assert json.loads(got[0].payload) == {
        "type": "torn_tail_truncated",
        "segment": name,
        "offset": 0,
        "bytes": 5,
    }
    assert got[1].payload == b"fresh"
    assert (tmp_path / name).read_bytes().startswith(b"BTRAWSEG")  # the name is free again


def test_a_restart_after_an_empty_latest_segment_continues_the_last_one_with_records(
    tmp_path: Path,
) -> None:
    # A rotation cut short (a crash, or a full disk on an older writer) left a segment of no
    # bytes after the one with records: the restart removes it and continues that one.
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock) as w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"one")
    empty = f"2026-11-26/{seoul_ns(2026, 11, 26, 9, 10, 0):019d}-rec1.seg"
    (tmp_path / empty).write_bytes(b"")
    clock.set_ns(seoul_ns(2026, 11, 26, 9, 20, 0))
    with writer(tmp_path, clock) as w:
        second = w.append(RecordKind.FRAME_RECV, 1, b"two")
    assert second.segment == first.segment
    assert [s.name for s in list_segments(tmp_path)] == [first.segment]
    got = records(read_records(tmp_path))
    assert [r.payload for r in got if r.kind is RecordKind.FRAME_RECV] == [b"one", b"two"]
    assert json.loads(got[1].payload)["segment"] == empty  # the torn_tail_truncated event


def test_a_second_writer_on_the_same_raw_dir_is_refused(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock), pytest.raises(RecorderLocked):
        RawLogWriter(tmp_path, "rec2", clock=clock)


def test_appending_after_close_raises_and_close_is_idempotent(tmp_path: Path) -> None:
    w = writer(tmp_path, ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0)))
    w.close()
    w.close()
    assert w.current_segment is None
    with pytest.raises(RawLogError, match="closed"):
        w.append(RecordKind.EVENT, 0, b"{}")
