"""The lake's history as one time-ordered stream: quote books and trades interleaved, as
light Python objects (:func:`events`) or as Arrow record batches (:func:`event_batches`).

Both read the files the views ``quotes`` and ``trades`` read, from the lake's committed
manifest read once per iteration (storage/read/files.py), so every row counts exactly as it
does in SQL, the iteration sees one state of the lake while it is written, and only the dates
asked for are read. Events come in receipt order: by ``recv_ns``,
then lineage (``segment``, ``offset``, ``record_index``), which makes ties deterministic (two
records of one frame share a receive time). A day is merged from its time-sorted hist files,
not sorted (storage/read/merge.py), so memory is bounded by the read units and a batch, not
by the day; the live files of a day (what was normalized since its last compaction, all of
it for today) are sorted in memory.

A book's levels follow the feed: KIS sends an empty level as zeros, so a level is present
when its quantity is above 0 (as ``sql/queries/mid_spread.sql`` decides a side), and
``bids``/``asks`` hold the present ones, best first. Values stay exact: prices and yields
are :class:`~decimal.Decimal`, quantities ``int``, times UTC (``recv_ns`` exact; ``recv_ts``
cut to the microsecond as the lake holds it). Decimals and timestamps are converted once per
distinct value of a batch and shared between objects (they are immutable), which is what
keeps objects fast: a book carries 30 decimals.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from capture.errors import ConfigError, StorageError
from capture.kis import Kind
from storage.read.files import committed, lake_days, lake_dir
from storage.read.merge import KINDS, day_runs, merged
from storage.schemas import KIND_TYPES, LINEAGE, QUOTES, TRADES

DateLike = dt.date | str
"""A Seoul trading date: a :class:`datetime.date` or ISO text ``'2026-11-26'``."""

BATCH_ROWS = 32_768
"""Rows per record batch: large enough that per-batch costs vanish, small enough that the
batch being built and the one the caller holds stay a few tens of MB (a quote row of the
event schema is about 700 bytes)."""

OBJECT_ROWS = 8192
"""Rows turned into objects at a time: the cycle collector's passes over the fresh tuples
grow with their number (objects at 170 k/s from slices of 8192 rows, 125 k/s from whole
batches)."""

LEVELS = 5
_ISIN = re.compile(str(KIND_TYPES[Kind.ISIN].pattern))
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_HALF = Decimal("0.5")


def _instant(ns: int) -> dt.datetime:
    """UTC nanoseconds as the microsecond timestamp the lake holds (cut, never rounded)."""
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


class Level(NamedTuple):
    """One price level of a book side (``yield_``: ``yield`` is a Python keyword)."""

    price: Decimal
    yield_: Decimal
    qty: int


class Book(NamedTuple):
    """One H0BJASP0 book update: a quotes row with its 5 levels as ``bids``/``asks``.

    A NamedTuple rather than a dataclass: immutable and five times cheaper to create, which
    matters at a million rows.
    """

    recv_ns: int
    isin: str
    exch_time: str  # HHMMSS, Seoul, as the feed sent it
    exch_ts: dt.datetime
    bids: tuple[Level, ...]  # present levels, best (highest price) first
    asks: tuple[Level, ...]  # present levels, best (lowest price) first
    total_bid_qty: int
    total_ask_qty: int
    segment: str
    offset: int
    record_index: int
    conn_id: int
    date: dt.date  # the Seoul trading date

    kind = "quote"  # as event_batches' kind column says it

    @property
    def recv_ts(self) -> dt.datetime:
        return _instant(self.recv_ns)

    @property
    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, exact (one more decimal); None while a side is empty."""
        if not (self.bids and self.asks):
            return None
        return (self.bids[0].price + self.asks[0].price) * _HALF

    @property
    def spread(self) -> Decimal | None:
        """Best ask - best bid price; None while a side is empty."""
        if not (self.bids and self.asks):
            return None
        return self.asks[0].price - self.bids[0].price

    @property
    def mid_yield(self) -> Decimal | None:
        if not (self.bids and self.asks):
            return None
        return (self.bids[0].yield_ + self.asks[0].yield_) * _HALF

    @property
    def spread_yield(self) -> Decimal | None:
        """Best bid yield - best ask yield (the bid's is the higher one in a normal book)."""
        if not (self.bids and self.asks):
            return None
        return self.bids[0].yield_ - self.asks[0].yield_


