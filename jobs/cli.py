"""The `bondtape` command line: one subcommand per module, each `add_parser` + `run`.

A command module exposes ``add_parser(subparsers) -> None`` (which sets ``func`` to its
``run(args) -> int``). Errors from the :mod:`capture.errors` tree become a one-line message
and their exit status; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from capture.errors import BondtapeError

# Each entry is a module under jobs/ that registers one subcommand.
COMMAND_MODULES = (
    "jobs.cmd_bonds",
    "jobs.cmd_check_config",
    "jobs.cmd_demo",
    "jobs.cmd_raw",
    "jobs.cmd_record",
    "jobs.cmd_status",
    "jobs.cmd_simulate",
    "jobs.cmd_normalize",
)


def build_parser() -> argparse.ArgumentParser:
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
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        import_module(name).add_parser(subparsers)
    return parser


def configure_logging(verbosity: int) -> None:
    level = logging.DEBUG if verbosity else logging.INFO
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except BondtapeError as exc:
        print(f"bondtape: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
