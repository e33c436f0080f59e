"""Interim raw log with the agreed API of branch ``rawlog`` (replaced when that branch merges).

The normalizer is being built in parallel with the real raw log; this module implements the
published contract (``RawLogWriter``, ``read_records``, ``list_segments``, ``Position``,
``RawRecord``, ``CorruptRegion``) just well enough for the normalizer, its tests and its
benchmark to run on real files. On merge, take the ``rawlog`` branch's version of this file.

Format: a header (magic, recorder id) then records ``<len u32><crc u32><recv_ns i64><conn i32>
<kind u8><payload>``, the CRC covering everything after it.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from capture.clock import Clock, seoul_hour_key

MAGIC = b"BTRAWLG1"
_RECORD = struct.Struct("<IIqiB")
_BODY = struct.Struct("<qiB")


class RecordKind(IntEnum):
    FRAME_RECV = 1
    FRAME_SENT = 2
    EVENT = 3
    STATE = 4


@dataclass(frozen=True, slots=True, order=True)
class Position:
    segment: str
    offset: int


@dataclass(frozen=True, slots=True)
class RawRecord:
    segment: str
    offset: int
    recv_ns: int
    conn_id: int
    kind: RecordKind
    payload: bytes

    @property
    def end(self) -> Position:
        return Position(self.segment, self.offset + _RECORD.size + len(self.payload))


@dataclass(frozen=True, slots=True)
class CorruptRegion:
    segment: str
    offset: int
    data: bytes
    reason: str

    @property
    def end(self) -> Position:
        return Position(self.segment, self.offset + len(self.data))


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    segment: str
    path: Path
    size: int


def _header(recorder_id: str) -> bytes:
    rid = recorder_id.encode()
    return MAGIC + struct.pack("<H", len(rid)) + rid


class RawLogWriter:
    """Append records to hourly segments; each new segment starts with ``state_records()``."""

    def __init__(
        self,
        raw_dir: Path,
        recorder_id: str,
        *,
        clock: Clock,
        fsync_interval_s: float = 1.0,
        state_records: Callable[[], Iterable[tuple[int, bytes]]] = lambda: [],
        seal_in_background: bool = True,
    ) -> None:
        self._raw_dir, self._recorder_id, self._clock = Path(raw_dir), recorder_id, clock
        self._state_records = state_records
        self._file: object = None
        self._key: tuple[object, int] | None = None
        self._segment = ""
        self._size = 0

    def append(
        self, kind: RecordKind, conn_id: int, payload: bytes, recv_ns: int | None = None
    ) -> Position:
        recv_ns = self._clock.now_ns() if recv_ns is None else recv_ns
        if seoul_hour_key(recv_ns) != self._key:
            self._rotate(recv_ns)
        return self._write(kind, conn_id, payload, recv_ns)

    def _rotate(self, recv_ns: int) -> None:
        self.close()
        self._key = seoul_hour_key(recv_ns)
        date = self._key[0].isoformat()
        self._segment = f"{date}/{recv_ns:019d}-{self._recorder_id}.seg"
        path = self._raw_dir / self._segment
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # noqa: SIM115 - held open across appends
        header = _header(self._recorder_id)
        self._file.write(header)  # type: ignore[attr-defined]
        self._size = len(header)
        for conn_id, payload in self._state_records():
            self._write(RecordKind.STATE, conn_id, payload, recv_ns)

    def _write(self, kind: RecordKind, conn_id: int, payload: bytes, recv_ns: int) -> Position:
        body = _BODY.pack(recv_ns, conn_id, kind) + payload
        record = struct.pack("<II", len(payload), zlib.crc32(body)) + body
        self._file.write(record)  # type: ignore[attr-defined]
        self._file.flush()  # type: ignore[attr-defined]
        offset, self._size = self._size, self._size + len(record)
        return Position(self._segment, offset)

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()  # type: ignore[attr-defined]
            os.fsync(self._file.fileno())  # type: ignore[attr-defined]
            self._file.close()  # type: ignore[attr-defined]
            self._file = None


def list_segments(raw_dir: Path) -> list[SegmentInfo]:
    """Every segment in reading order (date directory, then open time)."""
    raw_dir = Path(raw_dir)
    paths = sorted(raw_dir.glob("*/*.seg"))
    return [
        SegmentInfo(p.relative_to(raw_dir).as_posix(), p, p.stat().st_size) for p in paths
    ]


def read_records(
    raw_dir: Path, start: Position | None = None
) -> Iterator[RawRecord | CorruptRegion]:
    """Records from ``start`` on, across segments, up to the last complete record."""
    for info in list_segments(raw_dir):
        if start is not None and info.segment < start.segment:
            continue
        data = info.path.read_bytes()
        if not data.startswith(MAGIC):
            yield CorruptRegion(info.segment, 0, data, "segment header has no magic")
            continue
        header_end = len(MAGIC) + 2 + struct.unpack_from("<H", data, len(MAGIC))[0]
        offset = header_end
        if start is not None and info.segment == start.segment:
            offset = max(offset, start.offset)
        yield from _records(info.segment, data, offset)


def _records(segment: str, data: bytes, offset: int) -> Iterator[RawRecord | CorruptRegion]:
    size, unpack = len(data), _RECORD.unpack_from
    while offset + _RECORD.size <= size:
        length, crc, recv_ns, conn_id, kind = unpack(data, offset)
        end = offset + _RECORD.size + length
        if end > size:
            return
        if zlib.crc32(data[offset + 8 : end]) != crc or kind not in (1, 2, 3, 4):
            yield CorruptRegion(segment, offset, data[offset:end], "CRC mismatch")
        else:
            payload = data[offset + _RECORD.size : end]
            yield RawRecord(segment, offset, recv_ns, conn_id, RecordKind(kind), payload)
        offset = end
