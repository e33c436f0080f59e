"""The `bondtape` command line: the dispatcher (one subcommand per module of jobs/commands/,
imported only when run), the log format, log files rotated by size (logfiles), the options
commands share, progress bars.
"""

from __future__ import annotations

from jobs.cli.dispatch import COMMANDS, LogFormatter, build_parser, main
from jobs.cli.logfiles import add_log_file, rotate_log
from jobs.cli.options import (
    add_data_dir_options,
    add_output_options,
    data_dir_from,
    iso_date,
    positive_float,
    positive_int,
    raw_dir_from,
)
from jobs.cli.progress import progress_bar

__all__ = [
    "COMMANDS",
    "LogFormatter",
    "add_data_dir_options",
    "add_log_file",
    "add_output_options",
    "build_parser",
    "data_dir_from",
    "iso_date",
    "main",
    "positive_float",
    "positive_int",
    "progress_bar",
    "raw_dir_from",
    "rotate_log",
]
