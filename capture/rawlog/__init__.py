"""The raw log: every frame the recorder received, with its receive time, in append-only
segments that the whole lake is rebuilt from (design.md, "Raw log").

This package's public surface. The byte format is :mod:`capture.rawlog.format`; the writer,
:mod:`~capture.rawlog.writer` (the append path) over :mod:`~capture.rawlog.segments` (resume,
rotation, background seal) and :mod:`~capture.rawlog.flusher` (the fsync thread); listing and
reading, :mod:`~capture.rawlog.reader`; sealing, :mod:`~capture.rawlog.seal` (and, from
outside the writer, :mod:`~capture.rawlog.closed`); the key/iv in force,
:mod:`~capture.rawlog.keys`; the EVENT and STATE payloads, :mod:`~capture.rawlog.events`; the
REST_RECV payload, :mod:`~capture.rawlog.rest`. Readers (storage/) import the reader side from
here and never touch the writer: compaction asks :func:`seal_closed` to seal a closed day.
"""

from capture.rawlog import events, rest
from capture.rawlog.closed import seal_closed
from capture.rawlog.format import (
    FORMAT_VERSION,
    CorruptRegion,
    Position,
    RawRecord,
    RecordKind,
    RecordRun,
    check_recorder_id,
    decode_header,
    decode_record,
    encode_header,
    encode_record,
)
from capture.rawlog.keys import KeyTracker
from capture.rawlog.reader import (
    SegmentInfo,
    list_segments,
    read_records,
    read_runs,
    read_segment_runs,
    recorded_on,
    require_recorded,
    segments_holding,
    verify,
)
from capture.rawlog.seal import seal_segment
from capture.rawlog.writer import RawLogWriter, writers_held_off

__all__ = [
    "FORMAT_VERSION",
    "CorruptRegion",
    "KeyTracker",
    "Position",
    "RawLogWriter",
    "RawRecord",
    "RecordKind",
    "RecordRun",
    "SegmentInfo",
    "check_recorder_id",
    "decode_header",
    "decode_record",
    "encode_header",
    "encode_record",
    "events",
    "list_segments",
    "read_records",
    "read_runs",
    "read_segment_runs",
    "recorded_on",
    "require_recorded",
    "rest",
    "seal_closed",
    "seal_segment",
    "segments_holding",
    "verify",
    "writers_held_off",
]
