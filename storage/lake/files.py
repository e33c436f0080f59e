"""The lake on disk: where each table's files go, and how they appear durably.

Layout (under ``data_dir/lake``)::

    live/quotes|trades|gaps/date=YYYY-MM-DD/isin=ISIN/part-<seg>-<off>-<seg>-<off>.parquet
    live/gaps/date=D/isin=I/open.parquet      gaps still open after the last batch (replaced)
    live/rejects/date=D/part-....parquet      rejects: by date only (the ISIN is often unknown)
    hist/TABLE/date=D/[isin=I/]data-<seg>-<off>-<seg>-<off>.parquet   compacted (storage/compact/)
    hist/quotes_by_time|books_by_minute/date=D/data-....parquet      the day's book INDEXES
    checkpoint.json                           raw Position + carried state + schema version
                                              (read without Arrow: checkpoint.py)
    pending.json                              files of the batch in flight (crash recovery)

A part's name is the raw range it came from (segment stems, start offset, end offset; see
storage/lake/ranges.py), so a rerun of the same batch rewrites the same names. ``pending.json``
makes that airtight when a rerun's batch differs (the active segment grew meanwhile): it lists
the files a batch is about to write before it writes them, and a run that finds it with the
checkpoint not moved deletes those files first. Every file appears via temporary name, fsync,
``os.replace`` and an fsync of its directory.

The lake's schema version (storage/schemas.py) is in every file's metadata and in the
checkpoint; the normalizer refuses to add files of one version to a lake of another, as
readers of a table would then meet two schemas, and a full rebuild migrates the lake.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from capture.errors import StorageError
from capture.filelock import hold_exclusive
from capture.rawlog import Position
from capture.versions import bondtape_version
from storage.lake import staging
from storage.lake.checkpoint import CHECKPOINT_NAME, position_to_json, read_checkpoint_file
from storage.lake.durable import remove_durably, write_bytes_durably, write_durably
from storage.lake.ranges import RawRange, covering
from storage.schemas import SCHEMA_VERSION

QUOTES_BY_TIME, BOOKS_BY_MINUTE = "quotes_by_time", "books_by_minute"
INDEXES = (QUOTES_BY_TIME, BOOKS_BY_MINUTE)
"""The hist folders of a compacted day's book indexes (storage/compact/day_index.py), beside
the tables': what a rebuild of the tables derived them from also makes them stale."""
RAW_RANGES_KEY = b"bondtape.raw_ranges"
SCHEMA_VERSION_KEY = b"bondtape.schema_version"
WRITER_VERSION_KEY = b"bondtape.version"


def with_writer_version(table: pa.Table) -> pa.Table:
    """``table`` with bondtape's version in its metadata, which every Parquet file bondtape
    writes carries (beside Parquet's own ``created_by``, the Arrow version that wrote it), so
    a file found on any host says which code made it."""
    meta = dict(table.schema.metadata or {})
    meta[WRITER_VERSION_KEY] = bondtape_version().encode()
    return table.replace_schema_metadata(meta)


def partition(table: str, date: str, isin: str | None) -> str:
    """Relative directory of a partition; ``isin`` None for tables partitioned by date only."""
    base = f"{table}/date={date}"
    return base if isin is None else f"{base}/isin={isin}"


