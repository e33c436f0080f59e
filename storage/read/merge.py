"""Sorted runs of quotes and trades merged into one receipt-ordered stream of record batches.

Compaction writes every hist file sorted by receipt (``recv_ns``, then lineage: ``segment``,
``offset``, ``record_index``), so a day is a k-way merge of sorted runs, not a sort. Each run
is read a batch at a time; a step hands over every buffered row received before a cut that
no run still being read has reached (none can still hold an earlier row), ordered by the full
key. The cut advances by a time span fitted to hand over about one output batch per step, and
no run buffers more than that past it, so what is held is bounded by the runs' read units and
one batch, not by the day. Runs in no known order (live files) are read whole and sorted
first: they are what the normalizer wrote since the last compaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from storage.lake import Manifest
from storage.read.files import day_files, is_sorted_file, isin_of, quotes_by_time
from storage.schemas import TABLES

KEY = [(name, "ascending") for name in ("recv_ns", "segment", "offset", "record_index")]
"""Receipt order, ties in lineage order (the records of one frame share a receive time): the
order compaction sorts hist files by (storage/compact/compaction.py, SORT_KEYS)."""

KINDS = {"quotes": "quote", "trades": "trade"}
READ_ROWS = 8192
"""Rows taken from a run at a time (a Parquet reader decodes a row group at once anyway)."""


class Run:
    """One table's rows in receipt order, read in batches; ``rows`` are those read and not
    handed over yet."""

    def __init__(self, table: str, batches: Iterator[pa.RecordBatch]) -> None:
        self.table = table
        self._batches = batches
        self.rows = TABLES[table].schema.empty_table()
        self.exhausted = False

    def fill(self, cut: int | None, limit: int) -> None:
        """Read on until a row received at or after ``cut`` is held (None: one row), or
        ``limit`` rows are (more while all share one time: none of them could be handed
        over), or the run ends."""
        while not self.exhausted and (
            self.rows.num_rows == 0
            or (
                cut is not None
                and self.last_ns() < cut
                and (self.rows.num_rows < limit or self.first_ns() == self.last_ns())
            )
        ):
            batch = next(self._batches, None)
            if batch is None:
                self.exhausted = True
            elif batch.num_rows:
                self.rows = pa.concat_tables([self.rows, pa.Table.from_batches([batch])])

    def first_ns(self) -> int:
        return int(self.rows.column("recv_ns")[0].as_py())

    def last_ns(self) -> int:
        return int(self.rows.column("recv_ns")[-1].as_py())

    def take_before(self, cut: int | None) -> pa.Table:
        """Hand over the rows held that were received before ``cut`` (None: all)."""
        n = self.rows.num_rows
        if cut is not None:
            n = int(np.searchsorted(self.rows.column("recv_ns").to_numpy(), cut, "left"))
        taken, self.rows = self.rows.slice(0, n), self.rows.slice(n)
        return taken


def file_run(table: str, path: Path) -> Run:
    """A file sorted in receipt order (a hist file)."""
    reader = pq.ParquetFile(path)
    columns = TABLES[table].schema.names
    return Run(table, reader.iter_batches(READ_ROWS, columns=columns, use_threads=True))


def sorted_run(table: str, paths: Sequence[Path]) -> Run:
    """Files in no known order (live files), read whole and sorted."""
    schema = TABLES[table].schema
    rows = ds.dataset([str(p) for p in paths], schema=schema, format="parquet").to_table()
    return Run(table, iter(rows.sort_by(KEY).to_batches(READ_ROWS)))


def day_runs(lake: Path, manifest: Manifest, day: dt.date, isins: list[str] | None) -> list[Run]:
    """The runs of ``day``'s quotes and trades of ``isins`` (None: all): one per hist file,
    or for all ISINs' quotes the day's time-sorted index of them (one run, read a row group
    at a time, where a hundred files would each be decoded whole at once); and one of the
    live files sorted."""
    runs = []
    for table in KINDS:
        files = day_files(lake, manifest, table, day)
        if isins is not None:
            files = [p for p in files if isin_of(p) in isins]
        hist = [p for p in files if is_sorted_file(p)]
        live = [p for p in files if not is_sorted_file(p)]
        index = (
            quotes_by_time(lake, manifest, day, files) if table == "quotes" and not isins else None
        )
        runs += [file_run(table, path) for path in ([index] if index else hist)]
        if live:
            runs.append(sorted_run(table, live))
    return runs


def merged(
    runs: list[Run], day: dt.date, schema: pa.Schema, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """The rows of ``runs``, all of the Seoul date ``day``, in receipt order, as batches of
    ``schema`` (``kind``, every column of either table, null where a row's table has none,
    ``date``) of ``batch_rows`` rows, the last one smaller."""
    carried: pa.Table | None = None  # the rows of the last step not yet in a batch
    for step in _steps(runs, batch_rows):
        rows = _events(step, day, schema)
        if carried is not None:
            rows = pa.concat_tables([carried, rows]).combine_chunks()
        whole = rows.num_rows - rows.num_rows % batch_rows
        for start in range(0, whole, batch_rows):
            yield _batch(rows.slice(start, batch_rows))
        carried = rows.slice(whole) if whole < rows.num_rows else None
    if carried is not None:
        yield _batch(carried)


def _steps(runs: list[Run], target: int) -> Iterator[dict[str, pa.Table]]:
    """Per step, the rows handed over by table: about ``target`` rows which, one step after
    another and ordered within a step, are the runs' rows in receipt order."""
    for run in runs:
        run.fill(None, target)
    runs = [run for run in runs if run.rows.num_rows]
    if not runs:
        return
    before = min(run.first_ns() for run in runs)
    cut = _safe_cut(runs, None)
    while True:
        parts: dict[str, list[pa.Table]] = {}
        for run in runs:
            parts.setdefault(run.table, []).append(run.take_before(cut))
        handed = sum(part.num_rows for own in parts.values() for part in own)
        if handed:
            yield {table: pa.concat_tables(own) for table, own in parts.items()}
        runs = [run for run in runs if run.rows.num_rows or not run.exhausted]
        if cut is None or not runs:
            return
        # The next cut: a span that would have handed over `target` rows at this step's rate.
        span = (cut - before) * target // handed if handed else (cut - before) * 2
        for run in runs:
            run.fill(None, target)
        # Never short of the earliest row held, however sparse the rows are.
        earliest = min(run.first_ns() for run in runs if run.rows.num_rows)
        before, cut = cut, max(cut + max(span, 1), earliest + 1)
        for run in runs:
            run.fill(cut, target)
        cut = _safe_cut(runs, cut)


