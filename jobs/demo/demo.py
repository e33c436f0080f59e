"""`bondtape demo`: the daemon's day in miniature on the built-in simulator, no account.

It runs what a desk runs, as separate processes (jobs/demo/processes.py): the simulator
(`bondtape simulate`) and the daemon (`bondtape run`) over a session of seconds starting now,
which records, normalizes every couple of seconds and compacts closed hours, then, after the
close, normalizes to the end, compacts the day, builds the catalog and writes the report. The
demo shows the books as they land, the end-of-day steps, the report and what the catalog
answers (jobs/demo/display.py), then replays the day at high speed to a KIS client
(jobs/demo/replay_client.py). The data directory is kept afterwards for the user to explore.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shutil
import time
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.live import Live

from capture.clock import SEOUL
from capture.errors import BondtapeError, ConfigError
from capture.status_files import DAEMON_STATE_NAME, read_status
from jobs.cli import positive_float
from jobs.daemon import EOD_STEPS, Child, end_of_day_results
from jobs.demo.display import books, show_the_day, suggest
from jobs.demo.processes import Session, start_daemon, start_simulator, write_config
from jobs.demo.replay_client import show_replay

DEMO_MARKER = ".bondtape-demo"
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
    with ExitStack() as stack:
        simulator, urls = start_simulator(logs)
        stack.enter_context(simulator)
        session = Session.starting_now(args.seconds)
        config = write_config(data_dir, urls, session)
        console.print(f"[bold]simulator[/] {urls['ws']}  (approval {urls['rest']})")
        daemon = stack.enter_context(start_daemon(config, logs))
        console.print(
            f"[bold]daemon[/] a session of {args.seconds:g} s ({session.open:%H:%M:%S}-"
            f"{session.close:%H:%M:%S} Seoul): it records into {data_dir / 'raw'}, normalizes "
            "every 2 s and compacts closed hours; books below are read back from the lake\n"
        )
        # On a terminal the table refreshes in place; piped, each refresh is printed.
        live = stack.enter_context(Live(console=console, auto_refresh=False, transient=False))
        while dt.datetime.now(SEOUL) < session.close and daemon.exit_code() is None:
            time.sleep(2.0)  # the demo's refresh period, not synchronisation
            shown = books(data_dir)
            if console.is_terminal:
                live.update(shown, refresh=True)
            else:
                console.print(shown)
        live.stop()
        done = _await_end_of_day(console, data_dir, session.open.date(), daemon)
        daemon_status = daemon.stop()
    if not done:
        raise BondtapeError(f"the daemon did not close the day: see {data_dir}/logs/")
    busiest = show_the_day(console, data_dir, session.open.date())
    if busiest is not None:
        show_replay(console, data_dir, session.open.date(), busiest)
    suggest(console, data_dir, session.open.date())
    return 0 if daemon_status == 0 else 1


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


def _await_end_of_day(console: Console, data_dir: Path, day: dt.date, daemon: Child) -> bool:
    """Follow the daemon's end-of-day steps in daemon.json as they finish; whether all did."""
    console.print(
        "\n[bold]session closed[/]: the daemon stops the recorder, then runs the end of day"
    )
    shown: set[str] = set()
    deadline = time.monotonic() + END_OF_DAY_TIMEOUT_S
    while time.monotonic() < deadline and daemon.exit_code() is None:
        results = end_of_day_results(read_status(data_dir / DAEMON_STATE_NAME), day.isoformat())
        for step in EOD_STEPS:
            result = results.get(step)
            if result is not None and step not in shown:
                shown.add(step)
                console.print(f"  {step:10} {result}")
        if all(results.get(s) == "ok" for s in EOD_STEPS):
            return True
        time.sleep(0.5)  # polling the daemon's state file
    return False
