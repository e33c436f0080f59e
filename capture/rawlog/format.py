"""The raw log's bytes: pure encoding and decoding of segment headers and records, no I/O.

A segment file is one header followed by records, all little-endian::

    header  MAGIC b"BTRAWSEG"   8 bytes
            version             u16   (= FORMAT_VERSION; readers take READABLE_VERSIONS)
            created_ns          i64   UTC ns the segment was opened
            id_len              u16
            recorder_id         id_len bytes of UTF-8, matching [A-Za-z0-9_.]{1,64}
            header_crc          u32   zlib.crc32 of every header byte before it

    record  marker b"\\xa5\\x5a"  2 bytes, to find the next record after damage
            length              u32   payload length, at most MAX_PAYLOAD
            crc                 u32   zlib.crc32 of everything after this field
            recv_ns             i64   UTC ns the recorder received the frame
            conn_id             u32   websocket session within the recorder
            kind                u8    a RecordKind
            payload             length bytes

FRAME_RECV payloads are the websocket message exactly as received (not necessarily UTF-8);
EVENT and STATE payloads are UTF-8 JSON objects; REST_RECV payloads (format version 2 on) are
a REST response as received, after a line naming the request (:mod:`capture.rawlog.rest`).
This layer only sees bytes. Version 2 added the REST_RECV kind and nothing else, so a version
1 segment reads as it always did; a writer never appends to a segment of another version.
Offsets are byte offsets into the uncompressed segment; ``segment`` is the segment's
identity, its path relative to raw/ without ``.zst``
(``"2026-11-26/1764115200000000000-rec1.seg"``).
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum

from capture.errors import CorruptRecord

MAGIC = b"BTRAWSEG"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
RECORD_MARKER = b"\xa5\x5a"
MAX_PAYLOAD = 16 * 1024 * 1024
RECORDER_ID_PATTERN = r"[A-Za-z0-9_.]{1,64}"

_RECORDER_ID_RE = re.compile(RECORDER_ID_PATTERN)
_HEADER_FIXED = struct.Struct("<8sHqH")  # magic, version, created_ns, id_len
_HEADER_CRC = struct.Struct("<I")
_RECORD_PREFIX = struct.Struct("<2sII")  # marker, length, crc
_RECORD_FIELDS = struct.Struct("<qIB")  # recv_ns, conn_id, kind
RECORD_OVERHEAD = _RECORD_PREFIX.size + _RECORD_FIELDS.size
HEADER_MAX = _HEADER_FIXED.size + 64 + _HEADER_CRC.size  # with the longest recorder id
_I64 = (-(2**63), 2**63 - 1)
_U32_MAX = 2**32 - 1


class RecordKind(IntEnum):
    FRAME_RECV = 1
    FRAME_SENT = 2
    EVENT = 3
    STATE = 4
    REST_RECV = 5  # a REST response (a book snapshot), format version 2 on


_KINDS = {int(kind): kind for kind in RecordKind}


@dataclass(frozen=True, slots=True)
class Position:
    """Where to resume reading: the next record starts at ``offset`` of ``segment``."""

    segment: str
    offset: int


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One decoded record and where its first byte sits, for lineage."""

    segment: str
    offset: int
    recv_ns: int
    conn_id: int
    kind: RecordKind
    payload: bytes

    @property
    def end(self) -> Position:
        return Position(self.segment, self.offset + RECORD_OVERHEAD + len(self.payload))


@dataclass(frozen=True, slots=True)
class CorruptRegion:
    """Bytes the reader could not decode: reported with their position, never skipped."""

    segment: str
    offset: int
    data: bytes
    reason: str

    @property
    def end(self) -> Position:
        return Position(self.segment, self.offset + len(self.data))


