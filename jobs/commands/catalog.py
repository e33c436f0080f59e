"""`bondtape catalog`: write data_dir/catalog.duckdb, the views over the lake (no data).

Open it with any DuckDB client, from any folder: ``duckdb data/catalog.duckdb``, then
``SELECT * FROM quotes ...``. Files written later show without running this again.
"""

from __future__ import annotations

import argparse

from jobs.cli import add_data_dir_options, data_dir_from
from storage.read import build_catalog, view_sql


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_dir_options(parser)


def run(args: argparse.Namespace) -> int:
    data_dir = data_dir_from(args)
    path = build_catalog(data_dir)
    views = [name.removesuffix(".sql") for name, _ in view_sql() if not name.startswith("_")]
    print(f"catalog {path}: views {', '.join(views)}")
    print(f"open it with: duckdb {path}")
    return 0
