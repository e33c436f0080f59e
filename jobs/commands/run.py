"""`bondtape run --config F`: the overnight daemon (jobs/daemon/daemon.py), until SIGTERM or SIGINT.

On KRX trading days it runs the recorder from `record_margin_min` before the session to as
long after it, normalizes every `normalize_interval_s` and compacts the closed hours meanwhile;
after `end_of_day` it normalizes to the end, compacts the day, rebuilds the catalog and
writes the report. Its state is `data_dir/daemon.json` (`bondtape status` shows it); its
children log to `data_dir/logs/`, every log there rotated by `[logs] max_bytes`, keeping
`[logs] backups` older files; `[metrics] daemon_port` serves its Prometheus metrics.
One daemon per data_dir (a second one is refused: AlreadyRunning, exit status 3).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from capture.clock import SystemClock
from capture.errors import AlreadyRunning
from capture.filelock import hold_exclusive
from capture.versions import version_line
from jobs.cli import add_log_file
from jobs.config import load_config
from jobs.daemon import LOGS, Daemon, run_scheduled, serve

LOCK_NAME = "daemon.lock"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="bondtape TOML config")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)  # the recorder needs the credentials: check them now
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = hold_exclusive(
        config.data_dir / LOCK_NAME,
        f"another daemon is running on {config.data_dir} (it holds {LOCK_NAME}); stop it "
        "first, or give this one its own data_dir",
        AlreadyRunning,
    )
    try:
        (config.data_dir / LOGS).mkdir(exist_ok=True)
        add_log_file(config.data_dir / LOGS / "daemon.log", config.logs)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per job run
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        daemon = Daemon(config, args.config, clock=SystemClock())
        logging.getLogger(__name__).info(
            "daemon started on %s: %s", config.data_dir, version_line()
        )
        metrics = config.metrics
        stop_serving = (
            serve(daemon, metrics.address, metrics.daemon_port) if metrics.daemon_port else None
        )
        try:
            run_scheduled(daemon, stop)
        finally:
            if stop_serving is not None:
                stop_serving()
    finally:
        os.close(lock)
    return 0
