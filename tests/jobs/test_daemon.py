"""The daemon's day on a test clock: real recorder and worker processes, a real simulator, and
a clock that moves through a whole trading day in seconds. The test clock keeps today's Seoul
date, so what the recorder writes (on the wall clock) belongs to the day the daemon closes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from capture.clock import NS_PER_S, SEOUL, ManualClock
from capture.status_files import DAEMON_STATE_NAME
from jobs.config.config import load_config
from jobs.daemon.daemon import EOD_STEPS, Daemon
from jobs.daemon.schedule import SteppedScheduler
from tests.support.config_files import BASE, ENV
from tests.support.config_files import write_config as write_plain_config
from tests.support.recorder import events, isins, simulator, wait_until, write_config

TODAY = dt.datetime.now(SEOUL).date()


def at(hh: int, mm: int, day: dt.date = TODAY) -> int:
    return int(dt.datetime.combine(day, dt.time(hh, mm), tzinfo=SEOUL).timestamp()) * NS_PER_S


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """A config for a simulator; ``trading`` makes today a trading day whatever the date."""
    with simulator(tmp_path, rate=20) as sim:

        def make(*, trading: bool = True, closed: bool = False) -> Path:
            config, env = write_config(tmp_path, sim, isins(2))
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            day = f'["{TODAY.isoformat()}"]'
            config.write_text(
                config.read_text()
                + "[market]\n"
                + (f"extra_trading_days = {day}\n" if trading else "")
                + (f"extra_closed_days = {day}\n" if closed else "")
                + "[jobs]\nnormalize_interval_s = 3600\nintraday_compact_interval_s = 7200\n"
            )
            return config

        yield make


def state(data: Path) -> dict[str, Any]:
    return json.loads((data / DAEMON_STATE_NAME).read_text())


def daemon_on(config: Path, start_ns: int) -> tuple[Daemon, SteppedScheduler, ManualClock]:
    clock = ManualClock(start_ns)
    daemon = Daemon(load_config(config), config, clock=clock)
    return daemon, SteppedScheduler(daemon, clock), clock


def step_until(
    scheduler: SteppedScheduler, clock: ManualClock, done: Callable[[], Any], timeout: float
) -> Any:
    """Move the test clock a second at a time until ``done()`` (real processes need real
    time meanwhile); fail after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not (result := done()):
        assert time.monotonic() < deadline, "timed out stepping the daemon's day"
        scheduler.run_until(clock.now_ns() + NS_PER_S, 1.0)
        time.sleep(0.05)  # real time for the children; the condition is what we wait on
    return result


def record_a_little(config: Path) -> None:
    """A daemon up mid-session until the recorder's first acks, then down."""
    daemon, _, _ = daemon_on(config, at(11, 0))
    try:
        data = load_config(config).data_dir
        wait_until(lambda: events(data, "sub_ack"), 30, "the first acks")
    finally:
        daemon.stop()


def eod_done(data: Path) -> bool:
    steps = state(data).get("end_of_day", {}).get(TODAY.isoformat(), {})
    return all(steps.get(s, {}).get("result") == "ok" for s in EOD_STEPS)


def test_on_a_closed_day_the_recorder_never_starts(setup: Callable[..., Path]) -> None:
    config = setup(trading=False, closed=True)
    data = load_config(config).data_dir
    daemon, scheduler, _ = daemon_on(config, at(7, 0))
    seen: list[Any] = []
    scheduler.run_until(at(23, 0), 60.0, each=lambda: seen.append(state(data)["recorder"]["pid"]))
    daemon.stop()
    assert seen and set(seen) == {None}
    assert not (data / "logs" / "recorder.log").exists()
    assert state(data)["end_of_day"] == {}


