"""`bondtape demo`: the whole pipeline on the built-in simulator, no account, no config.

It runs what a desk runs, as separate processes: the simulator (`bondtape simulate`), the
recorder (`bondtape record`) writing raw segments, and the normalizer turning them into the
Parquet lake every couple of seconds, then shows the latest books straight from the lake with
DuckDB. The data directory is kept afterwards for the user to explore.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from capture.errors import BondtapeError, ConfigError
from capture.kis.isin import check_digit
from jobs.cli_options import positive_float
from sql import query
from storage.normalizer import normalize

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
    _summarise(console, data_dir)
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
    table = Table(
        title="latest books, read back from the lake",
        title_justify="left",
        box=SIMPLE_HEAD,
        padding=(0, 0),  # with the box's own separator: fits 80 columns
        pad_edge=False,
        show_edge=False,
    )
    for column in BOOK_COLUMNS:
        table.add_column(column, justify="left" if column == "ISIN" else "right", no_wrap=True)
    for isin, hhmmss, *book in rows:
        table.add_row(isin, f"{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}", *map(str, book))
    return table


def _summarise(console: Console, data_dir: Path) -> None:
    con = duckdb.connect()
    counts = {}
    for name in ("quotes", "trades", "rejects"):
        files = _lake_files(data_dir, name)
        counts[name] = con.execute(_COUNT, [files]).fetchone()[0] if files else 0
    gap_files = _lake_files(data_dir, "gaps")
    closed, still_open = con.execute(_GAP_COUNTS, [gap_files]).fetchone() if gap_files else (0, 0)
    console.print(
        f"\n[bold]lake[/] {data_dir / 'lake'}: {counts['quotes']} quotes, {counts['trades']} "
        f"trades, {counts['rejects']} rejects; gaps: {closed} closed by a reconnect, "
        f"{still_open} open since the recorder stopped"
    )
    console.print(f"logs in {data_dir}/*.log; explore the raw log with")
    console.print(f"  .venv/bin/bondtape raw ls --data-dir {data_dir}")


_COUNT = "SELECT count(*) FROM read_parquet(?, union_by_name = true)"
# A gap that closed is in a part file and may briefly still be in open.parquet: count it once.
_GAP_COUNTS = """
SELECT count(*) FILTER (WHERE closed), count(*) FILTER (WHERE NOT closed)
FROM (SELECT bool_or(end_ts IS NOT NULL) AS closed
      FROM read_parquet(?, union_by_name = true) GROUP BY tr_id, isin, start_ts)
"""
