"""kill -9 at random instants of the recorder, the normalizer, compaction and the daemon
itself, round after round, during a daemon's day against a simulator that drops, stalls and
sends malformed frames; then the day is closed and the views are held to the simulator's
truth. The same day is then searched for secrets and for files others could read.

"Sent while a recorder was connected" is every record in the truth file whose connection was
still being read: a record sent on a connection the recorder then lost (dropped by the
simulator, or its recorder killed) may be missing, and must then lie in a ``gaps`` row of its
(TR, ISIN) (from :data:`IN_FLIGHT_SLACK_NS` before the gap's start, the last frame the
recorder got, to its end). Everything else must be in the views, exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import stat
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from capture.clock import SystemClock
from capture.rawlog import list_segments
from jobs.config.config import MarketConfig
from storage.report.report import ReportSettings, build_report
from tests.reliability.daemon_day import Day, daemon_day, duplicate_lineage, reconcile, truth_lines
from tests.support.recorder import running, wait_until

SEED = int(os.environ.get("BONDTAPE_RELIABILITY_SEED", "20261201"))
ROUNDS = 20
SESSION_S = 60
TARGETS = ("recorder", "normalize", "compact-intraday", "daemon")


def _pid_of(day: Day, target: str, daemon: subprocess.Popen[bytes]) -> int | None:
    """The running process of ``target`` now, checked by its command line."""
    if target == "daemon":
        return daemon.pid
    state = day.state()
    pid = (state.get("recorder", {}) if target == "recorder" else {}).get("pid") or state.get(
        "running", {}
    ).get(target)
    word = {"recorder": "record", "normalize": "normalize", "compact-intraday": "compact"}[target]
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, TypeError):
        return None
    return pid if word.encode() in cmdline and str(day.config).encode() in cmdline else None


@pytest.fixture(scope="module")
def killed_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Day, Counter[str]]]:
    tmp = tmp_path_factory.mktemp("killed-day")
    faults = {"drop_every": 4.0, "stall": 1.0, "stall_every": 5.0, "malformed_rate": 0.02}
    with daemon_day(tmp, session_s=SESSION_S, rate=20, **faults) as day:
        rng = random.Random(SEED)
        print(f"\nkill rounds: seed {SEED} (BONDTAPE_RELIABILITY_SEED to repeat)")
        kills: Counter[str] = Counter()
        daemon = day.start_daemon()
        last_kill_by = day.end_of_day - dt.timedelta(seconds=6)  # leave the close alone
        try:
            while sum(kills.values()) < ROUNDS and dt.datetime.now(last_kill_by.tzinfo) < (
                last_kill_by
            ):
                target = rng.choice(TARGETS)
                try:
                    pid = wait_until(partial(_pid_of, day, target, daemon), 2.5, target)
                except AssertionError:
                    continue  # not running in time (a recorder in backoff): another target
                time.sleep(rng.uniform(0.0, 0.3))  # the random instant, not synchronisation
                if _pid_of(day, target, daemon) != pid:
                    continue  # it ended by itself meanwhile
                os.kill(pid, signal.SIGKILL)
                kills[target] += 1
                if target == "daemon":
                    daemon.wait()
                    daemon = day.start_daemon()
            with running(daemon):
                wait_until(day.day_closed, SESSION_S + 120, "the day's end of day")
                daemon.terminate()
                assert daemon.wait(20) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        yield day, kills


def test_kill_9_rounds_lose_no_record_sent_to_a_connected_recorder_and_duplicate_none(
    killed_day: tuple[Day, Counter[str]],
) -> None:
    day, kills = killed_day
    catalog = day.data / "catalog.duckdb"
    lines = truth_lines(day.sim)
    result = reconcile(lines, catalog)
    malformed = sum("malformed" in line for line in lines)
    gap_rows = sum(1 for _ in _gaps(catalog))
    print(
        f"kill rounds: {sum(kills.values())} kills {dict(kills)}; records sent {result.sent}, "
        f"in the views {result.in_views}, lost inside gaps {result.in_gaps}; "
        f"gap rows {gap_rows}; malformed frames sent {malformed}"
    )
    assert sum(kills.values()) == ROUNDS and set(kills) == set(TARGETS), kills
    assert result.sent > 1000 and malformed > 0
    assert duplicate_lineage(catalog) == 0
    assert not result.phantoms, f"view rows sent fewer times: {list(result.phantoms)[:3]}"
    assert not result.unaccounted, (
        f"{len(result.unaccounted)} record(s) neither in the views nor in a gap: "
        f"{result.unaccounted[:3]}"
    )


def test_after_the_kill_rounds_every_recorded_day_balances(
    killed_day: tuple[Day, Counter[str]],
) -> None:
    day, _ = killed_day
    market = MarketConfig()
    settings = ReportSettings(session_open=market.session_open, session_close=market.session_close)
    days = sorted({segment.name[:10] for segment in list_segments(day.data / "raw")})
    assert day.today in days
    for name in days:
        report = build_report(day.data, dt.date.fromisoformat(name), settings, SystemClock())
        assert report.balanced, report.failure()


def test_no_secret_reaches_a_file_log_status_or_output(
    killed_day: tuple[Day, Counter[str]],
) -> None:
    day, _ = killed_day
    status = day.bondtape("status", "--config", str(day.config))
    status.wait(30)
    errors = day.bondtape("record", "--config", str(day.config) + ".missing")  # an error
    errors.wait(30)
    secrets = day.secrets()
    assert len(secrets) > 2, "the simulator issued no approval key"
    files = [p for p in day.data.rglob("*") if p.is_file()] + day.outputs
    for path in files:
        data = path.read_bytes()
        leaked = [s for s in secrets if s.encode() in data]
        assert not leaked, f"{path} holds a secret"
    print(f"secrets: {len(secrets)} searched in {len(files)} files and outputs")


def test_data_dir_and_everything_in_it_are_the_owners_alone(
    killed_day: tuple[Day, Counter[str]],
) -> None:
    day, _ = killed_day
    paths = [day.data, *day.data.rglob("*")]
    readable = [
        f"{p} {stat.filemode(p.stat().st_mode)}"
        for p in paths
        if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    ]
    assert not readable, readable[:10]
    assert len(paths) > 20


def _gaps(catalog: Path) -> Iterator[tuple]:
    import duckdb

    with duckdb.connect(str(catalog), read_only=True) as con:
        yield from con.sql("SELECT * FROM gaps").fetchall()
