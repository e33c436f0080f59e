"""What `bondtape status` and the daemon's metrics read of a data_dir: the recorder's
status.json, the daemon's daemon.json, the raw log against the lake's checkpoint (the
normalizer's lag) and the disk, gathered without loading Arrow or DuckDB (collect)."""

from __future__ import annotations

from jobs.status.collect import gather, normalizer_lag

__all__ = ["gather", "normalizer_lag"]
