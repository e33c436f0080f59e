"""`bondtape demo`: the whole pipeline on the built-in simulator, no account, no config.

It runs what a desk runs, as separate processes: the simulator (`bondtape simulate`), the
recorder (`bondtape record`) writing raw segments, and the normalizer turning them into the
Parquet lake every couple of seconds, then shows the latest books straight from the lake with
DuckDB. The data directory is kept afterwards for the user to explore.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from capture.clock import seoul_date
from capture.errors import BondtapeError, ConfigError
from capture.kis.isin import check_digit
from jobs.cli_options import positive_float
from sql import query
from storage.catalog import build_catalog
from storage.compaction import compact
from storage.normalizer import normalize
from storage.queries import named_query, open_catalog, run_query
from storage.results import cell_text

DEMO_MARKER = ".bondtape-demo"
# A government, a municipal, a special and a corporate bond: the simulator names each kind.
DEMO_ISINS = tuple(
    body + check_digit(body)
    for body in ("KR103502GD3", "KR2005031A4", "KR3502027C5", "KR6095571B9")
)
# A lively feed with the faults a real night brings: a dropped connection every 8 s (the
# recorder reconnects and records the gap) and the odd malformed frame (it lands in rejects).
SIMULATOR_ARGS = (
    "simulate",
    "--seed",
    "7",
    "--rate",
    "4",
    "--drop-every",
    "8",
    "--malformed-rate",
    "0.01",
)
BOOK_COLUMNS = ("ISIN", "KST", "bid qty", "bid yld", "bid", "ask", "ask yld", "ask qty")
# The simulator accepts any non-empty pair; these are not secrets.
DEMO_ENV = {"BONDTAPE_DEMO_APP_KEY": "demo-app-key", "BONDTAPE_DEMO_APP_SECRET": "demo-secret"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=positive_float, default=20.0, help="how long to record")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("demo-data"), help="where to keep raw/ and lake/"
    )


def run(args: argparse.Namespace) -> int:
    console = Console()
    if not args.verbose:  # the screen is for the books; the children log to files
        logging.getLogger().setLevel(logging.WARNING)
    data_dir = _fresh_data_dir(args.data_dir)
    env = {**os.environ, **DEMO_ENV}
    with ExitStack() as stack:
        simulator = stack.enter_context(
            _process(
                [*SIMULATOR_ARGS, "--ws-port", "0", "--rest-port", "0"],
                env,
                log=data_dir / "simulator.log",
                stdout=subprocess.PIPE,
            )
        )
        urls = _read_urls(simulator, data_dir / "simulator.log")
        config = _write_config(data_dir, urls)
        console.print(f"[bold]simulator[/] {urls['ws']}  (approval {urls['rest']})")
        recorder = stack.enter_context(
            _process(["record", "--config", str(config)], env, log=data_dir / "recorder.log")
        )
        console.print(
            f"[bold]recorder[/] writing {data_dir / 'raw'}; books below are read back "
            "from the Parquet lake\n"
        )
        # On a terminal the table refreshes in place; piped, each refresh is printed.
        live = stack.enter_context(Live(console=console, auto_refresh=False, transient=False))
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and recorder.poll() is None:
            time.sleep(2.0)  # the demo's refresh period, not synchronisation
            normalize(data_dir)
            books = _books(data_dir)
            if console.is_terminal:
                live.update(books, refresh=True)
            else:
                console.print(books)
        _stop(recorder)
    normalize(data_dir)
    _close_the_day(console, data_dir)
    return 0 if recorder.returncode == 0 else 1


def _fresh_data_dir(data_dir: Path) -> Path:
    """Start from an empty directory, but never wipe one the demo did not create.

    Raises:
        ConfigError: ``data_dir`` exists without the demo's marker file.
    """
    if data_dir.exists():
        if not (data_dir / DEMO_MARKER).exists():
            raise ConfigError(
                "--data-dir", str(data_dir), "exists and is not a demo directory: pass a new one"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / DEMO_MARKER).touch()
    return data_dir.resolve()


class _process:
    """A `bondtape` child process, terminated on exit however the demo ends."""

    def __init__(
        self, argv: list[str], env: dict[str, str], log: Path, stdout: int | None = None
    ) -> None:
        self.argv, self.env, self.log, self.stdout = argv, env, log, stdout

    def __enter__(self) -> subprocess.Popen[str]:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jobs.cli", *self.argv],
                env=self.env,
                stdout=self.stdout,
                stderr=log,
                text=True,
            )
        return self.proc

    def __exit__(self, *exc: object) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_urls(simulator: subprocess.Popen[str], log: Path) -> dict[str, str]:
    urls: dict[str, str] = {}
    assert simulator.stdout is not None
    while len(urls) < 2:
        line = simulator.stdout.readline()
        if not line:
            raise BondtapeError(f"the simulator exited before it served: see {log}")
        name, _, url = line.strip().partition(": ")
        if name in ("ws", "rest"):
            urls[name] = url
    return urls


def _write_config(data_dir: Path, urls: dict[str, str]) -> Path:
    path = data_dir / "bondtape.toml"
    isins = ", ".join(f'"{isin}"' for isin in DEMO_ISINS)
    path.write_text(
        f"""# Written by `bondtape demo`: the recorder pointed at the local simulator.
