"""Live to hist: which days are closed (raw_state), the merge of a partition's files into
one sorted file (compaction), and the day's book indexes (day_index).
"""

from __future__ import annotations

from storage.compact.compaction import CompactStats, compact
from storage.compact.day_index import INDEXES, QUOTES_BY_TIME
from storage.compact.raw_state import read_raw_state

__all__ = [
    "INDEXES",
    "QUOTES_BY_TIME",
    "CompactStats",
    "compact",
    "read_raw_state",
]
