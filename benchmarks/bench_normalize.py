"""Normalizer throughput: vectorized parser vs a naive per-field baseline, and end to end.

``python -m benchmarks.bench_normalize [--frames N]`` generates N frames (5 % multi-record,
0.5 % malformed), then measures (a) parsing in memory: bondtape's DuckDB parser, warm (as
the normalizer uses it) and the median of 3 runs, against a per-frame split/Decimal/dict
baseline (one run, about a minute at 1 M frames); (b) raw segments in, durable Parquet out,
checkpoint moved, in a fresh child process so its peak RSS is the normalizer's own. Numbers
are records (rows + rejects) per second; one compact table with the issue's targets.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path

import pyarrow as pa

from capture.clock import ManualClock
from capture.kis.layouts import LAYOUTS, Kind
from capture.kis.protocol import data_frame
from capture.rawlog import RawLogWriter, RecordKind
from storage.normalize.normalizer import normalize
from storage.normalize.parser import FRAME_SCHEMA, FrameParser

PARSE_RUNS = 3
ISINS = ["KR103502GD31", "KR103501GE15", "KR101501DD41", "KR6000011D27"]


_VALUES: dict[Kind, Callable[[random.Random], str]] = {
    Kind.TIME: lambda rng: f"{rng.randint(9, 15):02d}{rng.randint(0, 59):02d}00",
    Kind.PRICE: lambda rng: f"{rng.randint(9000, 11000)}.{rng.randint(0, 99):02d}",
    Kind.YIELD: lambda rng: f"{rng.randint(2, 5)}.{rng.randint(0, 999):03d}",
    Kind.RATE: lambda rng: f"{rng.randint(0, 2)}.{rng.randint(0, 99):02d}",
    Kind.QTY: lambda rng: str(rng.randint(0, 10_000_000)),
    Kind.SIGN: lambda rng: str(rng.randint(1, 5)),
    Kind.TEXT: lambda rng: "국고03250-5303(23-2)",
}


def _record(rng: random.Random, tr_id: str, isin: str) -> list[str]:
    """One record's field texts; only the field's own kind is drawn, so 1 M frames take seconds."""
    return [isin if f.kind is Kind.ISIN else _VALUES[f.kind](rng) for f in LAYOUTS[tr_id].fields]


def make_frames(n: int, seed: int = 7) -> list[str]:
    """``n`` frames: 80 % order book, 5 % with 2-4 records, 0.5 % cut short (malformed)."""
    rng = random.Random(seed)
    frames = []
    for _ in range(n):
        tr_id = "H0BJASP0" if rng.random() < 0.8 else "H0BJCNT0"
        count = rng.randint(2, 4) if rng.random() < 0.05 else 1
        text = data_frame(tr_id, [_record(rng, tr_id, rng.choice(ISINS)) for _ in range(count)])
        if rng.random() < 0.005:
            text = text[: rng.randint(0, len(text))]
        frames.append(text)
    return frames


def naive_parse(frames: list[str]) -> pa.Table:
    """The baseline: per frame split, per field Decimal/int, a list of dicts."""
    rows = []
    for text in frames:
        parts = text.split("|", 3)
        if len(parts) != 4 or parts[1] not in LAYOUTS:
            continue
        layout = LAYOUTS[parts[1]]
        fields = parts[3].split("^")
        if not parts[2].isdigit() or len(fields) != int(parts[2]) * layout.width:
            continue
        for i in range(0, len(fields), layout.width):
            row = {}
            try:
                for f, v in zip(layout.fields, fields[i : i + layout.width], strict=True):
                    if f.kind in (Kind.PRICE, Kind.YIELD, Kind.RATE):
                        row[f.column] = Decimal(v)
                    elif f.kind in (Kind.QTY, Kind.SIGN):
                        row[f.column] = int(v)
                    else:
                        row[f.column] = v
            except (ArithmeticError, ValueError):
                continue
            rows.append(row)
    return pa.Table.from_pylist(rows)


def _frames_table(frames: list[str]) -> pa.Table:
    n = len(frames)
    return pa.table(
        {
            "frame_no": range(n), "text": frames, "recv_ns": [1_767_250_000 * 10**9] * n,
            "conn_id": [1] * n, "segment": ["2026-01-01/x.seg"] * n, "offset": range(n),
        },
        schema=FRAME_SCHEMA,
    )  # fmt: skip


def _end_to_end(data_dir: Path, out: Connection) -> None:
    """Runs in a fresh child process, so its peak RSS is the normalizer's alone."""
    stats = normalize(data_dir)
    out.send((sum(stats.rows.values()), stats.seconds, _peak_rss_mb()))
    out.close()


def _peak_rss_mb() -> float:
    """VmHWM, as ru_maxrss survives exec and would report the parent's size at the fork."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM")) / 1024


def end_to_end(frames: list[str]) -> tuple[int, float, float]:
    """(rows written, seconds, peak RSS MB) of normalizing ``frames`` from a raw log."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        clock = ManualClock(1_767_250_000 * 10**9)
        writer = RawLogWriter(data_dir / "raw", "bench", clock=clock)
        for text in frames:
            writer.append(RecordKind.FRAME_RECV, 1, text.encode())
        writer.close()
        ctx = multiprocessing.get_context("spawn")
        receiver, sender = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_end_to_end, args=(data_dir, sender))
        child.start()
        sender.close()
        result: tuple[int, float, float] = receiver.recv()
        child.join()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=1_000_000)
    n = ap.parse_args(argv).frames
    frames = make_frames(n)

    t0 = time.perf_counter()
    naive_rows = naive_parse(frames).num_rows
    naive_s = time.perf_counter() - t0

    parser, table = FrameParser(), _frames_table(frames)
    # The normalizer keeps one parser for its whole run: time it warm (DuckDB's first query
    # pays one-off set-up), the median of PARSE_RUNS runs over all the frames.
    parser.parse(table.slice(0, 10_000))
    runs = []
    for _ in range(PARSE_RUNS):
        t0 = time.perf_counter()
        parsed = parser.parse(table)
        runs.append(time.perf_counter() - t0)
        records = sum(t.num_rows for t in parsed.rows.values()) + parsed.rejects.num_rows
        del parsed
    fast_s = statistics.median(runs)
    parser.close()
    del table

    e2e_rows, e2e_s, peak_mb = end_to_end(frames)
    naive_rate, fast_rate = naive_rows / naive_s, records / fast_s
    print(f"{n:,} frames, {records:,} records (rows + rejects)")
    print(f"{'':<27}{'measured':>12}{'target':>12}")
    for label, value, target in (
        ("parse, naive rec/s", f"{naive_rate:,.0f}", ""),
        ("parse, bondtape rec/s", f"{fast_rate:,.0f}", ""),
        ("parse speed-up", f"{fast_rate / naive_rate:.1f}x", ">= 15x"),
        ("end to end rec/s", f"{e2e_rows / e2e_s:,.0f}", ">= 150,000"),
        ("end to end peak RSS MB", f"{peak_mb:,.0f}", "<= 1,024"),
    ):
        print(f"{label:<27}{value:>12}{target:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
