"""The KIS real-time websocket protocol as pure functions: no sockets, no clocks.

Client side: subscribe messages, and the classification of every server message into a
:class:`DataFrame`, a :class:`ControlResponse` or a :class:`Ping`. Server side (the simulator
and replay server): the exact inverse builders. docs/kis-protocol.md is the specification; each
builder round-trips through its parser in the tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from capture.errors import BadRequest, DecryptError, MalformedFrame
from capture.kis import aes
from capture.kis.layouts import LAYOUTS

RECORD_COUNT = "0*[0-9]{1,6}"
"""A data frame's record count as the feed writes it (zero-padded: ``001``), at most six
significant digits, more than a 16 MiB message can carry. The recorder, the normalizer and
the report read it by this one pattern, so none calls a frame good that another rejects."""

PINGPONG = "PINGPONG"
REGISTER = "1"
UNREGISTER = "2"
CUSTTYPES = frozenset({"P", "B"})

REGISTRATIONS_PER_SESSION = 41
"""KIS allows 41 (TR, ISIN) registrations per websocket session, one session per app key."""

Pair = tuple[str, str]
"""One registration: (tr_id, isin), the ISIN being the request's ``tr_key``."""


class Outcome(StrEnum):
    """What a control response means for the subscription it answers."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    RETRY_LATER = "retry_later"
    LIMIT_REACHED = "limit_reached"
    BAD_APPROVAL_KEY = "bad_approval_key"
    KEY_IN_USE = "key_in_use"
    MALFORMED_REQUEST = "malformed_request"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class MessageCode:
    rt_cd: str
    msg1: str
    outcome: Outcome


MESSAGE_CODES: dict[str, MessageCode] = {
    "OPSP0000": MessageCode("0", "SUBSCRIBE SUCCESS", Outcome.SUBSCRIBED),
    "OPSP0001": MessageCode("0", "UNSUBSCRIBE SUCCESS", Outcome.UNSUBSCRIBED),
    # rt_cd "1", yet the subscription is in force: a success for the client.
    "OPSP0002": MessageCode("1", "ALREADY IN SUBSCRIBE", Outcome.SUBSCRIBED),
    "OPSP0003": MessageCode("1", "UNSUBSCRIBE ERROR(not found!)", Outcome.NOT_SUBSCRIBED),
    "OPSP0007": MessageCode("1", "SUBSCRIBE INTERNAL ERROR", Outcome.RETRY_LATER),
    "OPSP0008": MessageCode("1", "MAX SUBSCRIBE OVER", Outcome.LIMIT_REACHED),
    "OPSP0011": MessageCode("1", "invalid approval : NOT FOUND", Outcome.BAD_APPROVAL_KEY),
    "OPSP8996": MessageCode("1", "ALREADY IN USE appkey", Outcome.KEY_IN_USE),
    "OPSP8991": MessageCode("1", "invalid tr_id", Outcome.MALFORMED_REQUEST),
    "OPSP8992": MessageCode("1", "invalid tr_key", Outcome.MALFORMED_REQUEST),
    "OPSP8997": MessageCode("1", "JSON PARSING ERROR", Outcome.MALFORMED_REQUEST),
    "OPSP8998": MessageCode("1", "invalid custtype or tr_type", Outcome.MALFORMED_REQUEST),
}


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    approval_key: str
    custtype: str
    tr_type: str
    tr_id: str
    tr_key: str

    @property
    def register(self) -> bool:
        return self.tr_type == REGISTER


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A server's JSON answer to a subscribe/unsubscribe request."""

    tr_id: str
    tr_key: str
    rt_cd: str
    msg_cd: str
    msg1: str
    outcome: Outcome
    encrypt: str = "N"
    key: str | None = None
    iv: str | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    """A PINGPONG keep-alive; ``text`` is the exact message, to be answered verbatim."""

    text: str
    datetime: str


