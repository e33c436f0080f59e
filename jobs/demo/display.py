"""What the demo shows: the latest books as they land, the report's gist, the catalog's answers
and the commands to go on with, as narrow rich tables (they fit 80 columns).

Everything here reads the demo's data_dir (the lake's files, the report, the catalog) and
prints; nothing starts a process or waits for one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sql import query
from storage.read import CATALOG_NAME, cell_text, named_query, open_catalog, run_query
from storage.report import REPORTS_FOLDER

BOOK_COLUMNS = ("ISIN", "KST", "bid qty", "bid yld", "bid", "ask", "ask yld", "ask qty")
BOOK_ASOF = dict(
    zip(
        ("isin", "exch_time", "bid_qty_1", "bid_yield_1", "bid_price_1", "ask_price_1",
         "ask_yield_1", "ask_qty_1"),
        BOOK_COLUMNS,
        strict=True,
    )
)  # fmt: skip
VOLUME = {"table": "table", "isin": "ISIN", "frames": "frames", "records": "records",
          "rows": "lake rows"}  # fmt: skip
TRADE_WITH_QUOTE = {
    "exch_time": "KST", "trade_price": "price", "trade_qty": "qty",
    "bid_price_1": "bid before", "ask_price_1": "ask before", "side": "hit",
}  # fmt: skip
_BUSIEST = "SELECT isin FROM trades GROUP BY isin ORDER BY count(*) DESC, isin LIMIT 1"


def books(data_dir: Path) -> Table | Text:
    """The latest book per ISIN, read back from the lake's Parquet files."""
    files = _lake_files(data_dir, "quotes")
    if not files:
        return Text("waiting for the first books...", style="dim")
    rows = duckdb.connect().execute(query("latest_books"), [files]).fetchall()
    table = narrow_table("latest books, read back from the lake", BOOK_COLUMNS)
    for isin, hhmmss, *book in rows:
        table.add_row(isin, f"{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}", *map(str, book))
    return table


def _lake_files(data_dir: Path, table: str) -> list[str]:
    return [str(path) for path in sorted((data_dir / "lake" / "live" / table).rglob("*.parquet"))]


def narrow_table(title: str, labels: Iterable[str]) -> Table:
    """A narrow table (fits 80 columns): ISINs left, numbers right."""
    table = Table(
        title=title,
        title_justify="left",
        box=SIMPLE_HEAD,
        padding=(0, 0),  # with the box's own separator: fits 80 columns
        pad_edge=False,
        show_edge=False,
    )
    for label in labels:
        table.add_column(label, justify="left" if label == "ISIN" else "right", no_wrap=True)
    return table


def show_the_day(console: Console, data_dir: Path, day: dt.date) -> str | None:
    """The gist of the report the daemon wrote, and the catalog asked for books and trades;
    the ISIN that traded most (None if nothing was recorded)."""
    _show_report(console, data_dir / REPORTS_FOLDER / f"{day.isoformat()}.json")
    with open_catalog(data_dir) as con:
        last = con.sql("SELECT max(recv_ts) FROM quotes").fetchall()[0][0]
        if last is not None:
            asof = run_query(con, named_query("book_asof"), {"at": last.isoformat()})
            console.print(_result("book_asof at the last book received", asof, BOOK_ASOF))
            busiest = con.sql(_BUSIEST).fetchall()
            for (isin,) in busiest:
                hits = run_query(con, named_query("trades_with_quote"), {"isin": isin})
                console.print(_result(f"trades_with_quote {isin}, the last 5", hits.slice(
                    max(0, hits.num_rows - 5)), TRADE_WITH_QUOTE))  # fmt: skip
                return isin
    return None


def suggest(console: Console, data_dir: Path, day: dt.date) -> None:
    """Commands to go on with, as whole lines however narrow the terminal, to be pasted."""
    console.print(
        f"\nlogs in {data_dir}/logs/; go on with the day ({data_dir / CATALOG_NAME} also "
        "opens in any DuckDB client):"
    )
    for command in (
        f".venv/bin/bondtape sql --data-dir {data_dir} "
        '"SELECT isin, count(*) FROM quotes GROUP BY isin"',
        f".venv/bin/bondtape report --config {data_dir}/bondtape.toml --date {day}",
        f".venv/bin/bondtape query book_asof --data-dir {data_dir} --param at='{day} 23:59:59'",
        ".venv/bin/bondtape query --list",
        f".venv/bin/bondtape replay --data-dir {data_dir} --date {day} --speed 10",
    ):
        console.print(f"  {command}", soft_wrap=True)


def _show_report(console: Console, path: Path) -> None:
    """Volumes per table and ISIN and whether raw balances the lake; the rest is in the file."""
    report = json.loads(path.read_text(encoding="utf-8"))
    volume = pa.Table.from_pylist(report["volume"])
    console.print(_result(f"integrity report of {report['date']}", volume, VOLUME))
    totals = report["reconciliation"]
    verdict = "balance" if report["balanced"] else "[bold red]DO NOT BALANCE[/]"
    gaps = report["gaps"]
    console.print(
        f"raw and lake {verdict}: raw owes {totals['expected']} rows, the lake holds "
        f"{totals['found']}; {sum(r['rejects'] for r in report['rejects'])} rejected, "
        f"{len(gaps)} gaps ({sum(1 for g in gaps if g['is_open'])} open at the close)"
    )
    console.print(f"the whole report is in {path}", soft_wrap=True)


def _result(title: str, rows: pa.Table, columns: dict[str, str]) -> Table:
    """A query result as a table of the named columns, under their short labels."""
    table = narrow_table(title, columns.values())
    for row in rows.select(list(columns)).to_pylist():
        table.add_row(*(_shown(name, row[name]) for name in columns))
    return table


def _shown(column: str, value: object) -> str:
    text = cell_text(value)
    return f"{text[:2]}:{text[2:4]}:{text[4:]}" if column == "exch_time" else text
