"""Every Parquet file bondtape writes says which bondtape wrote it, and Parquet's own
``created_by`` which Arrow: a file found on a host set up later can be traced to its code."""

from __future__ import annotations

import io
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from storage.compact.compaction import compact
from storage.lake.bonds import bonds_table, save_bonds
from storage.lake.files import WRITER_VERSION_KEY
from storage.read.results import write_result
from tests.support.rawdata import two_days


def test_every_parquet_file_carries_the_bondtape_and_arrow_versions_that_wrote_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    two_days(data)  # the normalizer's live files, with rejects and gaps
    compact(data)  # hist files of both days, the day's book indexes, and intraday merges
    save_bonds(data, bonds_table([])[0])
    write_result(pa.table({"x": [1]}), "parquet", tmp_path / "result.parquet", io.StringIO())

    written = [*data.rglob("*.parquet"), tmp_path / "result.parquet"]
    tiers = {p.relative_to(data).parts[:2] for p in written if p.is_relative_to(data / "lake")}
    assert {("lake", "live"), ("lake", "hist")} <= tiers
    assert data / "ref" / "bonds.parquet" in written
    expected = (
        metadata.version("bondtape").encode(),
        f"parquet-cpp-arrow version {pa.__version__}",
    )
    wrong = {str(path): found for path in written if (found := writer_versions(path)) != expected}
    assert wrong == {}


def writer_versions(path: Path) -> tuple[bytes | None, str]:
    """bondtape's version in the file's metadata, and Parquet's ``created_by``."""
    schema_metadata = pq.read_schema(path).metadata or {}
    return schema_metadata.get(WRITER_VERSION_KEY), pq.read_metadata(path).created_by
