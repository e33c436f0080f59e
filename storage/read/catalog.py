"""``data_dir/catalog.duckdb``: the views ``quotes``, ``trades``, ``gaps``, ``rejects`` (and
what else ``sql/views/`` defines) over both tiers of the lake, and macros; never data.

The views are the ``.sql`` files of ``sql/views/`` run in name order after defining
``bondtape_lake()`` and ``bondtape_ref()``, the absolute paths of the lake and of ``ref/``, so
the file opens from any working directory in any DuckDB client. Lake files are found by glob
when a query runs: files the normalizer or a compaction writes later show without rebuilding
the catalog. The file is built under a temporary name and renamed into place, so a reader sees
the old catalog or the new one, and a query command opens it read-only while jobs write.
"""

from __future__ import annotations

import contextlib
import os
from importlib.resources import files
from pathlib import Path

import duckdb

from capture.durable import fsync_dir
from capture.errors import StorageError

CATALOG_NAME = "catalog.duckdb"
VIEWS_PACKAGE = "sql"
VIEWS_FOLDER = "views"


def view_sql() -> list[tuple[str, str]]:
    """(file name, SQL) of every view file, in the order they run."""
    folder = files(VIEWS_PACKAGE).joinpath(VIEWS_FOLDER)
    found = [(entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir()]
    return sorted((name, text) for name, text in found if name.endswith(".sql"))


def folder_macros(data_dir: Path) -> list[str]:
    """The statements defining ``bondtape_lake()`` and ``bondtape_ref()``: the absolute paths
    of ``data_dir/lake`` and of ``data_dir/ref`` (reference data, such as the bond master)."""
    return [
        f"CREATE OR REPLACE MACRO bondtape_{name}() AS '{_quoted(data_dir / name)}'"
        for name in ("lake", "ref")
    ]


def _quoted(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def build_catalog(data_dir: Path) -> Path:
    """Write ``data_dir/catalog.duckdb`` afresh; its path.

    Raises:
        StorageError: a view does not compile, or the file cannot be written.
    """
    target = data_dir / CATALOG_NAME
    tmp = data_dir / f".{CATALOG_NAME}.tmp"
    _remove(tmp)
    try:
        con = duckdb.connect(str(tmp))
        try:
            for statement in folder_macros(data_dir):
                con.execute(statement)
            for name, text in view_sql():
                try:
                    con.execute(text)
                except duckdb.Error as exc:
                    raise StorageError(f"sql/views/{name} does not compile: {exc}") from exc
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        fsync_dir(data_dir)
    except OSError as exc:
        raise StorageError(f"cannot write {target}: {exc}") from exc
    finally:
        _remove(tmp)
    return target


def connect(data_dir: Path, *, own_instance: bool = False) -> duckdb.DuckDBPyConnection:
    """The catalog, read-only (jobs may be writing the lake meanwhile).

    DuckDB shares one database instance per path within a process: while any connection to
    it lives, connecting again gives the file that was open then, not one renamed into place
    since. With ``own_instance`` the catalog is attached to an in-memory database of its
    own instead, so the file at the path now is what opens.

    Raises:
        StorageError: there is no catalog yet, or it cannot be opened.
    """
    path = data_dir / CATALOG_NAME
    if not path.is_file():
        raise StorageError(
            f"no catalog at {path}: build it first with `bondtape catalog --config F` "
            "(or --data-dir D)"
        )
    try:
        if not own_instance:
            return duckdb.connect(str(path), read_only=True)
        con = duckdb.connect(":memory:")
        con.execute(f"ATTACH '{_quoted(path)}' AS catalog (READ_ONLY)")
        con.execute("USE catalog")
        return con
    except duckdb.Error as exc:
        raise StorageError(f"cannot open the catalog {path} read-only: {exc}") from exc


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
