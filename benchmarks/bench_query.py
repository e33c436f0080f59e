"""SQL over a day's books, as the lake holds it at three moments, and compaction's throughput.

``python -m benchmarks.bench_query [--isins N --quotes N --trades N]`` records and normalizes
a generated day minute by minute (benchmarks/query_day.py: 100 ISINs, 2 M quotes and 500 k
trades by default, a file per table and ISIN a minute), builds the catalog, then times four
queries through it: ``book_asof`` (every ISIN's 5-level book at an instant), a one-ISIN day
scan into Arrow, 1-minute ``bars`` for all ISINs, and ``trades_with_quote`` for one ISIN. It
times them on the un-compacted live tier (the baseline, measured in the same run), after
intraday compaction, and after the daily compaction (hist). Each figure is the median of
``--repeat`` runs after one warm-up, on one read-only connection, as a user's session would.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from benchmarks.query_day import DAY, DaySpec, isins, write_day
from storage.compact.compaction import compact
from storage.read.catalog import build_catalog
from storage.read.queries import named_query, open_catalog, run_query

AT = f"{DAY} 14:00:00.5+09:00"
Query = Callable[[duckdb.DuckDBPyConnection], object]

# name -> (target on hist in ms, or None), and the speed-up over the live tier it must reach
TARGETS = {
    "book_asof": (50, 5),
    "one-ISIN day scan": (30, 5),
    "bars, 1 minute": (150, 5),
    "trades_with_quote": (None, None),
}


def queries(isin: str) -> dict[str, Query]:
    day = DAY.isoformat()
    return {
        "book_asof": lambda con: run_query(con, named_query("book_asof"), {"at": AT}),
        "one-ISIN day scan": lambda con: con.sql(
            "FROM quotes WHERE date = $day AND isin = $isin", params={"day": day, "isin": isin}
        ).to_arrow_table(),
        "bars, 1 minute": lambda con: run_query(
            con, named_query("bars"), {"date": day, "interval": "1 minute"}
        ),
        "trades_with_quote": lambda con: run_query(
            con, named_query("trades_with_quote"), {"isin": isin, "date": day}
        ),
    }


def timed(con: duckdb.DuckDBPyConnection, query: Query, repeat: int) -> tuple[float, int]:
    """Median milliseconds over ``repeat`` runs after a warm-up, and the rows it returned."""
    rows = query(con)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        query(con)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), getattr(rows, "num_rows", 0)


def measure(data_dir: Path, isin: str, repeat: int) -> dict[str, tuple[float, int]]:
    con = open_catalog(data_dir)
    try:
        return {name: timed(con, q, repeat) for name, q in queries(isin).items()}
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_query", description=__doc__)
    parser.add_argument("--isins", type=int, default=100)
    parser.add_argument("--quotes", type=int, default=2_000_000)
    parser.add_argument("--trades", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the day in this new folder, and keep it")
    args = parser.parse_args(argv)
    spec = DaySpec(isins=args.isins, quotes=args.quotes, trades=args.trades)
    isin = isins(spec.isins)[0]
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        data_dir = args.keep or Path(tmp)
        writer, wrote_s = write_day(data_dir, spec, keep_open=True)
        files = sum(1 for _ in (data_dir / "lake" / "live").rglob("*.parquet"))
        print(
            f"day       {spec.quotes:,} quotes, {spec.trades:,} trades, {spec.isins} ISINs: "
            f"{files:,} live files from {spec.minutes} minute batches in {wrote_s:.0f} s"
        )
        build_catalog(data_dir)
        tiers = {"live": measure(data_dir, isin, args.repeat)}
        intraday = compact(data_dir, intraday=True)
        tiers["intraday"] = measure(data_dir, isin, args.repeat)
        writer.close()
        daily = compact(data_dir, date=DAY)
        tiers["hist"] = measure(data_dir, isin, args.repeat)
    for name, stats in (("intraday", intraday), ("daily", daily)):
        print(f"compact   {name}: {stats.files_in:,} files -> {stats.partitions:,} in "
              f"{stats.seconds:.1f} s, {stats.rows_per_s:,.0f} rows/s")  # fmt: skip
    print(report(tiers))
    return 0


def report(tiers: dict[str, dict[str, tuple[float, int]]]) -> str:
    lines = [
        f"{'query':20} {'rows':>8} {'live ms':>9} {'intraday':>9} {'hist ms':>9} "
        f"{'live/hist':>9}  target on hist"
    ]
    for name, (target_ms, speedup) in TARGETS.items():
        live, intraday, hist = (tiers[t][name][0] for t in ("live", "intraday", "hist"))
        rows = tiers["hist"][name][1]
        goal = "" if target_ms is None else f"< {target_ms} ms and >= {speedup}x"
        if name == "book_asof":
            goal += "; intraday < 500 ms"
        lines.append(
            f"{name:20} {rows:>8,} {live:>9.1f} {intraday:>9.1f} {hist:>9.1f} "
            f"{live / hist:>8.1f}x  {goal}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
