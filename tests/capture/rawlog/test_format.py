from __future__ import annotations

import contextlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.errors import CorruptRecord
from capture.rawlog.format import (
    MAX_PAYLOAD,
    RECORD_OVERHEAD,
    RecordKind,
    decode_header,
    decode_record,
    encode_header,
    encode_record,
)

i64 = st.integers(-(2**63), 2**63 - 1)
u32 = st.integers(0, 2**32 - 1)
kinds = st.sampled_from(RecordKind)
recorder_ids = st.from_regex(r"[A-Za-z0-9_.]{1,64}", fullmatch=True)


@given(recv_ns=i64, conn_id=u32, kind=kinds, payload=st.binary(max_size=2048))
def test_a_record_decodes_to_exactly_what_was_encoded(
    recv_ns: int, conn_id: int, kind: RecordKind, payload: bytes
) -> None:
    data = b"junk" + encode_record(recv_ns, conn_id, kind, payload)
    record = decode_record(data, 4, "seg", base=100)
    assert record is not None
    assert (record.recv_ns, record.conn_id, record.kind, record.payload) == (
        recv_ns,
        conn_id,
        kind,
        payload,
    )
    assert record.offset == 104
    assert record.end.offset == 104 + RECORD_OVERHEAD + len(payload)


@given(recorder_id=recorder_ids, created_ns=i64)
def test_a_header_decodes_to_exactly_what_was_encoded(recorder_id: str, created_ns: int) -> None:
    data = encode_header(recorder_id, created_ns)
    header = decode_header(data + b"records follow", "seg")
    assert header is not None
    assert (header.recorder_id, header.created_ns, header.size) == (
        recorder_id,
        created_ns,
        len(data),
    )
    for cut in range(len(data)):
        assert decode_header(data[:cut], "seg") is None


def test_a_header_of_format_version_1_still_decodes_and_a_later_one_is_refused() -> None:
    data = bytearray(encode_header("rec1", 7))
    for version, readable in ((1, True), (2, True), (3, False)):
        data[8:10] = version.to_bytes(2, "little")
        head = bytes(data[:-4]) + zlib.crc32(bytes(data[:-4])).to_bytes(4, "little")
        if readable:
            header = decode_header(head, "seg")
            assert header is not None and header.version == version
        else:
            with pytest.raises(CorruptRecord, match="unsupported segment format version 3"):
                decode_header(head, "seg")


@given(data=st.binary(max_size=64))
def test_any_bytes_decode_to_a_record_none_or_corrupt_record(data: bytes) -> None:
    try:
        decode_record(data, 0, "seg")
    except CorruptRecord as exc:
        assert exc.segment == "seg" and exc.offset == 0
    try:
        decode_header(data, "seg")
    except CorruptRecord as exc:
        assert exc.offset == 0


@given(data=st.binary(max_size=64))
def test_bytes_after_a_marker_decode_to_a_record_none_or_corrupt_record(data: bytes) -> None:
    with contextlib.suppress(CorruptRecord):
        decode_record(b"\xa5\x5a" + data, 0, "seg")


def test_every_proper_prefix_of_a_record_is_incomplete_not_corrupt() -> None:
    data = encode_record(1, 2, RecordKind.FRAME_RECV, b"0|H0BJASP0|001|KR1035027")
    for cut in range(len(data)):
        assert decode_record(data[:cut], 0, "seg") is None


def test_a_flipped_byte_anywhere_in_a_record_is_corrupt() -> None:
    data = encode_record(1, 2, RecordKind.EVENT, b'{"type":"connect"}')
    for index in range(len(data)):
        if 2 <= index < 6:
            continue  # a damaged length makes the record look longer or shorter, tested below
        damaged = bytearray(data)
        damaged[index] ^= 0x01
        with pytest.raises(CorruptRecord):
            decode_record(bytes(damaged), 0, "seg")


def test_payloads_over_16_mib_are_refused_and_such_lengths_are_corruption() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        encode_record(1, 1, RecordKind.FRAME_RECV, bytes(MAX_PAYLOAD + 1))
    header = bytearray(encode_record(1, 1, RecordKind.FRAME_RECV, b""))
    header[2:6] = (MAX_PAYLOAD + 1).to_bytes(4, "little")
    with pytest.raises(CorruptRecord, match="exceeds"):
        decode_record(bytes(header), 0, "seg")


@pytest.mark.parametrize("bad", ["", "a-b", "a/b", "x" * 65, "한글"])
def test_recorder_ids_that_cannot_be_part_of_a_file_name_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="recorder_id"):
        encode_header(bad, 0)


def test_out_of_range_fields_and_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError):
        encode_record(2**63, 1, RecordKind.EVENT, b"")
    with pytest.raises(ValueError):
        encode_record(1, -1, RecordKind.EVENT, b"")
    with pytest.raises(ValueError):
        encode_record(1, 1, 9, b"")  # type: ignore[arg-type]
