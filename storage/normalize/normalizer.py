"""Raw log to lake: the batch loop, incremental, follow and rebuild entry points.

A batch is at most ``batch_records`` records and never crosses a segment, counted from the
checkpoint, so a rerun from the same checkpoint cuts the same batches (and ``pending.json``
covers the one case where it cannot: the active segment grew since the crash). Per batch:
sort records (storage/normalize/demux.py), parse frames (storage/normalize/parser.py), write
each partition's part file durably, then move the checkpoint.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from capture.clock import seoul_date
from capture.rawlog import Position, RecordRun, list_segments, read_runs, segments_holding
from storage.lake import (
    INDEXES,
    LIVE_PREFIX,
    OPEN_GAPS_FILE,
    Lake,
    RawRange,
    partition,
    position_from_json,
    remove_durably,
    staging,
    write_parquet_durably,
)
from storage.normalize.carried import CarriedState
from storage.normalize.demux import BatchBuilder, cut_batches
from storage.normalize.gap_rows import GapRow, OpenGap
from storage.normalize.parser import FrameParser, ParsedFrames
from storage.read import commit
from storage.schemas import GAPS, KIND_TYPES, REJECTS, TABLES, Kind, instants

log = logging.getLogger(__name__)

DEFAULT_BATCH_RECORDS = 100_000
_ISIN = re.compile(KIND_TYPES[Kind.ISIN].pattern or "")


@dataclass(slots=True)
class NormalizeStats:
    """What a run did; ``rows`` counts rows written per table (rejects included)."""

    records: int = 0
    batches: int = 0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    earlier_gap_closes: int = 0
    seconds: float = 0.0

    @property
    def rejects(self) -> int:
        return self.rows["rejects"]

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: NormalizeStats) -> None:
        self.records += other.records
        self.batches += other.batches
        self.earlier_gap_closes += other.earlier_gap_closes
        self.seconds += other.seconds
        for name, n in other.rows.items():
            self.rows[name] += n


ProgressFn = Callable[[int, int], None]
"""Called after each batch with (records, raw bytes) it consumed."""


def normalize(
    data_dir: Path,
    *,
    rebuild: bool = False,
    date: dt.date | None = None,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    threads: int = 2,
    on_batch: ProgressFn | None = None,
) -> NormalizeStats:
    """Bring the lake up to date with raw; or, with ``rebuild``, re-derive it (or one date).

    A full rebuild also migrates a lake written with another schema version; an incremental
    run and a rebuild of one date refuse such a lake.

    Raises:
        StorageError: the lake cannot be written, another normalizer holds its lock, or (but
            for a full rebuild) the lake has another schema version.
        ValueError: ``date`` without ``rebuild`` (an incremental run is not limited by date).
    """
    if date is not None and not rebuild:
        raise ValueError("--date limits a --rebuild; an incremental run has no date")
    lake_dir, raw_dir = data_dir / "lake", data_dir / "raw"
    started_s = time.monotonic()
    with Lake(lake_dir).exclusive() as lake:
        if not rebuild or date is not None:
            lake.refuse_other_schema()
        parser = FrameParser(threads)
        try:
            if not rebuild:
                stats = _run(lake, raw_dir, parser, batch_records, on_batch)
            elif date is None:
                stats = _rebuild_all(lake_dir, raw_dir, parser, batch_records, on_batch)
            else:
                stats = _rebuild_date(lake_dir, raw_dir, date, parser, batch_records, on_batch)
        finally:
            parser.close()
        commit(data_dir)  # readers see the batches from now on (storage/read/catalog.py)
    stats.seconds = time.monotonic() - started_s
    return stats


def follow(
    data_dir: Path,
    *,
    interval_s: float = 10.0,
    stop: Callable[[], bool],
    sleep: Callable[[float], Any] = time.sleep,
    batch_records: int = DEFAULT_BATCH_RECORDS,
    log_every_s: float = 60.0,
) -> NormalizeStats:
    """Keep up with the active segment: a pass every ``interval_s`` until ``stop()``.

    Raises:
        StorageError: as :func:`normalize`.
    """
    total, window, last_log_s = NormalizeStats(), NormalizeStats(), time.monotonic()
    while not stop():
        stats = normalize(data_dir, batch_records=batch_records)
        total.add(stats)
        window.add(stats)
        if time.monotonic() - last_log_s >= log_every_s:
            log.info(
                "normalize: %d records, rows %s, %d rejects in the last %.0f s",
                window.records, window.rows, window.rejects, time.monotonic() - last_log_s,
            )  # fmt: skip
            window, last_log_s = NormalizeStats(), time.monotonic()
        if stats.records == 0:
            sleep(interval_s)
    return total


def _rebuild_all(
    lake_dir: Path, raw_dir: Path, parser: FrameParser, batch: int, on_batch: ProgressFn | None
) -> NormalizeStats:
    units = list(TABLES)
    stage = Lake(staging.prepare(lake_dir, units))
    # Written up front, so the lake swapped in records this schema version even when raw
    # holds no record, and an old position never outlives the files it described.
    stage.write_checkpoint(None, CarriedState().to_json())
    stats = _run(stage, raw_dir, parser, batch, on_batch)
    staging.commit(lake_dir, units, with_checkpoint=True, hist_units=units + list(INDEXES))
    return stats


def _rebuild_date(
    lake_dir: Path,
    raw_dir: Path,
    date: dt.date,
    parser: FrameParser,
    batch: int,
    on_batch: ProgressFn | None,
) -> NormalizeStats:
    """Re-derive one Seoul date's partitions from the segments that can hold its records
    (:func:`capture.rawlog.segments_holding`: the day's own and the first after it of each
    recorder), up to the main checkpoint, which does not move.

    Keys come from the STATE records at each segment's start; gaps opened that day are closed
    by reading on past those segments until none is open.
    """
    units = [f"{name}/date={date.isoformat()}" for name in TABLES]
    stop_at = position_from_json(Lake(lake_dir).read_checkpoint()["position"])
    holding = segments_holding(list_segments(raw_dir), date)
    stats = NormalizeStats()
    if stop_at is not None and holding:
        stage = Lake(staging.prepare(lake_dir, units))
        day = _Day(date, last_segment=holding[-1].name)
        stats = _run(stage, raw_dir, parser, batch, on_batch, Position(holding[0].name, 0),
                     day, stop_at)  # fmt: skip
    day = f"date={date.isoformat()}"
    hist_units = units + [f"{index}/{day}" for index in INDEXES]
    staging.commit(lake_dir, units, with_checkpoint=False, hist_units=hist_units)
    return stats


@dataclass(frozen=True, slots=True)
class _Day:
    """What a date rebuild keeps (``date``'s rows) and where its records end."""

    date: dt.date
    last_segment: str

    def read_on(self, segment: str, open_gaps: Iterable[OpenGap]) -> bool:
        """Whether a batch of ``segment`` can still hold the day's rows or close its gaps."""
        return segment <= self.last_segment or any(_gap_date(g) == self.date for g in open_gaps)


def _run(
    lake: Lake,
    raw_dir: Path,
    parser: FrameParser,
    batch_records: int,
    on_batch: ProgressFn | None,
    start: Position | None = None,
    day: _Day | None = None,
    stop_at: Position | None = None,
) -> NormalizeStats:
    checkpoint = lake.read_checkpoint()
    position = start or position_from_json(checkpoint.get("position"))
    raw_state = checkpoint.get("state")
    state = CarriedState.from_json(raw_state) if raw_state else CarriedState()
    stats = NormalizeStats()
    for batch in cut_batches(read_runs(raw_dir, position), batch_records, stop_at):
        if day is not None and not day.read_on(batch.segment, state.open_gaps.values()):
            break
        keep_date = None if day is None else day.date
        before = {_gap_partition(g) for g in state.open_gaps.values()}
        builder = BatchBuilder(state)
        for item in batch.items:
            if isinstance(item, RecordRun):
                builder.add_run(item)
            else:
                builder.add(item)
        end, first = batch.end, batch.first
        tables = _outputs(builder, parser, keep_date)
        name = RawRange(first, end).file_name(LIVE_PREFIX)
        files = {f"{part}/{name}": t for part, t in tables.items()}
        opens = _open_gap_files(state.open_gaps.values(), keep_date)
        stale = before - {part for part in (p.rsplit("/", 1)[0] for p in opens)}
        lake.begin_batch(position, sorted([*files, *opens]))
        _write_all(lake, [*files.items(), *opens.items()], RawRange(first, end))
        for part in stale:
            remove_durably(lake.live / part / OPEN_GAPS_FILE)
        lake.write_checkpoint(end, state.to_json())
        lake.end_batch()
        position = end
        stats.records += batch.records
        stats.batches += 1
        stats.earlier_gap_closes += builder.earlier_gap_closes
        for rel, table in files.items():
            stats.rows[rel.split("/", 1)[0]] += table.num_rows
        if on_batch is not None:
            on_batch(batch.records, end.offset - first.offset)
    return stats


_WRITE_THREADS = 2
"""Parquet encoding, zstd and fsync release the GIL: a 100k-frame batch's 8 files took 81 ms
on 2 threads vs 138 ms on one, codec and file sizes unchanged."""


def _write_all(lake: Lake, files: list[tuple[str, pa.Table]], raw: RawRange) -> None:
    """Write a batch's files durably, in parallel; returns once all are written.

    Raises:
        StorageError: a file cannot be written (the others are finished or abandoned first;
            pending.json lists every one of them for the next run's recovery).
    """
    with ThreadPoolExecutor(_WRITE_THREADS) as pool:
        futures = [
            pool.submit(write_parquet_durably, lake.live / rel, table, [raw])
            for rel, table in files
        ]
        for future in futures:
            future.result()


def _gap_date(gap: OpenGap) -> dt.date:
    return seoul_date(gap.recv_ns)


def _gap_partition(gap: OpenGap) -> str:
    """Gaps go by the Seoul date of their gap_open record, and their ISIN when it is one."""
    return partition(GAPS.name, _gap_date(gap).isoformat(), gap_partition_isin(gap.isin))


def gap_partition_isin(isin: str) -> str:
    """The ``isin=`` folder of a gap: its code when shaped like an ISIN, else ``_unknown``
    (a code from the wire must not become a path)."""
    return isin if _ISIN.fullmatch(isin) else "_unknown"


def _gap_table(rows: list[GapRow]) -> pa.Table:
    gaps = [r.gap for r in rows]
    return pa.Table.from_pydict(
        {
            "conn_id": [g.conn_id for g in gaps], "tr_id": [g.tr_id for g in gaps],
            "isin": [g.isin for g in gaps],
            "start_ts": instants(pa.array([g.start_ns for g in gaps], pa.int64())),
            "end_ts": instants(pa.array([r.end_ns for r in rows], pa.int64())),
            "reason": [g.reason for g in gaps], "segment": [g.segment for g in gaps],
            "offset": [g.offset for g in gaps],
            "close_segment": [r.close_segment for r in rows],
            "close_offset": [r.close_offset for r in rows],
        },
        schema=GAPS.schema,
    )  # fmt: skip


def _open_gap_files(gaps: Iterable[OpenGap], keep_date: dt.date | None) -> dict[str, pa.Table]:
    by_partition: dict[str, list[GapRow]] = {}
    for gap in gaps:
        if keep_date is None or _gap_date(gap) == keep_date:
            by_partition.setdefault(_gap_partition(gap), []).append(GapRow(gap))
    return {f"{p}/{OPEN_GAPS_FILE}": _gap_table(rows) for p, rows in by_partition.items()}


def _outputs(
    builder: BatchBuilder, parser: FrameParser, keep_date: dt.date | None
) -> dict[str, pa.Table]:
    """Every partition this batch writes to (relative directory) and its rows."""
    frames = builder.frames_table()
    parsed = parser.parse(frames) if frames.num_rows else None
    out: dict[str, pa.Table] = {}
    if parsed is not None:
        for name, rows in parsed.rows.items():
            out.update(_split(name, rows, keep_date))
    closed: dict[str, list[GapRow]] = {}
    for row in builder.closed_gaps:
        if keep_date is None or _gap_date(row.gap) == keep_date:
            closed.setdefault(_gap_partition(row.gap), []).append(row)
    out.update({p: _gap_table(rows) for p, rows in closed.items()})
    out.update(_split(REJECTS.name, _rejects(builder, frames, parsed), keep_date))
    return out


def _rejects(builder: BatchBuilder, frames: pa.Table, parsed: ParsedFrames | None) -> pa.Table:
    """The batch's rejects, each with its lineage and the exact bytes of its raw record."""
    rows = list(builder.rejects)
    if parsed is not None and parsed.rejects.num_rows:
        lineage = (
            frames.select(["segment", "offset", "recv_ns", "conn_id"])
            .take(parsed.rejects["frame_no"])
            .to_pydict()
        )
        for i, rej in enumerate(parsed.rejects.to_pylist()):
            rows.append(
                {
                    "segment": lineage["segment"][i], "offset": lineage["offset"][i],
                    "recv_ns": lineage["recv_ns"][i], "conn_id": lineage["conn_id"][i],
                    "record_index": rej["record_index"], "raw": builder.raws[rej["frame_no"]],
                    "reason": rej["reason"],
                }
            )  # fmt: skip
    dates = [
        (
            seoul_date(r["recv_ns"])
            if r["recv_ns"] is not None
            else dt.date.fromisoformat(r["segment"][:10])
        )
        for r in rows
    ]
    table = pa.Table.from_pylist(rows, schema=REJECTS.schema)
    recv_ts = REJECTS.schema.get_field_index("recv_ts")
    table = table.set_column(recv_ts, REJECTS.schema.field(recv_ts), instants(table["recv_ns"]))
    table = table.append_column("date", pa.array(dates, pa.date32()))
    return table.sort_by([("date", "ascending")])


def _split(name: str, rows: pa.Table, keep_date: dt.date | None) -> dict[str, pa.Table]:
    """Rows (with a ``date`` column, sorted by the partition keys) cut into their partitions.

    The parser already sorts; sorting again here copied every column of every batch.
    """
    if keep_date is not None:
        rows = rows.filter(pc.equal(rows["date"], pa.scalar(keep_date, pa.date32())))
    if rows.num_rows == 0:
        return {}
    by_isin = TABLES[name].partition_by_isin
    keys = ["date", "isin"] if by_isin else ["date"]
    groups = rows.group_by(keys, use_threads=False).aggregate([([], "count_all")]).to_pylist()
    out, offset = {}, 0
    for group in groups:
        n = group["count_all"]
        out[partition(name, group["date"].isoformat(), group.get("isin") if by_isin else None)] = (
            rows.slice(offset, n).drop_columns(["date"])
        )
        offset += n
    return out
