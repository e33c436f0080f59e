"""Which lake files hold a table's rows of one Seoul date: the one place the iterator asks.

The answer is the lake's committed manifest (storage/lake/manifest.py), read once per
iteration: the same files the catalog's views read at that commit, each row in exactly one of
them, and files a later compaction replaces stay readable for the retention. So an iterator
sees one state of the lake, also while it is written, and lists nothing itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from capture.errors import StorageError
from storage.lake import (
    HIST_PREFIX,
    QUOTES_BY_TIME,
    Manifest,
    covering,
    range_of,
    read_manifest,
    scan,
)
from storage.read.catalog import CATALOG_NAME


def lake_dir(data_dir: Path) -> Path:
    """``data_dir/lake`` (it may not exist yet in a data_dir that has a catalog: nothing is
    normalized there so far).

    Raises:
        StorageError: ``data_dir`` has neither a lake nor a catalog: it is not one bondtape
            wrote (a wrong path, or nothing normalized yet).
    """
    lake = data_dir / "lake"
    if not (lake.is_dir() or (data_dir / CATALOG_NAME).is_file()):
        raise StorageError(
            f"no lake at {lake}: give the data_dir that holds lake/, or fill it with "
            "`bondtape normalize --config F` (or --data-dir D) after recording"
        )
    return lake


def committed(lake: Path) -> Manifest:
    """The lake's last committed state (a lake written before manifests: as its files say)."""
    return read_manifest(lake) or scan(lake, 0)


def lake_days(
    manifest: Manifest, tables: list[str], first: dt.date, last: dt.date
) -> list[dt.date]:
    """The Seoul dates from ``first`` to ``last`` with a committed file of any of ``tables``."""
    found = {day for table in tables for day in manifest.files.get(table, {})}
    return sorted(d for day in found if first <= (d := dt.date.fromisoformat(day)) <= last)


def day_files(lake: Path, manifest: Manifest, table: str, day: dt.date) -> list[Path]:
    """The committed files of ``table`` on ``day``, hist before live, each in name (raw)
    order. A hist file (named ``data-...``) is sorted by receipt as compaction writes it; a
    live file (``part-...``) need not be."""
    return [lake / rel for rel in manifest.files.get(table, {}).get(day.isoformat(), [])]


def is_sorted_file(path: Path) -> bool:
    """Whether compaction wrote ``path`` sorted by receipt (a hist file)."""
    return path.name.startswith(HIST_PREFIX)


def isin_of(path: Path) -> str:
    """The ISIN of a file of a table partitioned by ISIN (its ``isin=`` folder)."""
    return path.parent.name.removeprefix("isin=")


def quotes_by_time(
    lake: Path, manifest: Manifest, day: dt.date, quote_files: list[Path]
) -> Path | None:
    """The file holding exactly the rows of the hist files among ``quote_files`` (the day's
    :func:`day_files` of quotes), all ISINs in one, sorted by receipt: compaction's
    ``quotes_by_time`` index of the day (storage/compact/day_index.py), if it is current.
    It is named for the range covering the files it was built from, as compaction decides
    whether to rebuild it; None when there is none such.
    """
    ranges = [r for p in quote_files if is_sorted_file(p) and (r := range_of(p.name))]
    if not ranges:
        return None
    name = covering(ranges).file_name(HIST_PREFIX)
    path = lake / "hist" / QUOTES_BY_TIME / f"date={day.isoformat()}" / name
    return path if path in day_files(lake, manifest, QUOTES_BY_TIME, day) else None
