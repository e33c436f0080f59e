"""`bondtape status --config F`: show the running recorder's status.json as a table.

Exits 1 when no recorder is running (no status, a stopped one, or a stale file whose pid is
gone), so scripts and the daemon can test for it.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from capture.clock import seoul_datetime
from capture.errors import ConfigError
from capture.recorder.status import STATUS_NAME, is_live, read_status
from jobs.cli_options import add_data_dir_options, data_dir_from
from jobs.daemon import STATE_NAME as DAEMON_STATE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_options(parser)


def run(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    if not data_dir.is_dir():
        raise ConfigError("--data-dir", str(data_dir), "no such directory: check the path")
    path = data_dir / STATUS_NAME
    status = read_status(path)
    # Piped (into a log or a pager), keep the table readable instead of 80 columns wide.
    console = Console() if Console().is_terminal else Console(width=140)
    daemon = read_status(data_dir / DAEMON_STATE)
    if daemon is not None:
        console.print(render_daemon(daemon, is_live(daemon, time.time_ns())))
    if status is None:
        console.print(f"no recorder status at {path}: no recorder has run on this data_dir")
        return 1
    live = is_live(status, time.time_ns())
    console.print(render(status, live))
    return 0 if live else 1


def render_daemon(state: dict[str, Any], live: bool) -> Table:
    """The daemon's ``daemon.json``: its recorder, jobs running, next and last."""
    rec = state.get("recorder", {})
    exit_ = rec.get("last_exit") or {}
    uptime = rec.get("uptime_s")
    title = (
        f"daemon pid {state.get('pid')}: {'running' if live else 'NOT RUNNING'}; recorder "
        + (f"pid {rec.get('pid')} up {uptime:.0f} s" if rec.get("pid") else "down")
        + f", {rec.get('restarts', 0)} restart(s)"
        + (f"; last stop: {exit_.get('why')}" if exit_ else "")
    )
    table = Table(title=title)
    for column in ("job", "state", "last start", "seconds", "next", "detail"):
        table.add_column(column)
    nexts = state.get("next_jobs", {})
    for name, job in sorted(state.get("jobs", {}).items()):
        start = job.get("last_start_ns")
        table.add_row(
            name,
            str(job.get("state", "")),
            _seoul(start) if start else "-",
            f"{job['seconds']:.1f}" if job.get("seconds") is not None else "-",
            _seoul(nexts[name]) if name in nexts else "",
            (job.get("detail") or "")[-80:],
        )
    return table


def _seoul(ns: int) -> str:
    return seoul_datetime(int(ns)).strftime("%m-%d %H:%M:%S")


def render(status: dict[str, Any], live: bool) -> Table:
    updated = seoul_datetime(int(status.get("updated_ns", 0))).strftime("%Y-%m-%d %H:%M:%S")
    writer = status.get("writer", {})
    lag = writer.get("fsync_lag_s")
    caption = (
        f"segment {writer.get('segment')}  ·  {writer.get('bytes_written', 0):,} bytes written"
        f"  ·  fsync lag {'-' if lag is None else f'{lag:.1f} s'}"
    )
    state = "running" if live else f"NOT RUNNING (last status {updated} Seoul)"
    table = Table(
        title=f"recorder {status.get('recorder_id')} pid {status.get('pid')}: {state}",
        caption=caption,
    )
    for column in (
        "credential",
        "conn",
        "state",
        "since",
        "subs",
        "frames",
        "last frame",
        "reconnects",
        "last error",
    ):
        table.add_column(column, justify="right" if column in ("frames", "reconnects") else "left")
    for c in status.get("connections", []):
        age = c.get("last_frame_age_s")
        table.add_row(
            str(c.get("credential")),
            str(c.get("conn") or "-"),
            str(c.get("state")),
            seoul_datetime(int(c.get("since_ns", 0))).strftime("%H:%M:%S"),
            f"{c.get('subscriptions', 0)}/{c.get('assigned', 0)}",
            f"{c.get('frames', 0):,}",
            "-" if age is None else f"{age:.1f} s ago",
            str(c.get("reconnects", 0)),
            str(c.get("last_error") or ""),
        )
    return table
