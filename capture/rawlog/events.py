"""The EVENT and STATE payloads of the raw log: one dataclass per shape, encoded and read here.

The recorder writes them and storage/ reads them back, so the shapes are a contract defined
once: :func:`encode` turns an event into its exact JSON bytes, :func:`read_event` and
:func:`read_state` check a payload against the same definitions and raise
:class:`~capture.errors.BadEvent` for anything else (a reader turns that into a reject; it is
never a crash). Event types this module does not know are read as :class:`OtherEvent`, so an
older reader survives a newer writer.

Connection id 0 stands for the recorder itself (start, stop, restart gaps). Timestamps are
UTC nanoseconds. ``GapOpen.start_ns`` is the receive time of the last record known complete
before the gap; ``GapClose.end_ns`` that of the ack ending it (or the recorder's start, for a
gap of a pair no longer configured, with ``reason`` "unsubscribed").

Choices a reader can rely on:

- Gaps pair by (tr_id, isin): ``GapOpen.conn`` is the connection that was lost (0 for a
  "recorder restart" gap), ``GapClose.conn`` the new connection whose ack ended it.
- A PINGPONG stays in raw as the FRAME_RECV it arrived as (every frame is kept) and is also
  logged as a :class:`Ping` event saying how it was answered; it is never data.
- websocket control frames (ping, pong, close) are not FRAME_RECV records; a close frame's
  code and reason go into the :class:`Disconnect` event.
- A STATE record (:class:`State`) opens every segment, one per session: its live
  subscriptions and AES key/iv, and the gaps still open, so each segment decodes alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

from capture.errors import BadEvent
from capture.kis import Pair

RECORDER_CONN = 0
CONN_MAX = 2**32 - 1  # connection ids are u32 in the record header
NS_MAX = 2**63 - 1  # timestamps are i64 nanoseconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    TYPE: ClassVar[str] = "connect"
    conn: int
    url: str
    credential: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnect:
    TYPE: ClassVar[str] = "disconnect"
    conn: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _OfPair:
    """An event about one registration: (tr_id, isin) on connection ``conn``."""

    conn: int
    tr_id: str
    isin: str

    @property
    def pair(self) -> Pair:
        return (self.tr_id, self.isin)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Answer(_OfPair):
    """The server's answer to one registration, as the control response gave it."""

    msg_cd: str
    msg1: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubAck(_Answer):
    """OPSP0000 or OPSP0002: the registration is in force."""

    TYPE: ClassVar[str] = "sub_ack"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubError(_Answer):
    """Any other answer to a registration (retry later, bad key, refused...)."""

    TYPE: ClassVar[str] = "sub_error"


@dataclass(frozen=True, slots=True, kw_only=True)
class GapOpen(_OfPair):
    TYPE: ClassVar[str] = "gap_open"
    start_ns: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GapClose(_OfPair):
    """``reason`` only when no ack ended the gap (``unsubscribed``: the pair left the config)."""

    TYPE: ClassVar[str] = "gap_close"
    end_ns: int
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """A PINGPONG received and answered (``answer`` is ``pong`` or ``text``)."""

    TYPE: ClassVar[str] = "ping"
    conn: int
    datetime: str
    answer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderStart:
    TYPE: ClassVar[str] = "recorder_start"
    conn: int = RECORDER_CONN
    recorder_id: str
    pid: int
    previous_last_ns: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderStop:
    TYPE: ClassVar[str] = "recorder_stop"
    conn: int = RECORDER_CONN
    recorder_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TornTailTruncated:
    """Written by the raw writer when it cut a torn last record left by a killed run."""

    TYPE: ClassVar[str] = "torn_tail_truncated"
    segment: str
    offset: int
    bytes: int


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """An event type this reader does not know: kept, not interpreted."""

    type: str
    conn: int | None


Event = (
    Connect
    | Disconnect
    | SubAck
    | SubError
    | GapOpen
    | GapClose
    | Ping
    | RecorderStart
    | RecorderStop
    | TornTailTruncated
)
_KNOWN: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        Connect,
        Disconnect,
        SubAck,
        SubError,
        GapOpen,
        GapClose,
        Ping,
        RecorderStart,
        RecorderStop,
        TornTailTruncated,
    )
}
_OMITTED_WHEN_NONE = {GapClose: ("reason",)}


@dataclass(frozen=True, slots=True)
class State:
    """One session's state in force: its live connection's subscriptions and AES key/iv per
    TR, and the gaps still open (pair -> start), so a segment that begins while the session is
    down still says which gaps a restarted recorder must close."""

    conn: int
    subscriptions: tuple[Pair, ...] = ()
    aes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    open_gaps: Mapping[Pair, int] = field(default_factory=dict)


