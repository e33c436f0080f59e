"""`bondtape report --config F --date D`: the integrity report of one Seoul trading day.

What raw received and the lake holds per table and ISIN, rejects by reason, gaps and the
session's coverage, time anomalies, and a reconciliation of raw against the lake
(storage/report/report.py). Printed as tables and saved as data_dir/reports/D.json; exits 1 when raw
and the lake do not balance, naming the partitions that differ. The session is the config's
``[market]`` one (the date's own, if ``[[market.special_days]]`` gives it); with --data-dir,
the default 08:00-15:30.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from capture.clock import SystemClock
from capture.rawlog import list_segments, require_recorded
from jobs.cli import (
    add_data_dir_options,
    iso_date,
    positive_float,
    positive_int,
    progress_bar,
    raw_dir_from,
)
from jobs.config import MarketConfig, load_config
from storage.read import print_table
from storage.report import (
    DEFAULT_SKEW_S,
    DEFAULT_WORST,
    Report,
    ReportSettings,
    build_report,
    save_report,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_options(parser)
    parser.add_argument("--date", type=iso_date, required=True, help="the Seoul trading date")
    parser.add_argument(
        "--skew-threshold",
        type=positive_float,
        default=DEFAULT_SKEW_S,
        metavar="S",
        help="a row received more than S seconds from its exchange time is an anomaly",
    )
    parser.add_argument(
        "--worst",
        type=positive_int,
        default=DEFAULT_WORST,
        metavar="N",
        help="examples shown of each anomaly, and raw positions of each mismatch",
    )


def run(args: argparse.Namespace) -> int:
    raw_dir = raw_dir_from(args)
    data_dir, market = _data_dir_and_market(args)
    require_recorded(raw_dir, list_segments(raw_dir), args.date)
    session_open, session_close = market.hours(args.date)
    settings = ReportSettings(
        session_open=session_open,
        session_close=session_close,
        skew_threshold_s=args.skew_threshold,
        worst=args.worst,
    )
    with progress_bar(f"report {args.date}: raw", "segments") as advance:
        report = build_report(data_dir, args.date, settings, SystemClock(), advance)
    path = save_report(data_dir, report)
    render(report, sys.stdout)
    print(f"saved {path}")
    if not report.balanced:
        print(f"bondtape: {report.failure()}", file=sys.stderr)
        return 1
    return 0


def _data_dir_and_market(args: argparse.Namespace) -> tuple[Path, MarketConfig]:
    """Raises: ConfigError: the config file is invalid."""
    if args.config is None:
        return Path(args.data_dir), MarketConfig()
    config = load_config(args.config, read_credentials=False)
    return config.data_dir, config.market


def render(report: Report, out: TextIO) -> None:
    """The report's sections as tables, under a line that says whether it balances."""
    console = Console(file=out, highlight=False)
    verdict = "raw and lake balance" if report.balanced else "raw and lake DO NOT BALANCE"
    console.rule(Text(f"integrity report of {report.date}: {verdict}", style="bold"))
    console.print(f"raw segments: {', '.join(report.segments) or 'none'}")
    for section in report.sections:
        console.print()
        console.print(Text(section.title, style="bold"))
        print_table(section.rows, out)
