"""Compaction: a closed day's live files become one sorted hist file per partition, and today's
small batches become one file per (partition, hour) as the hours close.

Daily: for each closed day (storage/compact/raw_state.py) and each partition
(``TABLE/date=D/isin=I``, or ``rejects/date=D``), the live files and any earlier hist file
are merged, sorted by time, into ``hist/.../data-<range>.parquet`` (zstd, row groups sized for
scans, every source range in the metadata), written under a temporary name, fsynced, renamed,
the folder fsynced; only then do the sources go. Intraday: within each partition of a day
still open, the part files of each raw segment already closed and normalized are merged the
same way into one live file.

Crash safety comes from the names (storage/lake/ranges.py): the merged file's range contains
every source's, so the commit that ends a run (storage/read/catalog.py) publishes it instead of
them; the sources stay, as tombstones, until they have been replaced for longer than the
retention, when the vacuum after a later commit deletes them (storage/lake/retention.py). A
run stopped anywhere leaves the last commit as it was, and the next run's commit derives the
same state from the files. ``open.parquet`` (the gaps still open) is never merged: the
normalizer rewrites it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from capture.clock import Clock, SystemClock
from capture.errors import DayNotNormalized, StorageError
from capture.rawlog import seal_closed
from storage.compact import day_index
from storage.compact.raw_state import RawState, read_raw_state
from storage.lake import (
    DEFAULT_RETENTION_S,
    HIST_PREFIX,
    INDEXES,
    LIVE_PREFIX,
    QUOTES_BY_TIME,
    Lake,
    RawRange,
    covering,
    position_from_json,
    range_of,
    remove_durably,
    superseded,
    vacuum,
    write_parquet_durably,
)
from storage.read import commit
from storage.schemas import TABLES

log = logging.getLogger(__name__)

ROW_GROUP_ROWS = 122_880
"""Rows per row group of a hist file: DuckDB's own unit of parallel scan, and large enough
that min/max statistics on recv_ts skip most of a day when a query asks for an instant."""

SORT_KEYS: dict[str, list[str]] = {
    "quotes": ["recv_ns", "segment", "offset", "record_index"],
    "trades": ["recv_ns", "segment", "offset", "record_index"],
    "gaps": ["start_ts", "segment", "offset"],
    "rejects": ["segment", "offset", "record_index"],
}


@dataclass(slots=True)
class CompactStats:
    """What a run did: partitions rewritten, files merged away, rows written."""

    days: list[dt.date] = field(default_factory=list)
    not_closed: dict[dt.date, str] = field(default_factory=dict)  # day -> why
    partitions: int = 0
    files_in: int = 0
    files_removed: int = 0
    rows: int = 0
    sealed: int = 0
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def compact(
    data_dir: Path,
    *,
    date: dt.date | None = None,
    intraday: bool = False,
    clock: Clock | None = None,
    on_day: Callable[[int, int], None] | None = None,
    retention_s: float = DEFAULT_RETENTION_S,
) -> CompactStats:
    """Compact the closed days (or ``date``, closed or not), or with ``intraday`` the closed
    hours of the days still open; ``on_day(done, total)`` after each day, for a progress bar.
    Then commit, and delete the files replaced more than ``retention_s`` ago.

    Raises:
        StorageError: another normalizer or compaction holds the lake, a recorder is still
            writing ``date``, or a file cannot be read or written.
        DayNotNormalized: ``date`` holds raw records the lake does not yet.
    """
    clock = clock or SystemClock()
    started_s = time.monotonic()
    stats = CompactStats()
    lake_dir = data_dir / "lake"
    with Lake(lake_dir).exclusive() as lake:
        lake.refuse_other_schema()
        checkpoint = position_from_json(lake.read_checkpoint()["position"])
        raw = read_raw_state(data_dir, checkpoint, clock)
        days = _days(lake, raw, date, stats, intraday=intraday)
        if not intraday:
            stats.sealed = _seal(raw, days)
        for done, day in enumerate(days, 1):
            stats.days.append(day)
            if intraday:
                for partition in _partitions(lake, day):
                    _merge_hours(lake, partition, raw, stats)
            else:
                for partition in _partitions(lake, day):
                    _merge_day(lake, partition, stats)
                _index_day(lake, day, stats)
            if on_day is not None:
                on_day(done, len(days))
        now_ns = clock.now_ns()
        manifest = commit(data_dir, now_ns)
        stats.files_removed = vacuum(lake_dir, manifest, now_ns, retention_s)
    stats.seconds = time.monotonic() - started_s
    return stats


def _days(
    lake: Lake, raw: RawState, date: dt.date | None, stats: CompactStats, *, intraday: bool
) -> list[dt.date]:
    """The days to work on; those skipped, with why, go into ``stats.not_closed``.

    Raises:
        StorageError: ``date`` is still being written by a recorder.
        DayNotNormalized: ``date`` holds raw records the lake does not yet.
    """
    if date is not None:
        writing = raw.writing(date)
        if writing and not intraday:
            raise StorageError(
                f"a recorder is still writing {date}: segment {writing[0]} is open and can "
                f"receive {date}'s records until it rotates; stop the recorder, or let the "
                "day close and run compact without --date (or use --intraday meanwhile)"
            )
        if not intraday and not raw.normalized(date):
            raise DayNotNormalized(date)
        return [date]
    chosen = []
    for day in _lake_days(lake):
        closed = raw.closed(day)
        if closed != intraday:
            chosen.append(day)
        elif not intraday:
            why = "a recorder is writing it" if raw.writing(day) else "not normalized yet"
            stats.not_closed[day] = why
    return chosen


def _lake_days(lake: Lake) -> list[dt.date]:
    """Every date with live files in any table."""
    days = {
        dt.date.fromisoformat(folder.name.removeprefix("date="))
        for table in TABLES
        for folder in (lake.live / table).glob("date=*")
    }
    return sorted(days)


@dataclass(frozen=True, slots=True)
class _Partition:
    table: str
    rel: str  # "quotes/date=D/isin=I" or "rejects/date=D"


def _partitions(lake: Lake, day: dt.date) -> Iterator[_Partition]:
    for table, schema in TABLES.items():
        pattern = f"date={day.isoformat()}" + ("/isin=*" if schema.partition_by_isin else "")
        found = {
            str(folder.relative_to(tier / table))
            for tier in (lake.live, lake.hist)
            for folder in (tier / table).glob(pattern)
            if folder.is_dir()
        }
        for rel in sorted(found):
            yield _Partition(table, f"{table}/{rel}")


def _merge_day(lake: Lake, partition: _Partition, stats: CompactStats) -> None:
    """All of a closed day's partition into one hist file (which supersedes its sources)."""
    live_dir, hist_dir = lake.live / partition.rel, lake.hist / partition.rel
    _clear_temporaries(hist_dir)
    files = _ranged(live_dir, hist=False) | _ranged(hist_dir, hist=True)
    gone = superseded({path.name: hist for path, hist in files.items()})
    sources = [path for path in files if path.name not in gone]
    if sources and not (len(sources) == 1 and files[sources[0]]):  # else: one hist file already
        _write_merged(partition.table, sources, hist_dir, HIST_PREFIX, stats)