def test_a_trading_day_records_restarts_a_killed_recorder_and_closes_the_day_once(
    setup: Callable[..., Path],
) -> None:
    config = setup()
    data = load_config(config).data_dir
    daemon, scheduler, clock = daemon_on(config, at(7, 0))
    try:
        scheduler.run_until(at(7, 49), 60.0)
        assert state(data)["recorder"]["pid"] is None
        scheduler.run_until(at(7, 51), 60.0)
        first = state(data)["recorder"]["pid"]
        assert first is not None
        wait_until(lambda: events(data, "sub_ack"), 30, "the recorder's first acks")
        os.kill(first, signal.SIGKILL)
        second = step_until(
            scheduler, clock, lambda: state(data)["recorder"]["pid"] not in (None, first), 60
        )
        assert state(data)["recorder"]["restarts"] == 1
        assert "during hours" in state(data)["recorder"]["last_exit"]["why"]
        acks = len(events(data, "sub_ack"))
        wait_until(lambda: len(events(data, "sub_ack")) > acks, 30, "the restarted recorder's acks")
        scheduler.run_until(at(15, 41), 60.0)
        assert state(data)["recorder"]["pid"] is None
        assert state(data)["recorder"]["last_exit"]["why"] == "the recording window is over"
        assert state(data)["window"]["recording"] is False
        assert state(data)["next_end_of_day_ns"] == at(16, 0)
        assert second != first
        scheduler.run_until(at(16, 0), 60.0)
        step_until(scheduler, clock, lambda: eod_done(data), 120)
        scheduler.run_until(at(23, 0), 60.0)  # nothing more to do today
    finally:
        daemon.stop()
    steps = state(data)["end_of_day"][TODAY.isoformat()]
    assert {step: steps[step]["attempts"] for step in EOD_STEPS} == dict.fromkeys(EOD_STEPS, 1)
    report = json.loads((data / "reports" / f"{TODAY.isoformat()}.json").read_text())
    assert report["balanced"] is True
    assert list((data / "lake" / "hist" / "quotes").rglob("data-*.parquet"))


def test_a_daemon_started_after_the_close_does_the_days_end_once(
    setup: Callable[..., Path],
) -> None:
    config = setup()
    data = load_config(config).data_dir
    record_a_little(config)
    daemon, scheduler, clock = daemon_on(config, at(20, 0))
    try:
        assert state(data)["recorder"]["pid"] is None
        step_until(scheduler, clock, lambda: eod_done(data), 120)
        scheduler.run_until(at(23, 59), 60.0)
    finally:
        daemon.stop()
    steps = state(data)["end_of_day"][TODAY.isoformat()]
    assert {step: steps[step]["attempts"] for step in EOD_STEPS} == dict.fromkeys(EOD_STEPS, 1)
    report = json.loads((data / "reports" / f"{TODAY.isoformat()}.json").read_text())
    assert report["balanced"] is True


def test_a_trading_day_with_nothing_recorded_is_noted_and_runs_no_step(
    setup: Callable[..., Path],
) -> None:
    config = setup()
    data = load_config(config).data_dir
    daemon, scheduler, _ = daemon_on(config, at(20, 0))  # the first start, after the close
    started: list[str] = []
    try:
        scheduler.run_until(at(23, 59), 60.0, each=lambda: started.extend(state(data)["running"]))
    finally:
        daemon.stop()
    assert started == []
    steps = state(data)["end_of_day"][TODAY.isoformat()]
    assert {step: steps[step]["result"] for step in EOD_STEPS} == dict.fromkeys(
        EOD_STEPS, "skipped"
    )
    assert all(steps[step]["why"] == "nothing was recorded" for step in EOD_STEPS)