def encode(event: Event) -> bytes:
    """The exact JSON bytes of an EVENT record: ``type`` first, then the fields in order."""
    body: dict[str, object] = {"type": event.TYPE}
    omitted = _OMITTED_WHEN_NONE.get(type(event), ())
    for f in fields(event):
        value = getattr(event, f.name)
        if value is not None or f.name not in omitted:
            body[f.name] = value
    return _dump(body)


def encode_state(state: State) -> bytes:
    """The exact JSON bytes of a STATE record."""
    return _dump(
        {
            "conn": state.conn,
            "subscriptions": [list(pair) for pair in state.subscriptions],
            "aes": {tr_id: {"key": key, "iv": iv} for tr_id, (key, iv) in state.aes.items()},
            "open_gaps": [[tr_id, isin, start] for (tr_id, isin), start in state.open_gaps.items()],
        }
    )


def read_event(payload: bytes) -> Event | OtherEvent:
    """The event an EVENT payload holds.

    Raises:
        BadEvent: not a JSON object with a string ``type``, or a known type whose fields are
            missing, of the wrong type, or out of range (ids are u32, times i64 ns >= 0).
    """
    obj = _object(payload)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise BadEvent(f"event without a string 'type': {_short(payload)}")
    cls = _KNOWN.get(kind)
    if cls is None:
        conn = obj.get("conn")
        return OtherEvent(kind, _bounded(conn, "conn", CONN_MAX) if conn is not None else None)
    # Values present are checked first: a wrong value says more than a missing neighbour.
    values = {
        f.name: _typed(obj[f.name], f.name, str(f.type), kind) for f in fields(cls) if f.name in obj
    }
    missing = [f.name for f in fields(cls) if f.name not in obj and f.default is MISSING]
    if missing:
        raise BadEvent(f"{kind} event without '{missing[0]}'")
    return cls(**values)


def read_state(payload: bytes) -> State:
    """The state a STATE payload holds; missing lists and tables are empty.

    Raises:
        BadEvent: not a JSON object of the shape :func:`encode_state` writes.
    """
    obj = _object(payload)
    conn = _bounded(obj.get("conn"), "conn", CONN_MAX)
    subscriptions = tuple(_pair(item, "subscriptions") for item in _list(obj, "subscriptions"))
    aes_table = obj.get("aes", {})
    if not isinstance(aes_table, dict):
        raise BadEvent("state 'aes' is not a table")
    aes: dict[str, tuple[str, str]] = {}
    for tr_id, entry in aes_table.items():
        key = entry.get("key") if isinstance(entry, dict) else None
        iv = entry.get("iv") if isinstance(entry, dict) else None
        if not (isinstance(key, str) and isinstance(iv, str)):
            raise BadEvent(f"state 'aes' of {tr_id!r} is not {{key, iv}} strings")
        aes[tr_id] = (key, iv)
    open_gaps: dict[Pair, int] = {}
    for item in _list(obj, "open_gaps"):
        if not (isinstance(item, list) and len(item) == 3):
            raise BadEvent(f"state 'open_gaps' entry {item!r} is not [tr_id, isin, start_ns]")
        open_gaps[_pair(item[:2], "open_gaps")] = _bounded(item[2], "start_ns", NS_MAX)
    return State(conn, subscriptions, aes, open_gaps)


def _dump(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _object(payload: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadEvent(f"not JSON: {type(exc).__name__}: {_short(payload)}") from exc
    if not isinstance(obj, dict):
        raise BadEvent(f"not a JSON object: {_short(payload)}")
    return obj


def _typed(value: object, name: str, annotation: str, kind: str) -> object:
    """``value`` if it fits the field's annotation (``int``, ``str``, or ``... | None``)."""
    if value is None and annotation.endswith("| None"):
        return None
    if annotation.startswith("int"):
        return _bounded(value, name, CONN_MAX if name == "conn" else NS_MAX)
    if not isinstance(value, str):
        raise BadEvent(f"{kind} event '{name}' = {value!r} is not a string")
    return value


def _bounded(value: object, name: str, maximum: int) -> int:
    """A JSON integer in [0, maximum]; floats and booleans are not integers here."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise BadEvent(f"'{name}' = {value!r} is not an integer in [0, {maximum}]")
    return value


def _list(obj: dict[str, Any], name: str) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list):
        raise BadEvent(f"state '{name}' is not a list")
    return value


def _pair(item: object, name: str) -> Pair:
    if not (isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)):
        raise BadEvent(f"state '{name}' entry {item!r} is not [tr_id, isin]")
    return (item[0], item[1])


def _short(payload: bytes) -> str:
    return repr(payload[:60]) + ("..." if len(payload) > 60 else "")
