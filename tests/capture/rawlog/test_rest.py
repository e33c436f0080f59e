"""The REST_RECV payload round-trips exactly, keeps any body bytes verbatim, and any bytes
read as a REST response or a documented BadEvent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capture.errors import BadEvent
from capture.rawlog.rest import RestResponse, encode_rest, read_rest

BOOK = RestResponse(
    method="GET",
    path="/uapi/domestic-bond/v1/quotations/inquire-asking-price",
    query="FID_COND_MRKT_DIV_CODE=B&FID_INPUT_ISCD=KR103502GD31",
    tr_id="FHKBJ773401C0",
    isin="KR103502GD31",
    status=200,
    sent_ns=1795654800000000000,
    body=b'{"rt_cd": "0"}',
)


@given(st.binary())
def test_any_body_bytes_come_back_verbatim_newlines_and_invalid_utf8_included(body: bytes) -> None:
    response = RestResponse(**{**{f: getattr(BOOK, f) for f in BOOK.__slots__}, "body": body})
    assert read_rest(encode_rest(response)) == response


def test_the_request_line_is_one_line_of_compact_json_before_the_body() -> None:
    line, _, body = encode_rest(BOOK).partition(b"\n")
    assert line.startswith(b'{"method":"GET","path":"/uapi/') and b"\n" not in line
    assert body == BOOK.body


@pytest.mark.parametrize(
    "payload",
    [b"no newline", b"not json\n{}", b"[1]\n", b'{"method":"GET"}\n',
     encode_rest(BOOK).replace(b'"status":200', b'"status":"200"'),
     encode_rest(BOOK).replace(b'"status":200', b'"status":true'),
     encode_rest(BOOK).replace(b'"method"', b'"verb"')],
)  # fmt: skip
def test_a_payload_not_in_the_shape_written_is_a_bad_event(payload: bytes) -> None:
    with pytest.raises(BadEvent):
        read_rest(payload)


@given(st.binary())
def test_any_bytes_read_as_a_response_or_a_bad_event(payload: bytes) -> None:
    try:
        found = read_rest(payload)
    except BadEvent as exc:
        assert exc.reason.startswith("REST record")
    else:
        assert found.body == payload.partition(b"\n")[2]
