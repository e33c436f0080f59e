"""A captured Seoul day read back from raw/, as the frames and gaps a replay sends: streamed,
in receive order, decrypted, each frame split once into its records' ISINs.

Each recorder's segments are read in order with the AES keys in force for each connection
(:class:`capture.rawlog.KeyTracker`, the normalizer's rule too), and the recorders' streams
are merged by receive time, so memory stays flat over a whole day whatever its size. A frame
is replayed as it arrived: the original text, or, for an encrypted one, its plaintext payload
to encrypt again with the replay session's key. What cannot be replayed as a data frame (a
malformed frame, an encrypted one without its key) is counted in :attr:`RecordedDay.skipped`,
not sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from capture.clock import SEOUL
from capture.errors import BadEvent, ConfigError, DecryptError, MalformedFrame
from capture.kis import LAYOUTS, ControlResponse, Pair, aes, classify, split_data_frame
from capture.rawlog import (
    CorruptRegion,
    KeyTracker,
    RecordKind,
    SegmentInfo,
    events,
    list_segments,
    read_segment_runs,
    require_recorded,
    segments_holding,
)

_ISIN_INDEX = {tr_id: layout.columns.index("isin") for tr_id, layout in LAYOUTS.items()}
_WIDTH = {tr_id: layout.width for tr_id, layout in LAYOUTS.items()}


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One data frame as received: ``text`` exactly, ``payload`` its plaintext records."""

    recv_ns: int
    tr_id: str
    encrypted: bool
    text: str
    payload: str
    isins: tuple[str, ...]  # one per record, in frame order

    def message(self, key_iv: tuple[str, str] | None) -> str:
        """The frame to send: as recorded, encrypted again with ``key_iv`` if it was."""
        if not self.encrypted:
            return self.text
        if key_iv is None:
            raise DecryptError(f"no key/iv to encrypt a {self.tr_id} frame with")
        return f"1|{self.tr_id}|{len(self.isins):03d}|{aes.encrypt(self.payload, *key_iv)}"

    def only(self, isins: frozenset[str]) -> RecordedFrame:
        """The frame cut to the records of ``isins`` (self when it holds no other), for a
        client subscribed to some of a multi-record frame's ISINs."""
        keep = [i for i, isin in enumerate(self.isins) if isin in isins]
        if len(keep) == len(self.isins):
            return self
        width = _WIDTH[self.tr_id]
        fields = self.payload.split("^")
        payload = "^".join("^".join(fields[i * width : (i + 1) * width]) for i in keep)
        kept = tuple(self.isins[i] for i in keep)
        flag = "1" if self.encrypted else "0"
        text = f"{flag}|{self.tr_id}|{len(kept):03d}|{payload}"
        return RecordedFrame(self.recv_ns, self.tr_id, self.encrypted, text, payload, kept)


@dataclass(frozen=True, slots=True)
class RecordedGap:
    """A gap the recorder opened: its feed of ``pair`` was lost at ``recv_ns``."""

    recv_ns: int
    pair: Pair


RecordedItem = RecordedFrame | RecordedGap


@dataclass(frozen=True, slots=True)
class DayWindow:
    """Which part of a day to replay: a Seoul date, optional wall-clock bounds, ISINs.

    Raises:
        ConfigError: ``end`` not after ``start``.
    """

    date: dt.date
    start: dt.time | None = None
    end: dt.time | None = None
    isins: frozenset[str] | None = None  # None: all

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ConfigError("--end", self.end.isoformat(), "must be after --start")

    def bounds_ns(self) -> tuple[int, int]:
        """[first, last) receive times of the window, UTC nanoseconds."""

        def at(time: dt.time) -> int:
            instant = dt.datetime.combine(self.date, time, SEOUL)
            return int(instant.timestamp()) * 1_000_000_000 + instant.microsecond * 1_000

        first = at(self.start) if self.start else at(dt.time())
        last = at(self.end) if self.end else at(dt.time()) + 86_400 * 1_000_000_000
        return first, last


