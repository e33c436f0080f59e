"""Finding and reading raw segments: the layout under raw/, listing, the reader and verify.

Layout: ``raw/YYYY-MM-DD/{open_ns:019d}-{recorder_id}.seg`` (the Asia/Seoul date of
``open_ns``), and ``... .seg.zst`` once sealed. Identity strings sort in read order because
the date and ``open_ns`` are fixed width.

The reader never skips bytes silently: whatever it cannot decode comes out as a
:class:`CorruptRegion` covering exactly the bytes up to the next record whose CRC checks out.
The one exception is the tail of the final segment, which a live writer may be appending to:
a prefix of a plausible record there is "not yet", so reading stops before it and a later call
from the returned position picks it up.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from capture.clock import seoul_date
from capture.errors import ConfigError, CorruptRecord
from capture.rawlog.format import (
    RECORD_MARKER,
    RECORDER_ID_PATTERN,
    CorruptRegion,
    Position,
    RawRecord,
    RecordRun,
    decode_header,
    decode_record,
    decode_records,
)
from capture.rawlog.seal import SEALED_SUFFIX, open_sealed, sealed_path

log = logging.getLogger(__name__)

PLAIN_SUFFIX = ".seg"
_CHUNK = 1 << 20
_DATE_DIR_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME_RE = re.compile(rf"(\d{{19}})-({RECORDER_ID_PATTERN})\.seg")

Item = RawRecord | CorruptRegion
RunItem = RecordRun | CorruptRegion


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    name: str  # identity: relative POSIX path without .zst
    path: Path  # the file to read: the .zst when one exists
    sealed: bool
    size_bytes: int  # on disk (compressed size when sealed)
    open_ns: int
    recorder_id: str


def segment_identity(open_ns: int, recorder_id: str) -> str:
    """The name a segment keeps for life, in positions and lineage, sealed or not."""
    return f"{seoul_date(open_ns).isoformat()}/{open_ns:019d}-{recorder_id}{PLAIN_SUFFIX}"


def parse_segment_path(raw_dir: Path, path: Path) -> tuple[str, int, str] | None:
    """(identity, open_ns, recorder_id) of a segment file, or None if it is not one."""
    name = path.name.removesuffix(SEALED_SUFFIX)
    match = _NAME_RE.fullmatch(name)
    if match is None or not _DATE_DIR_RE.fullmatch(path.parent.name):
        return None
    if path.parent.parent != raw_dir:
        return None
    return f"{path.parent.name}/{name}", int(match[1]), match[2]


def list_segments(raw_dir: Path) -> list[SegmentInfo]:
    """Every segment under ``raw_dir`` once, in read order.

    A segment present both plain and sealed (a crash during sealing) is listed once, as the
    sealed file, which was verified complete before it got its name. Files that look like
    segments but do not parse are logged, not read.
    """
    found: dict[str, SegmentInfo] = {}
    for path in sorted(raw_dir.glob(f"*/*{PLAIN_SUFFIX}*")):
        sealed = path.name.endswith(PLAIN_SUFFIX + SEALED_SUFFIX)
        if not (sealed or path.name.endswith(PLAIN_SUFFIX)):
            continue  # e.g. a .zst.tmp left by an interrupted seal
        parsed = parse_segment_path(raw_dir, path)
        if parsed is None:
            log.warning("ignoring %s: not a segment name", path)
            continue
        identity, open_ns, recorder_id = parsed
        if identity in found and not sealed:
            continue
        found[identity] = SegmentInfo(
            identity, path, sealed, path.stat().st_size, open_ns, recorder_id
        )
    return [found[name] for name in sorted(found)]


def segments_holding(segments: Sequence[SegmentInfo], day: dt.date) -> list[SegmentInfo]:
    """The segments that can hold records received on the Seoul ``day``, in read order.

    Those named for ``day``, and each recorder's first segment named after it: the writer
    only rotates forward, so a record whose receive time was taken just before midnight (or
    under a clock stepped back) can land in the next day's first segment, never later (an
    hourly rotation needs a later receive time). Whatever works per day (rebuild, compaction,
    the report) reads these, not the day's folder alone.
    """
    name = day.isoformat()
    firsts_after: dict[str, SegmentInfo] = {}
    for info in segments:
        if info.name[:10] > name:
            firsts_after.setdefault(info.recorder_id, info)
    chosen = [s for s in segments if s.name[:10] == name] + list(firsts_after.values())
    return sorted(chosen, key=lambda s: s.name)


def recorded_on(segments: Sequence[SegmentInfo], day: dt.date) -> bool:
    """Whether a segment was opened on the Seoul ``day``: a recorder running that day opens
    one, so a day without one recorded nothing (a straggler in the next day's first segment
    alone does not make a recorded day)."""
    name = day.isoformat()
    return any(info.name[:10] == name for info in segments)


def require_recorded(raw_dir: Path, segments: Sequence[SegmentInfo], day: dt.date) -> None:
    """For commands given ``--date``: a day with nothing recorded is a mistake to name.

    Raises:
        ConfigError: no segment was opened on ``day``; the message lists the latest days
            that were recorded.
    """
    if recorded_on(segments, day):
        return
    days = sorted({info.name[:10] for info in segments})
    known = f"the days recorded are {', '.join(days[-5:])}" if days else "raw is empty"
    raise ConfigError(
        "--date", day.isoformat(), f"nothing was recorded that day in {raw_dir} ({known})"
    )


def read_records(raw_dir: Path, start: Position | None = None) -> Iterator[Item]:
    """Every record from ``start`` (None: the beginning) in order, and every corrupt region.

    Stops at the last complete record of the final segment; resume from the ``end`` of the
    last item returned.

    Raises:
        OSError: a segment cannot be opened (removed while reading, permissions).
    """
    for item in read_runs(raw_dir, start):
        if isinstance(item, RecordRun):
            yield from item.records()
        else:
            yield item


def read_runs(raw_dir: Path, start: Position | None = None) -> Iterator[RunItem]:
    """As :func:`read_records`, with consecutive good records grouped in column-wise runs.

    For bulk readers: no object per record. Runs never cross a segment; their lengths
    depend on read sizes, so count records, not runs.

    Raises:
        OSError: a segment cannot be opened (removed while reading, permissions).
    """
    segments = list_segments(raw_dir)
    for index, info in enumerate(segments):
        offset = 0
        if start is not None:
            if info.name < start.segment:
                continue
            if info.name == start.segment:
                offset = start.offset
        final = index == len(segments) - 1
        with _open(info) as stream:
            yield from _scan_segment(stream, info.name, offset, final=final)


def read_segment_runs(info: SegmentInfo, *, final: bool) -> Iterator[RunItem]:
    """The items of one listed segment, as :func:`read_runs` gives them; ``final`` when a
    writer may still be appending to it (its torn tail is then not reported as corrupt).

    Raises:
        OSError: the segment cannot be opened.
    """
    with _open(info) as stream:
        yield from _scan_segment(stream, info.name, 0, final=final)


def verify(raw_dir: Path) -> list[CorruptRegion]:
    """Check every header and record CRC; the corrupt regions, with positions.

    Raises:
        OSError: a segment cannot be opened.
    """
    return [item for item in read_records(raw_dir) if isinstance(item, CorruptRegion)]


def scan_plain_segment(path: Path, segment: str) -> tuple[list[CorruptRegion], int]:
    """Read a plain segment as if it were the final one: (corrupt regions, end of good data).

    The writer uses this to find a torn tail: bytes past the returned end are a prefix of a
    record that was never completely written.

    Raises:
        OSError: the file cannot be read.
    """
    regions: list[CorruptRegion] = []
    with path.open("rb") as stream:
        scan = _scan_segment(stream, segment, 0, final=True)
        while True:
            try:
                item = next(scan)
            except StopIteration as stop:
                return regions, stop.value
            if isinstance(item, CorruptRegion):
                regions.append(item)


def _open(info: SegmentInfo) -> BinaryIO:
    """Open a listed segment; one listed plain may have been sealed since, so fall back."""
    if info.sealed:
        return open_sealed(info.path)
    try:
        return info.path.open("rb")
    except FileNotFoundError:
        return open_sealed(sealed_path(info.path))


class _Window:
    """A growing view of a segment stream, so records are decoded from memory, not per byte.

    ``data[0]`` is at segment offset ``base``. Bytes before ``mark`` are dropped lazily when
    more are read, which keeps the cost per record constant. ``error`` holds a decompression
    failure, after which the stream counts as ended.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = bytearray()
        self.base = 0
        self.mark = 0
        self.eof = False
        self.error: str | None = None

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def more(self) -> None:
        drop = min(self.mark - self.base, len(self.data))
        if drop > 0:
            del self.data[:drop]
            self.base += drop
        try:
            chunk = self.stream.read(_CHUNK)
        except zstandard.ZstdError as exc:
            self.error = f"compressed segment unreadable: {exc}"
            chunk = b""
        if chunk:
            self.data += chunk
        else:
            self.eof = True

    def skip_to(self, offset: int) -> None:
        """Let bytes before ``offset`` go; seek there if the stream can, else read through."""
        self.mark = offset
        if self.end < offset and self.stream.seekable():
            self.stream.seek(offset)
            self.data.clear()
            self.base = offset
        while self.end < offset and not self.eof:
            self.more()

    def slice(self, start: int, stop: int) -> bytes:
        return bytes(self.data[start - self.base : stop - self.base])

    def read_all(self) -> None:
        while not self.eof:
            self.more()


