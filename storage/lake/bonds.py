"""The bond master beside the lake: ``data_dir/ref/bonds.parquet`` (not in it, as everything
in the lake is rebuilt from raw and this is reference data), which the catalog's view ``bonds``
reads (sql/views/bonds.sql), so that queries can name bonds and know their maturities.

It is reference data, not derived from raw: ``bondtape bonds --master F --save`` writes it,
each save replacing the whole file durably (a reader sees the old master or the new one), and
``normalize --rebuild``, which swaps only ``live/`` tables, leaves it alone.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from capture.kis import Bond
from storage.lake.files import with_writer_version, write_bytes_durably
from storage.schemas import BONDS

BONDS_FILE = "ref/bonds.parquet"
"""Where the master goes, relative to ``data_dir``; the view reads the same path."""


def bonds_table(bonds: Iterable[Bond]) -> tuple[pa.Table, int]:
    """The master as a :data:`~storage.schemas.BONDS` table, one row per ISIN, in file order.

    A master listing an ISIN twice keeps its first line, so that a join on ISIN never
    doubles a row; the second value is how many lines were dropped, for the caller to report.
    """
    first: dict[str, Bond] = {}
    lines = 0
    for bond in bonds:
        lines += 1
        first.setdefault(bond.isin, bond)
    rows = [
        {
            "isin": b.isin, "name": b.name, "issuer_kind": b.issuer_kind,
            "bond_type": b.bond_type, "bond_class": b.bond_class,
            "interest_class": b.interest_class, "listed": b.listed, "issued": b.issued,
            "maturity": b.maturity,
        }
        for b in first.values()
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=BONDS.schema), lines - len(first)


def save_bonds(data_dir: Path, table: pa.Table) -> Path:
    """Write :func:`bonds_table`'s table as ``data_dir/ref/bonds.parquet``; return its path.

    Raises:
        StorageError: the file cannot be written.
    """
    path = data_dir / BONDS_FILE
    buffer = io.BytesIO()
    pq.write_table(with_writer_version(table), buffer, compression="zstd")
    write_bytes_durably(path, buffer.getvalue())
    return path
