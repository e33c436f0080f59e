"""A generated trading day for the query benchmark, written as bondtape writes one: raw
segments through the real writer, then the real normalizer once per simulated minute, so the
live tier holds the minute batches a day leaves behind (a file per table and ISIN a minute).

Books and trades come from the simulator's market (a pool of records per ISIN, drawn in
turn: realistic values at the speed a benchmark needs); receive times are spread evenly over
the session, 08:00 to 15:30 Seoul.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from capture.clock import NS_PER_S, SEOUL, ManualClock
from capture.exchange.market import Market
from capture.kis.isin import check_digit
from capture.kis.layouts import ORDER_BOOK, TRADES
from capture.kis.protocol import data_frame
from capture.rawlog import RawLogWriter, RecordKind
from storage.normalize.normalizer import normalize

DAY = dt.date(2026, 11, 26)
OPEN, CLOSE = dt.time(8, 0), dt.time(15, 30)
POOL = 64  # records per ISIN and TR to draw from


@dataclass(frozen=True, slots=True)
class DaySpec:
    isins: int = 100
    quotes: int = 2_000_000
    trades: int = 500_000

    @property
    def minutes(self) -> int:
        start = dt.datetime.combine(DAY, OPEN)
        return int((dt.datetime.combine(DAY, CLOSE) - start).total_seconds() // 60)


def isins(n: int) -> list[str]:
    bodies = [f"KR1035{i:05d}" for i in range(n)]
    return [body + check_digit(body) for body in bodies]


def seoul_ns(day: dt.date, at: dt.time) -> int:
    return int(dt.datetime.combine(day, at, tzinfo=SEOUL).timestamp()) * NS_PER_S


def frame_pools(codes: list[str], seed: int = 11) -> dict[str, list[list[bytes]]]:
    """Per TR, per ISIN of ``codes``, :data:`POOL` ready frames from the simulator's market."""
    market = Market(seed)
    return {
        tr: [[data_frame(tr, [market.next_record(tr, c, "100000")]).encode() for _ in range(POOL)]
             for c in codes]
        for tr in (ORDER_BOOK.tr_id, TRADES.tr_id)
    }  # fmt: skip


def write_day(
    data_dir: Path, spec: DaySpec, *, keep_open: bool, normalize_every: int = 1
) -> tuple[RawLogWriter, float]:
    """Record the day minute by minute and normalize it every ``normalize_every`` minutes (1:
    the live tier a day leaves behind; ``spec.minutes``: once, a lake made fast); the writer
    (still open on a segment of the next hour when ``keep_open``, so the day is not closed)
    and the seconds it took."""
    started = time.monotonic()
    pools = frame_pools(isins(spec.isins))
    first = seoul_ns(DAY, OPEN)
    writer = RawLogWriter(data_dir / "raw", "bench", clock=ManualClock(first),
                          fsync_interval_s=None)  # fmt: skip
    counts = {ORDER_BOOK.tr_id: spec.quotes, TRADES.tr_id: spec.trades}
    per_minute = {tr: n // spec.minutes for tr, n in counts.items()}
    drawn = 0
    for minute in range(spec.minutes):
        frames = [
            pools[tr][(drawn + i) % spec.isins][(drawn + i) // spec.isins % POOL]
            for tr, count in per_minute.items()
            for i in range(count)
        ]
        drawn += len(frames)
        step, base = 60 * NS_PER_S // len(frames), first + minute * 60 * NS_PER_S
        for i, frame in enumerate(frames):
            writer.append(RecordKind.FRAME_RECV, 1, frame, base + i * step)
        if (minute + 1) % normalize_every == 0 or minute + 1 == spec.minutes:
            normalize(data_dir, batch_records=10**7)
    if keep_open:  # one more record, in the next hour: the day's last segment closes
        writer.append(RecordKind.FRAME_RECV, 1, frames[0], seoul_ns(DAY, dt.time(16, 0)))
        normalize(data_dir, batch_records=10**7)
    else:
        writer.close()
    return writer, time.monotonic() - started
