"""Every lake table's columns, types and documentation, in one place.

The feed tables (``quotes``, ``trades``) are derived from :mod:`capture.kis.layouts`, so a KIS
field name is written once, there; this module adds our time and lineage columns and maps each
value :class:`~capture.kis.layouts.Kind` to an exact type and the text pattern a value must match
before it is cast. The pattern is what forbids silent rounding: ``10575.005`` does not match a
price and becomes a reject, where a cast alone would round it.

Types: prices DECIMAL(12,2) (10 integer digits), yields and rates DECIMAL(8,3) (5 integer
digits, may be negative), quantities BIGINT, the change sign a TINYINT code; ``exch_time`` is
the six characters the feed sent (Seoul wall time HHMMSS), and every instant (``recv_ts``,
``exch_ts``, a gap's ``start_ts``/``end_ts``) is a UTC microsecond timestamp (:data:`INSTANT`),
with ``recv_ns`` beside ``recv_ts`` where the exact nanosecond order of receipt matters.
Partitioning (see storage/lake/files.py): quotes, trades and gaps by ``date=`` (Seoul date of the
record's ``recv_ts``) and ``isin=``; rejects by ``date=`` only, as a reject's ISIN is often
unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from capture.kis import LAYOUTS, Field, Kind, Layout

SCHEMA_VERSION = 2
"""Bumped whenever a column is added, removed or retyped; written into every file and the
checkpoint (storage/lake/files.py). 2: instants in microseconds, ``recv_ns`` added, ``exch_time``
text (1 had nanosecond timestamps and a TIME, which Spark cannot read)."""


@dataclass(frozen=True, slots=True)
class KindType:
    """How text of one :class:`Kind` becomes a typed value."""

    arrow: pa.DataType
    sql: str  # the DuckDB type the text is cast to
    pattern: str | None  # RE2 pattern the whole text must match; None accepts any text


KIND_TYPES: dict[Kind, KindType] = {
    Kind.ISIN: KindType(pa.string(), "VARCHAR", r"[A-Z]{2}[0-9A-Z]{9}[0-9]"),
    Kind.TIME: KindType(pa.string(), "VARCHAR", r"([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]"),
    Kind.PRICE: KindType(pa.decimal128(12, 2), "DECIMAL(12,2)", r"-?[0-9]{1,10}(\.[0-9]{1,2})?"),
    Kind.YIELD: KindType(pa.decimal128(8, 3), "DECIMAL(8,3)", r"-?[0-9]{1,5}(\.[0-9]{1,3})?"),
    Kind.RATE: KindType(pa.decimal128(8, 3), "DECIMAL(8,3)", r"-?[0-9]{1,5}(\.[0-9]{1,3})?"),
    Kind.QTY: KindType(pa.int64(), "BIGINT", r"[0-9]{1,18}"),
    Kind.SIGN: KindType(pa.int8(), "TINYINT", r"[0-9]"),
    Kind.TEXT: KindType(pa.string(), "VARCHAR", None),
}

INSTANT = pa.timestamp("us", tz="UTC")
"""Parquet TIMESTAMP(isAdjustedToUTC=true, MICROS): what Spark, Trino, Polars and DuckDB all
read (Spark rejects NANOS). UTC for ``exch_ts`` too, though the feed's clock is Seoul's: the
zone in the Arrow schema is only a display hint that Spark and Trino ignore, and Polars
refuses to subtract or compare timestamps of different zones (``exch_ts - recv_ts``)."""


def instants(ns: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Integer UTC nanoseconds since the epoch as :data:`INSTANT` values.

    Truncated to the microsecond (never rounded), so for any instant after 1970 a timestamp is
    the microsecond that holds it and rows never reorder against their ``*_ns``. Nulls stay
    null.
    """
    return pc.divide(ns, 1000).cast(INSTANT)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    kis_name: str | None = None
    nullable: bool = False

    def arrow_field(self) -> pa.Field:
        meta = {"doc": self.doc}
        if self.kis_name:
            meta["kis_name"] = self.kis_name
        return pa.field(self.name, self.type, nullable=self.nullable, metadata=meta)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    partition_by_isin: bool = True

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([c.arrow_field() for c in self.columns])

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


