"""The lake on disk: its files and their names (the raw range each holds), the checkpoint,
the one-writer lock (:meth:`Lake.exclusive`), the rebuild swap (staging), the committed
state (manifest) and the deletion of replaced files after a retention (retention), and the
reference data under ref/ (bonds).

Light on purpose: importing this surface loads the checkpoint reader and the range names
only; what needs Arrow loads on first use (:mod:`storage.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.lake.checkpoint import CHECKPOINT_NAME, checkpoint_position, position_from_json
from storage.lake.ranges import (
    HIST_PREFIX,
    LIVE_PREFIX,
    OPEN_GAPS_FILE,
    RawRange,
    covering,
    range_of,
    superseded,
)
from storage.lazy import lazy_names

if TYPE_CHECKING:
    from storage.lake import staging
    from storage.lake.bonds import bonds_table, save_bonds
    from storage.lake.durable import remove_durably, write_bytes_durably
    from storage.lake.files import (
        BOOKS_BY_MINUTE,
        INDEXES,
        QUOTES_BY_TIME,
        Lake,
        partition,
        with_writer_version,
        write_parquet_durably,
    )
    from storage.lake.manifest import Manifest, read_manifest, scan, write_manifest
    from storage.lake.retention import DEFAULT_RETENTION_S, vacuum

__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(["bonds_table", "save_bonds"], "storage.lake.bonds"),
        **dict.fromkeys(["remove_durably", "write_bytes_durably"], "storage.lake.durable"),
        **dict.fromkeys(
            ["Manifest", "read_manifest", "scan", "write_manifest"], "storage.lake.manifest"
        ),
        **dict.fromkeys(["DEFAULT_RETENTION_S", "vacuum"], "storage.lake.retention"),
        **dict.fromkeys(
            [
                "BOOKS_BY_MINUTE",
                "INDEXES",
                "QUOTES_BY_TIME",
                "Lake",
                "partition",
                "with_writer_version",
                "write_parquet_durably",
            ],
            "storage.lake.files",
        ),
    },
    modules=["staging"],
)

__all__ = [
    "BOOKS_BY_MINUTE",
    "CHECKPOINT_NAME",
    "DEFAULT_RETENTION_S",
    "HIST_PREFIX",
    "INDEXES",
    "LIVE_PREFIX",
    "OPEN_GAPS_FILE",
    "QUOTES_BY_TIME",
    "Lake",
    "Manifest",
    "RawRange",
    "bonds_table",
    "checkpoint_position",
    "covering",
    "partition",
    "position_from_json",
    "range_of",
    "read_manifest",
    "remove_durably",
    "save_bonds",
    "scan",
    "staging",
    "superseded",
    "vacuum",
    "with_writer_version",
    "write_bytes_durably",
    "write_manifest",
    "write_parquet_durably",
]
