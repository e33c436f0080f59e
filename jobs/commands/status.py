"""`bondtape status --config F`: the daemon, the recorder, gaps, stale feeds, disk and the
normalizer's lag, as panels for a terminal or, with ``--json``, one JSON object.

Exits 0 when the recorder runs, or when a running daemon has it down because the recording
window is over (then it says until when); 1 otherwise (no recorder, a dead one, or one the
daemon should be running), so scripts can test for it.
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from capture.clock import seoul_date, seoul_datetime
from capture.errors import ConfigError
from jobs.cli import add_data_dir_options, data_dir_from
from jobs.status import gather
from storage.report import volume_today

DETAIL_CHARS = 160  # of a failed job's last output line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def run(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    if not data_dir.is_dir():
        raise ConfigError("--data-dir", str(data_dir), "no such directory: check the path")
    report = gather(data_dir, time.time_ns())
    # Not in gather, which stays free of DuckDB: this one reads today's trades in the lake.
    report["volume_today"] = volume_today(data_dir, seoul_date(report["generated_ns"]))
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
    else:
        # Piped (into a log or a pager), keep the tables readable instead of 80 columns wide.
        console = Console() if Console().is_terminal else Console(width=140)
        console.print(render(report))
    return 0 if report["ok"] else 1


def render(report: dict[str, Any]) -> Group:
    now_ns = report["generated_ns"]
    parts: list[Any] = [verdict(report)]
    if report["daemon"] is not None:
        parts.append(Panel(_daemon(report["daemon"], now_ns), title="daemon", title_align="left"))
    if report["recorder"] is not None:
        parts.append(Panel(_recorder(report), title="recorder", title_align="left"))
    parts.append(Panel(_storage(report), title="disk and lake", title_align="left"))
    return Group(*parts)


def verdict(report: dict[str, Any]) -> str:
    """One line: all well, down until the next session, or what is wrong."""
    recorder, daemon, now_ns = report["recorder"], report["daemon"], report["generated_ns"]
    if recorder is not None and recorder["live"]:
        stale = len(report["stale"])
        return f"[green]recording[/]: {recorder['frames_per_s']:,.0f} frames/s" + (
            f", [yellow]{stale} stale feed(s)[/]" if stale else ""
        )
    if report["ok"]:
        start = daemon.get("window", {}).get("start_ns")
        when = "the calendar's next trading day is beyond 30 days" if start is None else (
            f"{_at(start, now_ns)} Seoul, the next session"
        )  # fmt: skip
        return f"recorder down until {when} (the daemon runs; the window is over)"
    if daemon is not None and daemon["live"]:
        return "[red]the recorder should be running and is not[/] (see data_dir/logs/recorder.log)"
    if recorder is None:
        return "[red]no recorder has run on this data_dir[/] (no status.json)"
    return (
        f"[red]no recorder running[/]: its last status is from "
        f"{_at(int(recorder.get('updated_ns', 0)), now_ns)} Seoul"
    )


def _daemon(daemon: dict[str, Any], now_ns: int) -> Group:
    rec, window = daemon.get("recorder", {}), daemon.get("window", {})
    exit_ = rec.get("last_exit") or {}
    facts = Table.grid(padding=(0, 2))
    facts.add_row("daemon", f"pid {daemon.get('pid')}, "
                  + ("running" if daemon["live"] else "[red]not running[/]"))  # fmt: skip
    facts.add_row(
        "recorder",
        (f"pid {rec['pid']}, up {_duration(rec.get('uptime_s') or 0)}" if rec.get("pid")
         else "down") + f", {rec.get('restarts', 0)} restart(s)"
        + (f"; last stop {_at(exit_['at_ns'], now_ns)}: {exit_.get('why')}" if exit_ else ""),
    )  # fmt: skip
    if window.get("start_ns") is not None:
        span = f"{_at(window['start_ns'], now_ns)} to {_at(window['stop_ns'], now_ns)}"
        facts.add_row("recording", f"now, {span}" if window.get("recording") else f"next {span}")
    if daemon.get("next_end_of_day_ns") is not None:
        facts.add_row("end of day", f"next {_at(daemon['next_end_of_day_ns'], now_ns)}")
    jobs = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("job", "last result", "last start", "seconds", "next", "detail"):
        jobs.add_column(column, overflow="fold")
    nexts = daemon.get("next_jobs", {})
    for name, job in sorted(daemon.get("jobs", {}).items()):
        start, seconds = job.get("last_start_ns"), job.get("seconds")
        result = str(job.get("state") or "")  # none until it first starts
        jobs.add_row(
            name,
            f"[red]{result}[/]" if result == "failed" else result,
            _at(start, now_ns) if start else "-",
            "-" if seconds is None else f"{seconds:.1f}",
            _next(name, nexts, window, now_ns),
            _detail(job.get("detail")),
        )
    return Group(facts, jobs) if jobs.row_count else Group(facts)


def _next(name: str, nexts: dict[str, Any], window: dict[str, Any], now_ns: int) -> str:
    if nexts.get(name) is not None:
        return _at(nexts[name], now_ns)
    if name in nexts and window.get("start_ns") is not None:  # a session job, out of session
        return f"in session, from {_at(window['start_ns'], now_ns)}"
    return "-"


def _detail(detail: str | None) -> str:
    """A failed job's last line of output, shortened at a word, never mid-word."""
    lines = [line for line in (detail or "").splitlines() if line.strip()]
    return textwrap.shorten(lines[-1], DETAIL_CHARS, placeholder=" …") if lines else ""