LINEAGE = (
    Column("segment", pa.string(), "raw segment the record came from (relative path)"),
    Column("offset", pa.int64(), "byte offset of the raw record in its segment"),
    Column("record_index", pa.int32(), "index of the record within a multi-record frame"),
    Column("conn_id", pa.int64(), "recorder connection id"),
)


def _feed_table(layout: Layout) -> Table:
    by_column = {f.column: f for f in layout.fields}
    head = (
        Column("recv_ts", INSTANT, "recorder's receive time (UTC, microseconds)"),
        Column("recv_ns", pa.int64(), "recorder's receive time, UTC nanoseconds since the epoch"),
        _field_column(by_column.pop("exch_time")),
        Column("exch_ts", INSTANT, "exch_time on the Seoul date that puts it nearest recv_ts"),
        _field_column(by_column.pop("isin")),
    )
    return Table(layout.table, head + tuple(map(_field_column, by_column.values())) + LINEAGE)


def _field_column(field: Field) -> Column:
    return Column(field.column, KIND_TYPES[field.kind].arrow, field.doc, field.kis_name)


FEED_TABLES: dict[str, Table] = {tr_id: _feed_table(lay) for tr_id, lay in LAYOUTS.items()}
"""quotes (H0BJASP0) and trades (H0BJCNT0), by TR ID."""

QUOTES = FEED_TABLES["H0BJASP0"]
TRADES = FEED_TABLES["H0BJCNT0"]

GAPS = Table(
    "gaps",
    (
        Column("conn_id", pa.int64(), "connection that lost the feed (from gap_open)"),
        Column("tr_id", pa.string(), "TR whose feed was missing"),
        Column("isin", pa.string(), "ISIN whose feed was missing"),
        Column("start_ts", INSTANT, "last moment the feed is known good (UTC)"),
        Column("end_ts", INSTANT, "when the feed resumed (UTC); null while open", nullable=True),
        Column("reason", pa.string(), "why the gap opened, as the recorder said"),
        Column("segment", pa.string(), "raw segment of the gap_open event"),
        Column("offset", pa.int64(), "byte offset of the gap_open event"),
        Column("close_segment", pa.string(), "raw segment of the gap_close event", nullable=True),
        Column("close_offset", pa.int64(), "byte offset of the gap_close event", nullable=True),
    ),
)

REJECTS = Table(
    "rejects",
    (
        Column("segment", pa.string(), "raw segment of the rejected record"),
        Column("offset", pa.int64(), "byte offset of the rejected record (or corrupt region)"),
        Column("recv_ts", INSTANT, "receive time; null for a corrupt region", nullable=True),
        Column("recv_ns", pa.int64(), "receive time, UTC ns; null: corrupt region", nullable=True),
        Column("conn_id", pa.int64(), "connection id; null for a corrupt region", nullable=True),
        Column(
            "record_index", pa.int32(), "record within the frame; null: whole frame", nullable=True
        ),
        Column("raw", pa.binary(), "the exact bytes of the raw record payload"),
        Column("reason", pa.string(), "why it could not become a row"),
    ),
    partition_by_isin=False,
)

TABLES: dict[str, Table] = {t.name: t for t in (QUOTES, TRADES, GAPS, REJECTS)}
"""The tables the normalizer derives from raw, by name."""

BONDS = Table(
    "bonds",
    (
        Column("isin", pa.string(), "bond ISIN, the master's [4:16]"),
        Column("name", pa.string(), "bond name (Korean)"),
        Column("issuer_kind", pa.string(), "government, municipal, special, corporate or other"),
        Column("bond_type", pa.string(), "type code, the master's [0:2]"),
        Column("bond_class", pa.string(), "class code, the master's [2:4]"),
        Column("interest_class", pa.string(), "interest class code"),
        Column("listed", pa.date32(), "listing date; null: blank in the master", nullable=True),
        Column("issued", pa.date32(), "issue date; null: blank in the master", nullable=True),
        Column("maturity", pa.date32(), "maturity date; null: blank in the master", nullable=True),
    ),
    partition_by_isin=False,
)
"""KIS's bond master (capture/kis/bond_master.py) as ``data_dir/ref/bonds.parquet``: reference
data saved by ``bondtape bonds --save``, not derived from raw, so a rebuild leaves it alone."""