def _index_day(lake: Lake, day: dt.date, stats: CompactStats) -> None:
    """Write the day's book indexes (storage/compact/day_index.py) from its hist quote files,
    unless they cover those already (they supersede the day's older ones)."""
    quotes = []
    for folder in sorted((lake.hist / "quotes").glob(f"date={day.isoformat()}/isin=*")):
        files = _ranged(folder, hist=True)
        gone = superseded({path.name: True for path in files})
        quotes += [path for path in files if path.name not in gone]
    if not quotes:
        return
    ranges = [_range(path) for path in quotes]
    name = covering(ranges).file_name(HIST_PREFIX)
    table: pa.Table | None = None
    for index in INDEXES:
        folder = lake.hist / index / f"date={day.isoformat()}"
        _clear_temporaries(folder)
        existing = _ranged(folder, hist=True)
        if (folder / name) in existing:
            continue
        if table is None:
            table = _read(quotes, TABLES["quotes"].schema, "quotes")
        built = (
            day_index.by_time(table)
            if index == QUOTES_BY_TIME
            else day_index.books_by_minute(table, day)
        )
        rows = day_index.TIME_ROW_GROUP if index == QUOTES_BY_TIME else day_index.MINUTE_ROW_GROUP
        write_parquet_durably(folder / name, built, ranges, row_group_size=rows)


