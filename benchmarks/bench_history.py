"""One-day queries as the history grows: the same questions about one day, with 1, 20, 60 and
250 trading days in the lake.

``python -m benchmarks.bench_history [--isins N --quotes N --trades N]`` records and compacts
the benchmark day (benchmarks/query_day.py: 100 ISINs, 2 M quotes, 500 k trades, normalized
once, then the daily compaction: what a closed day leaves in hist), then grows the history by
cloning that day's folders to the trading days before it: every file of ``TABLE/date=DAY``
(both tiers, the day's book indexes too) hard-linked into ``TABLE/date=D``. Only the folder
says which day a file holds: the rows inside keep the benchmark day's times, which no one-day
query below sees, as each selects its day by ``date`` (the partition) or, ``book_asof``, by
the instant's date folder; a query that counted rows of another day would show as rows that
differ between history lengths, which the report flags. The catalog is rebuilt after each
growth (``bondtape catalog``), as an explicit rebuild.

At each length, on one read-only connection as a user's session holds it, each query's
median of ``--repeat`` runs after a warm-up (one run when the warm-up took over 2 s): the
one-ISIN day scan, a day's trade count, 1-minute ``bars``, ``trades_summary``,
``trades_with_quote``, ``book_asof``, ``event_batches`` over the day, and the same ad-hoc
one-day SQL through the catalog's date-range table macros ``quotes_between(start, end)`` /
``trades_between(start, end)`` (the plain views where the catalog has no such macros; the
report says which). Each figure's ratio to its 1-day figure is printed; the target is 1.5x
at 250 days.

The recorded and compacted day is kept in ``--cache`` (default: a folder under the system's
temporary directory named for the day's shape and for the storage code that wrote it), so a
second run starts from the clones; ``--rebuild-day`` records it afresh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

import storage
from benchmarks.query_day import DAY, DaySpec, isins, write_day
from storage.compact.compaction import compact
from storage.read.catalog import build_catalog
from storage.read.history import event_batches
from storage.read.queries import named_query, open_catalog, run_query

LENGTHS = (1, 20, 60, 250)
TARGET_RATIO = 1.5
AT = f"{DAY} 14:00:00.5+09:00"
READY = "READY"  # in the cache: the day was recorded and compacted whole
Query = Callable[[duckdb.DuckDBPyConnection], int]  # runs the query; the rows it gave (a count)


def trading_days(n: int) -> list[dt.date]:
    """The benchmark day and the ``n - 1`` weekdays before it, latest first."""
    days, day = [DAY], DAY
    while len(days) < n:
        day -= dt.timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def macros_present(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the catalog defines the date-range table macros for external clients."""
    ((found,),) = con.execute(
        "SELECT count(DISTINCT function_name) FROM duckdb_functions() "
        "WHERE function_name IN ('quotes_between', 'trades_between')"
    ).fetchall()
    return bool(found == 2)


def queries(data_dir: Path, isin: str, *, macros: bool) -> dict[str, Query]:
    day = DAY.isoformat()

    def scan(text: str) -> Query:
        """The ISIN's quotes of the day (``$day``, ``$isin``) into Arrow."""
        return lambda con: (
            con.sql(text, params={"day": day, "isin": isin}).to_arrow_table().num_rows
        )

    def count(text: str) -> Query:
        """A count of the day's (``$day``) rows, reported as the rows."""

        def run(con: duckdb.DuckDBPyConnection) -> int:
            ((found,),) = con.execute(text, {"day": day}).fetchall()
            return int(found)

        return run

    def named(name: str, **values: str) -> Query:
        return lambda con: run_query(con, named_query(name), values).num_rows

    quotes = "quotes_between($day, $day)" if macros else "quotes WHERE date = $day"
    trades = "trades_between($day, $day)" if macros else "trades WHERE date = $day"
    return {
        "one-ISIN day scan": scan("FROM quotes WHERE date = $day AND isin = $isin"),
        "day's trade count": count("SELECT count(*) FROM trades WHERE date = $day"),
        "bars, 1 minute": named("bars", date=day, interval="1 minute"),
        "trades_summary": named("trades_summary", date=day),
        "trades_with_quote": named("trades_with_quote", isin=isin, date=day),
        "book_asof": named("book_asof", at=AT),
        "event_batches, day": lambda _: sum(b.num_rows for b in event_batches(data_dir, DAY)),
        "ad-hoc ISIN scan": scan(f"FROM {quotes} {'WHERE' if macros else 'AND'} isin = $isin"),
        "ad-hoc trade count": count(f"SELECT count(*) FROM {trades}"),
    }


SLOW_MS = 2000
"""A query whose warm-up took longer is timed once: at 250 days the views' glob takes seconds
a query, and the growth, not the third digit, is the finding."""


def timed(con: duckdb.DuckDBPyConnection, query: Query, repeat: int) -> tuple[float, int]:
    """Median milliseconds over ``repeat`` runs after a warm-up (one run if the warm-up was
    slow), and the rows it returned."""
    start = time.perf_counter()
    rows = query(con)
    if (time.perf_counter() - start) * 1000 > SLOW_MS:
        repeat = 1
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        query(con)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), rows


