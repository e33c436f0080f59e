"""Replaced files: kept for the retention, so a catalog opened before a compaction still reads
every file it planned on; deleted by the vacuum after a later commit; stamped afresh when the
manifest is lost. Real raw logs, the real normalizer and compaction, real DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from capture.clock import ManualClock
from storage.compact.compaction import compact
from storage.lake.manifest import manifest_path, read_manifest
from storage.normalize.normalizer import normalize
from storage.read.catalog import commit, connect
from tests.support.rawdata import RawLog
from tests.support.rawlog import seoul_ns

DAY = dt.date(2026, 11, 26)
COUNT = "SELECT (SELECT count(*) FROM quotes) + (SELECT count(*) FROM trades)"


def one_day(data_dir: Path) -> int:
    """A closed day normalized in small batches (many live files); the rows it holds."""
    log = RawLog(data_dir, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    log.frames(40)
    log.writer.close()
    normalize(data_dir, batch_records=5)
    return len(log.expected["quotes"]) + len(log.expected["trades"])


def live_files(data_dir: Path) -> set[str]:
    lake = data_dir / "lake"
    return {
        str(p.relative_to(lake))
        for p in (lake / "live").rglob("part-*.parquet")
        if p.parts[-4] in ("quotes", "trades", "rejects") or "gaps" in p.parts
    }


def test_a_compaction_keeps_what_it_replaced_for_the_retention_then_a_later_one_deletes_it(
    tmp_path: Path,
) -> None:
    rows = one_day(tmp_path)
    before = connect(tmp_path)  # planned on the live files
    replaced = live_files(tmp_path)
    assert len(replaced) > 10
    clock = ManualClock(seoul_ns(2026, 11, 27, 12, 0, 0))

    stats = compact(tmp_path, date=DAY, clock=clock, retention_s=600)

    assert stats.files_removed == 0 and live_files(tmp_path) == replaced
    manifest = read_manifest(tmp_path / "lake")
    assert manifest is not None
    assert replaced <= set(manifest.tombstones)
    assert set(manifest.tombstones.values()) == {clock.now_ns()}
    committed = [rel for days in manifest.files.values() for rels in days.values() for rel in rels]
    assert committed and all(rel.startswith("hist/") for rel in committed)
    assert before.sql(COUNT).fetchall() == [(rows,)]  # its snapshot: the replaced files
    assert connect(tmp_path).sql(COUNT).fetchall() == [(rows,)]  # the new one: hist

    clock.advance(599)
    assert compact(tmp_path, date=DAY, clock=clock, retention_s=600).files_removed == 0
    clock.advance(1)
    gone = compact(tmp_path, date=DAY, clock=clock, retention_s=600).files_removed
    assert gone >= len(replaced) and live_files(tmp_path) == set()
    assert read_manifest(tmp_path / "lake").tombstones == {}  # type: ignore[union-attr]
    assert connect(tmp_path).sql(COUNT).fetchall() == [(rows,)]


def test_a_lost_manifest_is_derived_again_from_the_files_with_fresh_stamps(
    tmp_path: Path,
) -> None:
    rows = one_day(tmp_path)
    clock = ManualClock(seoul_ns(2026, 11, 27, 12, 0, 0))
    compact(tmp_path, date=DAY, clock=clock, retention_s=600)
    first = read_manifest(tmp_path / "lake")
    manifest_path(tmp_path / "lake").unlink()  # a crash, or an operator

    again = commit(tmp_path, clock.now_ns() + 500 * 10**9)

    assert first is not None and again.files == first.files
    assert set(again.tombstones) == set(first.tombstones)
    assert set(again.tombstones.values()) == {clock.now_ns() + 500 * 10**9}  # never sooner
    assert connect(tmp_path).sql(COUNT).fetchall() == [(rows,)]