def _merge_hours(lake: Lake, partition: _Partition, raw: RawState, stats: CompactStats) -> None:
    """Within a day still open, one live file per closed and normalized raw segment."""
    live_dir = lake.live / partition.rel
    _clear_temporaries(live_dir)
    files = _ranged(live_dir, hist=False)
    gone = superseded({path.name: False for path in files})
    by_segment: dict[str, list[Path]] = {}
    for path in files:
        rng = range_of(path.name)
        if path.name not in gone and rng is not None and rng.start.segment == rng.end.segment:
            by_segment.setdefault(rng.start.segment, []).append(path)
    done = _read_segments(raw)
    for segment, paths in sorted(by_segment.items()):
        if len(paths) > 1 and segment in done:
            _write_merged(partition.table, paths, live_dir, LIVE_PREFIX, stats)


def _read_segments(raw: RawState) -> set[str]:
    """Stems (as in file names, ``<stem>.seg``) of segments no writer appends to and the
    normalizer has read to the end."""
    done = set()
    for info in raw.segments:
        if info.name in raw.open_segments or raw.checkpoint is None:
            continue
        if raw.checkpoint.segment > info.name:
            done.add(Path(info.name).name)
    return done


def _ranged(folder: Path, *, hist: bool) -> dict[Path, bool]:
    """The files of ``folder`` that carry a raw range (not ``open.parquet``, not temporaries)."""
    if not folder.is_dir():
        return {}
    return {p: hist for p in sorted(folder.glob("*.parquet")) if range_of(p.name) is not None}


def _write_merged(
    table_name: str, sources: list[Path], folder: Path, prefix: str, stats: CompactStats
) -> None:
    """Merge ``sources`` sorted by time into one file named for the range covering them.

    Raises:
        StorageError: a source cannot be read, or the file cannot be written.
    """
    ranges = [_range(path) for path in sources]
    table = _read(sources, TABLES[table_name].schema, table_name)
    table = table.sort_by([(key, "ascending") for key in SORT_KEYS[table_name]])
    target = folder / covering(ranges).file_name(prefix)
    write_parquet_durably(target, table, sorted(ranges, key=RawRange.sort_key),
                          row_group_size=ROW_GROUP_ROWS)  # fmt: skip
    stats.partitions += 1
    stats.files_in += len(sources)
    stats.rows += table.num_rows
    log.debug("%s: %d file(s), %d rows -> %s", folder, len(sources), table.num_rows, target.name)


def _range(path: Path) -> RawRange:
    rng = range_of(path.name)
    assert rng is not None, "only files named for their range are merged"
    return rng


def _read(paths: list[Path], schema: pa.Schema, what: str) -> pa.Table:
    """All of ``paths`` as one table of ``schema``, read by DuckDB in one scan (a day's
    minute batches are hundreds of small files: 0.3 ms each this way, 1.3 ms one by one).

    Raises:
        StorageError: a file cannot be read.
    """
    names = [str(p) for p in paths]
    try:
        con = duckdb.connect()
        try:
            table = con.sql("FROM read_parquet($files)", params={"files": names}).to_arrow_table()
        finally:
            con.close()
        return table.select(schema.names).cast(schema)
    except (duckdb.Error, pa.ArrowException) as exc:
        raise StorageError(f"cannot read {what} files in {paths[0].parent}: {exc}") from exc


def _clear_temporaries(folder: Path) -> None:
    """Remove what a killed compaction left half-written (no view ever reads it)."""
    for tmp in folder.glob(".*.parquet.tmp"):
        remove_durably(tmp)


def _seal(raw: RawState, days: list[dt.date]) -> int:
    """Have the raw log seal the closed days' segments (none while a writer runs)."""
    closed = [
        info for day in days for info in raw.day_segments(day) if info.name not in raw.open_segments
    ]
    return seal_closed(raw.raw_dir, closed)
