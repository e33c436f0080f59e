"""A real `bondtape run` process over a session window of about a minute around now, against
the simulator: raw, lake, hist, catalog and report all appear; a second daemon is refused;
SIGTERM leaves no child behind."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from capture.clock import SEOUL
from capture.status_files import DAEMON_STATE_NAME
from jobs.daemon.daemon import EOD_STEPS
from tests.support.recorder import (
    bondtape,
    events,
    isins,
    running,
    simulator,
    wait_until,
    write_config,
)

SESSION_S = 25


def test_a_daemon_runs_a_short_session_then_closes_the_day_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    now = dt.datetime.now(SEOUL)
    close = now + dt.timedelta(seconds=SESSION_S)
    end_of_day = close + dt.timedelta(seconds=3)
    if end_of_day.date() != now.date():
        pytest.skip("a session around now would cross Seoul midnight")
    today, data = now.date().isoformat(), tmp_path / "data"
    with simulator(tmp_path, rate=20) as sim:
        config, env = write_config(tmp_path, sim, isins(2))
        config.write_text(
            config.read_text()
            + f'[market]\nsession_open = "{(now - dt.timedelta(minutes=1)):%H:%M:%S}"\n'
            f'session_close = "{close:%H:%M:%S}"\nrecord_margin_min = 0\n'
            f'extra_trading_days = ["{today}"]\n'
            f"[jobs]\nnormalize_interval_s = 5\nintraday_compact_interval_s = 10\n"
            f'end_of_day = "{end_of_day:%H:%M:%S}"\n'
            "[logs]\nmax_bytes = 4096\nbackups = 2\n"
        )
        daemon = bondtape("run", "--config", str(config), env=env, stderr=subprocess.PIPE)
        with running(daemon):
            path = data / DAEMON_STATE_NAME
            state = lambda: json.loads(path.read_text())  # noqa: E731
            wait_until(lambda: path.exists() and state()["recorder"]["pid"], 20, "the recorder")
            recorder_pid = state()["recorder"]["pid"]
            wait_until(lambda: events(data, "sub_ack"), 30, "the recorder's acks")

            second = bondtape("run", "--config", str(config), env=env, stderr=subprocess.PIPE)
            with running(second):
                _, err = second.communicate(timeout=30)
            assert second.returncode == 3 and b"another daemon is running" in err

            def closed() -> bool:
                steps = state()["end_of_day"].get(today, {})
                return all(steps.get(s, {}).get("result") == "ok" for s in EOD_STEPS)

            wait_until(closed, SESSION_S + 120, "the day's end")
            assert state()["recorder"]["pid"] is None
            daemon.terminate()
            assert daemon.wait(15) == 0
    assert not alive(recorder_pid)
    assert not [p for p in processes() if str(config) in p]  # no child left behind
    assert list((data / "raw").rglob("*.seg*"))
    assert list((data / "lake" / "hist" / "quotes").rglob("data-*.parquet"))
    assert (data / "catalog.duckdb").exists()
    assert json.loads((data / "reports" / f"{today}.json").read_text())["balanced"] is True
    logs = sorted(p.name for p in (data / "logs").iterdir())
    assert "recorder.log.3" not in logs and "daemon.log.3" not in logs  # [logs] backups = 2
    sizes = {name: (data / "logs" / name).stat().st_size for name in logs}
    rotating = {
        n: size for n, size in sizes.items() if n.startswith(("daemon.log", "recorder.log"))
    }
    assert max(rotating.values()) <= 4096, sizes  # rotated as written: a job's log grows by a run
    recorder_lines = (data / "logs" / "recorder.log").read_text().splitlines()
    assert recorder_lines and all(" INFO " in s or " WARNING " in s for s in recorder_lines)
    assert " INFO " not in (data / "logs" / "recorder.stderr.log").read_text()  # logging: the file
    log = "".join(  # the day told in the daemon's own log, rotated or not
        (data / "logs" / name).read_text()
        for name in reversed(logs)
        if name.startswith("daemon.log")
    )
    for line in ("recorder started", "recorder stopped: the recording window is over",
                 f"end of day {today}: queued", f"end of day {today}: report ok",
                 "daemon stopping"):  # fmt: skip
        assert line in log, line
    assert "failed" not in log and "another normalizer or compaction" not in (
        (data / "logs" / "compact-intraday.log").read_text()
        if (data / "logs" / "compact-intraday.log").exists() else ""
    )  # fmt: skip


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid)


def processes() -> list[str]:
    """The command lines of the processes running now."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""
