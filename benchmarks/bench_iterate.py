"""The history iterator's throughput: a day as Arrow batches and as objects, in receipt order.

``python -m benchmarks.bench_iterate [--isins N --quotes N --trades N]`` records a generated
day (benchmarks/query_day.py: 50 ISINs, 1 M quotes and 250 k trades by default, normalized
once, so it builds in seconds), compacts it to hist as a closed day is, builds the catalog,
then reads the whole day three ways: the baseline, a plain ``read_parquet`` of the same hist
files streamed as Arrow, table by table, unordered; ``event_batches`` (both tables merged in
receipt order); ``events`` (the same as Book and Trade objects). Batches and baseline are the
median of ``--repeat`` runs after a warm-up; objects, slower, one run. Last, the peak RSS of
a fresh process that imports bondtape and reads the day as batches.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from benchmarks.query_day import DAY, DaySpec, write_day
from storage.compact.compaction import compact
from storage.read.catalog import build_catalog
from storage.read.history import event_batches, events

TARGET_BATCH_ROWS_PER_S = 2_000_000
TARGET_PEAK_RSS_MB = 300


def plain_read(data_dir: Path) -> int:
    """The baseline: the day's hist files of quotes and trades, as Arrow batches, no order."""
    con = duckdb.connect()
    try:
        rows = 0
        for table in ("quotes", "trades"):
            glob = str(data_dir / "lake" / "hist" / table / f"date={DAY}" / "*" / "*.parquet")
            reader = con.sql(f"FROM read_parquet('{glob}')").to_arrow_reader(122_880)
            rows += sum(batch.num_rows for batch in reader)
        return rows
    finally:
        con.close()


def batches(data_dir: Path) -> int:
    return sum(batch.num_rows for batch in event_batches(data_dir, DAY))


def peak_rss_mb(data_dir: Path) -> float:
    """The peak RSS of a fresh process reading the day as batches (the day was built here)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_batches_peak_kb, (data_dir,)) / 1024


def _batches_peak_kb(data_dir: Path) -> int:
    """The process's peak RSS in KiB after reading: VmHWM, this process image's own (the
    ru_maxrss of a spawned child keeps its parent's size at the fork)."""
    batches(data_dir)
    status = Path("/proc/self/status").read_text(encoding="ascii")
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1])


def objects(data_dir: Path) -> int:
    return sum(1 for _ in events(data_dir, DAY))


def timed(read: Callable[[Path], int], data_dir: Path, repeat: int) -> tuple[float, int]:
    """Median seconds over ``repeat`` runs (after a warm-up when more than one), and rows."""
    rows = read(data_dir) if repeat > 1 else 0
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        rows = read(data_dir)
        times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_iterate", description=__doc__)
    parser.add_argument("--isins", type=int, default=50)
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--trades", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the day in this new folder, and keep it")
    args = parser.parse_args(argv)
    spec = DaySpec(isins=args.isins, quotes=args.quotes, trades=args.trades)
    with tempfile.TemporaryDirectory(prefix="bench-iterate-") as tmp:
        data_dir = args.keep or Path(tmp)
        started = time.monotonic()
        write_day(data_dir, spec, keep_open=False, normalize_every=spec.minutes)
        compact(data_dir, date=DAY)
        build_catalog(data_dir)
        print(f"day       {spec.quotes:,} quotes, {spec.trades:,} trades, {spec.isins} ISINs, "
              f"recorded and compacted in {time.monotonic() - started:.0f} s")  # fmt: skip
        figures = {
            "plain read_parquet (baseline)": timed(plain_read, data_dir, args.repeat),
            "event_batches": timed(batches, data_dir, args.repeat),
            "events (objects)": timed(objects, data_dir, 1),
        }
        peak = peak_rss_mb(data_dir)
    print(report(figures))
    verdict = "met" if peak < TARGET_PEAK_RSS_MB else "MISSED"
    print(f"peak RSS  event_batches in a fresh process: {peak:,.0f} MB "
          f"(target < {TARGET_PEAK_RSS_MB} MB: {verdict})")  # fmt: skip
    return 0


def report(figures: dict[str, tuple[float, int]]) -> str:
    base_s, base_rows = figures["plain read_parquet (baseline)"]
    lines = [f"{'read':30} {'rows':>10} {'s':>7} {'rows/s':>11} {'vs baseline':>11}"]
    for name, (seconds, rows) in figures.items():
        assert rows == base_rows, f"{name} read {rows:,} rows, the baseline {base_rows:,}"
        lines.append(
            f"{name:30} {rows:>10,} {seconds:>7.2f} {rows / seconds:>11,.0f} "
            f"{base_s / seconds:>10.2f}x"
        )
    rate = base_rows / figures["event_batches"][0]
    verdict = "met" if rate >= TARGET_BATCH_ROWS_PER_S else "MISSED"
    lines.append(f"target    event_batches >= {TARGET_BATCH_ROWS_PER_S:,} rows/s: {verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
