"""The daemon's Prometheus endpoint, scraped over HTTP from a real `bondtape run`."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from capture.clock import SEOUL
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


def test_a_daemon_outside_its_window_serves_recorder_down_window_closed_and_the_lag(
    tmp_path: Path,
) -> None:
    today = dt.datetime.now(SEOUL).date().isoformat()
    port = free_port()
    with simulator(tmp_path) as sim:
        config, env = write_config(tmp_path, sim, isins(1))
        config.write_text(
            config.read_text() + f'[market]\nextra_closed_days = ["{today}"]\n'
            f"[metrics]\ndaemon_port = {port}\n"
        )
        with running(bondtape("run", "--config", str(config), env=env, stderr=subprocess.PIPE)):
            samples = wait_until(lambda: scrape(port), 20, "the daemon's metrics")
    assert samples["bondtape_recorder_up"] == 0
    assert samples["bondtape_recording_window"] == 0
    assert samples["bondtape_recorder_restarts_total"] == 0
    assert samples["bondtape_normalizer_lag_bytes"] == 0  # nothing recorded yet
    assert samples["bondtape_disk_free_bytes"] > 0


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
