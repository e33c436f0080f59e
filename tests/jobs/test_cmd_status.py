"""`bondtape status` over real processes: a recorder on the simulator, a daemon outside its
window; the table for a terminal and the one JSON object of ``--json``."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from capture.clock import SEOUL, ManualClock, seoul_date, seoul_datetime
from capture.kis.protocol import data_frame
from capture.rawlog import RawLogWriter, RecordKind
from capture.status_files import DAEMON_STATE_NAME, STATUS_NAME, read_status
from jobs.status import normalizer_lag
from storage import normalize
from tests.support.catalog_data import volume_lake
from tests.support.rawlog import seoul_ns
from tests.support.recorder import (
    ROOT,
    bondtape,
    events,
    isins,
    record,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)


def status(config: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    return status_of(["--config", str(config), *args], env)


def status_of(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = bondtape(
        "status", *argv, env={**env, "COLUMNS": "160"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    with running(process):
        out, _ = process.communicate(timeout=20)
    return process.returncode, out.decode()


def test_after_the_window_closed_status_says_when_the_recorder_starts_again_and_exits_0(
    tmp_path: Path,
) -> None:
    today = dt.datetime.now(SEOUL).date()
    data = tmp_path / "data"
    with simulator(tmp_path, rate=20) as sim:
        config, env = write_config(tmp_path, sim, isins(1))
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: events(data, "sub_ack"), 20, "an ack")
            assert stop(recorder) == 0  # as the daemon stops it at the window's end
        config.write_text(
            config.read_text() + f'[market]\nextra_closed_days = ["{today.isoformat()}"]\n'
        )
        with running(bondtape("run", "--config", str(config), env=env)):
            wait_until(lambda: (data / DAEMON_STATE_NAME).exists(), 20, "the daemon's state")
            code, out = status(config, env)
            json_code, text = status(config, env, "--json")
    assert code == json_code == 0, out
    body = json.loads(text)
    assert body["ok"] is True
    daemon, recorder = body["daemon"], body["recorder"]
    assert daemon["live"] is True and daemon["state"] == "running"
    assert daemon["window"]["recording"] is False
    assert daemon["recorder"]["pid"] is None and daemon["recorder"]["restarts"] == 0
    assert daemon["recorder"]["last_exit"] is None  # this daemon never ran one today
    assert recorder["live"] is False and recorder["state"] == "stopped"
    # the next session: a later day than today, shown with its date
    start_ns = daemon["window"]["start_ns"]
    assert seoul_date(start_ns) > today
    next_session = seoul_datetime(start_ns).strftime("%Y-%m-%d %H:%M")
    lines = [line.strip(" │╭╰─╮╯") for line in out.splitlines()]
    assert lines[0] == (
        f"recorder down until {next_session} Seoul, the next session "
        "(the daemon runs; the window is over)"
    )
    assert f"daemon      pid {daemon['pid']}, running" in lines
    assert "recorder    down, 0 restart(s)" in lines
    assert f"recording   next {next_session} to " in " ".join(lines)
    assert "NOT RUNNING" not in out and "stopped: stopped" not in out


def test_status_json_while_a_recorder_runs_has_every_documented_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with simulator(tmp_path, rate=20) as sim:
        config, env = write_config(tmp_path, sim, isins(2), trs=("H0BJASP0", "H0BJCNT0"))
        with running(record(config, env, stderr=subprocess.DEVNULL)):
            wait_until(lambda: len(events(data, "sub_ack")) == 4, 20, "the acks")

            def flowing() -> dict[str, Any] | None:
                code, out = status(config, env, "--json")
                body = json.loads(out)
                return body if code == 0 and body["recorder"]["frames_per_s"] > 0 else None

            body = wait_until(flowing, 20, "a frame rate")
            code, table = status(config, env)
    assert set(body) == {
        "data_dir", "generated_ns", "ok", "daemon", "recorder", "gaps_today", "stale", "disk",
        "normalizer", "volume_today",
    }  # fmt: skip
    assert body["ok"] is True and body["daemon"] is None
    recorder = body["recorder"]
    assert recorder["live"] is True and recorder["state"] == "running"
    (connection,) = recorder["connections"]
    assert connection["subscriptions"] == connection["assigned"] == 4
    assert set(connection["by_tr"]) == {"H0BJASP0", "H0BJCNT0"}
    quotes = connection["by_tr"]["H0BJASP0"]
    assert quotes["frames"] > 0 and quotes["records"] >= quotes["frames"]
    assert quotes["last_frame_age_s"] < 5
    assert body["gaps_today"] == {"count": 0, "seconds": 0.0}
    assert body["stale"] == []
    disk = body["disk"]
    assert disk["raw_bytes"] > 0 and disk["lake_bytes"] == 0 and disk["free_bytes"] > 0
    assert body["normalizer"]["position"] is None  # never ran: all of raw is behind
    assert body["normalizer"]["behind_bytes"] > 0
    assert body["volume_today"] is None  # no catalog built yet
    assert code == 0 and "H0BJASP0" in table and "frames/s" in table and "disk" in table
    assert "volume today: no catalog to read (bondtape catalog builds it)" in table


def test_a_feed_silent_past_its_threshold_shows_in_status_and_in_one_log_line_each_way(
    tmp_path: Path,
) -> None:
    """With a threshold (0.3 s) near the simulator's spacing (about 0.5 s), the pair is found
    stale between records and recovers at the next: the path from the receive loop to
    status.json and the log."""
    if dt.datetime.now(SEOUL).time() >= dt.time(23, 58):
        pytest.skip("the watch's hours end at 23:59")
    data = tmp_path / "data"
    log = tmp_path / "recorder.log"
    with simulator(tmp_path, rate=2) as sim:
        config, env = write_config(tmp_path, sim, isins(1))
        config.write_text(
            config.read_text() + f'log_file = "{log}"\nstale_after_factor = 0.01\n'
            'stale_min_s = 0.3\n[market]\nsession_open = "00:00"\nsession_close = "23:59"\n'
            'record_margin_min = 0\n[jobs]\nend_of_day = "23:59:30"\n'
        )
        with running(record(config, env, stderr=subprocess.DEVNULL)):
            wait_until(lambda: events(data, "sub_ack"), 20, "an ack")

            def stale_listed() -> list[dict[str, Any]]:
                found = read_status(data / STATUS_NAME)
                return found["stale"] if found else []

            (entry,) = wait_until(stale_listed, 30, "a stale pair in status.json")
            wait_until(lambda: "recovered" in log.read_text(), 30, "a recovery line")
    assert entry["tr_id"] == "H0BJASP0" and entry["isin"] == isins(1)[0]
    assert entry["silent_s"] > 0.3 and entry["usual_s"] > 0
    text = log.read_text()
    assert f"H0BJASP0 {isins(1)[0]} stale: silent for" in text


def test_the_normalizer_lag_is_the_raw_written_after_the_lake_checkpoint(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 12, 1, 10, 0))
    frame = data_frame("H0BJASP0", [[isins(1)[0], "093000", *(["1"] * 32)]]).encode()
    with RawLogWriter(tmp_path / "raw", "rec1", clock=clock, fsync_interval_s=None) as writer:
        writer.append(RecordKind.FRAME_RECV, 1, frame)
        normalize(tmp_path)
        assert normalizer_lag(tmp_path, clock.now_ns())["behind_bytes"] == 0
        assert normalizer_lag(tmp_path, clock.now_ns())["behind_s"] == 0.0
        written = writer.append(RecordKind.FRAME_RECV, 1, frame)
        clock.advance(90)
        writer.append(RecordKind.FRAME_RECV, 1, frame)
    lag = normalizer_lag(tmp_path, clock.now_ns())
    segment = (tmp_path / "raw" / written.segment).stat().st_size
    assert lag["position"] == {"segment": written.segment, "offset": written.offset}
    assert lag["behind_bytes"] == segment - written.offset
    assert lag["behind_s"] == 90.0


def test_status_reads_the_lakes_checkpoint_without_loading_arrow_or_duckdb(tmp_path: Path) -> None:
    clock = ManualClock(seoul_ns(2026, 12, 1, 10, 0))
    frame = data_frame("H0BJASP0", [[isins(1)[0], "093000", *(["1"] * 32)]]).encode()
    with RawLogWriter(tmp_path / "raw", "rec1", clock=clock, fsync_interval_s=None) as writer:
        written = writer.append(RecordKind.FRAME_RECV, 1, frame)
    normalize(tmp_path)
    probe = (
        "import sys; from pathlib import Path; from jobs.status import gather\n"
        f"print(gather(Path({str(tmp_path)!r}), 0)['normalizer']['position']['segment'])\n"
        "print(sorted(m for m in ('duckdb', 'pyarrow') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [written.segment, "[]"]


def test_status_has_a_line_for_todays_missing_volume_from_the_catalog(tmp_path: Path) -> None:
    today = dt.datetime.now(SEOUL).date().isoformat()
    data = volume_lake(tmp_path, today)
    code, out = status_of(["--data-dir", str(data), "--json"], {})
    assert json.loads(out)["volume_today"] == {
        "isins": 1, "silent_volume": 5, "explained_volume": 30, "silent_jumps": 1,
    }  # fmt: skip
    code, table = status_of(["--data-dir", str(data)], {})
    line = "volume today: 1 ISIN(s) traded; missing 5 silent (1 jump(s)), 30 explained by gaps"
    assert code == 1 and [row.strip("│ ") for row in table.splitlines() if "volume" in row] == [
        line
    ]
