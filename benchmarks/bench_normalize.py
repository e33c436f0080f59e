"""Normalizer throughput: vectorized parser vs a naive per-field baseline, and end to end.

``python -m benchmarks.bench_normalize [--frames N]`` generates N frames (5 % multi-record,
0.5 % malformed), then measures (a) parsing in memory, bondtape's DuckDB parser against a
per-frame split/Decimal/dict baseline, and (b) raw segments in, durable Parquet out,
checkpoint moved. Numbers are records per second.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from capture.clock import ManualClock
from capture.layouts import LAYOUTS, Kind
from capture.protocol import data_frame
from capture.rawlog import RawLogWriter, RecordKind
from storage.frames import FRAME_SCHEMA, FrameParser
from storage.normalizer import normalize

ISINS = ["KR103502GD31", "KR103501GE15", "KR101501DD41", "KR6000011D27"]


def _record(rng: random.Random, tr_id: str, isin: str) -> list[str]:
    out = []
    for f in LAYOUTS[tr_id].fields:
        out.append(
            {
                Kind.ISIN: isin,
                Kind.TIME: f"{rng.randint(9, 15):02d}{rng.randint(0, 59):02d}00",
                Kind.PRICE: f"{rng.randint(9000, 11000)}.{rng.randint(0, 99):02d}",
                Kind.YIELD: f"{rng.randint(2, 5)}.{rng.randint(0, 999):03d}",
                Kind.RATE: f"{rng.randint(0, 2)}.{rng.randint(0, 99):02d}",
                Kind.QTY: str(rng.randint(0, 10_000_000)),
                Kind.SIGN: str(rng.randint(1, 5)),
                Kind.TEXT: "국고03250-5303(23-2)",
            }[f.kind]
        )
    return out


def make_frames(n: int, seed: int = 7) -> list[str]:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=1_000_000)
    n = ap.parse_args().frames
    frames = make_frames(n)

    t0 = time.perf_counter()
    naive_rows = naive_parse(frames).num_rows
    naive_s = time.perf_counter() - t0

    parser, table = FrameParser(), _frames_table(frames)
    t0 = time.perf_counter()
    parsed = parser.parse(table)
    fast_s = time.perf_counter() - t0
    fast_rows = sum(t.num_rows for t in parsed.rows.values())
    parser.close()

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        clock = ManualClock(1_767_250_000 * 10**9)
        writer = RawLogWriter(data_dir / "raw", "bench", clock=clock)
        for text in frames:
            writer.append(RecordKind.FRAME_RECV, 1, text.encode())
        writer.close()
        stats = normalize(data_dir)

    records = fast_rows + parsed.rejects.num_rows
    e2e = sum(stats.rows.values())
    print(f"{'stage':<28}{'records':>10}{'seconds':>9}{'records/s':>12}")
    for label, count, secs in (
        ("parse, naive baseline", naive_rows, naive_s),
        ("parse, bondtape (DuckDB)", records, fast_s),
        ("end to end (raw->parquet)", e2e, stats.seconds),
    ):
        print(f"{label:<28}{count:>10}{secs:>9.2f}{count / secs:>12,.0f}")
    print(f"{'parse speed-up':<28}{(records / fast_s) / (naive_rows / naive_s):>30.1f}x")


if __name__ == "__main__":
    main()
