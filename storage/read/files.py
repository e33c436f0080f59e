"""Which lake files hold a table's rows of one Seoul date: the one place the read side (the
iterator, the Python API) asks, so that how the answer is found can change in one place.

Today it lists the date's partitions of both tiers and leaves out the files another one
supersedes (storage/lake/ranges.py), the rule the catalog's views apply in SQL; a committed
manifest of the lake's files can answer the same question later without a listing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from capture.errors import StorageError
from storage.lake import HIST_PREFIX, QUOTES_BY_TIME, covering, partition, range_of, superseded
from storage.read.catalog import CATALOG_NAME
from storage.schemas import TABLES


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


def lake_days(lake: Path, tables: list[str], first: dt.date, last: dt.date) -> list[dt.date]:
    """The Seoul dates from ``first`` to ``last`` with a folder of any of ``tables`` in
    either tier (a date's rows may all be gone from a folder still there: it then has no
    :func:`day_files`)."""
    found = set()
    for tier in ("hist", "live"):
        for table in tables:
            for folder in (lake / tier / table).glob("date=*"):
                try:
                    day = dt.date.fromisoformat(folder.name.removeprefix("date="))
                except ValueError:  # not a partition of ours
                    continue
                if first <= day <= last:
                    found.add(day)
    return sorted(found)


def day_files(lake: Path, table: str, day: dt.date) -> list[Path]:
    """The files of ``table`` on ``day`` whose rows the views show, each row in exactly one
    of them, in partition then name order: per partition (``isin=`` folder), the hist and
    live files no other file of the partition supersedes, and any file named for no range.

    A hist file (named ``data-...``) is sorted by receipt as compaction writes it; a live
    file (``part-...``) need not be.
    """
    schema = TABLES[table]
    pattern = "isin=*/*.parquet" if schema.partition_by_isin else "*.parquet"
    folders: dict[str, list[Path]] = {}
    for tier in ("hist", "live"):
        root = lake / tier / partition(table, day.isoformat(), None)
        for path in root.glob(pattern):
            folders.setdefault(str(path.parent.relative_to(root)), []).append(path)
    chosen: list[Path] = []
    for _, paths in sorted(folders.items()):
        gone = superseded({p.name: p.name.startswith(HIST_PREFIX) for p in paths})
        chosen += sorted((p for p in paths if p.name not in gone), key=lambda p: p.name)
    return chosen


def is_sorted_file(path: Path) -> bool:
    """Whether compaction wrote ``path`` sorted by receipt (a hist file)."""
    return path.name.startswith(HIST_PREFIX)


def isin_of(path: Path) -> str:
    """The ISIN of a file of a table partitioned by ISIN (its ``isin=`` folder)."""
    return path.parent.name.removeprefix("isin=")


def quotes_by_time(lake: Path, day: dt.date, quote_files: list[Path]) -> Path | None:
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
    return path if path.is_file() else None
