"""`bondtape compact`: merge the lake's small files, crash-safely (storage/compact/compaction.py).

Without options, every closed day becomes one sorted hist file per (table, date, isin); with
``--date D``, that day, even today, unless a recorder is still writing it; with
``--intraday``, the closed hours of the days still open. The lake is brought up to date with
raw first, so a closed day is compacted whole. The files replaced stay for ``[lake]
retention_s`` (readers may be reading them) and go at a later compaction.
"""

from __future__ import annotations

import argparse

from capture.errors import DayNotNormalized
from jobs.cli import add_data_dir_options, iso_date, progress_bar, raw_dir_from
from jobs.config import LakeConfig, load_config
from storage.compact import CompactStats, compact
from storage.normalize import normalize


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_options(parser)
    parser.add_argument("--date", type=iso_date, help="compact this Seoul date")
    parser.add_argument(
        "--intraday", action="store_true", help="merge the closed hours of days still open"
    )


def run(args: argparse.Namespace) -> int:
    data_dir = raw_dir_from(args).parent
    lake = (
        LakeConfig()
        if args.config is None
        else load_config(args.config, read_credentials=False).lake
    )
    normalized = normalize(data_dir).records
    with progress_bar("compact", "days") as advance:
        try:
            stats = compact(
                data_dir, date=args.date, intraday=args.intraday, on_day=advance,
                retention_s=lake.retention_s,
            )  # fmt: skip
        except DayNotNormalized:
            # A recorder wrote more of the day after that normalize, and has stopped since
            # (it would still be writing otherwise): bring the lake to the day's end, once.
            normalized += normalize(data_dir).records
            stats = compact(
                data_dir, date=args.date, intraday=args.intraday, on_day=advance,
                retention_s=lake.retention_s,
            )  # fmt: skip
    print(f"normalized {normalized} new records first")
    print(summary(stats, intraday=args.intraday))
    return 0


def summary(stats: CompactStats, *, intraday: bool) -> str:
    days = ", ".join(day.isoformat() for day in stats.days) or "none"
    lines = [
        f"{'intraday ' if intraday else ''}compacted {days}: {stats.partitions} file(s) "
        f"written from {stats.files_in}, {stats.files_removed} replaced file(s) removed, "
        f"{stats.rows:,} rows "
        f"({stats.rows_per_s:,.0f} rows/s); {stats.sealed} raw segment(s) sealed"
    ]
    lines += [f"  {day} not closed: {why}" for day, why in sorted(stats.not_closed.items())]
    return "\n".join(lines)
