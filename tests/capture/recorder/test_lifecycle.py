"""Stopping, locking, status, pings and secrets, with real recorder processes."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import zstandard

from tests.support.recorder import (
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
    # 1 s pings: the recorder drops a connection silent for 3 s and the simulator one that
    # leaves a ping unanswered, so 4 answered pings on one connection outlast both limits.
    for mode in ("pong", "text"):
        run = tmp_path / mode
        run.mkdir()
        with simulator(run, ping_interval=1.0) as sim:
            config, env = write_config(run, sim, isins(1), pong_mode=mode, ping_interval_s=1.0)
            with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
                wait_until(lambda run=run: len(events(run / "data", "ping")) >= 4, 20, "4 pings")
                assert stop(recorder) == 0
        pings = events(run / "data", "ping")
        assert len(pings) >= 4
        assert {p["answer"] for p in pings} == {mode}
        assert {p["conn"] for p in pings} == {1}
        reasons = [e["reason"] for e in events(run / "data", "disconnect")]
        assert reasons == ["recorder stop"]


def test_sigterm_during_a_websocket_handshake_that_hangs_ends_the_session_at_once(
    tmp_path: Path,
) -> None:
    with simulator(tmp_path) as sim, socket.create_server(("127.0.0.1", 0)) as silent:
        config, env = write_config(tmp_path, sim, isins(1))
        silent_url = f"ws://127.0.0.1:{silent.getsockname()[1]}"
        config.write_text(config.read_text().replace(sim.ws_url, silent_url))
        with running(record(config, env, stderr=subprocess.PIPE)) as recorder:
            silent.settimeout(20)
            accepted, _ = silent.accept()  # the recorder now waits for a handshake answer
            with accepted:
                recorder.terminate()
                _, err = recorder.communicate(timeout=STOP_TIMEOUT_S)
    assert recorder.returncode == 0
    assert b"did not end within" not in err


def test_a_session_failure_whose_text_holds_a_secret_is_reported_redacted(tmp_path: Path) -> None:
    # The connection counter cannot be replaced (its temporary name is a directory), and the
    # OSError quoting its path, which here contains the app secret, fails the session.
    with simulator(tmp_path) as sim:
        config, env = write_config(tmp_path, sim, isins(1))
        data = tmp_path / f"data-{env['T_SECRET_0']}"
        config.write_text(config.read_text().replace(str(tmp_path / "data"), str(data)))
        (data / ".recorder.conn.tmp").mkdir(parents=True)
        with running(record(config, env, stderr=subprocess.PIPE)) as recorder:
            _, err = recorder.communicate(timeout=20)
    assert recorder.returncode == 1
    assert b"recorder stopped because a session failed: [Errno 21]" in err
    assert env["T_SECRET_0"].encode() not in err
    (stop_event,) = events(data, "recorder_stop")
    assert "<redacted>" in stop_event["reason"] and env["T_SECRET_0"] not in stop_event["reason"]
