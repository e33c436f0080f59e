from __future__ import annotations

from capture.rawlog import Position
from storage.lake.ranges import HIST_PREFIX, LIVE_PREFIX, RawRange, covering, range_of, superseded

A, B = "2026-11-26/1795654800000000000-rec1.seg", "2026-11-26/1795658400000000000-rec1.seg"


def name(prefix: str, start: tuple[str, int], end: tuple[str, int]) -> str:
    return RawRange(Position(*start), Position(*end)).file_name(prefix)


def test_a_name_carries_its_range_and_reads_back_as_the_same_positions() -> None:
    rng = RawRange(Position(A, 28), Position(B, 4096))
    assert rng.file_name(LIVE_PREFIX) == (
        "part-1795654800000000000-rec1-28-1795658400000000000-rec1-4096.parquet"
    )
    assert range_of(rng.file_name(HIST_PREFIX), {"1795654800000000000-rec1": A,
                                                 "1795658400000000000-rec1": B}) == rng  # fmt: skip
    assert range_of("open.parquet") is None


def test_files_inside_another_are_superseded_and_on_equal_ranges_the_hist_file_wins() -> None:
    parts = [name(LIVE_PREFIX, (A, lo), (A, hi)) for lo, hi in ((0, 10), (10, 20), (20, 35))]
    merged = name(LIVE_PREFIX, (A, 0), (A, 35))
    later = name(LIVE_PREFIX, (B, 0), (B, 5))
    hist = name(HIST_PREFIX, (A, 0), (A, 35))
    files = {**dict.fromkeys([*parts, merged, later], False), hist: True, "open.parquet": False}
    assert superseded(files) == {*parts, merged}
    assert superseded(dict.fromkeys([*parts, merged, later], False)) == set(parts)
    assert superseded(dict.fromkeys(parts, False)) == set()  # neighbours, none inside another


def test_covering_is_the_smallest_range_holding_them_all() -> None:
    ranges = [RawRange(Position(B, 3), Position(B, 9)), RawRange(Position(A, 5), Position(A, 7))]
    assert covering(ranges) == RawRange(Position(A, 5), Position(B, 9))
