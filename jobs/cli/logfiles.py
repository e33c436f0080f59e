"""Log files that do not fill the disk: each rotated by size (``[logs] max_bytes``), keeping
``[logs] backups`` older files, NAME.log.1 the newest of them.

A process that logs through :func:`log_file_handler` rotates its own file as it writes (the
daemon's daemon.log, the recorder's recorder.log). A child whose output is only redirected to
a file cannot rotate it under its own feet (it holds the fd): :func:`rotate_log` rotates such a
file before the child starts, so it grows by at most one run's output.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from jobs.cli.dispatch import LogFormatter
from jobs.config import LogsConfig


def log_file_handler(path: Path, limits: LogsConfig, *, delay: bool = False) -> RotatingFileHandler:
    """A handler appending to ``path`` in bondtape's log format, rotated by ``limits``; with
    ``delay``, ``path`` is opened at the first line only."""
    handler = RotatingFileHandler(
        path, maxBytes=limits.max_bytes, backupCount=limits.backups, encoding="utf-8", delay=delay
    )
    handler.setFormatter(LogFormatter())
    return handler


def rotate_log(path: Path, limits: LogsConfig) -> None:
    """Rotate ``path`` as :func:`log_file_handler` would, if it holds ``max_bytes`` or more."""
    try:
        if path.stat().st_size < limits.max_bytes:
            return
    except FileNotFoundError:
        return
    handler = log_file_handler(path, limits, delay=True)  # no empty file left after it
    try:
        handler.doRollover()
    finally:
        handler.close()


def add_log_file(path: Path, limits: LogsConfig) -> logging.Handler:
    """Send the root logger to ``path`` too, rotated by ``limits``; the handler."""
    handler = log_file_handler(path, limits)
    logging.getLogger().addHandler(handler)
    return handler