def _recorder(report: dict[str, Any]) -> Group:
    status, now_ns = report["recorder"], report["generated_ns"]
    live = status["live"]
    head = (
        f"{status.get('recorder_id')} pid {status.get('pid')}, "
        + ("running" if live else f"not running (last status {_at(status['updated_ns'], now_ns)})")
        + f", started {_at(int(status.get('started_ns', 0)), now_ns)}"
    )
    sessions = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("credential", "conn", "state", "since", "subs", "frames/s", "frames",
                   "reconnects", "last error"):  # fmt: skip
        right = column in ("frames/s", "frames")
        sessions.add_column(column, overflow="fold", justify="right" if right else "left")
    feeds = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("credential", "TR", "frames", "records", "last frame"):
        feeds.add_column(column, justify="left" if column in ("credential", "TR") else "right")
    for c in status.get("connections", []):
        sessions.add_row(
            str(c.get("credential")),
            str(c.get("conn") or "-"),
            str(c.get("state")),
            _at(int(c.get("since_ns", 0)), now_ns),
            f"{c.get('subscriptions', 0)}/{c.get('assigned', 0)}",
            f"{c.get('frames_per_s', 0):,.1f}" if live else "-",
            f"{c.get('frames', 0):,}",
            str(c.get("reconnects", 0)),
            str(c.get("last_error") or ""),
        )
        for tr, seen in sorted(c.get("by_tr", {}).items()):
            age = seen.get("last_frame_age_s")
            if age is None:
                last = "-"
            elif live:
                last = f"{age:.1f} s ago"
            else:  # the age was as of its last status: say when instead
                last = f"at {_at(int(status['updated_ns'] - age * 1e9), now_ns)}"
            feeds.add_row(
                str(c.get("credential")), tr, f"{seen['frames']:,}", f"{seen['records']:,}", last
            )
    writer = status.get("writer", {})
    lag = writer.get("fsync_lag_s")
    gaps = report["gaps_today"] or {"count": 0, "seconds": 0.0}
    lines = [
        f"gaps today: {gaps['count']} ({_duration(gaps['seconds'])} lost, as this recorder saw)",
        f"raw segment {writer.get('segment')}, {writer.get('bytes_written', 0):,} bytes written"
        f", fsync lag {'-' if lag is None else f'{lag:.1f} s'}",
    ]
    stale = Table(box=None, header_style="bold yellow", pad_edge=False)
    for column in ("stale feed", "ISIN", "silent", "usually every"):
        stale.add_column(column)
    for s in report["stale"]:
        stale.add_row(s["tr_id"], s["isin"], _duration(s["silent_s"]), f"{s['usual_s']:.1f} s")
    return Group(head, sessions, feeds, *lines, *([stale] if stale.row_count else []))


def _storage(report: dict[str, Any]) -> Group:
    disk, lag = report["disk"], report["normalizer"]
    used = (
        f"raw {_bytes(disk['raw_bytes'])}, lake {_bytes(disk['lake_bytes'])}; "
        f"{_bytes(disk['free_bytes'])} free of {_bytes(disk['total_bytes'])}"
    )
    behind_s = lag["behind_s"]
    position = lag["position"]
    normalizer = (
        "normalizer: never ran" if position is None
        else f"normalizer at {position['segment']} offset {position['offset']:,}"
    ) + f"; {_bytes(lag['behind_bytes'])} of raw behind" + (
        "" if behind_s is None else f" ({_duration(behind_s)})"
    )  # fmt: skip
    return Group(f"disk: {used}", normalizer, _volume(report.get("volume_today")))


def _volume(volume: dict[str, int] | None) -> str:
    """Today's volume continuity (``bondtape query volume_check`` has the detail)."""
    if volume is None:
        return "volume today: no catalog to read (bondtape catalog builds it)"
    silent = f"{volume['silent_volume']:,} silent ({volume['silent_jumps']} jump(s))"
    return (
        f"volume today: {volume['isins']} ISIN(s) traded; missing {silent}, "
        f"{volume['explained_volume']:,} explained by gaps"
    )


def _at(ns: int, now_ns: int) -> str:
    """Seoul time; with the date when not today's."""
    local = seoul_datetime(int(ns))
    same_day = seoul_date(int(ns)) == seoul_date(now_ns)
    return local.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M")


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
