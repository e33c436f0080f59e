"""The raw writer on a real full disk (a small tmpfs): what a refused rotation leaves behind,
and what a full disk seen only at fsync means."""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from capture.clock import ManualClock
from capture.errors import DiskFull
from capture.rawlog import RecordKind, list_segments, read_records, verify
from tests.capture.rawlog.helpers import records, seoul_ns, writer
from tests.capture.rawlog.small_disk import fill, mounted_small_disk

GAP = b'{"type":"gap_close","reason":"disk full"}'


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_small_disk(tmp_path / "small", "1m") as mount:
        yield mount


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextmanager
def fd_limit(headroom: int) -> Iterator[None]:
    """RLIMIT_NOFILE lowered for the block so that only ``headroom`` more fds can open: a
    writer leaking an fd per retry meets EMFILE within it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    taken = {int(fd) for fd in os.listdir("/proc/self/fd")}
    free = [n for n in range(soft) if n not in taken][:headroom]
    resource.setrlimit(resource.RLIMIT_NOFILE, (free[-1] + 1, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (seoul_ns(2026, 11, 26, 9, 59, 0), seoul_ns(2026, 11, 26, 10, 0, 0)),
        (seoul_ns(2026, 11, 26, 23, 59, 0), seoul_ns(2026, 11, 27, 0, 0, 0)),
    ],
    ids=["hour", "midnight"],
)
def test_fifty_refused_rotations_leave_no_fd_and_no_segment_behind_then_the_next_one_opens(
    small_disk: Path, before: int, after: int
) -> None:
    raw, filler = small_disk / "raw", small_disk / "filler"
    clock = ManualClock(before)
    lost: list[tuple[int, int]] = []

    def gap_events(since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        lost.append((since_ns, until_ns))
        return [(0, GAP)]

    with writer(raw, clock, on_space_returned=gap_events) as w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"before the hour")
        fill(filler)
        clock.set_ns(after)
        fds = open_fds()
        with fd_limit(headroom=10):
            for _ in range(50):
                with pytest.raises(DiskFull):
                    w.append(RecordKind.FRAME_RECV, 1, b"lost")
                clock.advance(1.5)  # past the retry period: every append tries the disk
        assert open_fds() == fds, "an fd leaked per refused rotation"
        assert sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*")) == sorted(
            {".lock", first.segment, first.segment.split("/")[0]}
        ), "a refused rotation left a file or a directory behind"
        assert w.current_segment == first.segment
        filler.unlink()
        resumed = w.append(RecordKind.FRAME_RECV, 1, b"space returned")
    assert resumed.segment > first.segment
    assert [s.name for s in list_segments(raw)] == [first.segment, resumed.segment]
    assert verify(raw) == []  # no corrupt region anywhere
    got = records(read_records(raw))
    assert [(r.segment, r.payload) for r in got] == [
        (first.segment, b"before the hour"),
        (resumed.segment, b"space returned"),
        (resumed.segment, GAP),
    ]
    assert lost == [(before, got[1].recv_ns)]  # the gap: from the last record kept
    assert json.loads(got[2].payload)["reason"] == "disk full"
