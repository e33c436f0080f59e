"""Shared helpers for the raw log tests: Seoul instants and a writer on a ManualClock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from capture.clock import SEOUL, ManualClock
from capture.rawlog import CorruptRegion, RawLogWriter, RawRecord


def seoul_ns(*fields: int, ns: int = 0) -> int:
    """UTC ns of a Seoul wall time given as (year, month, day, hour, minute, second)."""
    local = dt.datetime(*fields, tzinfo=SEOUL)
    return int(local.timestamp()) * 1_000_000_000 + ns


def records(items: Iterable[RawRecord | CorruptRegion]) -> list[RawRecord]:
    """The records, asserting there was no corruption on the way."""
    out = []
    for item in items:
        assert isinstance(item, RawRecord), item
        out.append(item)
    return out


def writer(raw_dir: Path, clock: ManualClock, **kwargs: object) -> RawLogWriter:
    kwargs.setdefault("seal_in_background", False)
    return RawLogWriter(raw_dir, "rec1", clock=clock, **kwargs)  # type: ignore[arg-type]
