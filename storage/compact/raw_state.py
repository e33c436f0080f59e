"""What raw says about a Seoul day: can more of its records still arrive, and has the
normalizer read all of them. Compaction asks this before it closes a day.

A day's records live in the segments :func:`capture.rawlog.segments_holding` names (the day's
own and each recorder's first segment after it). The day is **closed** when none of those is
open (a recorder is not appending to it) and the normalizer's checkpoint is past all of them.
Which segment is open: a writer holds ``raw/.lock`` while it writes; the recorder's
``status.json`` says which segment; without a live status every recorder's latest segment
counts as open, to be safe.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from capture.clock import Clock
from capture.rawlog import (
    Position,
    SegmentInfo,
    list_segments,
    read_runs,
    segments_holding,
    writers_held_off,
)
from capture.recorder import STATUS_NAME, is_live, read_status


@dataclass(frozen=True, slots=True)
class RawState:
    """A snapshot of raw/ and of how far the normalizer has read it."""

    raw_dir: Path
    segments: tuple[SegmentInfo, ...]
    open_segments: frozenset[str]  # identities a writer may still append to
    checkpoint: Position | None

    def day_segments(self, day: dt.date) -> list[SegmentInfo]:
        return segments_holding(self.segments, day)

    def writing(self, day: dt.date) -> list[str]:
        """The open segments that can still receive ``day``'s records."""
        return [s.name for s in self.day_segments(day) if s.name in self.open_segments]

    def normalized(self, day: dt.date) -> bool:
        """Whether the normalizer has read every record of every segment holding ``day``."""
        holding = self.day_segments(day)
        if not holding:
            return True
        if self.checkpoint is None:
            return False
        last = holding[-1].name
        if self.checkpoint.segment > last:
            return True
        # At or before the last one: done only if nothing is left to read in it.
        ahead = next(iter(read_runs(self.raw_dir, self.checkpoint)), None)
        return ahead is None or ahead.segment > last

    def closed(self, day: dt.date) -> bool:
        return not self.writing(day) and self.normalized(day)


def read_raw_state(data_dir: Path, checkpoint: Position | None, clock: Clock) -> RawState:
    """Snapshot ``data_dir/raw``; ``checkpoint`` is the normalizer's."""
    raw_dir = data_dir / "raw"
    segments = tuple(list_segments(raw_dir)) if raw_dir.is_dir() else ()
    return RawState(raw_dir, segments, _open_segments(data_dir, segments, clock), checkpoint)


def _open_segments(
    data_dir: Path, segments: tuple[SegmentInfo, ...], clock: Clock
) -> frozenset[str]:
    raw_dir = data_dir / "raw"
    if not raw_dir.is_dir():
        return frozenset()
    with writers_held_off(raw_dir) as free:
        if free:
            return frozenset()
    status = read_status(data_dir / STATUS_NAME)
    if status is not None and is_live(status, clock.now_ns()):
        segment = (status.get("writer") or {}).get("segment")
        if isinstance(segment, str):
            return frozenset({segment})
    latest: dict[str, str] = {}
    for info in segments:
        latest[info.recorder_id] = info.name
    return frozenset(latest.values())