@dataclass(slots=True)
class RecordedDay:
    """The replayable items of a day's window; iterate it as many times as needed (``--loop``)."""

    raw_dir: Path
    window: DayWindow
    skipped: int = 0  # data frames that could not be replayed, over every pass
    _segments: list[list[SegmentInfo]] = field(default_factory=list)  # per recorder
    _last_of: dict[str, str] = field(default_factory=dict)  # recorder -> its last segment

    def __post_init__(self) -> None:
        """Raises: ConfigError: raw holds nothing received on the day."""
        listed = list_segments(self.raw_dir)
        holding = segments_holding(listed, self.window.date)
        by_recorder: dict[str, list[SegmentInfo]] = {}
        for info in holding:
            by_recorder.setdefault(info.recorder_id, []).append(info)
        self._segments = list(by_recorder.values())
        self._last_of = {info.recorder_id: info.name for info in listed}
        require_recorded(self.raw_dir, listed, self.window.date)

    def __iter__(self) -> Iterator[RecordedItem]:
        streams = [self._stream(segments) for segments in self._segments]
        return heapq.merge(*streams, key=_recv_ns)

    def _stream(self, segments: Sequence[SegmentInfo]) -> Iterator[RecordedItem]:
        """One recorder's items of the window, in its write order."""
        first, last = self.window.bounds_ns()
        keys = KeyTracker()
        for info in segments:
            final = self._last_of[info.recorder_id] == info.name
            for run in read_segment_runs(info, final=final):
                if isinstance(run, CorruptRegion):
                    continue
                rows = zip(run.recv_ns, run.conn_ids, run.kinds, run.payloads, strict=True)
                for recv_ns, conn_id, kind, payload in rows:
                    if kind is RecordKind.FRAME_RECV and payload[:2] in (b"0|", b"1|"):
                        if first <= recv_ns < last:
                            frame = self._frame(recv_ns, payload, keys.of(conn_id))
                            if frame is not None:
                                yield frame
                    elif kind is RecordKind.EVENT:
                        event = _event(payload)
                        if event is not None:
                            keys.event(event)
                        gap = _gap(recv_ns, event) if first <= recv_ns < last else None
                        if gap is not None and self._wanted(gap.pair[1]):
                            yield gap
                    else:
                        _follow(keys, kind, conn_id, payload)

    def _wanted(self, isin: str) -> bool:
        return self.window.isins is None or isin in self.window.isins

    def _frame(
        self, recv_ns: int, payload: bytes, keys: Mapping[str, tuple[str, str]]
    ) -> RecordedFrame | None:
        try:
            text = payload.decode("utf-8")
            frame = split_data_frame(text)
            width, index = _WIDTH[frame.tr_id], _ISIN_INDEX[frame.tr_id]
            plain = aes.decrypt(frame.payload, *keys[frame.tr_id]) if frame.encrypted else None
        except (UnicodeDecodeError, MalformedFrame, KeyError, DecryptError):
            self.skipped += 1
            return None
        body = frame.payload if plain is None else plain
        fields = body.split("^")
        if len(fields) != frame.count * width:
            self.skipped += 1
            return None
        isins = tuple(fields[i * width + index] for i in range(frame.count))
        recorded = RecordedFrame(recv_ns, frame.tr_id, frame.encrypted, text, body, isins)
        wanted = self.window.isins
        if wanted is None:
            return recorded
        if wanted.isdisjoint(isins):
            return None
        return recorded.only(wanted)


def _follow(keys: KeyTracker, kind: RecordKind, conn_id: int, payload: bytes) -> None:
    """A STATE record or a control response, to the keys in force; one that cannot be read
    puts nothing in force."""
    if kind is RecordKind.STATE:
        with contextlib.suppress(BadEvent):
            keys.state(events.read_state(payload))
    elif kind is RecordKind.FRAME_RECV:
        with contextlib.suppress(MalformedFrame):
            message = classify(payload)
            if isinstance(message, ControlResponse):
                keys.answer(conn_id, message)


def _event(payload: bytes) -> events.Event | events.OtherEvent | None:
    try:
        return events.read_event(payload)
    except BadEvent:
        return None


def _gap(recv_ns: int, event: events.Event | events.OtherEvent | None) -> RecordedGap | None:
    return RecordedGap(recv_ns, event.pair) if isinstance(event, events.GapOpen) else None


def _recv_ns(item: RecordedItem) -> int:
    return item.recv_ns
