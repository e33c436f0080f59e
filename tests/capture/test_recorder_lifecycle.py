"""Stopping, locking, status, pings and secrets, with real recorder processes."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import zstandard

from tests.capture.recorder_helpers import (
    STOP_TIMEOUT_S,
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

UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def status_exit(config: Path, env: dict[str, str]) -> int:
    status = bondtape("status", "--config", str(config), env=env, stdout=subprocess.DEVNULL)
    with running(status):
        return status.wait(10)


def test_sigterm_stops_within_5_s_with_a_stop_event_and_a_second_recorder_exits_3(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with simulator(tmp_path, rate=20) as sim:
        config, env = write_config(tmp_path, sim, isins(3))
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: len(events(data, "sub_ack")) == 3, 20, "acks")
            wait_until(lambda: status_exit(config, env) == 0, 10, "a live status")

            with running(record(config, env, stderr=subprocess.PIPE)) as second:
                _, err = second.communicate(timeout=20)
            assert second.returncode == 3
            assert b"another recorder is running" in err

            started = time.monotonic()
            assert stop(recorder) == 0
            assert time.monotonic() - started < STOP_TIMEOUT_S
    last = events(data)[-1]
    assert last["type"] == "recorder_stop" and last["reason"] == "SIGTERM"
    assert status_exit(config, env) == 1


def test_no_app_key_secret_or_approval_key_reaches_a_file_or_a_log_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with simulator(tmp_path, rate=20, drop_every=1.0) as sim:
        config, env = write_config(tmp_path, sim, isins(2), credentials=2)
        config.write_text(config.read_text() + f'log_file = "{tmp_path / "rec.log"}"\n')
        with running(record(config, env, stderr=subprocess.PIPE)) as recorder:
            wait_until(lambda: len(events(data, "disconnect")) >= 1, 20, "a drop")
            wait_until(lambda: len(events(data, "sub_ack")) >= 3, 20, "a resubscription")
            recorder.terminate()
            _, stderr = recorder.communicate(timeout=STOP_TIMEOUT_S)
    secrets = [v.encode() for v in env.values()]
    blobs = {"stderr": stderr}
    for path in [*data.rglob("*"), tmp_path / "rec.log"]:
        if path.is_file():
            blob = path.read_bytes()
            if path.suffix == ".zst":
                blob = zstandard.ZstdDecompressor().decompressobj().decompress(blob)
            blobs[str(path)] = blob
    assert b"subscribed" in stderr or b"connected" in stderr  # the log did say things
    for name, blob in blobs.items():
        for secret in secrets:
            assert secret not in blob, f"a credential secret in {name}"
        assert not UUID.search(blob), f"something shaped like an approval key in {name}"
    assert b'"approval_key":"<redacted>"' in b"".join(blobs.values())


def test_a_connection_silent_for_three_ping_intervals_is_closed_and_replaced(
    tmp_path: Path,
) -> None:
    # (An unanswered ping closing the session is the simulator's own test.)
    data = tmp_path / "data"
    with simulator(tmp_path, ping_interval=0.2, stall=1.5, stall_every=1.0) as sim:
        config, env = write_config(tmp_path, sim, isins(1), ping_interval_s=0.2)
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            dead = wait_until(
                lambda: [e for e in events(data, "disconnect") if "PINGPONG" in e["reason"]],
                20,
                "dead",
            )
            wait_until(
                lambda: any(e["conn"] > dead[0]["conn"] for e in events(data, "connect")),
                20,
                "a new connection",
            )
            assert stop(recorder) == 0
    assert dead[0]["reason"] == "no PINGPONG for 0.6 s (3 intervals)"


def test_answered_pings_keep_the_recorder_connected_in_pong_and_text_mode(tmp_path: Path) -> None:
    for mode in ("pong", "text"):
        run = tmp_path / mode
        run.mkdir()
        with simulator(run, ping_interval=0.2) as sim:
            config, env = write_config(run, sim, isins(1), pong_mode=mode, ping_interval_s=0.2)
            with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
                wait_until(lambda run=run: len(events(run / "data", "ping")) >= 10, 20, "10 pings")
                assert stop(recorder) == 0
        pings = events(run / "data", "ping")
        assert {p["answer"] for p in pings} == {mode}
        reasons = [e["reason"] for e in events(run / "data", "disconnect")]
        assert reasons == ["recorder stop"]