class Trade(NamedTuple):
    """One H0BJCNT0 trade: a trades row, its fields named as the view's columns."""

    recv_ns: int
    isin: str
    exch_time: str
    exch_ts: dt.datetime
    bond_name: str
    change_sign: int
    change: Decimal
    change_rate: Decimal
    trade_price: Decimal
    trade_qty: int
    open_price: Decimal
    high_price: Decimal
    low_price: Decimal
    prev_close_price: Decimal
    trade_yield: Decimal
    open_yield: Decimal
    high_yield: Decimal
    low_yield: Decimal
    cum_volume: int
    prev_volume: int
    trade_type_code: str
    segment: str
    offset: int
    record_index: int
    conn_id: int
    date: dt.date

    kind = "trade"

    @property
    def recv_ts(self) -> dt.datetime:
        return _instant(self.recv_ns)


Event = Book | Trade
T = TypeVar("T", Level, Book, Trade)


def _event_schema() -> pa.Schema:
    """``kind``, the columns both tables share, quotes' own, trades' own, lineage, ``date``.

    The columns of the other kind are null in a row; the rest never are."""
    lineage = {c.name for c in LINEAGE}
    shared = [f for f in QUOTES.schema if f.name in TRADES.column_names and f.name not in lineage]
    own = [
        f.with_nullable(True)
        for table, other in ((QUOTES, TRADES), (TRADES, QUOTES))
        for f in table.schema
        if f.name not in other.column_names
    ]
    tail = [c.arrow_field() for c in LINEAGE]
    date = pa.field("date", pa.date32(), nullable=False, metadata={"doc": "Seoul trading date"})
    kind = pa.field("kind", pa.string(), nullable=False, metadata={"doc": "'quote' or 'trade'"})
    return pa.schema([kind, *shared, *own, *tail, date])


EVENT_SCHEMA = _event_schema()
"""The columns of :func:`event_batches`' batches, with each column's doc in its metadata."""


