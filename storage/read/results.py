"""Query results as the commands write them: a table for people, CSV, JSON Lines, Parquet.

Every text format keeps values exact: a DECIMAL is written with all its digits (as a string
in JSON, where a number would be read as a float), an instant as ISO 8601 with its UTC offset
in the session's time zone (``2026-11-26T10:30:00.250000+09:00``), bytes as hex. Parquet keeps
the Arrow types themselves.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from rich.text import Text

from capture.errors import ConfigError, StorageError
from storage.lake import with_writer_version

FORMATS = ("table", "csv", "json", "parquet")


def write_result(table: pa.Table, fmt: str, path: Path | None, stdout: TextIO) -> None:
    """Write ``table`` in format ``fmt`` (one of :data:`FORMATS`) to ``path``, or ``stdout``.

    Raises:
        ConfigError: Parquet without a ``path`` (it is binary, not for a terminal).
        StorageError: ``path`` cannot be written.
    """
    if fmt == "parquet":
        if path is None:
            raise ConfigError("--format", fmt, "Parquet is binary: give -o FILE to write it to")
        try:
            pq.write_table(with_writer_version(table), path, compression="zstd")
        except (OSError, pa.ArrowException) as exc:
            raise StorageError(f"cannot write {path}: {exc}") from exc
        return
    write = {"table": print_table, "csv": write_csv, "json": write_json_lines}[fmt]
    if path is None:
        write(table, stdout)
        return
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            write(table, out)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def print_table(table: pa.Table, out: TextIO) -> None:
    """A rich table, numbers on the right, NULL shown as such; as wide as it needs to be, so
    that no value is cut or wrapped (a terminal narrower than that wraps whole lines)."""
    grid = Table(caption=f"{table.num_rows} row{'' if table.num_rows == 1 else 's'}")
    for field in table.schema:
        numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
        right = numeric or pa.types.is_decimal(field.type)
        grid.add_column(field.name, justify="right" if right else "left", no_wrap=True)
    null = Text("NULL", style="dim")
    for row in _rows(table):
        grid.add_row(*(null if value is None else Text(cell_text(value)) for value in row))
    console = Console(file=out, highlight=False)
    natural = console.measure(grid, options=console.options.update_width(1_000_000)).maximum
    console.width = max(console.width, natural)
    console.print(grid)


def write_csv(table: pa.Table, out: TextIO) -> None:
    """CSV with a header row; NULL is an empty field."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in _rows(table):
        writer.writerow("" if value is None else cell_text(value) for value in row)


def write_json_lines(table: pa.Table, out: TextIO) -> None:
    """One JSON object per row, keys in column order; decimals as strings."""
    for row in json_rows(table):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def json_rows(table: pa.Table) -> list[dict[str, object]]:
    """The rows as JSON holds them exactly, keys in column order: decimals as strings,
    instants in ISO 8601 with their offset, bytes as hex."""
    names = table.column_names
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in _rows(table)
    ]


def cell_text(value: object) -> str:
    """A non-null value as text: exact, and the same text JSON Lines holds."""
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)


def _plain(value: object) -> object:
    """``value`` as JSON holds it exactly: numbers and text as they are, a Decimal, an
    interval or anything else with no JSON form as its text, an instant in ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _rows(table: pa.Table) -> Iterator[tuple[object, ...]]:
    """Rows as tuples in column order (a dict per row would merge two columns of one name)."""
    for batch in table.to_batches():
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)
