"""What the lake owes for the raw records of a Seoul day: the integrity report's second
implementation of the normalizer's rules, written from their definition (design.md, the KIS
frame format, the EVENT/STATE payloads), not from storage/normalize/demux.py or
storage/normalize/parser.py, so a mistake in one does not hide in both.

Per raw record, the entries (rows, or rejects) the lake must hold for it:

- FRAME_RECV whose bytes start ``0|`` or ``1|``, a data frame ``E|TR|NNN|payload``: it is
  well formed when it is UTF-8, TR is a known TR, NNN is a decimal number above 0, and the
  payload (of a ``1|`` frame, decrypted first with the key and iv in force for its connection
  and TR) has NNN x the TR's width ``^``-separated fields. A well-formed frame owes NNN
  entries: a record whose every field matches its kind's pattern (storage/schemas.py) is a
  row of its TR's table, in its ISIN's partition; any other record is a reject. A data frame
  that is not well formed owes one reject.
- Any other FRAME_RECV: a control response or a PINGPONG (as capture.kis.protocol.classify
  tells them) owes nothing; what classify refuses owes one reject. A subscribe ack that
  carries a key and iv puts them in force for its connection and TR.
- STATE: puts its AES table in force for its connection (replacing the connection's) and
  declares its gaps open. EVENT: gap_open opens the gap of its (TR, ISIN), gap_close closes
  it, and a gap_close with no gap open owes a reject. Either one that does not read owes a
  reject; otherwise they owe nothing, as FRAME_SENT records never do.
- REST_RECV (a REST book snapshot, raw format version 2 on) owes nothing for now: the lake
  does not hold snapshots yet, so the report counts them (``rest_responses``) and balances
  without them.
- A corrupt region owes one reject, dated by its segment's date (it has no receive time).

A record's entries belong to the Seoul date of its receive time; keys and gaps follow every
record read, whatever its date. The walk reads the segments that can hold the day's records
(:func:`capture.rawlog.segments_holding`), and every segment between them, from the first.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from capture.clock import seoul_date
from capture.errors import BadEvent, DecryptError, MalformedFrame, StorageError
from capture.kis import (
    LAYOUTS,
    RECORD_COUNT,
    ControlResponse,
    Kind,
    Layout,
    Outcome,
    Pair,
    aes,
    classify,
)
from capture.rawlog import (
    CorruptRegion,
    Position,
    RecordKind,
    events,
    list_segments,
    read_runs,
    segments_holding,
)
from storage.schemas import FEED_TABLES, KIND_TYPES, REJECTS

FEEDS = tuple(table.name for table in FEED_TABLES.values())
"""quotes and trades: the tables of rows, partitioned by ISIN."""
REJECTS_TABLE = REJECTS.name
_COUNT = re.compile(RECORD_COUNT)


class Category(StrEnum):
    """What a raw record is, for the report's count of the day's raw records."""

    DATA_FRAME = "data_frames"  # well formed: its records are rows or record rejects
    BAD_FRAME = "bad_frames"  # received, and one reject as a whole
    CONTROL = "control_frames"
    PING = "pings"
    SENT = "sent_frames"
    EVENT = "events"
    STATE = "states"
    REST = "rest_responses"  # book snapshots over REST: owe nothing until the lake holds them
    CORRUPT = "corrupt_regions"


class Entry(NamedTuple):
    """One row the lake owes: in ``table`` (quotes, trades or rejects), in the partition of
    ``isin`` (None for rejects, partitioned by date only); ``record_index`` within its frame,
    None for a reject of a whole record."""

    table: str
    isin: str | None
    record_index: int | None


@dataclass(frozen=True, slots=True)
class Accounting:
    """A raw record's category and entries; a data frame's table and the ISIN each of its
    records names (None where that field is no ISIN)."""

    category: Category
    entries: tuple[Entry, ...] = ()
    table: str | None = None
    isins: tuple[str | None, ...] = ()


_REJECT = (Entry(REJECTS_TABLE, None, None),)
_SENT, _CONTROL, _PING, _REST = (
    Accounting(c) for c in (Category.SENT, Category.CONTROL, Category.PING, Category.REST)
)
_BAD_FRAME = Accounting(Category.BAD_FRAME, _REJECT)
CORRUPT = Accounting(Category.CORRUPT, _REJECT)


@dataclass(frozen=True, slots=True)
class _Record:
    """A layout's record check: one pattern for a whole record (its fields joined by ``^``),
    each field's kind pattern in turn, free text as anything but ``^``; the ISIN captured."""

    layout: Layout
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, layout: Layout) -> _Record:
        parts = []
        for f in layout.fields:
            inner = KIND_TYPES[f.kind].pattern or "[^^]*"
            parts.append(f"(?P<isin>{inner})" if f.column == "isin" else f"(?:{inner})")
        return cls(layout, re.compile(r"\^".join(parts)))

    def isin(self, record: str) -> str | None:
        """The ISIN field of a record that failed the pattern, if it is shaped like one."""
        index = self.layout.columns.index("isin")
        fields = record.split("^", index + 1)
        return fields[index] if _ISIN.fullmatch(fields[index]) else None


