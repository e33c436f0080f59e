"""The REST_RECV payload of the raw log: a REST response exactly as received, after one line
that names the request (format version 2 on).

::

    {"method":"GET","path":"/uapi/domestic-bond/v1/quotations/inquire-asking-price",
     "query":"FID_COND_MRKT_DIV_CODE=B&FID_INPUT_ISCD=KR103502GD31","tr_id":"FHKBJ773401C0",
     "isin":"KR103502GD31","status":200,"sent_ns":1795654800000000000}
    <the response body, byte for byte>

The first line is compact JSON on one line (JSON escapes every newline inside a string); the
body is every byte after the first ``\\n``, whatever it is (not necessarily JSON, nor UTF-8),
so raw keeps what the server sent as the websocket frames are kept. No header of the request
or the response is kept: the request's carried the app key, the app secret and the access
token. The record's ``recv_ns`` is when the whole body had arrived; ``sent_ns`` when the
request went out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from capture.errors import BadEvent

_FIELDS = {"method": str, "path": str, "query": str, "tr_id": str, "isin": str,
           "status": int, "sent_ns": int}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class RestResponse:
    """One REST response as recorded: the request line's parts, the HTTP status, the body."""

    method: str
    path: str
    query: str
    tr_id: str
    isin: str
    status: int
    sent_ns: int
    body: bytes = field(repr=False)


def encode_rest(response: RestResponse) -> bytes:
    """The exact REST_RECV payload of ``response``."""
    line = {name: getattr(response, name) for name in _FIELDS}
    return json.dumps(line, separators=(",", ":")).encode() + b"\n" + response.body


def read_rest(payload: bytes) -> RestResponse:
    """Read a REST_RECV payload back.

    Raises:
        BadEvent: no first line, a first line that is not a JSON object of the fields above
            with their types, or an unknown field in it.
    """
    line, newline, body = payload.partition(b"\n")
    if not newline:
        raise BadEvent("REST record without its request line")
    try:
        fields = json.loads(line)
    except ValueError:
        raise BadEvent("REST record whose request line is not JSON") from None
    if not isinstance(fields, dict) or set(fields) != set(_FIELDS):
        raise BadEvent(f"REST record's request line must have exactly {sorted(_FIELDS)}")
    for name, kind in _FIELDS.items():
        value = fields[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BadEvent(f"REST record's {name} must be {kind.__name__}: {value!r}")
    return RestResponse(**fields, body=body)