@dataclass(frozen=True, slots=True)
class DataFrame:
    """``E|TR_ID|NNN|payload`` split once; records are not split until :func:`split_records`."""

    encrypted: bool
    tr_id: str
    count: int
    payload: str


ServerMessage = DataFrame | ControlResponse | Ping


# --- client -> server -------------------------------------------------------------------


def subscription_request(
    approval_key: str, custtype: str, tr_id: str, tr_key: str, *, register: bool = True
) -> str:
    """The text frame that registers (or unregisters) one (TR, ISIN) on a session."""
    return json.dumps(
        {
            "header": {
                "approval_key": approval_key,
                "custtype": custtype,
                "tr_type": REGISTER if register else UNREGISTER,
                "content-type": "utf-8",
            },
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        },
        separators=(",", ":"),
    )


def parse_subscription_request(text: str | bytes) -> SubscriptionRequest:
    """Read a client's subscribe message as a KIS server does.

    Raises:
        BadRequest: with the OPSP code KIS answers: 8997 not JSON of the right shape,
            8998 bad custtype or tr_type, 8991 unknown tr_id, 8992 empty or malformed tr_key.
    """
    try:
        message = json.loads(text)
        header, body_input = message["header"], message["body"]["input"]
        approval_key, custtype = str(header["approval_key"]), str(header["custtype"])
        tr_type, tr_id = str(header["tr_type"]), str(body_input["tr_id"])
        tr_key = str(body_input["tr_key"])
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise BadRequest("OPSP8997", f"not a subscribe message: {exc!r}") from exc
    if custtype not in CUSTTYPES or tr_type not in (REGISTER, UNREGISTER):
        raise BadRequest("OPSP8998", f"custtype {custtype!r} / tr_type {tr_type!r}")
    if tr_id not in LAYOUTS:
        raise BadRequest("OPSP8991", f"unknown tr_id {tr_id!r}")
    if len(tr_key) != 12 or not tr_key.isascii() or not tr_key.isalnum():
        raise BadRequest("OPSP8992", f"tr_key {tr_key!r} is not a 12-character code")
    return SubscriptionRequest(approval_key, custtype, tr_type, tr_id, tr_key)


def is_data_frame(message: bytes) -> bool:
    """Cheap test the recorder uses on raw bytes: data frames start with ``0|`` or ``1|``."""
    return message[:2] in (b"0|", b"1|")


# --- server -> client -------------------------------------------------------------------


def classify(message: str | bytes) -> ServerMessage:
    """Classify one server text message.

    Raises:
        MalformedFrame: not UTF-8, JSON that is not a ping or control response, or (anything
            else is taken for a data frame) a malformed data frame header.
    """
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedFrame(f"not UTF-8: {exc}") from exc
    if not message.startswith("{"):
        return split_data_frame(message)
    try:
        obj = json.loads(message)
        header = obj["header"]
        tr_id = header["tr_id"]
    except (ValueError, TypeError, KeyError, RecursionError) as exc:  # deep nesting: Recursion
        raise MalformedFrame(f"neither a data frame nor a KIS JSON message: {exc!r}") from exc
    if tr_id == PINGPONG:
        return Ping(text=message, datetime=str(header.get("datetime", "")))
    return _control_response(obj)


def _control_response(obj: dict) -> ControlResponse:
    try:
        header, body = obj["header"], obj["body"]
        msg_cd = str(body["msg_cd"])
        output = body.get("output") or {}
        known = MESSAGE_CODES.get(msg_cd)
        return ControlResponse(
            tr_id=str(header["tr_id"]),
            tr_key=str(header.get("tr_key", "")),
            rt_cd=str(body["rt_cd"]),
            msg_cd=msg_cd,
            msg1=str(body.get("msg1", "")),
            outcome=known.outcome if known else Outcome.UNKNOWN,
            encrypt=str(header.get("encrypt", "N")),
            key=output.get("key"),
            iv=output.get("iv"),
        )
    except (TypeError, KeyError, AttributeError) as exc:
        raise MalformedFrame(f"control response without {exc!r}") from exc