_ISIN = re.compile(KIND_TYPES[Kind.ISIN].pattern or "")
_RECORDS = {tr_id: _Record.of(layout) for tr_id, layout in LAYOUTS.items()}


class Ledger:
    """Follows keys and gaps through the raw records in read order; :meth:`account` says
    what each one owes. Pure: it never reads a file."""

    def __init__(self) -> None:
        self._keys: dict[int, dict[str, tuple[str, str]]] = {}
        self._open_gaps: set[Pair] = set()

    def account(self, kind: RecordKind, conn_id: int, payload: bytes) -> Accounting:
        """What the record owes; never raises for bad input (bad input owes a reject)."""
        if kind is RecordKind.FRAME_RECV:
            if payload[:2] in (b"0|", b"1|"):
                return self._data_frame(conn_id, payload)
            return self._message(conn_id, payload)
        if kind is RecordKind.STATE:
            return self._state(payload)
        if kind is RecordKind.EVENT:
            return self._event(payload)
        if kind is RecordKind.REST_RECV:
            return _REST
        return _SENT

    def _data_frame(self, conn_id: int, payload: bytes) -> Accounting:
        try:
            parts = payload.decode("utf-8").split("|", 3)
        except UnicodeDecodeError:
            return _BAD_FRAME
        if len(parts) != 4:
            return _BAD_FRAME
        flag, tr_id, count, body = parts
        check = _RECORDS.get(tr_id)
        if check is None or not _COUNT.fullmatch(count) or int(count) == 0:
            return _BAD_FRAME
        if flag == "1":
            key_iv = self._keys.get(conn_id, {}).get(tr_id)
            if key_iv is None:
                return _BAD_FRAME
            try:
                body = aes.decrypt(body, *key_iv)
            except DecryptError:
                return _BAD_FRAME
        width, n = check.layout.width, int(count)
        if body.count("^") + 1 != n * width:
            return _BAD_FRAME
        if n == 1:
            records = [body]
        else:
            fields = body.split("^")
            records = ["^".join(fields[i * width : (i + 1) * width]) for i in range(n)]
        table, entries, isins = check.layout.table, [], []
        for i, record in enumerate(records):
            match = check.pattern.fullmatch(record)
            if match is None:
                entries.append(Entry(REJECTS_TABLE, None, i))
                isins.append(check.isin(record))
            else:
                entries.append(Entry(table, match["isin"], i))
                isins.append(match["isin"])
        return Accounting(Category.DATA_FRAME, tuple(entries), table, tuple(isins))

    def _message(self, conn_id: int, payload: bytes) -> Accounting:
        try:
            message = classify(payload)
        except MalformedFrame:
            return _BAD_FRAME
        if isinstance(message, ControlResponse):
            if message.outcome is Outcome.SUBSCRIBED and message.key and message.iv:
                keys = self._keys.setdefault(conn_id, {})
                keys[message.tr_id] = (str(message.key), str(message.iv))
            return _CONTROL
        # classify gives a data frame only for text starting "0|" or "1|", taken before.
        return _PING

    def _state(self, payload: bytes) -> Accounting:
        try:
            state = events.read_state(payload)
        except BadEvent:
            return Accounting(Category.STATE, _REJECT)
        self._keys[state.conn] = dict(state.aes)
        self._open_gaps.update(state.open_gaps)
        return Accounting(Category.STATE)

    def _event(self, payload: bytes) -> Accounting:
        try:
            event = events.read_event(payload)
        except BadEvent:
            return Accounting(Category.EVENT, _REJECT)
        if isinstance(event, events.GapOpen):
            self._open_gaps.add(event.pair)
        elif isinstance(event, events.GapClose):
            if event.pair not in self._open_gaps:
                return Accounting(Category.EVENT, _REJECT)
            self._open_gaps.discard(event.pair)
        return Accounting(Category.EVENT)


