"""The raw writer on a real full disk (a small tmpfs): what a refused rotation leaves behind,
and what a full disk seen only at fsync means."""

from __future__ import annotations

import errno
import json
import os
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from capture.clock import ManualClock
from capture.errors import DiskFull, RawLogError
from capture.rawlog import RecordKind, list_segments, read_records, verify
from tests.support.full_disk import FsyncDisk, fill, mounted_small_disk
from tests.support.rawlog import records, seoul_ns, writer
from tests.support.recorder import wait_until

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


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_a_full_disk_seen_by_the_flusher_refuses_appends_until_an_fsync_succeeds_then_is_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    lost: list[tuple[int, int]] = []

    def gap_events(since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        lost.append((since_ns, until_ns))
        return [(0, GAP)]

    disk = FsyncDisk(monkeypatch)
    with writer(tmp_path, clock, fsync_interval_s=0.01, on_space_returned=gap_events) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"synced")
        synced_at, ok = clock.now_ns(), disk.succeeded
        wait_until(lambda: disk.succeeded >= ok + 2, 5, "an fsync covering the record")
        disk.failing = error
        wait_until(lambda: w.disk_full is not None, 5, "the flusher to see the disk full")
        assert "disk full" in str(w.disk_full)  # what status.json shows
        for _ in range(3):
            clock.advance(2.0)  # past the retry period, but no fsync has succeeded since
            with pytest.raises(DiskFull):
                w.append(RecordKind.FRAME_RECV, 1, b"refused")
        assert w.records_dropped == 3
        disk.failing = None
        ok = disk.succeeded
        wait_until(lambda: disk.succeeded >= ok + 2, 5, "the flusher to fsync again")
        w.append(RecordKind.FRAME_RECV, 1, b"space returned", recv_ns=synced_at + 99)
        assert w.disk_full is None
    assert [r.payload for r in records(read_records(tmp_path))] == [
        b"synced",
        b"space returned",
        GAP,
    ]
    assert lost == [(synced_at, synced_at + 99)]  # from the last record known on disk


def test_an_fsync_failing_for_any_other_reason_stops_appends_for_good(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 0, 0))
    disk = FsyncDisk(monkeypatch)
    with writer(tmp_path, clock, fsync_interval_s=0.01) as w:
        w.append(RecordKind.FRAME_RECV, 1, b"before")
        disk.failing = errno.EIO

        def refused_for_good() -> bool:
            try:
                w.append(RecordKind.FRAME_RECV, 1, b"after")
            except DiskFull:
                raise
            except RawLogError as exc:
                return "Input/output error" in str(exc)
            return False

        wait_until(refused_for_good, 5, "appends to fail after the I/O error")
        disk.failing = None
        clock.advance(60)
        assert refused_for_good()
        assert w.disk_full is None


@pytest.mark.parametrize("background", [False, True], ids=["sealed-here", "sealer-thread"])
def test_a_full_disk_at_the_fsync_of_a_rotated_segment_is_a_gap_from_its_last_synced_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, background: bool
) -> None:
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 59, 0))
    ten = seoul_ns(2026, 11, 26, 10, 0, 0)
    lost: list[tuple[int, int]] = []

    def gap_events(since_ns: int, until_ns: int) -> list[tuple[int, bytes]]:
        lost.append((since_ns, until_ns))
        return [(0, GAP)]

    disk = FsyncDisk(monkeypatch)
    w = writer(
        tmp_path,
        clock,
        fsync_interval_s=None,
        on_space_returned=gap_events,
        seal_in_background=background,
    )
    with w:
        first = w.append(RecordKind.FRAME_RECV, 1, b"synced")
        w.fsync()
        w.append(RecordKind.FRAME_RECV, 1, b"never synced", recv_ns=clock.now_ns() + 5)
        disk.failing = errno.ENOSPC
        rotated = w.append(RecordKind.FRAME_RECV, 1, b"first of ten", recv_ns=ten)
        wait_until(lambda: w.disk_full is not None, 5, "the episode")
        clock.advance(5)
        with pytest.raises(DiskFull):
            w.append(RecordKind.FRAME_RECV, 1, b"refused", recv_ns=ten + 1)
        disk.failing = None
        w.fsync()
        w.append(RecordKind.FRAME_RECV, 1, b"space returned", recv_ns=ten + 9)
        assert w.disk_full is None
    assert [(s.name, s.sealed) for s in list_segments(tmp_path)] == [
        (first.segment, False),  # kept plain: the next start repairs and seals it
        (rotated.segment, False),
    ]
    assert [r.payload for r in records(read_records(tmp_path))][-3:] == [
        b"first of ten",
        b"space returned",
        GAP,
    ]
    assert lost == [(seoul_ns(2026, 11, 26, 9, 59, 0), ten + 9)]  # from "synced"
