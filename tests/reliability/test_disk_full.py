"""A full disk, for real: data_dir on a small tmpfs made for the test (root only; skipped
otherwise), filled by a file while the recorder records, then freed.

The recorder must say so (log, status.json, its dropped-records count), keep what it wrote,
leave no torn record, record the time lost as a gap of every pair and resume by itself; the
normalizer, run while the disk is full, must fail with a message and a checkpoint that did
not move, and give every row once space returns.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.clock import ManualClock, SystemClock
from capture.kis.layouts import LAYOUTS
from capture.rawlog import RawRecord, list_segments, read_records
from capture.recorder.recorder import Recorder
from capture.status_files import read_status
from tests.reliability.daemon_day import reconcile, truth_lines
from tests.support.full_disk import FsyncDisk, fill, mounted_small_disk
from tests.support.rawlog import seoul_ns
from tests.support.recorder import (
    bondtape,
    events,
    isins,
    record,
    recorder_options,
    recording,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)

SIZE = "3m"


def disk_full_status(data: Path) -> dict:
    """status.json once it says the writer is refusing records (and has dropped a few)."""
    return wait_until(
        lambda: (
            (s := read_status(data / "status.json"))
            and s["writer"]["error"]
            and s["writer"]["records_dropped"] > 20
            and s
        ),
        30,
        "status.json to say the disk is full",
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_small_disk(tmp_path / "small", SIZE) as mount:
        yield mount


def test_a_full_disk_is_loud_loses_nothing_written_and_becomes_a_gap_then_recording_resumes(
    small_disk: Path, tmp_path: Path
) -> None:
    data, filler, log = small_disk / "data", small_disk / "filler", tmp_path / "recorder.log"
    with simulator(tmp_path, rate=40) as sim:
        config, env = write_config(small_disk, sim, isins(2), trs=tuple(LAYOUTS))
        with log.open("wb") as out, running(record(config, env, stderr=out)) as recorder:
            wait_until(lambda: len(events(data, "sub_ack")) == 4, 30, "the acks")
            wait_until(lambda: read_status(data / "status.json"), 10, "a first status.json")
            fill(filler)
            status = disk_full_status(data)
            assert "disk full" in status["writer"]["error"]
            assert recorder.poll() is None, "the recorder must keep running"
            kept_before = [r for r in read_records(data / "raw") if isinstance(r, RawRecord)]
            filler.unlink()
            wait_until(
                lambda: (
                    len([e for e in events(data, "gap_close") if e.get("reason") == "disk full"])
                    == 4
                ),
                30,
                "the disk-full gaps",
            )
            wait_until(
                lambda: (
                    not (read_status(data / "status.json") or {"writer": {"error": 1}})["writer"][
                        "error"
                    ]
                ),
                10,
                "status.json to clear the error",
            )
            assert stop(recorder) == 0
        lines = truth_lines(sim)

    everything = list(read_records(data / "raw"))
    assert all(isinstance(r, RawRecord) for r in everything), "a torn or corrupt record"
    assert everything[: len(kept_before)] == kept_before, "what was written before changed"
    text = log.read_text()
    assert "ERROR" in text and "disk full" in text and "disk space returned" in text
    gaps = [e for e in events(data, "gap_open") if e["reason"] == "disk full"]
    assert {(e["tr_id"], e["isin"]) for e in gaps} == {
        (tr, isin) for tr in LAYOUTS for isin in isins(2)
    }

    # The normalizer on a full disk: a message, no traceback, its checkpoint unmoved.
    fill(filler)
    checkpoint = data / "lake" / "checkpoint.json"
    before = checkpoint.read_bytes() if checkpoint.exists() else None
    code, err = run("normalize", "--data-dir", str(data))
    assert code == 1, err
    assert "Traceback" not in err and "No space left" in err
    assert (checkpoint.read_bytes() if checkpoint.exists() else None) == before
    filler.unlink()

    for command in ("normalize", "catalog"):
        code, err = run(command, "--data-dir", str(data))
        assert code == 0, err
    result = reconcile(lines, data / "catalog.duckdb")
    print(
        f"\ndisk full: {status['writer']['records_dropped']} records dropped; records sent "
        f"{result.sent}, in the views {result.in_views}, inside the gaps {result.in_gaps}"
    )
    assert result.in_gaps > 0 and not result.unaccounted and not result.phantoms


def run(*args: str) -> tuple[int, str]:
    """`bondtape ARGS` to the end: its exit status and stderr."""
    process = bondtape(*args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = process.communicate(timeout=120)
    return process.returncode, err.decode()


def test_a_disk_full_across_the_hour_keeps_the_recorder_and_its_fds_and_becomes_a_gap(
    small_disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # In process, on a test clock: the hour passes while the disk is full, and the writer
    # retries the rotation thirty times (once per clock step: each logs "still full").
    data, filler = small_disk / "data", small_disk / "filler"
    pairs = tuple((tr, isin) for tr in LAYOUTS for isin in isins(2))
    clock = ManualClock(seoul_ns(2026, 11, 26, 9, 59, 0))
    caplog.set_level(logging.ERROR, logger="capture.rawlog.disk_full")

    def still_full() -> int:
        return sum("still full" in r.getMessage() for r in caplog.records)

    def raw_fds() -> int:
        return sum(
            os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(data / "raw"))
            for fd in os.listdir("/proc/self/fd")
        )

    with simulator(tmp_path, rate=40) as sim:
        recorder = Recorder(
            recorder_options(data, pairs, sim.ws_url, sim.rest_url,
                             ping_interval_s=1e6, stale_min_s=1e9),
            clock=clock,
        )  # fmt: skip
        with recording(recorder):
            wait_until(lambda: len(events(data, "sub_ack")) == len(pairs), 30, "the acks")
            fill(filler)
            wait_until(lambda: "recording nothing" in caplog.text, 30, "a refused write")
            kept_before = [r for r in read_records(data / "raw") if isinstance(r, RawRecord)]
            files_before, fds_before = sorted((data / "raw").rglob("*")), raw_fds()
            clock.set_ns(seoul_ns(2026, 11, 26, 10, 0, 0))
            for retry in range(1, 31):
                clock.advance(61)
                wait_until(lambda: still_full() >= retry, 30, f"retry {retry}")  # noqa: B023
            assert raw_fds() == fds_before, "an fd leaked per refused rotation"
            assert sorted((data / "raw").rglob("*")) == files_before, "a file left behind"
            filler.unlink()
            clock.advance(2)
            wait_until(
                lambda: (
                    len([e for e in events(data, "gap_close") if e.get("reason") == "disk full"])
                    == len(pairs)
                ),
                30,
                "the disk-full gaps",
            )
    everything = list(read_records(data / "raw"))
    assert all(isinstance(r, RawRecord) for r in everything), "a torn or corrupt record"
    assert everything[: len(kept_before)] == kept_before, "what was written before changed"
    assert [s.name[11:30] for s in list_segments(data / "raw")] == [
        f"{seoul_ns(2026, 11, 26, 9, 59, 0):019d}",
        f"{seoul_ns(2026, 11, 26, 10, 0, 0) + (30 * 61 + 2) * 10**9:019d}",  # space returned
    ]
    gaps = [e for e in events(data, "gap_open") if e["reason"] == "disk full"]
    assert {(e["tr_id"], e["isin"]) for e in gaps} == set(pairs)
    assert all(e["start_ns"] < seoul_ns(2026, 11, 26, 10, 0, 0) for e in gaps)


def test_a_disk_full_seen_only_at_fsync_keeps_the_recorder_and_becomes_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NFS, quotas and thin provisioning say "full" only at fsync; in process, the recorder's
    # flusher meets ENOSPC there for a while.
    data = tmp_path / "data"
    pairs = tuple((tr, isin) for tr in LAYOUTS for isin in isins(2))
    disk = FsyncDisk(monkeypatch)
    with simulator(tmp_path, rate=40) as sim:
        recorder = Recorder(
            recorder_options(data, pairs, sim.ws_url, sim.rest_url), clock=SystemClock()
        )
        with recording(recorder) as thread:
            wait_until(lambda: len(events(data, "sub_ack")) == len(pairs), 30, "the acks")
            disk.failing = errno.ENOSPC
            status = disk_full_status(data)
            assert "disk full" in status["writer"]["error"]
            assert thread.is_alive(), "the recorder must keep running"
            kept_before = [r for r in read_records(data / "raw") if isinstance(r, RawRecord)]
            disk.failing = None
            wait_until(
                lambda: (
                    len([e for e in events(data, "gap_close") if e.get("reason") == "disk full"])
                    == len(pairs)
                ),
                30,
                "the disk-full gaps",
            )
            assert thread.is_alive()
    everything = list(read_records(data / "raw"))
    assert all(isinstance(r, RawRecord) for r in everything), "a torn or corrupt record"
    assert everything[: len(kept_before)] == kept_before, "what was written before changed"
    gaps = [e for e in events(data, "gap_open") if e["reason"] == "disk full"]
    assert {(e["tr_id"], e["isin"]) for e in gaps} == set(pairs)
    last_synced = max(r.recv_ns for r in kept_before)
    assert all(e["start_ns"] <= last_synced for e in gaps)