def write_parquet_durably(
    path: Path, table: pa.Table, ranges: Sequence[RawRange], *, row_group_size: int | None = None
) -> None:
    """Write one Parquet file with the version, schema version and the raw ranges it came from
    in its metadata (``raw_start``/``raw_end`` of all of them, and each one in ``raw_ranges``).

    Raises:
        StorageError: the file cannot be written.
    """
    whole = covering(ranges)
    table = with_writer_version(table)
    meta = dict(table.schema.metadata or {})
    meta.update(
        {
            SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode(),
            b"bondtape.raw_start": f"{whole.start.segment}:{whole.start.offset}".encode(),
            b"bondtape.raw_end": f"{whole.end.segment}:{whole.end.offset}".encode(),
            RAW_RANGES_KEY: json.dumps([r.as_text() for r in ranges]).encode(),
        }
    )
    write_durably(
        path,
        lambda f: pq.write_table(
            table.replace_schema_metadata(meta),
            f,
            compression="zstd",
            use_dictionary=_dictionary_columns(table.schema),
            row_group_size=row_group_size,
        ),
    )


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Text columns only: ISINs, segments and names repeat; dictionary-encoding the prices,
    quantities and times as well made writing 2.3x slower and files 25 % larger with zstd."""
    return [f.name for f in schema if pa.types.is_string(f.type)]


class Lake:
    """One lake root: the real ``data_dir/lake``, or the staging root of a rebuild.

    Whoever writes it (a normalizer, incremental or rebuild, or a compaction) holds it alone
    first: :meth:`exclusive`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.live = root / "live"
        self.hist = root / "hist"
        self.checkpoint_path = root / CHECKPOINT_NAME
        self.pending_path = root / "pending.json"

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[Lake]:
        """The lake held by this process alone (one writer at a time: a normalizer,
        incremental or rebuild, or a compaction), with an interrupted rebuild swap finished
        and an interrupted batch undone first; released when the block ends.

        Raises:
            StorageError: another process holds the lake, or the recovery fails.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        refusal = f"another normalizer or compaction is running on {self.root}; try again later"
        fd = hold_exclusive(self.root / ".lock", refusal, StorageError)
        try:
            staging.finish(self.root)
            self.recover()
            yield self
        finally:
            os.close(fd)

    def read_checkpoint(self) -> dict[str, Any]:
        """The saved checkpoint, or an empty one before the first batch.

        Raises:
            StorageError: the file exists but is not a checkpoint.
        """
        return self._saved_checkpoint() or {"position": None, "state": None}

    def _saved_checkpoint(self) -> dict[str, Any] | None:
        """Raises: StorageError: the file exists but is not a checkpoint."""
        return read_checkpoint_file(self.checkpoint_path)

    def write_checkpoint(self, position: Position | None, state: dict[str, Any]) -> None:
        body = {
            "version": 1,  # of this file's layout; the tables' schema is schema_version
            "schema_version": SCHEMA_VERSION,
            "position": position_to_json(position),
            "state": state,
        }
        write_bytes_durably(self.checkpoint_path, json.dumps(body, indent=1).encode())

    def schema_version(self) -> int | None:
        """The schema version of the lake's files; None for a lake with none yet.

        The checkpoint says (one without ``schema_version`` predates it: 1); without a
        checkpoint, any live file's metadata does, as a lake never mixes versions.

        Raises:
            StorageError: the checkpoint or the file asked cannot be read.
        """
        checkpoint = self._saved_checkpoint()
        if checkpoint is not None:
            found, source = checkpoint.get("schema_version", 1), self.checkpoint_path
        else:
            files = (f for tier in (self.live, self.hist) for f in tier.rglob("*.parquet"))
            source = next(files, None)
            if source is None:
                return None
            try:
                found = (pq.read_schema(source).metadata or {}).get(SCHEMA_VERSION_KEY, b"1")
            except (OSError, pa.ArrowException) as exc:
                raise StorageError(f"cannot read the schema of {source}: {exc}") from exc
        try:
            return int(found)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"schema version {found!r} in {source} is not a number") from exc

    def refuse_other_schema(self) -> None:
        """Refuse to add files of this bondtape's schema version to a lake of another.

        Raises:
            StorageError: the lake holds files of another schema version.
        """
        found = self.schema_version()
        if found not in (None, SCHEMA_VERSION):
            raise StorageError(
                f"the lake in {self.root} has schema version {found} and this bondtape writes "
                f"version {SCHEMA_VERSION}; one lake does not mix them: run "
                "`bondtape normalize --rebuild` to re-derive the whole lake from raw"
            )

    def begin_batch(self, start: Position | None, files: list[str]) -> None:
        """Record the files a batch will write, before writing any of them."""
        body = {"start": position_to_json(start), "files": files}
        write_bytes_durably(self.pending_path, json.dumps(body).encode())

    def end_batch(self) -> None:
        remove_durably(self.pending_path)

    def recover(self) -> int:
        """Undo a batch that wrote files but did not move the checkpoint; return files removed.

        Raises:
            StorageError: unreadable pending or checkpoint file, or a file that cannot go.
        """
        try:
            pending = json.loads(self.pending_path.read_text())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            raise StorageError(f"unreadable {self.pending_path}: {exc}") from exc
        removed = 0
        if pending["start"] == self.read_checkpoint()["position"]:
            for rel in pending["files"]:
                path = self.live / rel
                if path.exists():
                    remove_durably(path)
                    removed += 1
        self.end_batch()
        return removed