def _scan_segment(
    stream: BinaryIO, segment: str, start: int, *, final: bool
) -> Generator[RunItem, None, int]:
    """Yield the items of one segment from ``start``; return the offset reading stopped at."""
    window = _Window(stream)
    try:
        while (header := decode_header(window.data, segment)) is None and not window.eof:
            window.more()
    except CorruptRecord as exc:
        header, torn, reason = None, False, exc.reason
    else:
        torn, reason = True, window.error or "segment ends inside its header"
    if header is None:
        if final and torn and window.error is None:
            return start  # a writer is creating this segment right now
        window.read_all()
        window.skip_to(start)
        stop = max(start, window.end)
        yield CorruptRegion(segment, start, window.slice(start, stop), reason)
        return stop
    pos = max(start, header.size)
    window.skip_to(pos)
    while True:
        run, damage = RecordRun(segment), None
        try:
            pos = window.base + decode_records(window.data, pos - window.base, run, window.base)
        except CorruptRecord as exc:
            pos, damage = exc.offset, exc
        if run.offsets:
            yield run
        window.skip_to(pos)
        if damage is not None:
            torn, reason = False, damage.reason
        elif not window.eof:
            window.more()
            continue
        elif pos >= window.end:
            break
        else:
            torn, reason = True, "record runs past the end of the segment"
        pos, done = yield from _resync(window, segment, pos, reason, torn=torn, final=final)
        if done:
            break
        window.skip_to(pos)
    if window.error is not None:
        yield CorruptRegion(segment, pos, b"", window.error)
    return pos


