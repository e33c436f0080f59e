"""Raw logs of format version 1 read the same forever: the golden segments under
tests/data/raw-v1 (plain and sealed) give the records and the lake rows pinned beside them,
and today's writer (format version 2) never appends to a version 1 segment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capture.clock import ManualClock
from capture.rawlog import (
    FORMAT_VERSION,
    RawLogWriter,
    RecordKind,
    decode_header,
    events,
    list_segments,
    read_records,
)
from capture.rawlog.seal import open_sealed
from storage.normalize.normalizer import normalize
from tests.data.golden import RECORDER, V1, describe, lake_as_text
from tests.support.rawlog import seoul_ns


def pinned(name: str) -> object:
    return json.loads((V1 / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("form", ["plain", "sealed"])
def test_the_golden_segments_read_as_the_records_pinned_beside_them(form: str) -> None:
    assert describe(list(read_records(V1 / form / "raw"))) == pinned("records.json")


@pytest.mark.parametrize("form", ["plain", "sealed"])
def test_the_golden_segments_normalize_to_the_lake_rows_pinned_beside_them(
    tmp_path: Path, form: str
) -> None:
    shutil.copytree(V1 / form / "raw", tmp_path / "raw")
    normalize(tmp_path)
    assert lake_as_text(tmp_path) == pinned("lake.json")


def test_todays_writer_starts_a_new_segment_rather_than_append_to_a_version_1_one(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(V1 / "plain" / "raw", raw)
    before = describe(list(read_records(raw)))
    latest = sorted(raw.glob("*/*.seg"))[-1]  # undamaged, of 11:00: resumable by its hour
    clock = ManualClock(seoul_ns(2026, 11, 26, 11, 30, 0))
    with RawLogWriter(raw, RECORDER, clock=clock, fsync_interval_s=None,
                      seal_in_background=False) as writer:  # fmt: skip
        writer.append(RecordKind.EVENT, 0, events.encode(events.RecorderStop(
            recorder_id=RECORDER, reason="test")))  # fmt: skip
    segments = list_segments(raw)
    assert [s.name for s in segments[:2]] == [r["segment"] for r in (before[0], before[-1])]
    versions = []
    for info in segments:
        with open_sealed(info.path) if info.sealed else info.path.open("rb") as f:
            header = decode_header(f.read(256), info.name)
        assert header is not None
        versions.append(header.version)
    assert versions == [1, 1, FORMAT_VERSION] and FORMAT_VERSION == 2
    after = describe(list(read_records(raw)))
    kept = [r for r in after if r["segment"] == latest.relative_to(raw).as_posix()]
    assert kept == [r for r in before if r["segment"] == kept[0]["segment"]]
