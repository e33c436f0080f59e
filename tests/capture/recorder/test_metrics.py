"""The recorder's Prometheus endpoint, scraped over HTTP while a real recorder records: once
the feed is over, what it counts is what the raw log holds."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from capture.kis.protocol import split_data_frame
from capture.rawlog import RecordKind
from tests.support.recorder import (
    events,
    free_port,
    isins,
    raw_records,
    record,
    running,
    scrape,
    simulator,
    wait_until,
    write_config,
)

QUOTES, TRADES = '{tr="H0BJASP0"}', '{tr="H0BJCNT0"}'


def raw_counts(data: Path) -> dict[str, int]:
    """What the raw log holds, as the metrics name it: data frames and their records per TR,
    disconnects, and the seconds of the gaps closed (each from its open to its close)."""
    frames: Counter[str] = Counter()
    records: Counter[str] = Counter()
    for r in raw_records(data):
        if r.kind is RecordKind.FRAME_RECV and r.payload[:2] in (b"0|", b"1|"):
            frame = split_data_frame(r.payload.decode())
            frames[frame.tr_id] += 1
            records[frame.tr_id] += frame.count  # the header's count, as the recorder reads it
    opened: dict[tuple[str, str], int] = {}
    closed_s = 0.0
    for event in events(data):
        pair = (event.get("tr_id"), event.get("isin"))
        if event["type"] == "gap_open":
            opened.setdefault(pair, event["start_ns"])  # an earlier start is kept
        elif event["type"] == "gap_close" and pair in opened:
            closed_s += max(0, event["end_ns"] - opened.pop(pair)) / 1e9
    counts = {f'bondtape_frames_total{{tr="{tr}"}}': n for tr, n in frames.items()}
    counts |= {f'bondtape_records_total{{tr="{tr}"}}': n for tr, n in records.items()}
    counts["disconnects"] = len(events(data, "disconnect"))
    counts["open_gaps"] = len(opened)
    counts["gap_seconds"] = closed_s  # type: ignore[assignment]
    return counts


def test_a_recorders_metrics_count_what_its_raw_log_holds_frames_records_gaps_and_writes(
    tmp_path: Path,
) -> None:
    data, port = tmp_path / "data", free_port()
    with simulator(tmp_path, rate=20, drop_every=1.5) as sim:
        config, env = write_config(tmp_path, sim, isins(2), trs=("H0BJASP0", "H0BJCNT0"))
        config.write_text(config.read_text() + f"[metrics]\nport = {port}\n")
        with running(record(config, env, stderr=subprocess.DEVNULL)):
            wait_until(lambda: events(data, "gap_close"), 30, "a gap closed after a drop")
            wait_until(lambda: scrape(port).get("bondtape_raw_fsync_seconds_count"), 20, "a fsync")
            sim.stop()  # the feed is over: from here the counts can only settle
            wait_until(lambda: len(events(data, "gap_open")) >= 1 and scrape(port)[
                "bondtape_open_gaps"] == 4, 30, "every pair in a gap")  # fmt: skip

            def settled() -> tuple[dict[str, float], dict[str, int]] | None:
                samples, counts = scrape(port), raw_counts(data)
                frames = {k: v for k, v in samples.items() if k.startswith("bondtape_frames_")}
                mine = {k: v for k, v in counts.items() if k.startswith("bondtape_frames_")}
                return (samples, counts) if frames == mine else None

            samples, counts = wait_until(settled, 20, "the scrape agreeing with raw")
    for tr in (QUOTES, TRADES):
        assert samples[f"bondtape_frames_total{tr}"] == counts[f"bondtape_frames_total{tr}"] > 0
        assert samples[f"bondtape_records_total{tr}"] == counts[f"bondtape_records_total{tr}"]
        assert samples[f"bondtape_stale_feeds{tr}"] == 0
        assert samples[f"bondtape_last_frame_age_seconds{tr}"] >= 0
    reconnects = samples['bondtape_reconnects_total{credential="cred0"}']
    assert reconnects == counts["disconnects"] >= 2  # a drop, then the simulator's stop
    assert samples["bondtape_open_gaps"] == counts["open_gaps"] == 4  # 2 ISINs x 2 TRs
    assert samples["bondtape_gap_seconds_total"] == pytest.approx(counts["gap_seconds"], abs=1e-6)
    assert samples["bondtape_gap_seconds_total"] > 0
    assert samples["bondtape_open_gap_seconds"] > 0
    written = sum(samples[f"bondtape_frames_total{tr}"] for tr in (QUOTES, TRADES))
    assert samples["bondtape_raw_write_seconds_count"] >= written  # one per record written
    assert samples["bondtape_raw_fsync_seconds_count"] >= 1
    usage = shutil.disk_usage(data)
    assert 0 < samples["bondtape_disk_free_bytes"] <= usage.total
