"""Sealing closed segments from outside the writer: compaction asks for it once a day is
closed, and the raw log keeps the rule of when that is safe.

A segment is sealed only while no writer can open one: every writer's lock on ``raw_dir`` is
held for the whole of it, so a recorder that starts meanwhile is refused (its supervisor
retries) rather than continuing a segment being sealed. While a writer runs, nothing is
sealed here: the writer seals what it rotates away from itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from capture.rawlog.reader import SegmentInfo
from capture.rawlog.seal import seal_segment
from capture.rawlog.writer import writers_held_off


def seal_closed(raw_dir: Path, segments: Iterable[SegmentInfo]) -> int:
    """Seal the plain ones of ``segments`` (a closed day's: no writer appends to them again),
    writers held off meanwhile; how many were sealed (0 while a writer runs).

    Raises:
        RawLogError: a segment cannot be sealed (the plain file is then left in place).
    """
    plain = {info.name: info for info in segments if not info.sealed}
    if not plain:
        return 0
    with writers_held_off(raw_dir) as held:
        if not held:
            return 0
        for info in plain.values():
            seal_segment(info.path)
    return len(plain)
