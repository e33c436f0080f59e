"""Volume continuity: what KIS's own day counter says traded, against the trades the lake holds.

Each H0BJCNT0 record carries ``ACML_VOL`` (``cum_volume``, the day's cumulative volume) beside
``CNTG_VOL`` (``trade_qty``, the trade's own quantity). The feed has no sequence number, so this
counter is its only completeness signal: for two consecutive trades of a bond in receive order,
the counter must step by exactly the later trade's quantity, and a larger step is volume that
traded with no trade in the lake for it.

The rules (one implementation here, pure; a second in ``sql/queries/volume_check.sql``):

- Trades of one ISIN and Seoul day, in receive order (``recv_ns``, then lineage).
- Each trade checks against the counter's last value: the previous trade's ``cum_volume``,
  across a gap too. A step larger than the trade's quantity is a **jump** of
  ``step - trade_qty`` missing between the two trades (their instants are the jump's).
- A jump is **explained** when a recorded gap of that (H0BJCNT0, ISIN) pair overlaps the time
  between its two trades (the gap starts before the later trade, and ends, or is still open,
  after the earlier one); otherwise it is **silent**: lost while connected, by the feed or by
  us. Strictly: a gap starts at the last frame received on the lost connection, so one that
  starts at the later trade itself opened after the volume went missing.
- The day's first trade checks against 0, from the trading ``open`` (a Seoul time of day): the
  step is the volume traded before the recorder's first trade. It is explained when the
  recording started late (the lake's first record of that ISIN that day, book or trade, came
  at or after the open: we cannot vouch for what traded before) or a gap of the pair overlaps
  the time from the open to that trade; silent otherwise (we held the bond's book from before
  the open, connected, and still missed trades).
- A step smaller than the trade's quantity (the counter went back, or a trade counted twice)
  is no missing volume; it is counted as a ``counter_anomaly`` and the check goes on from the
  new value.

Instants are UTC microseconds (the lake's ``recv_ts``), so both implementations compare the
same values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from capture.clock import SEOUL

KRX_TRADING_OPEN = dt.time(9, 0)
"""KRX general bonds trade from 09:00 Seoul (orders from 08:00): where the day's counter
starts."""


@dataclass(frozen=True, slots=True)
class Trade:
    recv_us: int
    trade_qty: int
    cum_volume: int


@dataclass(frozen=True, slots=True)
class Gap:
    start_us: int
    end_us: int | None  # None while open


@dataclass(frozen=True, slots=True)
class Jump:
    """Volume missing between two trades; ``before_us`` None is the day's open."""

    before_us: int | None
    after_us: int
    missing: int
    explained: bool


@dataclass(frozen=True, slots=True)
class Continuity:
    """One ISIN's day: the counter's last value, what the lake holds, what is missing."""

    isin: str
    date: dt.date
    trades: int
    last_cum_volume: int
    lake_volume: int
    counter_anomalies: int
    jumps: tuple[Jump, ...]

    @property
    def silent_volume(self) -> int:
        return sum(j.missing for j in self.jumps if not j.explained)

    @property
    def explained_volume(self) -> int:
        return sum(j.missing for j in self.jumps if j.explained)

    @property
    def missing_volume(self) -> int:
        return self.silent_volume + self.explained_volume


def open_us(day: dt.date, market_open: dt.time) -> int:
    """The trading open of ``day`` (Seoul), in UTC microseconds."""
    opened = dt.datetime.combine(day, market_open, tzinfo=SEOUL)
    return (opened - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def _gapped(gaps: Sequence[Gap], since_us: int, until_us: int) -> bool:
    return any(g.start_us < until_us and (g.end_us is None or g.end_us > since_us) for g in gaps)


def continuity(
    isin: str,
    day: dt.date,
    trades: Sequence[Trade],
    gaps: Sequence[Gap],
    *,
    first_record_us: int,
    market_open: dt.time = KRX_TRADING_OPEN,
) -> Continuity:
    """Check one ISIN's day; ``trades`` in receive order (at least one), ``gaps`` those of
    its (H0BJCNT0, ISIN) pair, ``first_record_us`` the day's first record of the ISIN in any
    table.

    Raises:
        ValueError: no trades.
    """
    if not trades:
        raise ValueError(f"{isin} {day}: no trades to check")
    opened = open_us(day, market_open)
    late = first_record_us >= opened
    jumps: list[Jump] = []
    anomalies = 0
    counter, since = 0, None  # the counter's last value, and the trade that set it
    for trade in trades:
        missing = trade.cum_volume - counter - trade.trade_qty
        if missing < 0:
            anomalies += 1
        elif missing:
            if since is None:
                explained = late or _gapped(gaps, opened, trade.recv_us)
            else:
                explained = _gapped(gaps, since, trade.recv_us)
            jumps.append(Jump(since, trade.recv_us, missing, explained))
        counter, since = trade.cum_volume, trade.recv_us
    return Continuity(
        isin=isin,
        date=day,
        trades=len(trades),
        last_cum_volume=trades[-1].cum_volume,
        lake_volume=sum(t.trade_qty for t in trades),
        counter_anomalies=anomalies,
        jumps=tuple(jumps),
    )


_INSTANT = pa.timestamp("us", tz="UTC")
SUMMARY_SCHEMA = pa.schema(
    [
        ("isin", pa.string()),
        ("date", pa.date32()),
        ("trades", pa.int64()),
        ("last_cum_volume", pa.int64()),
        ("lake_volume", pa.int64()),
        ("missing_volume", pa.int64()),
        ("silent_volume", pa.int64()),
        ("explained_volume", pa.int64()),
        ("silent_jumps", pa.int64()),
        ("explained_jumps", pa.int64()),
        ("counter_anomalies", pa.int64()),
    ]
)
JUMPS_SCHEMA = pa.schema(
    [
        ("isin", pa.string()),
        ("date", pa.date32()),
        ("before_ts", _INSTANT),
        ("after_ts", _INSTANT),
        ("missing", pa.int64()),
        ("explained", pa.bool_()),
    ]
)


def summary_table(days: Sequence[Continuity]) -> pa.Table:
    """One row per ISIN and day, the columns ``volume_check`` returns but its jumps."""
    rows = [
        {
            "isin": c.isin,
            "date": c.date,
            "trades": c.trades,
            "last_cum_volume": c.last_cum_volume,
            "lake_volume": c.lake_volume,
            "missing_volume": c.missing_volume,
            "silent_volume": c.silent_volume,
            "explained_volume": c.explained_volume,
            "silent_jumps": sum(not j.explained for j in c.jumps),
            "explained_jumps": sum(j.explained for j in c.jumps),
            "counter_anomalies": c.counter_anomalies,
        }
        for c in days
    ]
    return pa.Table.from_pylist(rows, SUMMARY_SCHEMA)


def jumps_table(days: Sequence[Continuity]) -> pa.Table:
    """Every jump, with the instants of the two trades around it (before_ts NULL: the open)."""
    rows = [
        {
            "isin": c.isin,
            "date": c.date,
            "before_ts": j.before_us,
            "after_ts": j.after_us,
            "missing": j.missing,
            "explained": j.explained,
        }
        for c in days
        for j in c.jumps
    ]
    return pa.Table.from_pylist(rows, JUMPS_SCHEMA)
