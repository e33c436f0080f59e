"""`bondtape demo`: the daemon's day in miniature on the built-in simulator, no account.

It runs what a desk runs, as separate processes: the simulator (`bondtape simulate`) and the
daemon (`bondtape run`) over a session of seconds starting now, which records, normalizes
every couple of seconds and compacts closed hours, then, after the close, normalizes to the
end, compacts the day, builds the catalog and writes the report. The demo shows the books as
they land, the end-of-day steps, the report and what the catalog answers, then replays the day
at high speed to a KIS client (`bondtape replay`). The data directory is kept afterwards for
the user to explore.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from capture.clock import SEOUL
from capture.errors import BondtapeError, ConfigError
from capture.kis.isin import check_digit
from capture.status_files import DAEMON_STATE_NAME, read_status
from jobs.cli import positive_float
from jobs.daemon import EOD_STEPS
from jobs.demo.replay_client import show_replay
from sql import query
from storage.read import CATALOG_NAME, cell_text, named_query, open_catalog, run_query
from storage.report import REPORTS_FOLDER

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
END_OF_DAY_TIMEOUT_S = 90.0


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
    logs = data_dir / "logs"
    logs.mkdir()
    env = {**os.environ, **DEMO_ENV}
    with ExitStack() as stack:
        simulator = stack.enter_context(
            _process(
                [*SIMULATOR_ARGS, "--ws-port", "0", "--rest-port", "0"],
                env,
                log=logs / "simulator.log",
                stdout=subprocess.PIPE,
            )
        )
        urls = _read_urls(simulator, logs / "simulator.log")
        session = Session.starting_now(args.seconds)
        config = _write_config(data_dir, urls, session)
        console.print(f"[bold]simulator[/] {urls['ws']}  (approval {urls['rest']})")
        daemon = stack.enter_context(
            # its own log is logs/daemon.log; stderr keeps what comes before it opens that
            _process(["run", "--config", str(config)], env, log=logs / "daemon.stderr.log")
        )
        console.print(
            f"[bold]daemon[/] a session of {args.seconds:g} s ({session.open:%H:%M:%S}-"
            f"{session.close:%H:%M:%S} Seoul): it records into {data_dir / 'raw'}, normalizes "
            "every 2 s and compacts closed hours; books below are read back from the lake\n"
        )
        # On a terminal the table refreshes in place; piped, each refresh is printed.
        live = stack.enter_context(Live(console=console, auto_refresh=False, transient=False))
        while dt.datetime.now(SEOUL) < session.close and daemon.poll() is None:
            time.sleep(2.0)  # the demo's refresh period, not synchronisation
            books = _books(data_dir)
            if console.is_terminal:
                live.update(books, refresh=True)
            else:
                console.print(books)
        live.stop()
        done = _await_end_of_day(console, data_dir, session.open.date(), daemon)
        _stop(daemon)
    if not done:
        raise BondtapeError(f"the daemon did not close the day: see {data_dir}/logs/")
    busiest = _show_the_day(console, data_dir, session.open.date())
    if busiest is not None:
        show_replay(console, data_dir, session.open.date(), busiest)
    _suggest(console, data_dir, session.open.date())
    return 0 if daemon.returncode == 0 else 1


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


@dataclass(frozen=True)
class Session:
    """A compressed trading day: a session of seconds, then its end of day."""

    open: dt.datetime
    close: dt.datetime
    end_of_day: dt.datetime

    @classmethod
    def starting_now(cls, seconds: float) -> Session:
        """Raises: BondtapeError: it would cross Seoul midnight (a day is one date)."""
        start = dt.datetime.now(SEOUL).replace(microsecond=0) + dt.timedelta(seconds=2)
        close = start + dt.timedelta(seconds=math.ceil(seconds))
        session = cls(start, close, close + dt.timedelta(seconds=2))
        if session.end_of_day.date() != start.date():
            raise BondtapeError("the demo's day would cross Seoul midnight: run it in a minute")
        return session


def _write_config(data_dir: Path, urls: dict[str, str], session: Session) -> Path:
    path = data_dir / "bondtape.toml"
    isins = ", ".join(f'"{isin}"' for isin in DEMO_ISINS)
    path.write_text(
        f"""# Written by `bondtape demo`: the daemon's day, compressed, on the local simulator.
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

[market]  # a session of seconds, whatever the calendar says of today
session_open = "{session.open:%H:%M:%S}"
session_close = "{session.close:%H:%M:%S}"
record_margin_min = 0
extra_trading_days = ["{session.open.date()}"]

[jobs]
normalize_interval_s = 2
intraday_compact_interval_s = 6
end_of_day = "{session.end_of_day:%H:%M:%S}"
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


def _await_end_of_day(
    console: Console, data_dir: Path, day: dt.date, daemon: subprocess.Popen[str]
) -> bool:
    """Follow the daemon's end-of-day steps in daemon.json as they finish; whether all did."""
    console.print(
        "\n[bold]session closed[/]: the daemon stops the recorder, then runs the end of day"
    )
    shown: set[str] = set()
    deadline = time.monotonic() + END_OF_DAY_TIMEOUT_S
    while time.monotonic() < deadline and daemon.poll() is None:
        state = read_status(data_dir / DAEMON_STATE_NAME) or {}
        steps = state.get("end_of_day", {}).get(day.isoformat(), {})
        for step in EOD_STEPS:
            result = steps.get(step, {}).get("result")
            if result is not None and step not in shown:
                shown.add(step)
                console.print(f"  {step:10} {result}")
        if all(steps.get(s, {}).get("result") == "ok" for s in EOD_STEPS):
            return True
        time.sleep(0.5)  # polling the daemon's state file
    return False


def _show_the_day(console: Console, data_dir: Path, day: dt.date) -> str | None:
    """The gist of the report the daemon wrote, and the catalog asked for books and trades;
    the ISIN that traded most (None if nothing was recorded)."""
    _show_report(console, data_dir / REPORTS_FOLDER / f"{day.isoformat()}.json")
    with open_catalog(data_dir) as con:
        last = con.sql("SELECT max(recv_ts) FROM quotes").fetchall()[0][0]
        if last is not None:
            books = run_query(con, named_query("book_asof"), {"at": last.isoformat()})
            console.print(_result("book_asof at the last book received", books, BOOK_ASOF))
            busiest = con.sql(_BUSIEST).fetchall()
            for (isin,) in busiest:
                hits = run_query(con, named_query("trades_with_quote"), {"isin": isin})
                console.print(_result(f"trades_with_quote {isin}, the last 5", hits.slice(
                    max(0, hits.num_rows - 5)), TRADE_WITH_QUOTE))  # fmt: skip
                return isin
    return None


def _suggest(console: Console, data_dir: Path, day: dt.date) -> None:
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
    table = _table(title, columns.values())
    for row in rows.select(list(columns)).to_pylist():
        table.add_row(*(_shown(name, row[name]) for name in columns))
    return table


def _shown(column: str, value: object) -> str:
    text = cell_text(value)
    return f"{text[:2]}:{text[2:4]}:{text[4:]}" if column == "exch_time" else text


_BUSIEST = "SELECT isin FROM trades GROUP BY isin ORDER BY count(*) DESC, isin LIMIT 1"