@dataclass(slots=True)
class RecordRun:
    """Consecutive records of one segment, column by column: the reader's bulk form.

    A bulk consumer (the normalizer) reads the columns without building an object per
    record; :meth:`records` gives the same :class:`RawRecord` items one at a time.
    """

    segment: str
    offsets: list[int] = field(default_factory=list)
    recv_ns: list[int] = field(default_factory=list)
    conn_ids: list[int] = field(default_factory=list)
    kinds: list[RecordKind] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.offsets)

    @property
    def end(self) -> Position:
        """Where the record after the last one starts; the run must not be empty."""
        return Position(self.segment, self.offsets[-1] + RECORD_OVERHEAD + len(self.payloads[-1]))

    def record(self, i: int) -> RawRecord:
        return RawRecord(
            self.segment,
            self.offsets[i],
            self.recv_ns[i],
            self.conn_ids[i],
            self.kinds[i],
            self.payloads[i],
        )

    def records(self) -> Iterator[RawRecord]:
        return map(self.record, range(len(self.offsets)))

    def slice(self, start: int, stop: int) -> RecordRun:
        return RecordRun(
            self.segment,
            self.offsets[start:stop],
            self.recv_ns[start:stop],
            self.conn_ids[start:stop],
            self.kinds[start:stop],
            self.payloads[start:stop],
        )


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    version: int
    created_ns: int
    recorder_id: str
    size: int  # bytes, so the first record starts here


def check_recorder_id(recorder_id: str) -> str:
    """Return ``recorder_id`` if it can be part of a segment file name.

    Raises:
        ValueError: it does not match ``[A-Za-z0-9_.]{1,64}``.
    """
    if not _RECORDER_ID_RE.fullmatch(recorder_id):
        raise ValueError(
            f"recorder_id {recorder_id!r} must be 1 to 64 of A-Z, a-z, 0-9, '_' or '.'"
        )
    return recorder_id


def encode_header(recorder_id: str, created_ns: int) -> bytes:
    """The header that opens every segment, so a file says who wrote it and when.

    Raises:
        ValueError: a bad recorder id, or created_ns outside i64.
    """
    rid = check_recorder_id(recorder_id).encode()
    if not _I64[0] <= created_ns <= _I64[1]:
        raise ValueError(f"created_ns {created_ns} does not fit in i64")
    head = _HEADER_FIXED.pack(MAGIC, FORMAT_VERSION, created_ns, len(rid)) + rid
    return head + _HEADER_CRC.pack(zlib.crc32(head))


def decode_header(data: bytes | bytearray, segment: str) -> SegmentHeader | None:
    """Decode the header at the start of ``data``; None if ``data`` is only a prefix of one.

    Raises:
        CorruptRecord: bad magic, CRC, version or recorder id (offset 0 of ``segment``).
    """
    if not MAGIC.startswith(bytes(data[: len(MAGIC)])):
        raise CorruptRecord(segment, 0, "bad segment magic")
    if len(data) < _HEADER_FIXED.size:
        return None
    _, version, created_ns, id_len = _HEADER_FIXED.unpack_from(data)
    size = _HEADER_FIXED.size + id_len + _HEADER_CRC.size
    if len(data) < size:
        return None
    (crc,) = _HEADER_CRC.unpack_from(data, size - _HEADER_CRC.size)
    if zlib.crc32(data[: size - _HEADER_CRC.size]) != crc:
        raise CorruptRecord(segment, 0, "segment header CRC mismatch")
    if version not in READABLE_VERSIONS:
        raise CorruptRecord(segment, 0, f"unsupported segment format version {version}")
    raw_id = bytes(data[_HEADER_FIXED.size : size - _HEADER_CRC.size])
    recorder_id = raw_id.decode("utf-8", errors="replace")
    if not _RECORDER_ID_RE.fullmatch(recorder_id):
        raise CorruptRecord(segment, 0, f"bad recorder id {raw_id!r} in header")
    return SegmentHeader(version, created_ns, recorder_id, size)


