from __future__ import annotations

import shutil
from pathlib import Path

from capture.clock import ManualClock
from capture.rawlog import (
    CorruptRegion,
    RawLogWriter,
    RecordKind,
    list_segments,
    read_records,
    seal_closed,
    seal_segment,
)
from tests.support.rawlog import records, seoul_ns, writer


def _closed_segment(raw: Path) -> Path:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(raw, clock) as w:
        for i in range(50):
            w.append(RecordKind.FRAME_RECV, i % 3, b"0|H0BJASP0|001|%d" % i)
        name = w.current_segment
    assert name is not None
    return raw / name


def test_sealing_keeps_bytes_records_and_positions_identical(tmp_path: Path) -> None:
    plain = _closed_segment(tmp_path)
    before_bytes = plain.read_bytes()
    before = records(read_records(tmp_path))
    sealed = seal_segment(plain)
    assert sealed.name == plain.name + ".zst"
    assert not plain.exists()
    (info,) = list_segments(tmp_path)
    assert info.sealed and info.name == before[0].segment
    assert records(read_records(tmp_path)) == before
    middle = before[20]
    assert records(read_records(tmp_path, middle.end)) == before[21:]
    with_stream = b"".join(r.payload for r in before)
    assert with_stream == b"".join(r.payload for r in records(read_records(tmp_path)))
    assert len(before_bytes) == before[-1].end.offset


def test_a_crash_leaving_plain_and_sealed_reads_once_and_the_next_seal_removes_plain(
    tmp_path: Path,
) -> None:
    plain = _closed_segment(tmp_path)
    before = records(read_records(tmp_path))
    keep = tmp_path / "keep.seg"
    shutil.copyfile(plain, keep)
    seal_segment(plain)
    shutil.copyfile(keep, plain)
    keep.unlink()
    (info,) = list_segments(tmp_path)
    assert info.sealed
    assert records(read_records(tmp_path)) == before
    seal_segment(plain)
    assert not plain.exists()
    assert records(read_records(tmp_path)) == before


def test_a_leftover_tmp_file_is_ignored_by_readers_and_cleaned_by_the_next_writer(
    tmp_path: Path,
) -> None:
    plain = _closed_segment(tmp_path)
    tmp = plain.with_name(plain.name + ".zst.tmp")
    tmp.write_bytes(b"half a compressed file")
    assert [s.name for s in list_segments(tmp_path)] == [f"{plain.parent.name}/{plain.name}"]
    assert len(records(read_records(tmp_path))) == 50
    clock = ManualClock(seoul_ns(2026, 11, 26, 10, 0, 0))
    with writer(tmp_path, clock):
        pass
    assert not tmp.exists()
    assert not plain.exists()
    assert plain.with_name(plain.name + ".zst").exists()


def test_background_sealing_after_rotation_is_done_when_close_returns(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock, seal_in_background=True) as w:
        for hour in range(3):
            w.append(RecordKind.FRAME_RECV, 1, b"hour %d" % hour)
            clock.advance(3600)
    assert [s.sealed for s in list_segments(tmp_path)] == [True, True, False]
    assert [r.payload for r in records(read_records(tmp_path))] == [b"hour 0", b"hour 1", b"hour 2"]


def test_a_damaged_compressed_segment_is_reported_not_skipped(tmp_path: Path) -> None:
    sealed = seal_segment(_closed_segment(tmp_path))
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    sealed.write_bytes(data)
    regions = [i for i in read_records(tmp_path) if isinstance(i, CorruptRegion)]
    assert regions
    assert all(r.segment == f"{sealed.parent.name}/{sealed.name[:-4]}" for r in regions)


def test_a_segment_sealed_while_a_reader_is_between_segments_is_still_read(
    tmp_path: Path,
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    with writer(tmp_path, clock) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"nine")
        clock.advance(3600)
        later = w.append(RecordKind.FRAME_RECV, 1, b"ten")
    reader = read_records(tmp_path)
    assert next(reader).payload == b"nine"  # type: ignore[union-attr]
    seal_segment(tmp_path / later.segment)
    assert [r.payload for r in records(reader)] == [b"ten"]


def test_closed_segments_are_sealed_from_outside_only_while_no_writer_runs(tmp_path: Path) -> None:
    _closed_segment(tmp_path)
    clock = ManualClock(seoul_ns(2026, 11, 27, 9, 0, 0))
    with RawLogWriter(tmp_path, "rec2", clock=clock, seal_in_background=False) as running:
        running.append(RecordKind.FRAME_RECV, 1, b"0|H0BJASP0|001|x")
        assert seal_closed(tmp_path, list_segments(tmp_path)[:1]) == 0
        assert not list_segments(tmp_path)[0].sealed
    assert seal_closed(tmp_path, list_segments(tmp_path)[:1]) == 1
    first, second = list_segments(tmp_path)
    assert first.sealed and not second.sealed  # rec2's, not asked
    assert seal_closed(tmp_path, [first]) == 0  # already sealed: nothing to do
