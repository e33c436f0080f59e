from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capture.clock import ManualClock
from capture.rawlog import (
    CorruptRegion,
    Position,
    RawRecord,
    RecordKind,
    SegmentInfo,
    encode_header,
    encode_record,
    list_segments,
    read_records,
    segments_holding,
    verify,
)
from tests.support.rawlog import records, seoul_ns, writer

NINE = seoul_ns(2026, 11, 26, 9, 0, 0)
HEADER_SIZE = len(encode_header("rec1", NINE))


def _two_segments(raw: Path, per_segment: int = 3) -> list[Position]:
    """Write two hourly segments of FRAME_RECV records; their positions."""
    clock = ManualClock(NINE)
    with writer(raw, clock) as w:
        positions = [
            w.append(RecordKind.FRAME_RECV, 1, b"first %d" % i) for i in range(per_segment)
        ]
        clock.advance(3600)
        positions += [
            w.append(RecordKind.FRAME_RECV, 1, b"second %d" % i) for i in range(per_segment)
        ]
    return positions


def _plain(raw: Path, position: Position) -> Path:
    """The plain file of a segment, unsealing it first so a test can damage its bytes."""
    path = raw / position.segment
    sealed = path.with_name(path.name + ".zst")
    if sealed.exists():
        path.write_bytes(
            zstandard.ZstdDecompressor().decompressobj().decompress(sealed.read_bytes())
        )
        sealed.unlink()
    return path


def test_a_flipped_byte_is_one_corrupt_region_then_the_following_records(tmp_path: Path) -> None:
    clock = ManualClock(NINE)
    with writer(tmp_path, clock) as w:
        positions = [w.append(RecordKind.FRAME_RECV, 1, b"frame %d" % i) for i in range(5)]
    path = _plain(tmp_path, positions[2])
    damaged = bytearray(path.read_bytes())
    damaged[positions[2].offset + 25] ^= 0xFF
    path.write_bytes(damaged)

    items = list(read_records(tmp_path))
    assert [type(i) for i in items] == [RawRecord, RawRecord, CorruptRegion, RawRecord, RawRecord]
    region = items[2]
    assert isinstance(region, CorruptRegion)
    assert (region.segment, region.offset) == (positions[2].segment, positions[2].offset)
    assert region.end == positions[3]
    assert region.reason == "record CRC mismatch"
    assert verify(tmp_path) == [region]


def test_a_partial_tail_of_the_last_segment_is_the_end_for_now_not_corruption(
    tmp_path: Path,
) -> None:
    positions = _two_segments(tmp_path)
    tail = encode_record(NINE + 1, 1, RecordKind.FRAME_RECV, b"being written")
    with _plain(tmp_path, positions[-1]).open("ab") as f:
        f.write(tail[:-3])
    items = records(read_records(tmp_path))
    assert items[-1].payload == b"second 2"
    assert verify(tmp_path) == []
    with _plain(tmp_path, positions[-1]).open("ab") as f:
        f.write(tail[-3:])
    assert [r.payload for r in records(read_records(tmp_path, items[-1].end))] == [b"being written"]


def test_reading_resumes_from_a_returned_position_in_a_segment_that_grew(tmp_path: Path) -> None:
    clock = ManualClock(NINE)
    with writer(tmp_path, clock) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"a")
        seen = records(read_records(tmp_path))
        w.append(RecordKind.FRAME_RECV, 1, b"b")
        w.append(RecordKind.FRAME_RECV, 1, b"c")
        more = records(read_records(tmp_path, seen[-1].end))
        assert [r.payload for r in more] == [b"b", b"c"]
        assert list(read_records(tmp_path, more[-1].end)) == []


def test_garbage_after_the_last_record_of_a_closed_segment_is_corrupt(tmp_path: Path) -> None:
    positions = _two_segments(tmp_path)
    first = _plain(tmp_path, positions[0])
    end = first.stat().st_size
    partial = encode_record(NINE, 1, RecordKind.FRAME_RECV, b"never finished")[:10]
    with first.open("ab") as f:
        f.write(partial)
    items = list(read_records(tmp_path))
    regions = [i for i in items if isinstance(i, CorruptRegion)]
    assert [(r.segment, r.offset, r.data) for r in regions] == [
        (positions[0].segment, end, partial)
    ]
    assert len(items) == 7


def test_a_damaged_length_in_the_last_segment_is_corruption_when_records_follow(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NINE)
    with writer(tmp_path, clock) as w:
        positions = [w.append(RecordKind.FRAME_RECV, 1, b"frame %d" % i) for i in range(4)]
    path = _plain(tmp_path, positions[1])
    damaged = bytearray(path.read_bytes())
    damaged[positions[1].offset + 2 : positions[1].offset + 6] = (5000).to_bytes(4, "little")
    path.write_bytes(damaged)
    regions = verify(tmp_path)
    assert [(r.offset, r.end.offset) for r in regions] == [
        (positions[1].offset, positions[2].offset)
    ]


def test_a_bad_file_header_is_one_corrupt_region_for_the_whole_file(tmp_path: Path) -> None:
    positions = _two_segments(tmp_path)
    path = _plain(tmp_path, positions[0])
    damaged = bytearray(path.read_bytes())
    damaged[3] ^= 0x20
    path.write_bytes(damaged)
    items = list(read_records(tmp_path))
    assert isinstance(items[0], CorruptRegion)
    assert (items[0].segment, items[0].offset, items[0].data) == (
        positions[0].segment,
        0,
        bytes(damaged),
    )
    assert [i.payload for i in records(items[1:])] == [b"second %d" % i for i in range(3)]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    damage=st.lists(
        st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)), max_size=4
    ),
    cut=st.integers(0, 400),
)
def test_every_byte_of_a_damaged_log_is_either_a_record_or_in_a_reported_region(
    tmp_path_factory: object, damage: list[tuple[int, bytes]], cut: int
) -> None:
    raw = tmp_path_factory.mktemp("raw")  # type: ignore[attr-defined]
    positions = _two_segments(raw, per_segment=8)
    for position in (positions[0], positions[-1]):
        path = _plain(raw, position)
        data = bytearray(path.read_bytes())
        for at, junk in damage:
            at = 40 + at % max(1, len(data) - 40)
            data[at : at + len(junk)] = junk
        path.write_bytes(data[: max(40, len(data) - cut)])
    items = list(read_records(raw))
    segments = list_segments(raw)
    for index, info in enumerate(segments):
        spans = [(i.offset, i.end.offset) for i in items if i.segment == info.name]
        last = index == len(segments) - 1
        if not spans:
            assert last  # a torn first record in the live segment: nothing to say yet
            continue
        assert spans[0][0] == HEADER_SIZE
        assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
        assert spans[-1][1] == info.size_bytes or (last and spans[-1][1] < info.size_bytes)


def test_a_day_is_held_by_its_own_segments_and_each_recorders_first_segment_after_it() -> None:
    def info(day: str, ns: int, rid: str) -> SegmentInfo:
        return SegmentInfo(f"{day}/{ns:019d}-{rid}.seg", Path("x"), False, 0, ns, rid)

    segments = [
        info("2026-11-25", 1, "rec1"),
        info("2026-11-26", 2, "rec1"),
        info("2026-11-26", 3, "rec2"),
        info("2026-11-27", 4, "rec1"),
        info("2026-11-27", 5, "rec1"),
        info("2026-11-28", 6, "rec2"),
    ]
    held = segments_holding(segments, dt.date(2026, 11, 26))
    assert held == [segments[1], segments[2], segments[3], segments[5]]
