"""A lake for query tests, from hand-made rows: quotes, trades, gaps and rejects written as
the live files the normalizer writes (exactly storage/schemas.py's columns, partitioned by the
Seoul ``date`` and ISIN), and the real catalog over them, views and macros.

Rows are written in the user's terms: a Seoul wall time for when a record was received, prices
and yields as the feed's text. Everything not given gets a plain, distinct value.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from capture.clock import SEOUL
from capture.rawlog import Position
from storage.lake.files import write_parquet_durably
from storage.lake.ranges import LIVE_PREFIX, RawRange
from storage.normalize.normalizer import gap_partition_isin
from storage.read.catalog import build_catalog
from storage.read.queries import named_query, open_catalog, run_query
from storage.schemas import TABLES

GOV, CORP = "KR103502GD31", "KR101501DD41"
DAY = "2026-11-26"
NEXT_DAY = "2026-11-27"
SEGMENT = "2026-11-26/1795650000000000000-rec1.seg"


def contract_schema(name: str) -> pa.Schema:
    """The catalog view ``name``'s columns: its lake table's, then ``date``."""
    return TABLES[name].schema.append(pa.field("date", pa.date32()))


def seoul_ns(wall: str) -> int:
    """UTC nanoseconds of a Seoul wall time ``'2026-11-26 10:30:00[.ffffff]'``."""
    local = dt.datetime.fromisoformat(wall).replace(tzinfo=SEOUL)
    return int(local.timestamp()) * 10**9 + local.microsecond * 1000


def instant(ns: int) -> dt.datetime:
    """The UTC microsecond timestamp a lake row holds for ``ns`` (cut, never rounded)."""
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)


def _received(wall: str, extra_ns: int) -> dict[str, Any]:
    """The time columns of a record received at Seoul ``wall`` plus ``extra_ns``."""
    ns = seoul_ns(wall) + extra_ns
    seoul = instant(ns).astimezone(SEOUL)
    return {
        "recv_ts": instant(ns),
        "recv_ns": ns,
        "exch_time": seoul.strftime("%H%M%S"),
        "exch_ts": seoul.replace(microsecond=0),
        "date": seoul.date(),
    }


def _lineage(offset: int, record_index: int, segment: str) -> dict[str, Any]:
    return {"segment": segment, "offset": offset, "record_index": record_index, "conn_id": 1}


def quote(
    isin: str,
    wall: str,
    *,
    bid: tuple[str, str, int] = ("10560.00", "3.020", 100),
    ask: tuple[str, str, int] = ("10575.00", "3.012", 200),
    bid_qty: tuple[int, int, int, int] = (10, 20, 30, 40),
    ask_qty: tuple[int, int, int, int] = (11, 21, 31, 41),
    extra_ns: int = 0,
    offset: int = 0,
    record_index: int = 0,
    segment: str = SEGMENT,
) -> dict[str, Any]:
    """A quotes row: level 1 is (price, yield, qty) per side; levels 2-5 step one won away
    from the touch with the quantities given."""
    row = {"isin": isin, **_received(wall, extra_ns), **_lineage(offset, record_index, segment)}
    for side, (price, yld, qty), deeper, away in (
        ("bid", bid, bid_qty, -1), ("ask", ask, ask_qty, 1)
    ):  # fmt: skip
        for level, level_qty in enumerate((qty, *deeper), start=1):
            row[f"{side}_price_{level}"] = Decimal(price) + away * (level - 1)
            row[f"{side}_yield_{level}"] = Decimal(yld) - away * Decimal("0.001") * (level - 1)
            row[f"{side}_qty_{level}"] = level_qty
    row["total_bid_qty"] = bid[2] + sum(bid_qty)
    row["total_ask_qty"] = ask[2] + sum(ask_qty)
    return row


def trade(
    isin: str,
    wall: str,
    price: str,
    qty: int,
    yld: str = "3.015",
    *,
    extra_ns: int = 0,
    offset: int = 0,
    record_index: int = 0,
    segment: str = SEGMENT,
) -> dict[str, Any]:
    """A trades row; the fields KIS repeats with every trade (open, high, ...) are filler."""
    filler = Decimal("10000.00")
    return {
        "isin": isin,
        "bond_name": "국고03250-5303(23-2)",
        "change_sign": 3,
        "change": Decimal("0.00"),
        "change_rate": Decimal("0.000"),
        "trade_price": Decimal(price),
        "trade_qty": qty,
        "open_price": filler,
        "high_price": filler,
        "low_price": filler,
        "prev_close_price": filler,
        "trade_yield": Decimal(yld),
        "open_yield": Decimal("9.999"),
        "high_yield": Decimal("9.999"),
        "low_yield": Decimal("9.999"),
        "cum_volume": 0,
        "prev_volume": 0,
        "trade_type_code": "2",
        **_received(wall, extra_ns),
        **_lineage(offset, record_index, segment),
    }


def gap(
    isin: str, start: str, end: str | None, tr_id: str = "H0BJASP0", *, offset: int | None = None
) -> dict[str, Any]:
    """A gaps row from Seoul ``start`` to ``end`` (None: still open); dated by its start,
    which here is also when its gap_open was recorded. Each gap_open has a raw position of
    its own (the view shows a gap once per position): a fresh one unless ``offset`` is given."""
    offset = next(_GAP_OFFSETS) if offset is None else offset
    start_ns = seoul_ns(start)
    return {
        "conn_id": 1,
        "tr_id": tr_id,
        "isin": isin,
        "start_ts": instant(start_ns),
        "end_ts": None if end is None else instant(seoul_ns(end)),
        "reason": "connection closed",
        "segment": SEGMENT,
        "offset": offset,
        "close_segment": None if end is None else SEGMENT,
        "close_offset": None if end is None else offset + 1,
        "date": instant(start_ns).astimezone(SEOUL).date(),
    }


_GAP_OFFSETS = itertools.count(10_000, 2)


def arrow(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    """``rows`` as an Arrow table of the view ``name``'s columns."""
    return pa.Table.from_pylist(rows, schema=contract_schema(name))