class Owed(NamedTuple):
    """One raw item of the day and what it owes."""

    segment: str
    offset: int
    accounting: Accounting


def holding(raw_dir: Path, day: dt.date) -> list[str]:
    """The segments that can hold the day's records, in read order.

    Raises:
        StorageError: raw cannot be listed.
    """
    try:
        return [info.name for info in segments_holding(list_segments(raw_dir), day)]
    except OSError as exc:
        raise StorageError(f"cannot list the raw log {raw_dir}: {exc}") from exc


def owed(raw_dir: Path, day: dt.date, segments: Sequence[str]) -> Iterator[Owed]:
    """The day's raw records and corrupt regions, in read order, with what each owes: from
    the first of ``segments`` (:func:`holding`) through the last.

    Raises:
        StorageError: a segment cannot be opened.
    """
    if not segments:
        return
    ledger = Ledger()
    try:
        for item in read_runs(raw_dir, Position(segments[0], 0)):
            if item.segment > segments[-1]:
                return
            if isinstance(item, CorruptRegion):
                if item.segment[:10] == day.isoformat():
                    yield Owed(item.segment, item.offset, CORRUPT)
                continue
            columns = zip(
                item.offsets, item.recv_ns, item.conn_ids, item.kinds, item.payloads, strict=True
            )
            for offset, recv_ns, conn_id, kind, payload in columns:
                accounting = ledger.account(kind, conn_id, payload)
                if seoul_date(recv_ns) == day:
                    yield Owed(item.segment, offset, accounting)
    except OSError as exc:
        raise StorageError(f"cannot read the raw log {raw_dir}: {exc}") from exc


Partition = tuple[str, str | None]
"""(table, isin): a lake partition of the day; isin None for rejects."""


@dataclass(slots=True)
class RawTally:
    """The day's raw records counted: by category; data frames and their records per (table,
    ISIN); and the entries owed per (table, isin, segment)."""

    segments: list[str] = field(default_factory=list)
    categories: Counter[Category] = field(default_factory=Counter)
    frames: Counter[Partition] = field(default_factory=Counter)
    records: Counter[Partition] = field(default_factory=Counter)
    owed: Counter[tuple[str, str | None, str]] = field(default_factory=Counter)

    def add(self, item: Owed) -> None:
        acc = item.accounting
        self.categories[acc.category] += 1
        if acc.table is not None:
            for isin in set(acc.isins):
                self.frames[(acc.table, isin)] += 1
            for isin in acc.isins:
                self.records[(acc.table, isin)] += 1
        for entry in acc.entries:
            self.owed[(entry.table, entry.isin, item.segment)] += 1


def tally(
    raw_dir: Path, day: dt.date, on_segment: Callable[[int, int], None] | None = None
) -> RawTally:
    """Count what the day's raw records owe the lake; ``on_segment(done, total)`` as each of
    the day's segments is finished, for a progress bar.

    Raises:
        StorageError: a segment cannot be opened.
    """
    result = RawTally(segments=holding(raw_dir, day))
    done, current = 0, None
    for item in owed(raw_dir, day, result.segments):
        if item.segment != current:
            if current is not None and on_segment is not None:
                done += 1
                on_segment(done, len(result.segments))
            current = item.segment
        result.add(item)
    if on_segment is not None:
        on_segment(len(result.segments), len(result.segments))
    return result


Lineage = tuple[str, int, int | None]
"""(segment, offset, record_index): where a lake row comes from."""


def owed_lineage(
    raw_dir: Path, day: dt.date, segments: Sequence[str], partitions: Iterable[Partition]
) -> dict[Partition, Counter[Lineage]]:
    """The lineage of every entry the day owes to ``partitions``, reading ``segments`` as
    :func:`owed` does: for locating a mismatch.

    Raises:
        StorageError: a segment cannot be opened.
    """
    wanted: dict[Partition, Counter[Lineage]] = {p: Counter() for p in partitions}
    for item in owed(raw_dir, day, segments):
        for entry in item.accounting.entries:
            found = wanted.get((entry.table, entry.isin))
            if found is not None:
                found[(item.segment, item.offset, entry.record_index)] += 1
    return wanted
