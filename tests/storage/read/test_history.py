"""The Python iterator over the lake's history (storage/read/history.py): every row of the views
once, in receipt order, from the live tier and after compaction from hist; as objects and as
batches that agree. Real raw logs, the real normalizer, compaction and catalog, real DuckDB."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from capture.errors import ConfigError, StorageError
from storage.compact.compaction import compact
from storage.normalize.normalizer import normalize
from storage.read.catalog import build_catalog, commit, connect
from storage.read.history import EVENT_SCHEMA, Book, Event, Level, Trade, event_batches, events
from tests.support.catalog_data import (
    CORP,
    DAY,
    GOV,
    SEGMENT,
    arrow,
    catalog_dir,
    query_rows,
    quote,
    trade,
    write_live_files,
)
from tests.support.rawdata import ISINS, RawLog
from tests.support.rawlog import seoul_ns

DAY1, DAY2 = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
Key = tuple[str, int, str, int, int]  # kind, recv_ns, segment, offset, record_index


def record_two_days(data_dir: Path) -> int:
    """Two Seoul days of random frames (some of several records, which share a receive
    time; five frames stamped with one receive time), over hourly segments, normalized in
    small batches into many live files, and the catalog; the number of quote and trade
    records sent."""
    log = RawLog(data_dir, start_ns=seoul_ns(2026, 11, 26, 10, 0, 0))
    log.frames(40)
    log.frames(5, recv_ns=log.clock.now_ns())
    log.clock.advance(3600)
    log.frames(20)
    log.clock.set_ns(seoul_ns(2026, 11, 27, 9, 0, 0))
    log.frames(20)
    log.writer.close()
    normalize(data_dir, batch_records=15)
    build_catalog(data_dir)
    return len(log.expected["quotes"]) + len(log.expected["trades"])


@pytest.fixture
def sent(tmp_path: Path) -> int:
    """The two days recorded under tmp_path; the quote and trade records sent."""
    return record_two_days(tmp_path)


@pytest.fixture(params=["live", "hist", "hist and its sources"])
def lake(request: pytest.FixtureRequest, tmp_path: Path, sent: int) -> Path:
    """The two days as the normalizer left them (live), compacted (hist), or compacted with
    the live files still there (a compaction stopped before its deletes: the views read the
    hist file instead of its sources)."""
    if request.param != "live":
        live = tmp_path / "lake" / "live"
        shutil.copytree(live, tmp_path / "sources")
        compact(tmp_path, retention_s=0)
        assert list((tmp_path / "lake" / "hist" / "quotes").rglob("*.parquet"))
        assert [p for p in live.rglob("*.parquet") if "gaps" not in p.parts] == []
        if request.param == "hist and its sources":
            shutil.copytree(tmp_path / "sources", live, dirs_exist_ok=True)
            build_catalog(tmp_path)  # a commit that finds them: the hist files supersede them
    return tmp_path


def view_rows(data_dir: Path, day: dt.date) -> dict[Key, dict[str, Any]]:
    """Every row of the views quotes and trades for ``day``, by kind and lineage."""
    con = connect(data_dir)
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = {}
        for kind, view in (("quote", "quotes"), ("trade", "trades")):
            for row in con.sql(f"FROM {view} WHERE date = $d", params={"d": day}).fetchall():
                named = dict(zip(con.sql(f"FROM {view} LIMIT 0").columns, row, strict=True))
                rows[key(kind, named)] = named
        return rows
    finally:
        con.close()


def key(kind: str, row: dict[str, Any]) -> Key:
    return kind, row["recv_ns"], row["segment"], row["offset"], row["record_index"]


def batch_rows(data_dir: Path, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    batches = list(event_batches(data_dir, *args, **kwargs))
    assert all(b.schema.equals(EVENT_SCHEMA, check_metadata=True) for b in batches)
    return pa.Table.from_batches(batches, EVENT_SCHEMA).to_pylist()


def as_row(event: Event) -> dict[str, Any]:
    """An object as the view's columns (a book's 5 levels each present)."""
    row = event._asdict()
    if isinstance(event, Book):
        for side in ("bid", "ask"):
            levels = row.pop(f"{side}s")
            assert len(levels) == 5
            for n, level in enumerate(levels, start=1):
                row[f"{side}_price_{n}"], row[f"{side}_yield_{n}"], row[f"{side}_qty_{n}"] = level
    return {**row, "recv_ts": event.recv_ts}


def test_a_day_comes_back_as_every_row_of_the_views_once_in_receipt_order(
    lake: Path, sent: int
) -> None:
    assert len(batch_rows(lake, DAY1, DAY2)) == sent  # the views hold every record once
    for day in (DAY1, DAY2):
        expected = view_rows(lake, day)
        got = batch_rows(lake, day)
        keys = [key(row["kind"], row) for row in got]
        assert len(set(keys)) == len(keys) == len(expected)
        assert set(keys) == set(expected)
        assert keys == sorted(keys, key=lambda k: k[1:])  # recv_ns, then lineage
        for row in got:
            view_row = expected[key(row.pop("kind"), row)]
            assert {name: row[name] for name in view_row} == view_row
    # Several records of one frame, and frames stamped alike, share a receive time.
    assert len({k[1] for k in keys}) < len(keys)


def test_objects_and_batches_agree_row_for_row(lake: Path) -> None:
    rows = batch_rows(lake, DAY1, DAY2)
    objects = list(events(lake, DAY1, DAY2))
    assert len(objects) == len(rows) > 0
    assert {type(e) for e in objects} == {Book, Trade}
    for event, row in zip(objects, rows, strict=True):
        assert event.kind == row.pop("kind")
        assert as_row(event) == {k: v for k, v in row.items() if k in as_row(event)}
        assert all(v is None for k, v in row.items() if k not in as_row(event))


def test_a_date_range_is_its_days_one_after_another(lake: Path) -> None:
    both = list(events(lake, "2026-11-26", "2026-11-27"))
    day1, day2 = list(events(lake, DAY1)), list(events(lake, DAY2, DAY2))
    assert day1 and day2
    assert both == day1 + day2
    assert {e.date for e in day1} == {DAY1} and {e.date for e in day2} == {DAY2}
    assert list(events(lake, "2026-11-20", "2026-12-31")) == both


def test_the_isin_filter_keeps_exactly_that_isins_events_in_the_same_order(lake: Path) -> None:
    every = list(events(lake, DAY1, DAY2))
    for isin in ISINS:
        assert list(events(lake, DAY1, DAY2, isins=[isin])) == [e for e in every if e.isin == isin]
    assert list(events(lake, DAY1, DAY2, isins=ISINS[0])) == [
        e for e in every if e.isin == ISINS[0]
    ]  # one ISIN given as text
    assert list(events(lake, DAY1, DAY2, isins=["KR6000011D27"])) == []  # not recorded


def test_a_day_with_no_rows_yields_nothing(tmp_path: Path) -> None:
    catalog_dir(tmp_path, quotes=[], trades=[])
    assert list(events(tmp_path, DAY)) == []
    assert list(event_batches(tmp_path, DAY, "2026-12-31")) == []
    catalog_dir(tmp_path, quotes=[quote(GOV, f"{DAY} 10:00:00")])
    assert list(events(tmp_path, "2026-11-25")) == []


def test_batches_hold_at_most_batch_rows_rows(lake: Path) -> None:
    sizes = [b.num_rows for b in event_batches(lake, DAY1, DAY2, batch_rows=7)]
    assert max(sizes) == 7
    assert sum(sizes) == len(batch_rows(lake, DAY1, DAY2))


def test_a_book_lists_present_levels_best_first_with_exact_mid_and_spread(tmp_path: Path) -> None:
    catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, f"{DAY} 10:00:00", bid_qty=(10, 20, 30, 0)),  # level 5 bid empty
            quote(CORP, f"{DAY} 10:00:01", ask=("0.00", "0.000", 0), ask_qty=(0, 0, 0, 0)),
        ],
    )
    full, one_sided = events(tmp_path, DAY)
    assert isinstance(full, Book)
    assert full.bids == (
        Level(Decimal("10560.00"), Decimal("3.020"), 100),
        Level(Decimal("10559.00"), Decimal("3.021"), 10),
        Level(Decimal("10558.00"), Decimal("3.022"), 20),
        Level(Decimal("10557.00"), Decimal("3.023"), 30),
    )
    assert full.asks[0] == (Decimal("10575.00"), Decimal("3.012"), 200)
    assert [level.price for level in full.asks] == [Decimal(10575 + n) for n in range(5)]
    assert full.mid == Decimal("10567.500") and str(full.mid) == "10567.500"
    assert full.spread == Decimal("15.00")
    assert full.mid_yield == Decimal("3.016") and full.spread_yield == Decimal("0.008")
    assert full.recv_ts == dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
    assert full.exch_time == "100000" and full.date == DAY1
    # The same mid and spread as the named query mid_spread.
    (named,) = query_rows(tmp_path, "mid_spread", isin=GOV)
    assert (named["mid_price"], named["spread_price"]) == (full.mid, full.spread)
    assert one_sided.asks == () and len(one_sided.bids) == 5
    assert (one_sided.mid, one_sided.spread, one_sided.mid_yield) == (None, None, None)


def test_ties_on_receive_time_go_by_segment_offset_and_record_index(tmp_path: Path) -> None:
    later = SEGMENT.replace("-rec1", "-rec2")
    at = f"{DAY} 10:00:00"
    catalog_dir(
        tmp_path,
        quotes=[
            quote(GOV, at, segment=later, offset=1),
            quote(GOV, at, offset=7, record_index=1),
            quote(CORP, at, offset=7, record_index=0),
            quote(CORP, at, extra_ns=-1, offset=9),  # a nanosecond earlier
        ],
        trades=[trade(GOV, at, "10570.00", 5, offset=3)],
    )
    got = events(tmp_path, DAY)
    order = [(type(e).__name__, e.segment[-8:], e.offset, e.record_index) for e in got]
    assert order == [
        ("Book", "rec1.seg", 9, 0),
        ("Trade", "rec1.seg", 3, 0),
        ("Book", "rec1.seg", 7, 0),
        ("Book", "rec1.seg", 7, 1),
        ("Book", "rec2.seg", 1, 0),
    ]


def test_a_trade_carries_its_exact_values(tmp_path: Path) -> None:
    catalog_dir(tmp_path, trades=[trade(GOV, f"{DAY} 09:30:00", "10571.50", 1500, "3.011")])
    (event,) = events(tmp_path, DAY)
    assert isinstance(event, Trade) and event.kind == "trade"
    assert (event.trade_price, event.trade_qty, event.trade_yield) == (
        Decimal("10571.50"), 1500, Decimal("3.011"),
    )  # fmt: skip
    assert event.exch_ts == dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC)


def test_mistakes_are_reported_when_called_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"no lake at .*nowhere/lake: give the data_dir"):
        events(tmp_path / "nowhere", DAY)
    catalog_dir(tmp_path, quotes=[])
    with pytest.raises(ConfigError, match="ends before it starts"):
        events(tmp_path, "2026-11-27", "2026-11-26")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        event_batches(tmp_path, "26/11/2026")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        events(tmp_path, dt.datetime(2026, 11, 26, 10, 0))
    with pytest.raises(ConfigError, match="not an ISIN"):
        events(tmp_path, DAY, isins=["KR103502GD3"])
    with pytest.raises(ConfigError, match="at least one ISIN"):
        events(tmp_path, DAY, isins=[])


def test_the_documented_example_runs_and_prints_books_trades_and_the_volume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (Path(__file__).parents[3] / "docs" / "python-api.md").read_text(encoding="utf-8")
    example = page[page.index("```python\n") + 10 : page.index("```\n", page.index("```python"))]
    today = 'day = dt.datetime.now(ZoneInfo("Asia/Seoul")).date()'
    assert today in example  # the example's day is the demo's: here, the catalog's
    day = "2026-12-01"
    example = example.replace(today, f"day = {day!r}")
    catalog_dir(
        tmp_path,
        quotes=[quote(GOV, f"{day} 10:00:00"), quote(CORP, f"{day} 10:00:01")],
        trades=[trade(GOV, f"{day} 10:00:02", "10570.00", 700, offset=1)],
    )
    exec(example.replace('"demo-data"', repr(str(tmp_path))), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # GOV's book and trade, then the volume of all ISINs
    assert lines[0].endswith(" 10567.500 15.00") and " trade 10570.00 700 3.015" in lines[1]
    assert lines[2] == "700"


def open_files_under(folder: Path) -> list[str]:
    """The files under ``folder`` this process holds open (Linux: /proc/self/fd)."""
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(str(fd.readlink()))
        except OSError:  # the fd listing the folder itself, closed by now
            continue
    return sorted(t for t in targets if t.startswith(str(folder.resolve())))


def test_an_iterator_holds_no_file_open_until_it_is_iterated_nor_after(tmp_path: Path) -> None:
    catalog_dir(tmp_path, quotes=[quote(GOV, f"{DAY} 10:00:00")])
    assert open_files_under(tmp_path) == []
    batches, objects = event_batches(tmp_path, DAY), events(tmp_path, DAY)
    # Never iterated, a generator's cleanup (its finally) never runs: nothing may be open yet.
    assert open_files_under(tmp_path) == []
    assert [b.num_rows for b in batches] == [1] and len(list(objects)) == 1
    assert open_files_under(tmp_path) == []


def test_live_rows_normalized_after_a_compaction_interleave_with_the_hist_rows(
    tmp_path: Path, sent: int
) -> None:
    compact(tmp_path)
    later = "2026-11-27/1895650000000000000-rec9.seg"  # past every range compacted
    extra = [
        quote(ISINS[0], "2026-11-26 10:00:00.000001", segment=later, offset=30),
        quote(ISINS[0], "2026-11-26 10:30:00", segment=later, offset=10),  # files unsorted
        quote(ISINS[1], "2026-11-26 10:00:00", segment=later, offset=20),
        trade(ISINS[1], "2026-11-26 10:45:00", "10570.00", 5, segment=later, offset=40),
    ]
    write_live_files(
        tmp_path, {"quotes": arrow("quotes", extra[:3]), "trades": arrow("trades", extra[3:])}
    )
    commit(tmp_path)  # as a normalize run does once its files are durable
    expected = view_rows(tmp_path, DAY1)
    got = batch_rows(tmp_path, DAY1, batch_rows=5)
    keys = [key(row["kind"], row) for row in got]
    assert len(keys) == len(expected) == sent - len(batch_rows(tmp_path, DAY2)) + 4
    assert set(keys) == set(expected)
    assert keys == sorted(keys, key=lambda k: k[1:])
    assert [k[3] for k in keys if k[2] == later] == [20, 30, 10, 40]  # by receipt
    at_1030 = keys.index(next(k for k in keys if k[2] == later and k[3] == 10))
    assert 0 < at_1030 < len(keys) - 1 and keys[at_1030 - 1][2] != later  # amid hist rows
