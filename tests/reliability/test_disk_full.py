"""A full disk, for real: data_dir on a small tmpfs made for the test (root only; skipped
otherwise), filled by a file while the recorder records, then freed.

The recorder must say so (log, status.json, its dropped-records count), keep what it wrote,
leave no torn record, record the time lost as a gap of every pair and resume by itself; the
normalizer, run while the disk is full, must fail with a message and a checkpoint that did
not move, and give every row once space returns.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.kis.layouts import LAYOUTS
from capture.rawlog import RawRecord, read_records
from capture.status_files import read_status
from tests.reliability.daemon_day import reconcile, truth_lines
from tests.support.recorder import (
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

SIZE = "3m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)])
    if made.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(path: Path) -> int:
    """Write ``path`` until the filesystem refuses; the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as f:
        try:
            while True:
                written += f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    # Whatever a page rounding left free goes too, byte by byte.
    with path.open("ab", buffering=0) as f:
        try:
            while True:
                written += f.write(b"\0" * 512)
        except OSError:
            pass
    return written


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
            status = wait_until(
                lambda: (
                    (s := read_status(data / "status.json"))
                    and s["writer"]["error"]
                    and s["writer"]["records_dropped"] > 20
                    and s
                ),
                30,
                "status.json to say the disk is full",
            )
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
