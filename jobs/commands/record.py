"""`bondtape record --config F`: run the recorder in the foreground until SIGTERM/SIGINT.

Maps the user's :class:`~jobs.config.config.Config` onto the recorder's own options (capture/ does
not import jobs/), installs the secret-redacting filter on every log handler, and turns the
signals into a clean stop: fsync, ``recorder_stop`` event, exit 0 within a few seconds.
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from capture.recorder import (
    AppCredential,
    Recorder,
    RecorderOptions,
    RedactingFilter,
    Redactor,
    subscription_pairs,
)
from jobs.cli import add_log_file
from jobs.config import Config, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="bondtape TOML config")
    parser.add_argument(
        "--log-file",
        type=Path,
        metavar="PATH",
        help="log to PATH instead of stderr, rotated by [logs] max_bytes and backups (the "
        "daemon's recorder logs to data_dir/logs/recorder.log so)",
    )


def recorder_options(config: Config) -> RecorderOptions:
    return RecorderOptions(
        data_dir=config.data_dir,
        recorder_id=config.capture.recorder_id,
        ws_url=config.kis.ws_url,
        approval_url=config.kis.approval_url,
        rest_url=config.kis.rest_base,
        rest_snapshots=config.capture.rest_snapshots,
        rest_rate_per_s=config.capture.rest_rate_per_s,
        custtype=config.kis.custtype,
        credentials=tuple(
            AppCredential(name=c.name, app_key=c.app_key, app_secret=c.app_secret)
            for c in config.kis.credentials
        ),
        pairs=tuple(subscription_pairs(config.capture.isins, config.capture.trs)),
        pong_mode=config.kis.pong_mode,
        ping_interval_s=config.kis.ping_interval_s,
        subscribe_interval_s=config.capture.subscribe_interval_s,
        fsync_interval_s=config.capture.fsync_interval_s,
        stale_after_factor=config.capture.stale_after_factor,
        stale_min_s=config.capture.stale_min_s,
        session_hours=config.market.usual_hours,
        special_hours=config.market.special_hours(),
        metrics_address=config.metrics.address,
        metrics_port=config.metrics.port,
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    redactor = Redactor()
    root = logging.getLogger()
    if args.log_file is not None:  # the file alone: stderr keeps only what bypasses logging
        for handler in list(root.handlers):
            root.removeHandler(handler)
        add_log_file(args.log_file, config.logs)
    if config.capture.log_file is not None:
        add_log_file(config.capture.log_file, config.logs)
    for handler in root.handlers:
        handler.addFilter(RedactingFilter(redactor))
    recorder = Recorder(recorder_options(config), redactor=redactor)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: recorder.stop(signal.Signals(number).name))
    recorder.run()
    return 0
