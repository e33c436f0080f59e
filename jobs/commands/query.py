"""`bondtape query NAME --config F --param k=v ...`: run a named query over the catalog.

The named queries are the files in sql/queries/ (`bondtape query --list` describes each and
its parameters). Parameter values are text, checked against the type the query declares;
a list takes comma-separated items (`--param isins=KR103502GD31,KR101501DD41`), and a time
without an offset is Seoul time. The catalog is opened read-only, so this runs while the
recorder and the normalizer write.
"""

from __future__ import annotations

import argparse
import sys

from capture.errors import ConfigError
from jobs.cli import add_data_dir_options, add_output_options, data_dir_from
from storage.read import (
    NamedQuery,
    named_queries,
    named_query,
    open_catalog,
    parse_assignments,
    run_query,
    write_result,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="the query (see --list)")
    parser.add_argument(
        "--list", action="store_true", help="describe the queries (or NAME) and their parameters"
    )
    add_data_dir_options(parser, required=False)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="a parameter's value; repeat for each (lists comma-separated)",
    )
    add_output_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.list:
        chosen = named_queries() if args.name is None else [named_query(args.name)]
        print("\n\n".join(describe(query) for query in chosen))
        return 0
    if args.name is None:
        raise ConfigError("NAME", None, "name a query, or list them with `bondtape query --list`")
    query = named_query(args.name)
    values = parse_assignments(args.param)
    data_dir = data_dir_from(args)
    with open_catalog(data_dir) as con:
        table = run_query(con, query, values)
    write_result(table, args.format, args.output, sys.stdout)
    return 0


def describe(query: NamedQuery) -> str:
    """A query's name, then its header indented."""
    return "\n".join([query.name, *(f"    {line}".rstrip() for line in query.header.splitlines())])
