"""Compaction, daily and intraday: every row once through the catalog's views at every step,
also when a compaction stops after its temporary write, after the rename or mid-deletes, and
the next run finishes the job. Real raw logs, the real normalizer, real DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import storage.compact.compaction
import storage.lake.retention
from capture.errors import StorageError
from capture.rawlog import list_segments
from storage.compact.compaction import compact
from storage.lake import read_manifest, vacuum
from storage.lake.files import RAW_RANGES_KEY
from storage.lake.ranges import range_of
from storage.normalize.normalizer import normalize
from storage.read.catalog import build_catalog, connect
from tests.support.rawdata import DAY1, DAY2, RawLog, two_days
from tests.support.rawlog import seoul_ns

TABLES = ("quotes", "trades", "gaps", "rejects")


def view_rows(data_dir: Path) -> dict[str, list[tuple]]:
    """Every row of every view, in lineage order (the catalog is built on first use)."""
    if not (data_dir / "catalog.duckdb").exists():
        build_catalog(data_dir)
    con = connect(data_dir)
    try:
        return {t: con.sql(f"FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    finally:
        con.close()


def files(data_dir: Path, tier: str, day: dt.date) -> list[Path]:
    """The files of ``day`` in ``tier``, of the four tables (not the day's book indexes)."""
    return sorted(
        p for t in TABLES for p in (data_dir / "lake" / tier / t).glob(f"date={day}/**/*.parquet")
    )


class Crash(Exception):
    """Stands for the process dying at that instant."""


def test_a_closed_day_becomes_one_sorted_hist_file_per_partition_and_every_row_stays(
    tmp_path: Path,
) -> None:
    two_days(tmp_path)
    before = view_rows(tmp_path)
    assert all(before[t] for t in TABLES)
    live_files = len(files(tmp_path, "live", DAY1) + files(tmp_path, "live", DAY2))
    sources = {range_of(p.name) for p in files(tmp_path, "live", DAY1)} - {None}

    progress: list[tuple[int, int]] = []
    stats = compact(
        tmp_path, retention_s=0, on_day=lambda done, total: progress.append((done, total))
    )

    assert stats.days == [DAY1, DAY2]
    assert progress == [(1, 2), (2, 2)]  # what a progress bar is told
    assert view_rows(tmp_path) == before
    assert [p.name for p in files(tmp_path, "live", DAY1)] == ["open.parquet"]
    hist = files(tmp_path, "hist", DAY1)
    partitions = {p.parent for p in hist}
    assert len(hist) == len(partitions) == 2 + 2 + 1 + 1  # quotes, trades by ISIN, gaps, rejects
    assert stats.files_in + 1 == live_files  # every file but the open gaps
    recorded = set()
    for path in hist:
        table = pq.read_table(path)
        if path.parts[-4] in ("quotes", "trades"):
            ns = table["recv_ns"].to_pylist()
            assert ns == sorted(ns)
        metadata = pq.read_metadata(path)
        assert metadata.row_group(0).column(0).compression == "ZSTD"
        recorded |= set(json.loads(metadata.metadata[RAW_RANGES_KEY]))
    assert recorded == {r.as_text() for r in sources if r is not None}  # where rows came from
    for index in ("quotes_by_time", "books_by_minute"):  # the day's book indexes
        assert len(list((tmp_path / "lake" / "hist" / index).glob(f"date={DAY1}/*"))) == 1
    # The day's raw segments are sealed now that the day is closed.
    assert all(s.sealed for s in list_segments(tmp_path / "raw") if s.name.startswith(str(DAY1)))


@pytest.mark.parametrize("step", ["after the temporary write", "after the rename", "mid-deletes"])
def test_a_compaction_stopped_at_any_step_leaves_every_row_once_and_the_next_run_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    two_days(tmp_path)
    before = view_rows(tmp_path)
    crash_at(monkeypatch, step)
    with pytest.raises(Crash):
        compact(tmp_path, retention_s=0, date=DAY1)
    monkeypatch.undo()
    assert view_rows(tmp_path) == before, f"mid-compaction, {step}"
    compact(tmp_path, retention_s=0, date=DAY1)
    assert view_rows(tmp_path) == before
    assert [p.name for p in files(tmp_path, "live", DAY1)] == ["open.parquet"]
    assert not list((tmp_path / "lake").rglob("*.tmp"))


@pytest.mark.parametrize("step", ["after the temporary write", "after the rename", "mid-deletes"])
def test_an_intraday_compaction_stopped_at_any_step_leaves_every_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    log = two_days(tmp_path, close=False)  # the writer still holds day 2's segment
    try:
        before = view_rows(tmp_path)
        crash_at(monkeypatch, step)
        with pytest.raises(Crash):
            compact(tmp_path, retention_s=0, intraday=True)
        monkeypatch.undo()
        assert view_rows(tmp_path) == before, f"mid-compaction, {step}"
        compact(tmp_path, retention_s=0, intraday=True)
        assert view_rows(tmp_path) == before
    finally:
        log.writer.close()


def crash_at(monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """Make compaction stop at ``step`` as a killed process would."""
    if step == "after the temporary write":

        def half_write(path: Path, table: object, *_: object, **__: object) -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path.with_name(f".{path.name}.tmp"))  # type: ignore[arg-type]
            raise Crash

        monkeypatch.setattr(storage.compact.compaction, "write_parquet_durably", half_write)
        return
    left = [{"after the rename": 0, "mid-deletes": 3}[step]]  # removals before the crash
    delete = storage.lake.retention.delete

    def delete_until_crash(path: Path) -> None:
        if left[0] == 0:
            raise Crash
        left[0] -= 1
        delete(path)

    monkeypatch.setattr(storage.lake.retention, "delete", delete_until_crash)


def test_intraday_merges_each_closed_hour_into_one_file_and_leaves_the_open_hour(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    try:
        log.frames(60)
        log.clock.advance(3600)  # 11:00: the 10:00 segment is closed
        log.frames(60)
        normalize(tmp_path, batch_records=10)
        before = view_rows(tmp_path)
        ten, eleven = (s.name for s in list_segments(tmp_path / "raw"))
        stats = compact(tmp_path, retention_s=0, intraday=True)
        assert stats.days == [DAY1] and stats.files_in > stats.partitions > 0
        assert view_rows(tmp_path) == before
        for partition in (tmp_path / "lake" / "live" / "quotes" / f"date={DAY1}").iterdir():
            names = [p.name for p in partition.glob("*.parquet")]
            stems = [n.split("-")[1] for n in names]
            assert stems.count(Path(ten).stem.split("-")[0]) == 1  # one file for 10:00
            assert stems.count(Path(eleven).stem.split("-")[0]) > 1  # the open hour untouched
    finally:
        log.writer.close()


def test_rows_normalized_after_a_compaction_show_at_once_and_merge_on_the_next_one(
    tmp_path: Path,
) -> None:
    two_days(tmp_path)
    compact(tmp_path, retention_s=0, date=DAY2)  # the operator's choice: the recorder is stopped
    later = RawLog(tmp_path, seed=5, start_ns=seoul_ns(2026, 11, 27, 14, 0, 0))  # restarted
    later.frames(8)
    later.writer.close()
    normalize(tmp_path)
    expected = view_rows(tmp_path)
    restarted = seoul_ns(2026, 11, 27, 14, 0, 0)
    late = {r[1] for t in ("quotes", "trades") for r in expected[t] if r[1] >= restarted}
    assert len(late) == 8  # the restarted run's 8 frames, each at its own receive time
    compact(tmp_path, retention_s=0, date=DAY2)
    assert view_rows(tmp_path) == expected
    hist = files(tmp_path, "hist", DAY2)
    assert len(hist) == len({p.parent for p in hist})  # one file per partition again
    assert [p.name for p in files(tmp_path, "live", DAY2)] == []


def test_compacting_a_day_a_recorder_is_writing_is_refused_with_why(tmp_path: Path) -> None:
    log = two_days(tmp_path, close=False)
    try:
        with pytest.raises(StorageError, match="a recorder is still writing 2026-11-27"):
            compact(tmp_path, retention_s=0, date=DAY2)
        stats = compact(tmp_path, retention_s=0)
        assert stats.days == [DAY1]
        assert stats.not_closed == {DAY2: "a recorder is writing it"}
    finally:
        log.writer.close()


def test_a_rebuild_after_compaction_rederives_the_day_and_drops_its_hist_files(
    tmp_path: Path,
) -> None:
    """The compacted tier of what a rebuild re-derives leaves the lake at once (a reader
    opening the catalog after it never sees those files), stays on disk for the readers that
    planned on it before, and is deleted once the retention is over."""
    two_days(tmp_path)
    compact(tmp_path, retention_s=0)
    before = view_rows(tmp_path)
    hist_day1 = files(tmp_path, "hist", DAY1)
    normalize(tmp_path, rebuild=True, date=DAY1)
    assert committed(tmp_path, "hist", DAY1) == [] and hist_day1
    assert all(p.exists() for p in hist_day1)  # readers of the old catalog can still open them
    assert view_rows(tmp_path) == before
    assert list((tmp_path / "lake" / "hist" / "books_by_minute").glob(f"date={DAY2}/*"))
    assert committed(tmp_path, "hist", DAY2, "books_by_minute")
    assert not committed(tmp_path, "hist", DAY1, "books_by_minute")
    normalize(tmp_path, rebuild=True)
    assert committed(tmp_path, "hist", DAY1) == committed(tmp_path, "hist", DAY2) == []
    assert view_rows(tmp_path) == before
    lake = tmp_path / "lake"
    manifest = read_manifest(lake)
    assert manifest is not None and vacuum(lake, manifest, time.time_ns(), 0) > 0
    assert not list((tmp_path / "lake" / "hist").rglob("*.parquet"))
    assert view_rows(tmp_path) == before


def committed(data_dir: Path, tier: str, day: dt.date, *tables: str) -> list[str]:
    """The committed files of ``day`` in ``tier`` (of the four tables, or ``tables``)."""
    manifest = read_manifest(data_dir / "lake")
    assert manifest is not None
    return sorted(
        rel
        for t in tables or TABLES
        for rel in manifest.files.get(t, {}).get(day.isoformat(), [])
        if rel.startswith(f"{tier}/")
    )


def test_a_day_is_not_compacted_by_date_until_every_record_of_it_is_normalized(
    tmp_path: Path,
) -> None:
    """The daemon's end of day can normalize while the recorder still writes its last
    records; once the recorder stops, `compact --date D` must not seal the day with those
    records still out of the lake (they would stay live files no compaction revisits)."""
    log = two_days(tmp_path, close=False)
    log.frames(5)  # written after the normalize, then the recorder stops
    log.writer.close()
    with pytest.raises(StorageError, match="not normalized"):
        compact(tmp_path, date=DAY2)
    assert not (tmp_path / "lake" / "hist" / "quotes" / f"date={DAY2}").exists()
    normalize(tmp_path)
    compact(tmp_path, date=DAY2, retention_s=0)
    live = list((tmp_path / "lake" / "live").glob(f"*/date={DAY2}/**/*.parquet"))
    assert live == []
    assert sum(len(rows) for rows in view_rows(tmp_path).values()) > 0
