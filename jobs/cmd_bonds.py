"""`bondtape bonds --master bond_code.mst`: choose ISINs from KIS's bond master file.

Prints one ``ISIN  # name, maturity`` line per bond, which is the format of
``capture.isins_file``, so ``bondtape bonds ... > isins.txt`` makes a recording list.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from capture.errors import BadMasterLine, ConfigError
from capture.kis.bond_master import ISSUER_KINDS, Bond, read_bond_master
from jobs.cli_options import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", type=Path, required=True, help="bond_code.mst from KIS")
    parser.add_argument("--match", help="only bonds whose name contains this text (e.g. 국고)")
    parser.add_argument("--issuer", choices=sorted(ISSUER_KINDS.values()), help="issuer kind")
    parser.add_argument(
        "--matures-after", type=dt.date.fromisoformat, help="only bonds maturing after YYYY-MM-DD"
    )
    parser.add_argument("--limit", type=positive_int, help="at most this many bonds")


def run(args: argparse.Namespace) -> int:
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
    chosen = [bond for bond in bonds if _wanted(bond, args)]
    for bond in chosen[: args.limit]:
        maturity = bond.maturity.isoformat() if bond.maturity else "maturity unknown"
        print(f"{bond.isin}  # {bond.name}, {maturity}")
    print(f"bondtape bonds: {len(chosen)} of {len(bonds)} bonds chosen", file=sys.stderr)
    return 1 if bad and not bonds else 0


def _wanted(bond: Bond, args: argparse.Namespace) -> bool:
    return (
        (args.match is None or args.match in bond.name)
        and (args.issuer is None or bond.issuer_kind == args.issuer)
        and (args.matures_after is None or (bond.maturity or dt.date.min) > args.matures_after)
    )