def make_test_catalog(data_dir: Path, tables: Mapping[str, pa.Table]) -> Path:
    """Write ``tables`` (see :func:`write_live_files`), then build the real catalog over them;
    its path."""
    write_live_files(data_dir, tables)
    return build_catalog(data_dir)


def write_live_files(data_dir: Path, tables: Mapping[str, pa.Table]) -> None:
    """Write ``tables`` (rows of the views' columns) as live lake files under ``data_dir``,
    one per partition and named for its raw range as the normalizer names them (rows of a
    later raw range land in a file of their own, as the normalizer's next run would)."""
    for name, rows in tables.items():
        assert rows.schema.equals(contract_schema(name)), name
        keys = ["date", "isin"] if TABLES[name].partition_by_isin else ["date"]
        for values in sorted(set(zip(*(rows[k].to_pylist() for k in keys), strict=True))):
            group = dict(zip(keys, values, strict=True))
            mask = pc.equal(rows["date"], pa.scalar(group["date"], pa.date32()))
            if "isin" in group:
                mask = pc.and_(mask, pc.equal(rows["isin"], group["isin"]))
            part = rows.filter(mask)
            positions = sorted(
                zip(part["segment"].to_pylist(), part["offset"].to_pylist(), strict=True)
            )
            first, last = Position(*positions[0]), Position(positions[-1][0], positions[-1][1] + 1)
            isin = group.get("isin")
            folder = f"{name}/date={group['date']}" + (
                ""
                if isin is None
                else f"/isin={gap_partition_isin(isin) if name == 'gaps' else isin}"
            )
            write_parquet_durably(
                data_dir / "lake" / "live" / folder / RawRange(first, last).file_name(LIVE_PREFIX),
                part.drop_columns(["date"]),
                [RawRange(first, last)],
            )


def catalog_dir(data_dir: Path, **rows: list[dict[str, Any]]) -> Path:
    """``data_dir`` with a lake and catalog holding ``rows`` per view name; ``data_dir``."""
    make_test_catalog(data_dir, {name: arrow(name, table) for name, table in rows.items()})
    return data_dir


def query_rows(data_dir: Path, name: str, **params: str) -> list[dict[str, Any]]:
    """The rows of named query ``name`` over ``data_dir``'s catalog, as the command runs it."""
    with open_catalog(data_dir) as con:
        return run_query(con, named_query(name), params).to_pylist()


def volume_lake(data_dir: Path, day: str) -> Path:
    """``data_dir`` with a catalog whose GOV trades on ``day`` miss 5 of ACML_VOL while
    connected (silent) and 30 across a gap of its trades feed (explained); ``data_dir``."""
    trades = [
        {**trade(GOV, f"{day} 09:01:00", "10000.00", 10, offset=1), "cum_volume": 10},
        {**trade(GOV, f"{day} 09:02:00", "10000.00", 20, offset=2), "cum_volume": 35},
        {**trade(GOV, f"{day} 09:12:00", "10000.00", 5, offset=3), "cum_volume": 70},
    ]
    gaps = [gap(GOV, f"{day} 09:05:00", f"{day} 09:10:00", "H0BJCNT0")]
    return catalog_dir(data_dir, trades=trades, gaps=gaps, quotes=[quote(GOV, f"{day} 08:30")])
