"""KIS's REST book snapshot, 장내채권현재가(호가), as pure functions: no sockets, no clocks
(docs/kis-protocol.md, "The REST book snapshot").

Client side (the recorder): the access-token request, the book request's query and headers,
and the classification of an answer into "a book" or "why not". Like the websocket side, the
recorder only classifies: it never reads the book's values (design invariant 3). Server side
(the simulator): the answer's ``output`` built from an H0BJASP0 record, and the bodies.
:data:`BOOK_OUTPUT` pairs each ``output`` field with the ``quotes`` column it carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from capture.kis.layouts import ORDER_BOOK

TOKEN_PATH = "/oauth2/tokenP"
BOOK_PATH = "/uapi/domestic-bond/v1/quotations/inquire-asking-price"
BOOK_TR_ID = "FHKBJ773401C0"
MARKET_CODE = "B"  # FID_COND_MRKT_DIV_CODE: bonds
OK_CODE = "0"
TOKEN_INVALID = "EGW00121"
TOKEN_EXPIRED = "EGW00123"
TOKEN_REFUSED = frozenset({TOKEN_INVALID, TOKEN_EXPIRED})
RATE_EXCEEDED = "EGW00201"  # 초당 거래건수를 초과하였습니다: more requests a second than allowed
TOKEN_TOO_SOON = "EGW00133"  # tokenP asked again within a minute

_LEVELS = range(1, 6)
BOOK_OUTPUT: tuple[tuple[str, str], ...] = (
    ("aspr_acpt_hour", "exch_time"),
    *((f"bond_askp{n}", f"ask_price_{n}") for n in _LEVELS),
    *((f"bond_bidp{n}", f"bid_price_{n}") for n in _LEVELS),
    *((f"askp_rsqn{n}", f"ask_qty_{n}") for n in _LEVELS),
    *((f"bidp_rsqn{n}", f"bid_qty_{n}") for n in _LEVELS),
    ("total_askp_rsqn", "total_ask_qty"),
    ("total_bidp_rsqn", "total_bid_qty"),
    ("ntby_aspr_rsqn", "net_bid_qty"),  # no quotes column: total_bid_qty - total_ask_qty
    *((f"seln_ernn_rate{n}", f"ask_yield_{n}") for n in _LEVELS),
    *((f"shnu_ernn_rate{n}", f"bid_yield_{n}") for n in _LEVELS),
)
"""The ``output`` fields in the order KIS's sample lists them, each with its column."""


def token_request(app_key: str, app_secret: str) -> bytes:
    """The body of ``POST /oauth2/tokenP`` (the secret's field is ``appsecret`` here)."""
    body = {"grant_type": "client_credentials", "appkey": app_key, "appsecret": app_secret}
    return json.dumps(body).encode()


def read_token(answer: object) -> tuple[str, float] | None:
    """(access token, seconds it lasts) from a tokenP answer; None if it has no token."""
    if not isinstance(answer, dict):
        return None
    token, expires_in = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(token, str) or not token:
        return None
    lasts = expires_in if isinstance(expires_in, int | float) and expires_in > 0 else 86_400
    return token, float(lasts)


def book_query(isin: str) -> str:
    """The query string of a book request for ``isin``."""
    return urlencode([("FID_COND_MRKT_DIV_CODE", MARKET_CODE), ("FID_INPUT_ISCD", isin)])


def book_headers(token: str, app_key: str, app_secret: str, custtype: str) -> dict[str, str]:
    """The headers of a book request: secrets all, so never logged nor recorded."""
    return {
        "content-type": "application/json; charset=utf-8",
        "authorization": f"Bearer {token}",
        "appkey": app_key,
        "appsecret": app_secret,
        "tr_id": BOOK_TR_ID,
        "tr_cont": "",
        "custtype": custtype,
    }


@dataclass(frozen=True, slots=True)
class BookAnswer:
    """What a book answer says: ``ok`` a book is in ``output``; else KIS's code and message
    (``msg_cd`` empty for an answer that is not KIS's JSON at all)."""

    ok: bool
    msg_cd: str
    msg1: str

    @property
    def token_refused(self) -> bool:
        return self.msg_cd in TOKEN_REFUSED


def classify_book_answer(status: int, body: bytes) -> BookAnswer:
    """Tell a book from a refusal, by the HTTP status and ``rt_cd``/``msg_cd`` only."""
    try:
        answer = json.loads(body)
    except ValueError:
        return BookAnswer(False, "", f"HTTP {status}, a body that is not JSON")
    if not isinstance(answer, dict):
        return BookAnswer(False, "", f"HTTP {status}, a body that is not a JSON object")
    msg_cd, msg1 = str(answer.get("msg_cd", "")), str(answer.get("msg1", ""))
    ok = status == 200 and answer.get("rt_cd") == OK_CODE and isinstance(answer.get("output"), dict)
    return BookAnswer(ok, msg_cd, msg1 if msg_cd or msg1 else f"HTTP {status}")


def book_output(record: list[str]) -> dict[str, str]:
    """The ``output`` of a book answer for one H0BJASP0 record (its fields in wire order)."""
    values = dict(zip(ORDER_BOOK.columns, record, strict=True))
    values["net_bid_qty"] = str(int(values["total_bid_qty"]) - int(values["total_ask_qty"]))
    return {field: values[column] for field, column in BOOK_OUTPUT}


def answer_body(output: dict[str, str] | None, msg_cd: str, msg1: str) -> bytes:
    """A REST answer's body as KIS shapes it: ``rt_cd`` "0" with ``output``, or "1" without."""
    body: dict[str, object] = {"rt_cd": OK_CODE if output is not None else "1",
                               "msg_cd": msg_cd, "msg1": msg1}  # fmt: skip
    if output is not None:
        body["output"] = output
    return json.dumps(body, ensure_ascii=False).encode()
