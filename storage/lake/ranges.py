"""The raw range a lake file holds, written into its name: how the tiers stay consistent.

Every lake file that holds rows is named for the raw positions it came from::

    part-<first segment stem>-<first offset>-<end segment stem>-<end offset>.parquet   live
    data-<first segment stem>-<first offset>-<end segment stem>-<end offset>.parquet   hist

(a stem is ``<open_ns>-<recorder_id>``, as in ``1795654800000000000-rec1``). Ranges are
half-open and ordered as the normalizer reads raw. One rule then keeps every view exact at
every instant, whatever a compaction was doing when it stopped: **in one partition, a file
whose range lies inside another file's range is superseded** (on equal ranges the hist file
wins). A compaction writes its merged file first and deletes its sources after; until they go,
the merged file supersedes them. A batch normalized after a compaction starts where the
normalizer's checkpoint was, past every range compacted, so it is never hidden. The rule is
applied here only: each commit (storage/lake/manifest.py) lists the files it keeps, and the
catalog reads those.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from capture.rawlog import Position

LIVE_PREFIX, HIST_PREFIX = "part", "data"
OPEN_GAPS_FILE = "open.parquet"  # the gaps still open: rewritten by every batch, named for no range
_STEM = r"\d{19}-[A-Za-z0-9_.]{1,64}"
_NAME = re.compile(rf"(part|data)-({_STEM})-(\d+)-({_STEM})-(\d+)\.parquet")
_SEGMENT_SUFFIX = ".seg"


@dataclass(frozen=True, slots=True)
class RawRange:
    """Raw positions ``[start, end)``, compared in read order."""

    start: Position
    end: Position

    def sort_key(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return _key(self.start), _key(self.end)

    def contains(self, other: RawRange) -> bool:
        return _key(self.start) <= _key(other.start) and _key(other.end) <= _key(self.end)

    def file_name(self, prefix: str) -> str:
        """``<prefix>-<start stem>-<offset>-<end stem>-<offset>.parquet``."""
        a, b = PurePosixPath(self.start.segment).stem, PurePosixPath(self.end.segment).stem
        return f"{prefix}-{a}-{self.start.offset}-{b}-{self.end.offset}.parquet"

    def as_text(self) -> str:
        return f"{self.start.segment}:{self.start.offset}-{self.end.segment}:{self.end.offset}"


def range_of(name: str, segment_of_stem: dict[str, str] | None = None) -> RawRange | None:
    """The range a file name carries, or None for a file that carries none (``open.parquet``).

    Positions name a segment by its stem plus ``.seg`` (the date folder is not in file names);
    that sorts as segment identities do, since the stem starts with the fixed-width open time.
    ``segment_of_stem`` maps stems to full identities when the caller knows them.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    known = segment_of_stem or {}
    a, b = match[2], match[4]
    return RawRange(
        Position(known.get(a, a + _SEGMENT_SUFFIX), int(match[3])),
        Position(known.get(b, b + _SEGMENT_SUFFIX), int(match[5])),
    )


def covering(ranges: Iterable[RawRange]) -> RawRange:
    """The smallest range containing them all (a merged file's name).

    Raises:
        ValueError: no range given.
    """
    items = list(ranges)
    if not items:
        raise ValueError("a merged file covers at least one range")
    return RawRange(min((r.start for r in items), key=_key), max((r.end for r in items), key=_key))


def superseded(names: dict[str, bool]) -> set[str]:
    """Of the file names of one partition (name -> is a hist file), those another file's
    range contains; files without a range are never superseded.

    One sort and a sweep: in order of start, longest first and hist before live on equal
    ranges, a file is inside an earlier one exactly when an earlier one ends at or after it.
    """
    ranged = [
        (_key(r.start), _key(r.end), hist, name)
        for name, hist in names.items()
        if (r := range_of(name)) is not None
    ]
    ranged.sort(key=lambda f: not f[2])  # stable sorts, the last one first in rank
    ranged.sort(key=lambda f: f[1], reverse=True)
    ranged.sort(key=lambda f: f[0])
    gone: set[str] = set()
    furthest: tuple[str, int] | None = None
    for _, end, _, name in ranged:
        if furthest is not None and end <= furthest:
            gone.add(name)
        else:
            furthest = end
    return gone


def _key(position: Position) -> tuple[str, int]:
    """Read order of a position, using the segment's name (date folders sort the same way)."""
    return position.segment.rsplit("/", 1)[-1], position.offset
