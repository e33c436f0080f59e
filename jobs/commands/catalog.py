"""`bondtape catalog`: write data_dir/catalog.duckdb afresh, the views and macros over the
lake as committed now (no data).

Normalize and compact keep the catalog current themselves, and a read that finds none builds
it; this command is the explicit rebuild (after an upgrade of bondtape, say). It holds the
lake's lock meanwhile, as a writer does, so it never publishes half of a batch. Open the
catalog with any DuckDB client, from any folder: ``duckdb data/catalog.duckdb``, then
``SELECT * FROM quotes_between('2026-11-26', '2026-11-26') ...``.
"""

from __future__ import annotations

import argparse

from jobs.cli import add_data_dir_options, data_dir_from
from storage.lake import Lake
from storage.read import build_catalog

VIEWS = ("quotes", "trades", "gaps", "rejects", "bonds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_options(parser)


def run(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    with Lake(data_dir / "lake").exclusive():
        path = build_catalog(data_dir)
    print(f"catalog {path}: views {', '.join(VIEWS)}")
    print("  one date range, fast: quotes_between(start, end), trades_between, gaps_between,")
    print("  rejects_between (Seoul dates, both included, 'YYYY-MM-DD' or DATE)")
    print(f"open it with: duckdb {path}")
    return 0