def _safe_cut(runs: list[Run], cut: int | None) -> int | None:
    """``cut``, or earlier where a run still being read holds nothing as late (its next rows
    could come before); None (no limit) once every run is read to its end."""
    lasts = [run.last_ns() for run in runs if not run.exhausted]
    if not lasts:
        return None
    return min(lasts) if cut is None else min(cut, *lasts)


def _events(step: dict[str, pa.Table], day: dt.date, schema: pa.Schema) -> pa.Table:
    """A step's quotes and trades as one table of ``schema`` in receipt order.

    The order is sorted from the key columns alone; each output column is then one ``take``
    from its table (a null index where the row is of the other table), so no column of nulls
    is built and nothing is copied twice."""
    quotes, trades = (step.get(t, TABLES[t].schema.empty_table()) for t in KINDS)
    n_quotes = quotes.num_rows
    keys = pa.table({key: _joined(quotes, trades, key) for key, _ in KEY})
    order = pc.sort_indices(keys, sort_keys=KEY).to_numpy()
    is_trade = order >= n_quotes
    in_quotes = pa.array(order, mask=is_trade)
    in_trades = pa.array(order - n_quotes, mask=~is_trade)
    columns = []
    for field in schema:
        name = field.name
        if name == "kind":
            column = pa.array(list(KINDS.values())).take(is_trade.astype(np.int8))
        elif name == "date":
            column = pa.array([day], field.type).take(np.zeros(len(order), dtype=np.int8))
        elif name in quotes.column_names and name in trades.column_names:
            column = pc.take(_joined(quotes, trades, name), order)
        elif name in quotes.column_names:
            column = pc.take(quotes.column(name), in_quotes)
        else:
            column = pc.take(trades.column(name), in_trades)
        columns.append(column)
    return pa.table(columns, schema=schema)


def _joined(quotes: pa.Table, trades: pa.Table, name: str) -> pa.ChunkedArray:
    """A column both tables have, quotes' rows then trades'."""
    return pa.chunked_array(quotes.column(name).chunks + trades.column(name).chunks)


def _batch(rows: pa.Table) -> pa.RecordBatch:
    """``rows`` (a slice of one chunk) as a batch, no copy."""
    (batch,) = rows.to_batches() or [pa.RecordBatch.from_pylist([], rows.schema)]
    return batch