def event_batches(
    data_dir: Path | str,
    start: DateLike,
    end: DateLike | None = None,
    isins: Iterable[str] | str | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[pa.RecordBatch]:
    """Every quote and trade of the Seoul dates ``start`` to ``end`` (included; default
    ``start`` alone) of ``isins`` (default all), as record batches of :data:`EVENT_SCHEMA`
    in receipt order, one date after another. A date with no row yields no batch.

    Raises:
        ConfigError: a date is not a date, ``end`` is before ``start``, an ISIN is not one.
        StorageError: there is no lake under ``data_dir`` (at the call), or a lake file
            cannot be read (while iterating).
    """
    first, last = parse_range(start, end)
    chosen = parse_isins(isins)
    # Checked here, not at the first next(): a mistake shows where the call is. Nothing is
    # opened before the first next(), so an iterator never iterated holds nothing open.
    return _batches(lake_dir(Path(data_dir)), first, last, chosen, batch_rows)


def _batches(
    lake: Path, first: dt.date, last: dt.date, isins: list[str] | None, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Raises: StorageError: a lake file cannot be read."""
    manifest = committed(lake)  # one state of the lake for the whole iteration
    for day in lake_days(manifest, list(KINDS), first, last):
        try:
            yield from merged(day_runs(lake, manifest, day, isins), day, EVENT_SCHEMA, batch_rows)
        except (OSError, pa.ArrowException) as exc:
            raise StorageError(
                f"cannot read the quotes and trades of {day} in {lake}: {exc}"
            ) from exc


def events(
    data_dir: Path | str,
    start: DateLike,
    end: DateLike | None = None,
    isins: Iterable[str] | str | None = None,
) -> Iterator[Event]:
    """The same stream as :func:`event_batches`, as :class:`Book` and :class:`Trade` objects.

    Raises:
        ConfigError: a date is not a date, ``end`` is before ``start``, an ISIN is not one.
        StorageError: there is no catalog under ``data_dir``, or DuckDB cannot read the lake.
    """
    return _objects(event_batches(data_dir, start, end, isins))


def _objects(batches: Iterator[pa.RecordBatch]) -> Iterator[Event]:
    for batch in batches:
        for offset in range(0, batch.num_rows, OBJECT_ROWS):
            yield from batch_events(batch.slice(offset, OBJECT_ROWS))


def batch_events(batch: pa.RecordBatch) -> list[Event]:
    """One batch of :data:`EVENT_SCHEMA` as objects, in its order."""
    is_quote = pc.equal(batch.column("kind"), "quote")
    books = iter(_books(batch.filter(is_quote)))
    trades = iter(_trades(batch.filter(pc.invert(is_quote))))
    return [next(books) if quote else next(trades) for quote in is_quote.to_pylist()]


def _books(batch: pa.RecordBatch) -> list[Book]:
    if not batch.num_rows:
        return []
    sides = {side: _side(batch, side) for side in ("bid", "ask")}
    columns = [_values(batch, name) for name in Book._fields if name not in ("bids", "asks")]
    head, tail = columns[:4], columns[4:]
    return _make(Book, zip(*head, sides["bid"], sides["ask"], *tail, strict=True))


def _side(batch: pa.RecordBatch, side: str) -> list[tuple[Level, ...]]:
    """Per row, the side's present levels, best first; a full side (the usual case, checked
    column-wise) keeps its 5-tuple as it is."""
    names = [[f"{side}_{v}_{n}" for v in ("price", "yield", "qty")] for n in range(1, LEVELS + 1)]
    levels = [
        _make(Level, zip(*(_values(batch, c) for c in level), strict=True)) for level in names
    ]
    present = [pc.greater(batch.column(f"{side}_qty_{n}"), 0) for n in range(1, LEVELS + 1)]
    full = functools.reduce(pc.and_, present)
    rows = zip(*levels, strict=True)
    if pc.all(full).as_py():
        return list(rows)
    return [
        row if whole else tuple(level for level in row if level.qty > 0)
        for row, whole in zip(rows, full.to_pylist(), strict=True)
    ]


def _trades(batch: pa.RecordBatch) -> list[Trade]:
    if not batch.num_rows:
        return []
    columns = [_values(batch, name) for name in Trade._fields]
    return _make(Trade, zip(*columns, strict=True))


def _make(cls: type[T], rows: Iterable[tuple[Any, ...]]) -> list[T]:
    """``rows`` as ``cls`` NamedTuples: ``tuple.__new__`` called from ``map`` runs no Python
    frame per row, where ``cls(*row)`` or ``cls._make`` runs one (half the cost of a book)."""
    return list(map(tuple.__new__, itertools.repeat(cls), rows))


def _values(batch: pa.RecordBatch, name: str) -> list[Any]:
    """A column as Python values. Integers convert directly; other types (decimals, times,
    text) once per distinct value, shared by the rows that hold it: Arrow builds a Decimal
    or an aware datetime ten times slower than a list lookup."""
    column = batch.column(name)
    if pa.types.is_integer(column.type):
        return column.to_pylist()
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    return list(map(encoded.dictionary.to_pylist().__getitem__, encoded.indices.to_pylist()))


def parse_date(name: str, value: DateLike) -> dt.date:
    """Raises: ConfigError: ``value`` is a datetime, or not a date nor ISO date text."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(name, value, "give the Seoul trading date as a datetime.date or "
                      "'YYYY-MM-DD' text (the views' date column)")  # fmt: skip


def parse_range(start: DateLike, end: DateLike | None) -> tuple[dt.date, dt.date]:
    """The dates ``start`` to ``end`` (included; None: ``start`` alone).

    Raises: ConfigError: a date is not one, or the range ends before it starts."""
    first, last = parse_date("start", start), parse_date("end", start if end is None else end)
    if last < first:
        raise ConfigError("end", str(last), f"the range ends before it starts ({first}): "
                          "give an end on or after start, or none for one day")  # fmt: skip
    return first, last


def parse_isins(isins: Iterable[str] | str | None) -> list[str] | None:
    """The shape is checked as the lake's (storage/schemas.py), not the check digit: a row
    whose ISIN the normalizer admitted must be reachable.

    Raises: ConfigError: an item is not shaped as an ISIN, or none is given."""
    if isins is None:
        return None
    chosen = [isins] if isinstance(isins, str) else list(isins)
    if not chosen:
        raise ConfigError("isins", chosen, "give at least one ISIN, or None for all")
    for isin in chosen:
        if not (isinstance(isin, str) and _ISIN.fullmatch(isin)):
            raise ConfigError("isins", isin, "not an ISIN: 12 characters, 'KR' then 9 of 0-9/A-Z "
                              "and a digit, e.g. KR103502GD31")  # fmt: skip
    return chosen