def split_data_frame(message: str) -> DataFrame:
    """Split ``E|TR_ID|NNN|payload`` (at most 3 splits: the payload may hold anything).

    Raises:
        MalformedFrame: a bad encryption flag, an empty TR ID, a record count that is not a
            positive number, or a missing payload.
    """
    parts = message.split("|", 3)
    if len(parts) != 4:
        raise MalformedFrame(f"data frame has {len(parts)} of 4 '|'-separated parts")
    flag, tr_id, count_text, payload = parts
    if flag not in ("0", "1"):
        raise MalformedFrame(f"encryption flag {flag!r} is not 0 or 1")
    if not tr_id:
        raise MalformedFrame("empty TR ID")
    if not re.fullmatch(RECORD_COUNT, count_text) or int(count_text) == 0:
        raise MalformedFrame(f"record count {count_text!r} is not a positive number")
    return DataFrame(flag == "1", tr_id, int(count_text), payload)


def split_records(frame: DataFrame, key_iv: tuple[str, str] | None = None) -> list[list[str]]:
    """The records of a data frame, each a list of exact field strings in wire order.

    ``key_iv`` is the (key, iv) in force for the frame's TR, needed when it is encrypted.

    Raises:
        MalformedFrame: unknown TR, or a field count that is not count x the TR's width.
        DecryptError: an encrypted frame without key/iv, or one that does not decrypt.
    """
    layout = LAYOUTS.get(frame.tr_id)
    if layout is None:
        raise MalformedFrame(f"unknown TR {frame.tr_id!r}")
    payload = frame.payload
    if frame.encrypted:
        if key_iv is None:
            raise DecryptError(f"encrypted {frame.tr_id} frame but no key/iv in force")
        payload = aes.decrypt(payload, *key_iv)
    fields = payload.split("^")
    if len(fields) != frame.count * layout.width:
        raise MalformedFrame(
            f"{frame.tr_id} frame says {frame.count} records of {layout.width} fields, "
            f"payload has {len(fields)} fields"
        )
    return [fields[i : i + layout.width] for i in range(0, len(fields), layout.width)]


def control_response(
    tr_id: str, tr_key: str, msg_cd: str, *, key: str | None = None, iv: str | None = None
) -> str:
    """A KIS control response; ``key``/``iv`` go into ``output`` (success acks only)."""
    code = MESSAGE_CODES[msg_cd]
    body: dict[str, object] = {"rt_cd": code.rt_cd, "msg_cd": msg_cd, "msg1": code.msg1}
    if key is not None and iv is not None:
        body["output"] = {"iv": iv, "key": key}
    return json.dumps(
        {"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body},
        separators=(",", ":"),
    )


def ping_message(datetime: str) -> str:
    """The server's keep-alive, ``datetime`` as ``YYYYMMDDHHMMSS``."""
    return json.dumps({"header": {"tr_id": PINGPONG, "datetime": datetime}}, separators=(",", ":"))


def data_frame(
    tr_id: str, records: Sequence[Sequence[str]], *, key_iv: tuple[str, str] | None = None
) -> str:
    """Build ``E|TR_ID|NNN|payload``; encrypted with ``key_iv`` when given.

    Raises:
        ValueError: no records, or a field containing ``^`` or ``|``.
    """
    if not records:
        raise ValueError("a data frame carries at least one record")
    fields = [field for record in records for field in record]
    if any("^" in f or "|" in f for f in fields):
        raise ValueError("a field value cannot contain '^' or '|'")
    payload = "^".join(fields)
    if key_iv is not None:
        payload = aes.encrypt(payload, *key_iv)
    return f"{'1' if key_iv else '0'}|{tr_id}|{len(records):03d}|{payload}"
