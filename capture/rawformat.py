"""The raw log's bytes: pure encoding and decoding of segment headers and records, no I/O.

A segment file is one header followed by records, all little-endian::

    header  MAGIC b"BTRAWSEG"   8 bytes
            version             u16   (= FORMAT_VERSION, 1)
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
EVENT and STATE payloads are UTF-8 JSON objects, but this layer only sees bytes. Offsets are
byte offsets into the uncompressed segment; ``segment`` is the segment's identity, its path
relative to raw/ without ``.zst`` (``"2026-11-26/1764115200000000000-rec1.seg"``).
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from capture.errors import CorruptRecord

MAGIC = b"BTRAWSEG"
FORMAT_VERSION = 1
RECORD_MARKER = b"\xa5\x5a"
MAX_PAYLOAD = 16 * 1024 * 1024
RECORDER_ID_PATTERN = r"[A-Za-z0-9_.]{1,64}"

_RECORDER_ID_RE = re.compile(RECORDER_ID_PATTERN)
_HEADER_FIXED = struct.Struct("<8sHqH")  # magic, version, created_ns, id_len
_HEADER_CRC = struct.Struct("<I")
_RECORD_PREFIX = struct.Struct("<2sII")  # marker, length, crc
_RECORD_FIELDS = struct.Struct("<qIB")  # recv_ns, conn_id, kind
RECORD_OVERHEAD = _RECORD_PREFIX.size + _RECORD_FIELDS.size
_I64 = (-(2**63), 2**63 - 1)
_U32_MAX = 2**32 - 1


class RecordKind(IntEnum):
    FRAME_RECV = 1
    FRAME_SENT = 2
    EVENT = 3
    STATE = 4


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
    if version != FORMAT_VERSION:
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
    body = _RECORD_FIELDS.pack(recv_ns, conn_id, RecordKind(kind)) + payload
    return _RECORD_PREFIX.pack(RECORD_MARKER, len(payload), zlib.crc32(body)) + body


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
    offset = base + pos
    available = len(data) - pos
    if not RECORD_MARKER.startswith(bytes(data[pos : pos + len(RECORD_MARKER)])):
        raise CorruptRecord(segment, offset, "bad record marker")
    if available < _RECORD_PREFIX.size:
        return None
    _, length, crc = _RECORD_PREFIX.unpack_from(data, pos)
    if length > MAX_PAYLOAD:
        raise CorruptRecord(segment, offset, f"record length {length} exceeds {MAX_PAYLOAD}")
    if available < RECORD_OVERHEAD + length:
        return None
    body_start = pos + _RECORD_PREFIX.size
    body = data[body_start : pos + RECORD_OVERHEAD + length]
    if zlib.crc32(body) != crc:
        raise CorruptRecord(segment, offset, "record CRC mismatch")
    recv_ns, conn_id, kind = _RECORD_FIELDS.unpack_from(body)
    try:
        record_kind = RecordKind(kind)
    except ValueError:
        raise CorruptRecord(segment, offset, f"unknown record kind {kind}") from None
    payload = bytes(body[_RECORD_FIELDS.size :])
    return RawRecord(segment, offset, recv_ns, conn_id, record_kind, payload)