data_dir = "."

[kis]
ws_url = "{urls["ws"]}"
approval_url = "{urls["rest"]}/oauth2/Approval"

[[kis.credentials]]
app_key_env = "BONDTAPE_DEMO_APP_KEY"
app_secret_env = "BONDTAPE_DEMO_APP_SECRET"

[capture]
isins = [{isins}]
subscribe_interval_s = 0.05
recorder_id = "demo"
""",
        encoding="utf-8",
    )
    return path


def _lake_files(data_dir: Path, table: str) -> list[str]:
    return [str(path) for path in sorted((data_dir / "lake" / "live" / table).rglob("*.parquet"))]


def _books(data_dir: Path) -> Table | Text:
    """The latest book per ISIN, read back from the lake's Parquet files."""
    files = _lake_files(data_dir, "quotes")
    if not files:
        return Text("waiting for the first books...", style="dim")
    rows = duckdb.connect().execute(query("latest_books"), [files]).fetchall()
    table = _table("latest books, read back from the lake", BOOK_COLUMNS)
    for isin, hhmmss, *book in rows:
        table.add_row(isin, f"{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}", *map(str, book))
    return table


def _table(title: str, labels: Iterable[str]) -> Table:
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


def _close_the_day(console: Console, data_dir: Path) -> None:
    """What the end of a trading day does: compact the day, build the catalog, then ask it."""
    today = seoul_date(time.time_ns())
    stats = compact(data_dir, date=today)
    catalog = build_catalog(data_dir)
    console.print(
        f"\n[bold]compacted[/] {today}: {stats.files_in} small files into {stats.partitions} "
        f"sorted files ({stats.rows:,} rows); [bold]catalog[/] {catalog}"
    )
    with open_catalog(data_dir) as con:
        (quotes, trades, rejects, closed, still_open) = con.sql(_COUNTS).fetchall()[0]
        console.print(
            f"[bold]lake[/] {quotes} quotes, {trades} trades, {rejects} rejects; gaps: "
            f"{closed} closed by a reconnect, {still_open} open since the recorder stopped"
        )
        last = con.sql("SELECT max(recv_ts) FROM quotes").fetchall()[0][0]
        if last is not None:
            books = run_query(con, named_query("book_asof"), {"at": last.isoformat()})
            console.print(_result("book_asof at the last book received", books, BOOK_ASOF))
            isin = con.sql(_BUSIEST).fetchall()[0][0]
            hits = run_query(con, named_query("trades_with_quote"), {"isin": isin})
            console.print(_result(f"trades_with_quote {isin}, the last 5", hits.slice(
                max(0, hits.num_rows - 5)), TRADE_WITH_QUOTE))  # fmt: skip
    console.print(f"logs in {data_dir}/*.log; query the day with any DuckDB client:")
    for command in (  # whole lines, however narrow the terminal, to be pasted as they are
        f"duckdb {catalog}",
        f".venv/bin/bondtape query book_asof --data-dir {data_dir} --param at='{today} 15:30'",
        ".venv/bin/bondtape query --list",
    ):
        console.print(f"  {command}", soft_wrap=True)


BOOK_ASOF = dict(
    zip(
        ("isin", "exch_time", "bid_qty_1", "bid_yield_1", "bid_price_1", "ask_price_1",
         "ask_yield_1", "ask_qty_1"),
        BOOK_COLUMNS,
        strict=True,
    )
)  # fmt: skip
TRADE_WITH_QUOTE = {
    "exch_time": "KST", "trade_price": "price", "trade_qty": "qty",
    "bid_price_1": "bid before", "ask_price_1": "ask before", "side": "hit",
}  # fmt: skip


def _result(title: str, rows: pa.Table, columns: dict[str, str]) -> Table:
    """A query result as a table of the named columns, under their short labels."""
    table = _table(title, columns.values())
    for row in rows.select(list(columns)).to_pylist():
        table.add_row(*(_shown(name, row[name]) for name in columns))
    return table


def _shown(column: str, value: object) -> str:
    text = cell_text(value)
    return f"{text[:2]}:{text[2:4]}:{text[4:]}" if column == "exch_time" else text


_COUNTS = """
SELECT (SELECT count(*) FROM quotes), (SELECT count(*) FROM trades),
       (SELECT count(*) FROM rejects),
       (SELECT count(*) FILTER (WHERE end_ts IS NOT NULL) FROM gaps),
       (SELECT count(*) FILTER (WHERE end_ts IS NULL) FROM gaps)
"""
_BUSIEST = "SELECT isin FROM trades GROUP BY isin ORDER BY count(*) DESC, isin LIMIT 1"
