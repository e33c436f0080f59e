"""Command-line options shared by several commands, defined once."""

from __future__ import annotations

import argparse
from pathlib import Path

from jobs.config import load_config


def add_data_dir_options(parser: argparse.ArgumentParser) -> None:
    """``--config F`` or ``--data-dir D``: commands that only read data need no credentials."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--config", type=Path, help="bondtape TOML config (its data_dir is used)")
    group.add_argument("--data-dir", type=Path, help="bondtape data directory")


def data_dir_from(args: argparse.Namespace) -> Path:
    """The data directory named by :func:`add_data_dir_options`.

    Raises:
        ConfigError: the config file is invalid (it is validated whole, credentials included).
    """
    if args.data_dir is not None:
        return Path(args.data_dir)
    return load_config(args.config).data_dir
