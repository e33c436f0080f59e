"""Raw against the lake for one Seoul day, partition by partition: pure comparisons of the
entries raw owes (storage/report/ledger.py) with the rows the catalog holds
(storage/report/report_lake.py), both counted per (table, isin, raw segment).

A partition balances when the entries owed equal the rows found. One that does not is located
by raw segment, then by raw position: the (segment, offset, record_index) owed and not held
are missing, those held and not owed (or held twice) are extra.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from storage.report.ledger import FEEDS, Lineage, Partition, RawTally

Counts = Counter[tuple[str, str | None, str]]
"""Entries or rows per (table, isin, raw segment); isin None for rejects."""


@dataclass(frozen=True, slots=True)
class PartitionCount:
    """What one partition of the day is owed by raw (``expected``) and the rows it holds, in
    all and per raw segment (segment -> (expected, found))."""

    table: str
    isin: str | None
    expected: int
    found: int
    by_segment: dict[str, tuple[int, int]]

    @property
    def balanced(self) -> bool:
        return self.expected == self.found

    @property
    def key(self) -> Partition:
        return (self.table, self.isin)


def reconcile(owed: Counts, found: Counts) -> list[PartitionCount]:
    """Per partition, entries owed and rows found, by table then ISIN."""
    by_segment: dict[Partition, dict[str, tuple[int, int]]] = {}
    for key in owed.keys() | found.keys():
        table, isin, segment = key
        by_segment.setdefault((table, isin), {})[segment] = (owed[key], found[key])
    return [
        PartitionCount(
            table,
            isin,
            sum(e for e, _ in segments.values()),
            sum(f for _, f in segments.values()),
            dict(sorted(segments.items())),
        )
        for (table, isin), segments in sorted(by_segment.items(), key=lambda i: _order(i[0]))
    ]


def _order(key: Partition) -> tuple[str, str]:
    return (key[0], key[1] or "")


def locate(
    count: PartitionCount, owed: Counter[Lineage], found: Counter[Lineage], limit: int
) -> list[dict[str, object]]:
    """A mismatched partition's raw segments whose counts differ, each with up to ``limit`` raw
    positions the lake misses and holds in excess (a position held twice is extra once)."""
    missing, extra = owed - found, found - owed
    return [
        {
            "table": count.table,
            "isin": count.isin,
            "segment": segment,
            "expected": expected,
            "found": got,
            "missing": _positions(missing, segment, limit),
            "extra": _positions(extra, segment, limit),
        }
        for segment, (expected, got) in count.by_segment.items()
        if expected != got
    ]


def _positions(lineage: Counter[Lineage], segment: str, limit: int) -> list[dict[str, int | None]]:
    keys = sorted(
        (k for k in lineage.elements() if k[0] == segment),
        key=lambda k: (k[1], -1 if k[2] is None else k[2]),
    )
    return [{"offset": offset, "record_index": index} for _, offset, index in keys[:limit]]


def volume_table(tally: RawTally, found: Counts) -> pa.Table:
    """Per (table, ISIN): the data frames and records raw received, and the rows the lake
    holds (fewer where records were rejected for a bad value)."""
    rows: Counter[Partition] = Counter()
    for (table, isin, _), n in found.items():
        if table in FEEDS:
            rows[(table, isin)] += n
    return pa.Table.from_pylist(
        [
            {"table": t, "isin": i, "frames": tally.frames[(t, i)],
             "records": tally.records[(t, i)], "rows": rows[(t, i)]}
            for t, i in sorted(tally.records.keys() | rows.keys(), key=_order)
        ],
        pa.schema([("table", pa.string()), ("isin", pa.string()), ("frames", pa.int64()),
                   ("records", pa.int64()), ("rows", pa.int64())]),
    )  # fmt: skip


def partitions_table(day: dt.date, partitions: Iterable[PartitionCount]) -> pa.Table:
    """One row per partition: entries owed, rows found, and found - expected."""
    return pa.Table.from_pylist(
        [
            {"table": p.table, "date": day, "isin": p.isin, "expected": p.expected,
             "found": p.found, "difference": p.found - p.expected}
            for p in partitions
        ],
        pa.schema([("table", pa.string()), ("date", pa.date32()), ("isin", pa.string()),
                   ("expected", pa.int64()), ("found", pa.int64()), ("difference", pa.int64())]),
    )  # fmt: skip


_POSITIONS = pa.list_(pa.struct([("offset", pa.int64()), ("record_index", pa.int32())]))
_MISMATCH_SCHEMA = pa.schema(
    [("table", pa.string()), ("isin", pa.string()), ("segment", pa.string()),
     ("expected", pa.int64()), ("found", pa.int64()), ("missing", _POSITIONS),
     ("extra", _POSITIONS)]
)  # fmt: skip


def mismatches_table(rows: list[dict[str, object]]) -> pa.Table:
    """The rows of :func:`locate`, typed (and with their columns when there is none)."""
    return pa.Table.from_pylist(rows, _MISMATCH_SCHEMA)