def encode_record(recv_ns: int, conn_id: int, kind: RecordKind, payload: bytes) -> bytes:
    """One record, ready for a single write so it reaches the OS whole or not at all.

    Raises:
        ValueError: a field out of range, or a payload larger than MAX_PAYLOAD.
    """
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if not _I64[0] <= recv_ns <= _I64[1]:
        raise ValueError(f"recv_ns {recv_ns} does not fit in i64")
    if not 0 <= conn_id <= _U32_MAX:
        raise ValueError(f"conn_id {conn_id} does not fit in u32")
    return record_head(recv_ns, conn_id, RecordKind(kind), payload) + payload


def record_head(recv_ns: int, conn_id: int, kind: RecordKind, payload: bytes) -> bytes:
    """The bytes of a record before its payload (marker, length, CRC, fields): written with
    the payload in one ``writev``, so the payload is never copied. Checks nothing: call
    :func:`encode_record` for checked input, or check as it does."""
    fields = _RECORD_FIELDS.pack(recv_ns, conn_id, kind)
    crc = zlib.crc32(payload, zlib.crc32(fields))
    return _RECORD_PREFIX.pack(RECORD_MARKER, len(payload), crc) + fields


def decode_record(
    data: bytes | bytearray, pos: int, segment: str, base: int = 0
) -> RawRecord | None:
    """Decode the record starting at ``data[pos]``; None if ``data`` ends inside it.

    ``base`` is the segment offset of ``data[0]``, so a reader can decode from a window of a
    large file and still report true offsets. A None means "a plausible record that is not all
    here yet": more bytes may complete it, or it is a torn tail.

    Raises:
        CorruptRecord: bad marker, length over MAX_PAYLOAD, CRC mismatch or unknown kind.
    """
    run = RecordRun(segment)
    decode_records(data, pos, run, base, limit=1)
    return run.record(0) if run.offsets else None


def decode_records(
    data: bytes | bytearray, pos: int, run: RecordRun, base: int = 0, limit: int = -1
) -> int:
    """Append the records from ``data[pos]`` on to ``run``; return where decoding stopped.

    It stops at the end of ``data``, at a record ``data`` ends inside (see
    :func:`decode_record`), or after ``limit`` records (-1: no limit). One loop without an
    object per record, as the normalizer reads a million records a minute through it.

    Raises:
        CorruptRecord: at the first bad record (``offset`` says where); the good records
            before it are already in ``run``.
    """
    size, segment = len(data), run.segment
    prefix, fields, kinds = _RECORD_PREFIX.unpack_from, _RECORD_FIELDS.unpack_from, _KINDS
    body_at, payload_at = _RECORD_PREFIX.size, RECORD_OVERHEAD
    add_offset, add_recv_ns, add_conn_id = (
        run.offsets.append,
        run.recv_ns.append,
        run.conn_ids.append,
    )
    add_kind, add_payload = run.kinds.append, run.payloads.append
    with memoryview(data) as view:
        while limit != 0:
            if size - pos < body_at:
                if not RECORD_MARKER.startswith(bytes(view[pos : pos + len(RECORD_MARKER)])):
                    raise CorruptRecord(segment, base + pos, "bad record marker")
                break
            marker, length, crc = prefix(view, pos)
            if marker != RECORD_MARKER:
                raise CorruptRecord(segment, base + pos, "bad record marker")
            if length > MAX_PAYLOAD:
                raise CorruptRecord(
                    segment, base + pos, f"record length {length} exceeds {MAX_PAYLOAD}"
                )
            stop = pos + payload_at + length
            if stop > size:
                break
            if zlib.crc32(view[pos + body_at : stop]) != crc:
                raise CorruptRecord(segment, base + pos, "record CRC mismatch")
            recv_ns, conn_id, kind = fields(view, pos + body_at)
            record_kind = kinds.get(kind)
            if record_kind is None:
                raise CorruptRecord(segment, base + pos, f"unknown record kind {kind}")
            add_offset(base + pos)
            add_recv_ns(recv_ns)
            add_conn_id(conn_id)
            add_kind(record_kind)
            add_payload(bytes(view[pos + payload_at : stop]))
            pos = stop
            limit -= 1
    return pos
