"""Command-line options shared by several commands, defined once."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from capture.errors import ConfigError
from jobs.config import load_config

N = TypeVar("N", int, float)


def add_data_dir_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--config F`` or ``--data-dir D``: commands that only read data need no credentials.

    A command that needs them only sometimes passes ``required=False`` and calls
    :func:`data_dir_from` only when it does.
    """
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--config", type=Path, help="bondtape TOML config (its data_dir is used)")
    group.add_argument("--data-dir", type=Path, help="bondtape data directory")


def data_dir_from(args: argparse.Namespace) -> Path:
    """The data directory named by :func:`add_data_dir_options`.

    Raises:
        ConfigError: neither option is given, or the config file is invalid; its credential
            variables need not be set, since these commands only read and write data_dir.
    """
    if args.data_dir is not None:
        return Path(args.data_dir)
    if args.config is None:
        raise ConfigError("--config", None, "give --config F or --data-dir D")
    return load_config(args.config, read_credentials=False).data_dir


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--format`` and ``-o FILE``, for commands that print query results."""
    from storage.read import FORMATS  # here: `bondtape record` must not load Arrow

    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table: for reading; csv; json: JSON Lines, decimals as strings; parquet: needs -o",
    )
    parser.add_argument("-o", "--output", type=Path, help="write to FILE instead of stdout")


def raw_dir_from(args: argparse.Namespace) -> Path:
    """``data_dir/raw`` of the data directory :func:`add_data_dir_options` names.

    Raises:
        ConfigError: see :func:`data_dir_from`; or there is no raw/ under the data directory.
    """
    option = "--data-dir" if args.data_dir is not None else "data_dir (from --config)"
    return raw_dir_of(data_dir_from(args), option)


def raw_dir_of(data_dir: Path, option: str = "--data-dir") -> Path:
    """``data_dir/raw``, which must exist: a typo must not read as an empty, healthy log.

    Raises:
        ConfigError: there is no raw/ under ``data_dir``.
    """
    raw = data_dir / "raw"
    if not raw.is_dir():
        raise ConfigError(
            option, str(data_dir), "has no raw/ folder: check the path (the recorder creates it)"
        )
    return raw


def iso_date(text: str) -> dt.date:
    """An argparse type: a date as YYYY-MM-DD (a Seoul date wherever bondtape takes one)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a date as YYYY-MM-DD") from None


def _positive(convert: Callable[[str], N], noun: str) -> Callable[[str], N]:
    """An argparse type: ``convert(text)``, which must be greater than 0."""

    def parse(text: str) -> N:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value

    return parse


positive_float = _positive(float, "a number")
positive_int = _positive(int, "a whole number")
