"""``data_dir/catalog.duckdb``: the views ``quotes``, ``trades``, ``gaps``, ``rejects`` and
``bonds``, the date-range macros ``quotes_between(start, end)`` and its kin, and the book
macros, over one committed state of the lake; never data.

Each writer commits when its files are durable (:func:`commit`, under the lake's lock): the
manifest (storage/lake/manifest.py) is derived from the lake's files, then the catalog is
generated from it (storage/read/catalog_sql.py, then the ``.sql`` files of ``sql/views/``)
under a temporary name and renamed into place. The file lists are literal, so a client sees
the lake as of when it opened the catalog, whatever is written meanwhile, and reopening it
shows what landed since; files it planned on stay for the retention
(storage/lake/retention.py). Paths are absolute, so the file opens from any working directory
in any DuckDB client, read-only while jobs write.
"""

from __future__ import annotations

import contextlib
import os
import time
from importlib.resources import files
from pathlib import Path

import duckdb

from capture.durable import fsync_dir
from capture.errors import StorageError
from storage.lake import Manifest, read_manifest, scan, write_manifest
from storage.read.catalog_sql import catalog_statements, literal

CATALOG_NAME = "catalog.duckdb"
VIEWS_PACKAGE = "sql"
VIEWS_FOLDER = "views"


def view_sql() -> list[tuple[str, str]]:
    """(file name, SQL) of every view file, in the order they run."""
    folder = files(VIEWS_PACKAGE).joinpath(VIEWS_FOLDER)
    found = [(entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir()]
    return sorted((name, text) for name, text in found if name.endswith(".sql"))


def _quoted(path: Path) -> str:
    return str(path.resolve())


def commit(data_dir: Path, now_ns: int | None = None) -> Manifest:
    """Publish the lake's state as its files say now: the manifest, then the catalog
    generated from it; the manifest. Writers call it under the lake's lock once their files
    are durable; ``now_ns`` stamps the files found replaced (default: the system clock).

    Raises:
        StorageError: the manifest or the catalog cannot be written, or a view does not
            compile.
    """
    lake_root = data_dir / "lake"
    stamp = time.time_ns() if now_ns is None else now_ns
    manifest = scan(lake_root, stamp, read_manifest(lake_root))
    if lake_root.is_dir():
        write_manifest(lake_root, manifest)
    write_catalog(data_dir, manifest)
    return manifest


def build_catalog(data_dir: Path) -> Path:
    """Commit the lake as it is (see :func:`commit`); the catalog's path.

    Raises:
        StorageError: a view does not compile, or a file cannot be written.
    """
    commit(data_dir)
    return data_dir / CATALOG_NAME


def write_catalog(data_dir: Path, manifest: Manifest) -> Path:
    """Write ``data_dir/catalog.duckdb`` afresh for ``manifest``; its path.

    Raises:
        StorageError: a view does not compile, or the file cannot be written.
    """
    target = data_dir / CATALOG_NAME
    tmp = data_dir / f".{CATALOG_NAME}.{os.getpid()}.tmp"
    _remove(tmp)
    generated = catalog_statements(manifest, _quoted(data_dir / "lake"), _quoted(data_dir / "ref"))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(tmp))
        try:
            for statement in generated:
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


def connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """The catalog, read-only (jobs may be writing the lake meanwhile): one snapshot of the
    lake, which the connection keeps. A lake without a catalog gets one first.

    DuckDB shares one database instance per path within a process: while any connection to
    it lives, connecting again gives the file that was open then, not one renamed into place
    since. With ``own_instance`` the catalog is attached to an in-memory database of its
    own instead, so the file at the path now is what opens.

    Raises:
        StorageError: there is no lake nor catalog yet, or it cannot be opened.
    """
    path = data_dir / CATALOG_NAME
    if not path.is_file() and (data_dir / "lake").is_dir():
        build_catalog(data_dir)  # a lake without a catalog yet (before its first commit)
    if not path.is_file():
        raise StorageError(
            f"no catalog at {path} and no lake to build it from: build it first with "
            "`bondtape catalog --config F` (or --data-dir D), or record and normalize"
        )
    try:
        # Attached to a fresh in-memory database, not opened by path: DuckDB shares one
        # instance per path within a process, which would hand a later open the snapshot
        # of a connection still open.
        con = duckdb.connect(":memory:")
        con.execute(f"SET temp_directory = {literal(str(path) + '.tmp')}")
        con.execute(f"ATTACH {literal(str(path))} AS catalog (READ_ONLY)")
        con.execute("USE catalog")
        return con
    except duckdb.Error as exc:
        raise StorageError(f"cannot open the catalog {path} read-only: {exc}") from exc


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
