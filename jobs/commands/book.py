"""`bondtape book ISIN [--at TIME] [--date D] [--live]`: one ISIN's 5-level book with yields.

The book is the one `book_asof` gives: the ISIN's latest quote of that Seoul day received at
or before the instant (by default the end of the day: the latest book). `--at` is a Seoul
time on `--date` (today in Seoul by default), or a full timestamp. `--live` redraws the
latest book of `--date` (today) in place every second from the catalog, whose views read the
files the normalizer writes as they appear, until Ctrl-C or SIGTERM. It needs a terminal: on
a pipe it refuses (run the command without --live, once per look, instead) rather than fill a
log with redraws.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from capture.clock import SEOUL, Clock, SystemClock, seoul_date, seoul_datetime
from capture.errors import ConfigError, StorageError
from jobs.cli import add_data_dir_options, data_dir_from, iso_date
from storage.read import Book, Level, bond_name, book_at, nothing_recorded, open_catalog

LEVELS = 5
COLUMNS = ("level", "bid qty", "bid yld", "bid", "ask", "ask yld", "ask qty")
REFRESH_S = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("isin", metavar="ISIN", help="the bond, e.g. KR103502GD31")
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="Seoul time HH:MM[:SS[.ffffff]] on --date, or a timestamp "
        "('2026-11-26 10:30:00', Seoul unless it has an offset); default: the latest book",
    )
    parser.add_argument(
        "--date", type=iso_date, help="the Seoul trading date YYYY-MM-DD (default: today in Seoul)"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="redraw the latest book of --date (today) in place every second until Ctrl-C "
        "(a terminal only)",
    )
    add_data_dir_options(parser)


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    clock = SystemClock()
    if args.live:
        if args.at is not None:
            raise ConfigError("--at", args.at, "--live shows the latest book: drop --at")
        if not console.is_terminal:
            raise ConfigError(
                "--live", True, "redraws in place, so it needs a terminal; on a pipe or in a "
                "log, run `bondtape book ISIN` without --live, once per look",
            )  # fmt: skip
    data_dir = data_dir_from(args)
    if args.live:
        show_live(console, data_dir, args.isin, args.date, clock)
        return 0
    with open_catalog(data_dir) as con:
        day = args.date or seoul_date(clock.now_ns())
        at = book_instant(args.at, args.date, day)
        book = book_at(con, args.isin, at)
        if book is None:
            raise nothing_recorded(con, args.isin, at.date(), "book")
        note = "latest book" if args.at is None else f"book at {at.isoformat(' ')}"
        console.print(book_table(book, bond_name(con, args.isin, book.date), note))
    return 0


def book_instant(at: str | None, date: dt.date | None, day: dt.date) -> dt.datetime:
    """The instant ``--at`` names: a Seoul time on ``day``, or a full timestamp (Seoul unless
    it carries an offset); without one, the last microsecond of ``day`` (the latest book).

    Raises:
        ConfigError: ``at`` is neither, or a timestamp on another date than ``--date``.
    """
    if at is None:
        return dt.datetime.combine(day, dt.time.max, SEOUL)
    try:
        return dt.datetime.combine(day, dt.time.fromisoformat(at), SEOUL)
    except ValueError:
        pass
    try:
        instant = dt.datetime.fromisoformat(at)
    except ValueError:
        raise ConfigError(
            "--at", at, "give a Seoul time HH:MM:SS, or a timestamp '2026-11-26 10:30:00'"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=SEOUL)
    seoul = instant.astimezone(SEOUL)
    if date is not None and seoul.date() != date:
        raise ConfigError(
            "--at", at, f"falls on {seoul.date()} in Seoul, not on --date {date}: "
            "give one of them, or a time HH:MM:SS",
        )  # fmt: skip
    return seoul


def level_rows(book: Book) -> list[tuple[str, ...]]:
    """The table's rows: levels 1-5 reading outwards from the middle (bid qty, yield, price |
    ask price, yield, qty; a level the feed left empty is blank), then the sides' totals."""
    rows = []
    for n in range(LEVELS):
        bid = _cells(book.bids[n] if n < len(book.bids) else None)
        ask = _cells(book.asks[n] if n < len(book.asks) else None)
        rows.append((str(n + 1), *reversed(bid), *ask))
    rows.append(("total", f"{book.total_bid_qty:,}", "", "", "", "", f"{book.total_ask_qty:,}"))
    return rows


def _cells(level: Level | None) -> tuple[str, str, str]:
    """(price, yield, qty) as text, exact: every digit the feed sent."""
    if level is None:
        return ("", "", "")
    return (str(level.price), str(level.yield_), f"{level.qty:,}")


def book_table(book: Book, name: str | None, note: str) -> Table:
    """The book as a rich table: title the ISIN and name, caption the times and mid/spread."""
    table = Table(
        title="  ".join(part for part in (book.isin, name, f"({note})") if part),
        caption="\n".join(summary_lines(book)),
    )
    for column in COLUMNS:
        table.add_column(column, justify="right", no_wrap=True)
    rows = level_rows(book)
    for row in rows[:-1]:
        table.add_row(*row)
    table.add_section()
    table.add_row(*rows[-1], style="dim")
    return table


def summary_lines(book: Book) -> list[str]:
    """When the book was sent and received (Seoul), and its mid and spread."""
    received = seoul_datetime(book.recv_ns).strftime("%Y-%m-%d %H:%M:%S.%f")
    exch = f"{book.exch_time[:2]}:{book.exch_time[2:4]}:{book.exch_time[4:]}"
    times = f"exch time {exch}  ·  received {received} KST"
    if book.mid is None:
        return [times, "one-sided book: no mid or spread"]
    return [
        times,
        f"mid {book.mid}  spread {book.spread}  ·  "
        f"mid yield {book.mid_yield}  spread yield {book.spread_yield}",
    ]


def refresh(data_dir: Path, isin: str, date: dt.date | None, clock: Clock) -> RenderableType:
    """What ``--live`` shows now: the latest book of ``date`` (default: today in Seoul, by
    ``clock``), or a line saying it waits for one. The catalog is opened afresh: a
    connection keeps the lake as it was committed when it opened.

    Raises:
        StorageError: DuckDB cannot read the lake through the catalog.
    """
    wall = seoul_datetime(clock.now_ns())
    day = date or wall.date()
    note = f"live, {wall:%H:%M:%S} KST"
    with open_catalog(data_dir) as con:
        book = book_at(con, isin, book_instant(None, None, day))
        if book is None:
            return Text(f"{isin}: no quote on {day} yet ({note}); waiting, Ctrl-C to stop")
        return book_table(book, bond_name(con, isin, day), note)


def show_live(
    console: Console,
    data_dir: Path,
    isin: str,
    date: dt.date | None,
    clock: Clock,
) -> None:
    """Redraw :func:`refresh` in place every :data:`REFRESH_S` until SIGINT or SIGTERM. A
    read that fails (the catalog cannot be opened) keeps the last book on screen, with
    the error under it, and is tried again at the next refresh."""
    shown = refresh(data_dir, isin, date, clock)
    with _stop_on_signals() as stop, Live(shown, console=console, auto_refresh=False) as live:
        while not stop.wait(REFRESH_S):
            try:
                shown = refresh(data_dir, isin, date, clock)
                live.update(shown, refresh=True)
            except StorageError as exc:
                live.update(Group(shown, Text(f"read failed, retrying: {exc}")), refresh=True)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event SIGINT and SIGTERM set (a clean stop, exit 0), for the time of the block."""
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda _signum, _frame: stop.set())
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
