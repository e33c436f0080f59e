"""The lake on disk: its files and their names (the raw range each holds), the checkpoint,
the one-writer lock, the rebuild swap (staging), the committed state (manifest) and the
deletion of replaced files after a retention (retention), and the reference data under ref/
(bonds).
"""

from __future__ import annotations

from storage.lake.bonds import bonds_table, save_bonds
from storage.lake.files import (
    OPEN_GAPS_FILE,
    Lake,
    partition,
    position_from_json,
    remove_durably,
    with_writer_version,
    write_bytes_durably,
    write_parquet_durably,
)
from storage.lake.manifest import Manifest, read_manifest, scan, write_manifest
from storage.lake.ranges import HIST_PREFIX, LIVE_PREFIX, RawRange, covering, range_of, superseded
from storage.lake.retention import DEFAULT_RETENTION_S, vacuum

__all__ = [
    "DEFAULT_RETENTION_S",
    "HIST_PREFIX",
    "LIVE_PREFIX",
    "OPEN_GAPS_FILE",
    "Lake",
    "Manifest",
    "RawRange",
    "bonds_table",
    "covering",
    "partition",
    "position_from_json",
    "range_of",
    "read_manifest",
    "remove_durably",
    "save_bonds",
    "scan",
    "superseded",
    "vacuum",
    "with_writer_version",
    "write_bytes_durably",
    "write_manifest",
    "write_parquet_durably",
]
