"""The `bondtape` command line: one subcommand per module, each `add_arguments` + `run`.

A command module exposes ``add_arguments(parser) -> None`` and ``run(args) -> int``. Only
the module of the command being run is imported: the recorder must not carry DuckDB and
Arrow (design invariant 3), so `bondtape record` never loads the normalizer's libraries.
Errors from the :mod:`capture.errors` tree become a one-line message and their exit status;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from capture.errors import BondtapeError
from capture.versions import version_line

# Command name -> (module under jobs/, one-line help), in the order `bondtape --help` shows.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "jobs.demo.demo",
        "run simulator -> recorder -> normalizer and show books (no account)",
    ),
    "simulate": ("jobs.commands.simulate", "run a loopback KIS exchange with synthetic bonds"),
    "check-config": ("jobs.commands.check_config", "validate a config file"),
    "bonds": ("jobs.commands.bonds", "list bonds from KIS's bond_code.mst, to choose ISINs"),
    "run": (
        "jobs.commands.run",
        "the overnight daemon: recorder, lake and end of day on the KRX calendar",
    ),
    "record": ("jobs.commands.record", "record the live feed into data_dir/raw"),
    "status": (
        "jobs.commands.status",
        "is all well: the daemon, the recorder, the disk, the normalizer's lag (exit 0 if so)",
    ),
    "raw": ("jobs.commands.raw", "list, dump and verify raw segments"),
    "normalize": ("jobs.commands.normalize", "turn raw segments into the Parquet lake"),
    "compact": ("jobs.commands.compact", "merge the lake's small files (closed days, or hours)"),
    "catalog": ("jobs.commands.catalog", "write data_dir/catalog.duckdb: views over the lake"),
    "query": ("jobs.commands.query", "run a named query (sql/queries/) over the catalog"),
    "sql": ("jobs.commands.sql", "run any SQL over the catalog's views"),
    "book": ("jobs.commands.book", "one ISIN's 5-level book with yields, at a time or live"),
    "plot": (
        "jobs.commands.plot",
        "a chart of one ISIN's day: mid, spread, quantities, trades, gaps",
    ),
    "report": ("jobs.commands.report", "a day's integrity report: raw reconciled with the lake"),
    "replay": ("jobs.commands.replay", "serve a captured day over the KIS protocol, paced"),
}


class LogFormatter(logging.Formatter):
    """Times as ISO 8601 with milliseconds and the UTC offset (``2026-11-30T23:46:21.265+00:00``):
    raw, the lake and the screen speak Seoul time, so a log read beside them must say which
    clock it used."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        local = dt.datetime.fromtimestamp(record.created).astimezone()
        return local.isoformat(timespec="milliseconds")


class _VersionAction(argparse.Action):
    """`--version`: the versions are read when asked for, not each time a parser is built."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_line())
        parser.exit()


class _HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default where it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``command`` only (the others are listed by name)."""
    parser = argparse.ArgumentParser(
        prog="bondtape",
        description="Tick capture and storage for the KIS real-time bond feeds.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="debug log output (the default is INFO, to stderr)",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the versions of bondtape, DuckDB, pyarrow and Python, and exit",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = import_module(module_name)
            sub.description = (module.__doc__ or "").split("\n\n")[0].replace("`", "")
            sub.formatter_class = _HelpFormatter
            module.add_arguments(sub)
            sub.set_defaults(func=module.run)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def configure_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogFormatter())
    logging.basicConfig(level=level, handlers=[handler])


OWNER_ONLY_UMASK = 0o077
"""Every file and folder a command creates is the owner's alone: raw holds the feed and the
logs name the account, and a group- or world-readable data_dir would hand them out."""


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(OWNER_ONLY_UMASK)
    words = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command_in(words)).parse_args(words)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except BondtapeError as exc:
        print(f"bondtape: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130
