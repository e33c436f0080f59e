"""`bondtape sql --config F "SELECT ..."`: run any SQL over the catalog's views.

The catalog (data_dir/catalog.duckdb) is opened read-only, so this runs while the recorder
and the normalizer write, and no statement can change it; the session's TimeZone is
Asia/Seoul, for how times are read and shown.
"""

from __future__ import annotations

import argparse
import sys

from jobs.cli import add_data_dir_options, add_output_options, data_dir_from
from storage.read import open_catalog, run_sql, write_result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", metavar="SQL", help='the statement, e.g. "SELECT * FROM gaps"')
    add_data_dir_options(parser)
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    with open_catalog(data_dir_from(args)) as con:
        table = run_sql(con, args.sql)
    write_result(table, args.format, args.output, sys.stdout)
    return 0