def _resync(
    window: _Window, segment: str, pos: int, reason: str, *, torn: bool, final: bool
) -> Generator[RunItem, None, tuple[int, bool]]:
    """After damage at ``pos``, find the next record whose CRC checks out.

    Yields the region up to it and returns (its offset, False). If none follows, reports the
    rest and returns (end, True), except in the final segment, where a plausible record
    prefix (``torn`` at ``pos``, or a later marker) is a tail still being written: the region
    stops there and (its offset, True) is returned.
    """
    tail = pos if torn else None
    candidate = pos + 1
    while True:
        found = window.data.find(RECORD_MARKER, candidate - window.base)
        if found < 0:
            if window.eof:
                break
            candidate = max(candidate, window.end - len(RECORD_MARKER) + 1)
            window.more()
            continue
        candidate = window.base + found
        try:
            record = decode_record(window.data, found, segment, window.base)
        except CorruptRecord:
            candidate += 1
            continue
        if record is None and not window.eof:
            window.more()
            continue
        if record is not None:
            yield CorruptRegion(segment, pos, window.slice(pos, candidate), reason)
            return candidate, False
        tail = candidate if tail is None else tail
        candidate += 1
    live_tail = final and tail is not None and window.error is None
    stop = tail if live_tail and tail is not None else window.end
    if stop > pos:
        yield CorruptRegion(segment, pos, window.slice(pos, stop), reason)
    return stop, True
