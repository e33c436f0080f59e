"""The recorder's Prometheus endpoint, scraped over HTTP while a real recorder records."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.recorder import (
    events,
    free_port,
    isins,
    record,
    running,
    scrape,
    simulator,
    wait_until,
    write_config,
)


def test_a_recorder_serves_frames_records_gaps_latencies_and_disk_on_its_metrics_port(
    tmp_path: Path,
) -> None:
    data, port = tmp_path / "data", free_port()
    with simulator(tmp_path, rate=20, drop_every=1.5) as sim:
        config, env = write_config(tmp_path, sim, isins(2), trs=("H0BJASP0", "H0BJCNT0"))
        config.write_text(config.read_text() + f"[metrics]\nport = {port}\n")
        with running(record(config, env, stderr=subprocess.DEVNULL)):
            wait_until(lambda: events(data, "gap_close"), 30, "a gap closed after a drop")

            def scraped() -> dict[str, float]:
                samples = scrape(port)
                fsynced = samples.get("bondtape_raw_fsync_seconds_count", 0) > 0
                return samples if fsynced and samples["bondtape_gap_seconds_total"] > 0 else {}

            samples = wait_until(scraped, 20, "a scrape with fsyncs and gap seconds")
    quotes, trades = '{tr="H0BJASP0"}', '{tr="H0BJCNT0"}'
    assert samples[f"bondtape_frames_total{quotes}"] > 0
    assert samples[f"bondtape_records_total{quotes}"] >= samples[f"bondtape_frames_total{quotes}"]
    assert f"bondtape_frames_total{trades}" in samples
    assert samples['bondtape_reconnects_total{credential="cred0"}'] >= 1
    assert samples["bondtape_raw_write_seconds_count"] >= samples[f"bondtape_frames_total{quotes}"]
    assert 0 <= samples[f"bondtape_last_frame_age_seconds{quotes}"] < 10
    assert samples[f"bondtape_stale_feeds{quotes}"] == 0
    assert samples["bondtape_disk_free_bytes"] > 0
    assert "bondtape_open_gaps" in samples and "bondtape_open_gap_seconds" in samples