def code_stamp() -> str:
    """A digest of the storage code: a day compacted by other code is not reused."""
    root = Path(storage.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def recorded_day(cache: Path, spec: DaySpec, *, afresh: bool) -> tuple[Path, str]:
    """The data_dir holding the benchmark day, compacted (recorded now unless cached), and how
    it was had."""
    data_dir = cache / f"{spec.isins}-{spec.quotes}-{spec.trades}-{code_stamp()}"
    if (data_dir / READY).exists() and not afresh:
        return data_dir, f"reused from {data_dir}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    started = time.monotonic()
    write_day(data_dir, spec, keep_open=False, normalize_every=spec.minutes)
    compact(data_dir, date=DAY)
    (data_dir / READY).touch()
    return data_dir, f"recorded and compacted in {time.monotonic() - started:.0f} s"


def day_folders(lake: Path, day: dt.date) -> list[Path]:
    """Every ``TIER/TABLE/date=DAY`` folder of the lake."""
    return sorted(lake.glob(f"*/*/date={day.isoformat()}"))


def grow(data_dir: Path, days: list[dt.date]) -> int:
    """Clone the benchmark day's folders to each of ``days`` that has none yet (hard links;
    a copy where links fail); the files the lake holds now."""
    lake = data_dir / "lake"
    sources = day_folders(lake, DAY)
    for day in days:
        for source in sources:
            target = source.with_name(f"date={day.isoformat()}")
            if not target.exists():
                shutil.copytree(source, target, copy_function=_link)
    return sum(1 for _ in lake.rglob("*.parquet"))


def _link(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def clear_clones(data_dir: Path) -> None:
    """Remove every day but the benchmark day (a run interrupted may have left clones)."""
    for folder in (data_dir / "lake").glob("*/*/date=*"):
        if folder.name != f"date={DAY.isoformat()}":
            shutil.rmtree(folder)


def days_seen(con: duckdb.DuckDBPyConnection) -> int:
    """Dates the catalog's trades view shows: whether it sees the clones."""
    ((found,),) = con.execute("SELECT count(DISTINCT date) FROM trades").fetchall()
    return int(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_history", description=__doc__)
    parser.add_argument("--isins", type=int, default=100)
    parser.add_argument("--quotes", type=int, default=2_000_000)
    parser.add_argument("--trades", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "bondtape-bench-history"
    )
    parser.add_argument("--rebuild-day", action="store_true", help="record the day afresh")
    args = parser.parse_args(argv)
    spec = DaySpec(isins=args.isins, quotes=args.quotes, trades=args.trades)
    isin = isins(spec.isins)[0]
    data_dir, how = recorded_day(args.cache, spec, afresh=args.rebuild_day)
    print(f"day       {spec.quotes:,} quotes, {spec.trades:,} trades, {spec.isins} ISINs: {how}")
    clear_clones(data_dir)
    figures: dict[int, dict[str, tuple[float, int]]] = {}
    notes: list[str] = []
    try:
        for length in sorted(args.lengths):
            started = time.monotonic()
            files = grow(data_dir, trading_days(length)[1:])
            build_catalog(data_dir)
            con = open_catalog(data_dir)
            try:
                seen = days_seen(con)
                macros = macros_present(con)
                ready_s = time.monotonic() - started
                figures[length] = {
                    name: timed(con, query, args.repeat)
                    for name, query in queries(data_dir, isin, macros=macros).items()
                }
            finally:
                con.close()
            print(f"history   {length} day(s): {files:,} files, the views see {seen} day(s), "
                  f"cloned and catalogued in {ready_s:.1f} s", flush=True)  # fmt: skip
            if seen != length:
                notes.append(f"at {length} days the views see {seen}: not the history cloned")
            if not macros and "no macros" not in " ".join(notes):
                notes.append(
                    "no macros: the catalog has no quotes_between/trades_between, so the "
                    "ad-hoc rows ran on the plain views (WHERE date = ...)"
                )
    finally:
        clear_clones(data_dir)
    print(report(figures))
    for note in notes:
        print(f"note      {note}")
    return 0


def report(figures: dict[int, dict[str, tuple[float, int]]]) -> str:
    lengths = sorted(figures)
    first, last = lengths[0], lengths[-1]
    head = "".join(f"{f'{n} d ms':>10}" for n in lengths)
    lines = [f"{'query (one day)':20} {'rows':>10}{head} {f'{last}/{first}':>8}  target"]
    for name in figures[first]:
        base_ms, rows = figures[first][name]
        cells = "".join(f"{figures[n][name][0]:>10.1f}" for n in lengths)
        ratio = figures[last][name][0] / base_ms
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        if any(figures[n][name][1] != rows for n in lengths):
            verdict += "; ROWS DIFFER: " + ", ".join(str(figures[n][name][1]) for n in lengths)
        lines.append(f"{name:20} {rows:>10,}{cells} {ratio:>7.1f}x  <= {TARGET_RATIO}x: {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