def test_lake_jobs_fired_at_the_same_instant_from_two_threads_start_one_worker(
    setup: Callable[..., Path],
) -> None:
    """APScheduler runs each job on its own thread: a normalize and an intraday compaction
    due together must not both start (the second would fail on the lake's lock)."""
    config = setup()
    daemon, _, _ = daemon_on(config, at(11, 0))
    try:
        for _ in range(5):
            barrier = threading.Barrier(2)
            jobs = [daemon.normalize, daemon.compact_intraday]
            threads = [
                threading.Thread(target=lambda j=j, b=barrier: (b.wait(), j())) for j in jobs
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert len(daemon.workers.running) == 1, list(daemon.workers.running)
            wait_until(lambda: daemon.workers.finished(), 60, "the worker to finish")
    finally:
        daemon.stop()


def test_a_lake_job_skipped_while_another_runs_starts_when_it_ends_so_none_starves(
    setup: Callable[..., Path],
) -> None:
    """A normalize longer than its interval must not keep the intraday compaction from ever
    running: a job found busy is owed once (not stacked) and starts when the lake is free,
    in the order the jobs were owed."""
    config = setup()
    daemon, _, _ = daemon_on(config, at(11, 0))
    try:
        daemon.normalize()
        daemon.compact_intraday()  # normalize runs: owed
        daemon.normalize()  # owed too, after the compaction
        daemon.compact_intraday()  # owed already: not stacked
        assert list(daemon.workers.running) == ["normalize"]
        for expected in ("compact-intraday", "normalize"):
            [running] = daemon.workers.running.values()
            wait_until(lambda c=running: c.exit_code() is not None, 60, f"{running.name} to end")
            daemon.supervise()
            assert list(daemon.workers.running) == [expected]
        [running] = daemon.workers.running.values()
        wait_until(lambda: running.exit_code() is not None, 60, "the last job to end")
        daemon.supervise()
        assert daemon.workers.running == {}  # nothing more was owed
    finally:
        daemon.stop()


def test_a_daemon_started_mid_session_starts_the_recorder_at_once(
    setup: Callable[..., Path],
) -> None:
    config = setup()
    data = load_config(config).data_dir
    daemon, _, _ = daemon_on(config, at(11, 0))
    try:
        assert state(data)["recorder"]["pid"] is not None  # before the clock moved at all
    finally:
        daemon.stop()


def test_a_stop_in_the_middle_of_the_days_end_is_finished_by_the_next_start(
    setup: Callable[..., Path],
) -> None:
    config = setup()
    data = load_config(config).data_dir
    record_a_little(config)
    daemon, scheduler, clock = daemon_on(config, at(16, 30))
    step_until(scheduler, clock, lambda: state(data)["end_of_day"].get(
        TODAY.isoformat(), {}).get("normalize", {}).get("result") == "ok", 60)  # fmt: skip
    step_until(scheduler, clock, lambda: state(data)["running"], 30)  # the next step runs
    daemon.stop()
    before = state(data)["end_of_day"][TODAY.isoformat()]
    assert any(entry["result"] != "ok" for entry in before.values()) or len(before) < len(EOD_STEPS)

    again, scheduler, clock = daemon_on(config, at(16, 40))
    try:
        step_until(scheduler, clock, lambda: eod_done(data), 120)
    finally:
        again.stop()
    after = state(data)["end_of_day"][TODAY.isoformat()]
    for step in EOD_STEPS:  # what was done is not done again; what was not is, once more
        done_before = before.get(step, {}).get("result") == "ok"
        attempts = before.get(step, {}).get("attempts", 0)
        assert after[step]["attempts"] == (attempts if done_before else attempts + 1), step


def test_an_end_of_day_at_the_windows_end_stops_the_recorder_before_its_first_step(
    setup: Callable[..., Path],
) -> None:
    """end_of_day may equal the window's end; the day's steps must not start while the
    recorder still writes it (its cron job can fire before the supervise tick that stops it)."""
    config = setup()
    config.write_text(config.read_text().replace("[jobs]\n", '[jobs]\nend_of_day = "15:40"\n'))
    daemon, _, clock = daemon_on(config, at(11, 0))
    try:
        daemon.supervise()
        data = load_config(config).data_dir
        wait_until(lambda: events(data, "sub_ack"), 30, "the first acks")
        clock.set_ns(at(15, 40))
        daemon.end_of_day()
        assert "eod-normalize" in daemon.workers.running
        assert daemon.recorder.child is None  # stopped first, its stop and gaps written
    finally:
        daemon.stop()


def test_on_a_special_day_the_daemon_records_around_that_days_own_hours(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    day, after = dt.date(2027, 1, 4), dt.date(2027, 1, 5)  # a Monday: the year's first session
    body = BASE + f'[[market.special_days]]\ndate = "{day}"\nsession_open = "10:00"\n'
    config = write_plain_config(tmp_path, body)
    daemon = Daemon(load_config(config), config, clock=ManualClock(at(8, 30, day)))
    assert not daemon.recording(at(7, 50, day))  # the usual start: not on this day
    assert not daemon.recording(at(9, 49, day))
    assert daemon.recording(at(9, 50, day))  # its open less record_margin_min
    assert daemon.recording(at(15, 39, day)) and not daemon.recording(at(15, 40, day))
    assert daemon.recording(at(7, 50, after))  # the day after keeps the usual hours
