"""Reconnecting while the disk is full, for real: data_dir on a small tmpfs (root only, as in
tests/reliability/test_disk_full.py), the simulator dropping the connection every second.

A reconnect takes a new connection id, which the recorder keeps in ``recorder.conn``; on a
full disk that file cannot be rewritten either. That is the disk-full episode the raw writer
already rides out, not a reason to stop: the recorder keeps reconnecting without leaking a
socket, and the time lost becomes a gap once space returns; the counter is saved then.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.status_files import read_status
from tests.support.full_disk import fill, mounted_small_disk
from tests.support.recorder import (
    events,
    isins,
    record,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """data_dir on a real 3 MB tmpfs, small enough to fill in a moment."""
    with mounted_small_disk(tmp_path / "small", "3m") as mount:
        yield mount


CONNECTED = re.compile(rb"conn (\d+) \(cred0\): connected to")


def sockets_of(pid: int) -> int:
    """Open socket fds of process ``pid``."""
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:"))


def test_reconnecting_on_a_full_disk_keeps_the_recorder_running_and_leaks_no_socket(
    small_disk: Path, tmp_path: Path
) -> None:
    data, filler, log = small_disk / "data", small_disk / "filler", tmp_path / "recorder.log"
    with simulator(tmp_path, rate=20, drop_every=1.0) as sim:
        config, env = write_config(small_disk, sim, isins(2))
        with log.open("wb") as out, running(record(config, env, stderr=out)) as recorder:
            wait_until(lambda: events(data, "sub_ack"), 30, "a first ack")
            wait_until(lambda: read_status(data / "status.json"), 10, "a first status.json")
            sockets_before = sockets_of(recorder.pid)
            fill(filler)
            connected_before = len(CONNECTED.findall(log.read_bytes()))

            def reconnected_twice() -> bool:
                assert recorder.poll() is None, "the recorder stopped: " + log.read_text()[-2000:]
                return len(CONNECTED.findall(log.read_bytes())) >= connected_before + 2

            wait_until(reconnected_twice, 60, "two reconnects on the full disk")
            assert sockets_of(recorder.pid) <= sockets_before + 1, "sockets leaked"
            filler.unlink()
            # Space returned between drops: each pair's gap of the episode opens from the
            # episode's start at the latest (it may be gapped since a drop already).
            gaps = wait_until(
                lambda: [e for e in events(data, "gap_open") if e["reason"] == "disk full"],
                30,
                "the disk-full gaps",
            )
            assert {(e["tr_id"], e["isin"]) for e in gaps} == {("H0BJASP0", i) for i in isins(2)}
            wait_until(
                lambda: (s := read_status(data / "status.json")) and not s["writer"]["error"],
                10,
                "status.json to clear the error",
            )
            assert stop(recorder) == 0
    conns = [int(n) for n in CONNECTED.findall(log.read_bytes())]
    assert len(conns) == len(set(conns)), f"a connection id given twice: {conns}"
    assert (data / "recorder.conn").read_text().strip() == str(max(conns) + 1)
