"""Child processes, started and stopped the one way the daemon and the demo both use."""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobs.config import LogsConfig
from jobs.daemon import children

ROOT = Path(__file__).resolve().parents[2]


def test_a_child_imports_the_jobs_package_of_this_checkout_first() -> None:
    first = children.python_path().split(os.pathsep)[0]
    assert Path(first) == ROOT
    assert (Path(first) / "jobs" / "__init__.py").is_file()


def test_a_served_child_says_where_it_serves_logs_its_stderr_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    log = tmp_path / "logs" / "simulator.log"
    args = ["simulate", "--ws-port", "0", "--rest-port", "0", "--seed", "1"]
    with children.start_child(
        "simulator", args, log, started_ns=time.time_ns(), pipe_stdout=True
    ) as sim:
        said = dict(sim.read_line().strip().split(": ", 1) for _ in range(2))
        assert sim.exit_code() is None
    assert set(said) == {"ws", "rest"}
    assert said["ws"].startswith("ws://127.0.0.1:") and said["rest"].startswith("http://127.0.0.1:")
    assert sim.exit_code() == 0  # SIGTERM: a clean stop, not a kill
    assert log.is_file()


def test_a_worker_name_runs_once_at_a_time_and_its_output_goes_to_its_log(tmp_path: Path) -> None:
    workers = children.Workers(tmp_path / "logs", LogsConfig())
    first = workers.start("check", ["check-config", "--config", str(tmp_path / "none.toml")], 1)
    assert first is not None
    assert workers.start("check", ["--version"], 2) is None  # still running: skipped
    deadline = time.monotonic() + 30
    while not (done := workers.finished()):
        assert time.monotonic() < deadline, "the worker did not end"
        time.sleep(0.05)  # polling a child we started, not synchronising with it
    (child,) = done
    assert child.exit_code() == 2  # a missing config file is a config error
    assert "none.toml" in child.tail()
    assert workers.running == {}


def test_a_workers_log_over_the_size_is_rotated_before_its_next_run(tmp_path: Path) -> None:
    limits = LogsConfig(max_bytes=4096, backups=2)
    log = tmp_path / "logs" / "check.log"
    log.parent.mkdir()
    log.write_text("an earlier run\n" * 400)  # 6000 bytes: over the size
    workers = children.Workers(tmp_path / "logs", limits)
    child = workers.start("check", ["check-config", "--config", str(tmp_path / "none.toml")], 1)
    assert child is not None and child.process.wait(30) == 2
    assert (tmp_path / "logs" / "check.log.1").read_text() == "an earlier run\n" * 400
    assert "none.toml" in log.read_text() and "an earlier run" not in log.read_text()
    assert "none.toml" in child.tail()
