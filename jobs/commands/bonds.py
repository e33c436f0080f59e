"""`bondtape bonds --master bond_code.mst`: choose ISINs from KIS's bond master file.

Prints one ``ISIN  # name, maturity`` line per bond, which is the format of
``capture.isins_file``, so ``bondtape bonds ... > isins.txt`` makes a recording list. With
``--save`` (and ``--config F`` or ``--data-dir D``) it also saves the whole master, whatever
the filters chose, as ``data_dir/ref/bonds.parquet``: the catalog's view ``bonds``, which
gives queries (``curve``) each bond's name and maturity.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from capture.errors import BadMasterLine, ConfigError
from capture.kis import ISSUER_KINDS, Bond, read_bond_master
from jobs.cli import add_data_dir_options, data_dir_from, iso_date, positive_int
from storage.lake import bonds_table, save_bonds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", type=Path, required=True, help="bond_code.mst from KIS")
    parser.add_argument("--match", help="only bonds whose name contains this text (e.g. 국고)")
    parser.add_argument("--issuer", choices=sorted(ISSUER_KINDS.values()), help="issuer kind")
    parser.add_argument(
        "--matures-after", type=iso_date, help="only bonds maturing after YYYY-MM-DD"
    )
    parser.add_argument("--limit", type=positive_int, help="at most this many bonds")
    parser.add_argument(
        "--save",
        action="store_true",
        help="also save every bond of the master as data_dir/ref/bonds.parquet (the "
        "catalog's view bonds); needs --config or --data-dir",
    )
    add_data_dir_options(parser, required=False)


def run(args: argparse.Namespace) -> int:
    if not args.save and (args.config or args.data_dir):
        raise ConfigError("--save", None, "--config and --data-dir say where --save writes: add it")
    try:
        entries = list(read_bond_master(args.master))
    except OSError as exc:
        raise ConfigError(
            "--master", str(args.master), f"cannot read it ({exc.strerror})"
        ) from None
    bad = [entry for entry in entries if isinstance(entry, BadMasterLine)]
    for error in bad:
        print(f"bondtape bonds: skipped {error}", file=sys.stderr)
    bonds = [entry for entry in entries if isinstance(entry, Bond)]
    if args.save:
        _save(bonds, args)
    chosen = [bond for bond in bonds if _wanted(bond, args)]
    for bond in chosen[: args.limit]:
        maturity = bond.maturity.isoformat() if bond.maturity else "maturity unknown"
        print(f"{bond.isin}  # {bond.name}, {maturity}")
    print(f"bondtape bonds: {len(chosen)} of {len(bonds)} bonds chosen", file=sys.stderr)
    return 1 if bad and not bonds else 0


def _save(bonds: list[Bond], args: argparse.Namespace) -> None:
    """Raises: ConfigError: no data_dir, or no bond to save. StorageError: cannot write."""
    if not bonds:
        raise ConfigError("--master", str(args.master), "holds no bond: nothing saved")
    table, repeated = bonds_table(bonds)
    path = save_bonds(data_dir_from(args), table)
    note = f" (left out {repeated} later line(s) of an ISIN listed before)" if repeated else ""
    print(f"bondtape bonds: saved {table.num_rows} bonds to {path}{note}", file=sys.stderr)


def _wanted(bond: Bond, args: argparse.Namespace) -> bool:
    return (
        (args.match is None or args.match in bond.name)
        and (args.issuer is None or bond.issuer_kind == args.issuer)
        and (args.matures_after is None or (bond.maturity or dt.date.min) > args.matures_after)
    )
