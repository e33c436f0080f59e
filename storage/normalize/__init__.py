"""Raw to live files: a batch of raw records sorted and decrypted (demux), with the keys and
open gaps carried from batch to batch in the checkpoint (carried, gap_rows), typed in DuckDB
(parser), written as the live tier with the checkpoint (normalizer).
"""

from __future__ import annotations

from storage.normalize.normalizer import DEFAULT_BATCH_RECORDS, NormalizeStats, follow, normalize

__all__ = [
    "DEFAULT_BATCH_RECORDS",
    "NormalizeStats",
    "follow",
    "normalize",
]
