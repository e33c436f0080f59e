"""``bondtape normalize``: raw log to lake, once, following, or rebuilt from raw."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
from pathlib import Path

from capture.errors import ConfigError
from jobs.cli import add_data_dir_options, iso_date, positive_float, positive_int, raw_dir_from
from storage.normalize import DEFAULT_BATCH_RECORDS, NormalizeStats, follow, normalize

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data_dir_options(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--follow", action="store_true", help="keep up with the active segment")
    mode.add_argument("--rebuild", action="store_true", help="re-derive the lake from raw")
    p.add_argument("--date", type=iso_date, help="with --rebuild: one Seoul date")
    p.add_argument("--interval", type=positive_float, default=10.0, help="--follow poll seconds")
    p.add_argument(
        "--batch-records",
        type=positive_int,
        default=DEFAULT_BATCH_RECORDS,
        help="records per batch: bounds memory, and the size of each part file",
    )


def run(args: argparse.Namespace) -> int:
    data_dir = raw_dir_from(args).parent
    if args.date is not None and not args.rebuild:
        raise ConfigError("--date", args.date.isoformat(), "use --date together with --rebuild")
    if args.follow:
        stopping: list[int] = []
        signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
        stats = follow(
            data_dir, interval_s=args.interval, stop=lambda: bool(stopping),
            batch_records=args.batch_records,
        )  # fmt: skip
    elif args.rebuild and sys.stderr.isatty():
        stats = _rebuild_with_progress(data_dir, args.date, args.batch_records)
    else:
        stats = normalize(
            data_dir, rebuild=args.rebuild, date=args.date, batch_records=args.batch_records
        )
    print(_summary(stats))
    if args.rebuild:
        print(
            "the compacted (hist) files of what was rebuilt were removed with it: "
            "`bondtape compact` compacts the closed days again"
        )
    return 0


def _rebuild_with_progress(
    data_dir: Path, date: dt.date | None, batch_records: int
) -> NormalizeStats:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from capture.rawlog import list_segments

    segments = list_segments(data_dir / "raw")
    if date is not None:
        segments = [s for s in segments if s.name.startswith(date.isoformat())]
    columns = (
        TextColumn("rebuild"),
        BarColumn(),
        TextColumn("{task.fields[records]:,} records  {task.fields[rate]:,.0f} records/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task(
            "rebuild", total=sum(s.size_bytes for s in segments), records=0, rate=0
        )
        done = [0]

        def on_batch(records: int, nbytes: int) -> None:
            done[0] += records
            elapsed = progress.tasks[task].elapsed or 1e-9
            progress.update(task, advance=nbytes, records=done[0], rate=done[0] / elapsed)

        return normalize(
            data_dir, rebuild=True, date=date, batch_records=batch_records, on_batch=on_batch
        )


def _summary(stats: NormalizeStats) -> str:
    rows = ", ".join(f"{name} {n}" for name, n in stats.rows.items())
    return (
        f"normalized {stats.records} raw records (frames and events) in {stats.batches} "
        f"batches ({stats.records_per_s:,.0f} records/s): rows {rows}"
    )
