"""The daemon's Prometheus endpoint, scraped over HTTP from a real `bondtape run`: what it
serves is what the daemon's state, raw/ and the lake say."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from pathlib import Path

from capture.clock import NS_PER_S, SEOUL, ManualClock
from capture.kis.protocol import data_frame
from capture.rawlog import RawLogWriter, RecordKind
from capture.status_files import DAEMON_STATE_NAME
from tests.support.catalog_data import volume_lake
from tests.support.recorder import (
    bondtape,
    free_port,
    isins,
    running,
    scrape,
    simulator,
    wait_until,
    write_config,
)

BEHIND_S = 3600  # the age of the raw the lake has not seen yet


def test_a_daemon_outside_its_window_serves_its_tallies_the_lag_and_the_disk(
    tmp_path: Path,
) -> None:
    today = dt.datetime.now(SEOUL).date().isoformat()
    data, port = tmp_path / "data", free_port()
    # An hour ago, a recorder wrote two frames the normalizer has not read.
    clock = ManualClock(time.time_ns() - BEHIND_S * NS_PER_S)
    frame = data_frame("H0BJASP0", [[isins(1)[0], "093000", *(["1"] * 32)]]).encode()
    with RawLogWriter(data / "raw", "rec1", clock=clock, fsync_interval_s=None) as writer:
        writer.append(RecordKind.FRAME_RECV, 1, frame)
        writer.append(RecordKind.FRAME_RECV, 1, frame)
    raw_bytes = sum(p.stat().st_size for p in (data / "raw").rglob("*.seg"))
    # What an earlier daemon kept: two good normalizes, a failed report of 1.5 s.
    (data / DAEMON_STATE_NAME).write_text(json.dumps({
        "first_day": today, "end_of_day": {}, "recorder": {"pid": None}, "running": {},
        "jobs": {
            "normalize": {"state": "ok", "seconds": 0.25, "results": {"ok": 2}},
            "eod-report": {"state": "failed", "seconds": 1.5, "results": {"ok": 1, "failed": 1}},
        },
    }))  # fmt: skip
    with simulator(tmp_path) as sim:
        config, env = write_config(tmp_path, sim, isins(1))
        config.write_text(
            config.read_text() + f'[market]\nextra_closed_days = ["{today}"]\n'
            f"[metrics]\ndaemon_port = {port}\n"
        )
        with running(bondtape("run", "--config", str(config), env=env, stderr=subprocess.PIPE)):
            samples = wait_until(lambda: scrape(port), 20, "the daemon's metrics")
            scraped_at = time.time_ns()
    assert samples["bondtape_recorder_up"] == 0
    assert samples["bondtape_recording_window"] == 0  # today is closed
    assert samples["bondtape_recorder_restarts_total"] == 0
    assert samples['bondtape_job_runs_total{job="normalize",result="ok"}'] == 2
    assert samples['bondtape_job_runs_total{job="eod-report",result="ok"}'] == 1
    assert samples['bondtape_job_runs_total{job="eod-report",result="failed"}'] == 1
    assert samples['bondtape_job_last_seconds{job="normalize"}'] == 0.25
    assert samples['bondtape_job_last_seconds{job="eod-report"}'] == 1.5
    assert samples["bondtape_normalizer_lag_bytes"] == raw_bytes > 0  # none of raw is in the lake
    lag_s = samples["bondtape_normalizer_lag_seconds"]
    assert BEHIND_S <= lag_s <= BEHIND_S + (scraped_at - clock.now_ns()) / NS_PER_S
    assert 0 < samples["bondtape_disk_free_bytes"] <= shutil.disk_usage(data).total


def test_the_daemon_serves_todays_missing_volume_silent_and_explained(tmp_path: Path) -> None:
    today = dt.datetime.now(SEOUL).date().isoformat()
    volume_lake(tmp_path / "data", today)
    port = free_port()
    with simulator(tmp_path) as sim:
        config, env = write_config(tmp_path, sim, isins(1))
        config.write_text(
            config.read_text() + f'[market]\nextra_closed_days = ["{today}"]\n'
            f"[metrics]\ndaemon_port = {port}\n"
        )
        with running(bondtape("run", "--config", str(config), env=env, stderr=subprocess.PIPE)):
            # Absent for a scrape while the daemon's catch-up end of day rebuilds the catalog.
            def volume() -> dict[str, float]:
                samples = scrape(port)
                return samples if 'bondtape_volume_missing_today{kind="silent"}' in samples else {}

            samples = wait_until(volume, 20, "the daemon's volume metric")
    assert samples['bondtape_volume_missing_today{kind="silent"}'] == 5
    assert samples['bondtape_volume_missing_today{kind="explained"}'] == 30
