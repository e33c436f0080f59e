"""Raw logs of format version 1 read the same forever: the golden segments under
tests/data/raw-v1 (plain and sealed) give the records and the lake rows pinned beside them,
and today's writer still writes those very bytes (a format change must bump the version)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capture.rawlog import FORMAT_VERSION, read_records
from storage.normalize.normalizer import normalize
from tests.data.golden import HERE, describe, lake_as_text, write_raw


def pinned(name: str) -> object:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("form", ["plain", "sealed"])
def test_the_golden_segments_read_as_the_records_pinned_beside_them(form: str) -> None:
    assert describe(list(read_records(HERE / form / "raw"))) == pinned("records.json")


@pytest.mark.parametrize("form", ["plain", "sealed"])
def test_the_golden_segments_normalize_to_the_lake_rows_pinned_beside_them(
    tmp_path: Path, form: str
) -> None:
    shutil.copytree(HERE / form / "raw", tmp_path / "raw")
    normalize(tmp_path)
    assert lake_as_text(tmp_path) == pinned("lake.json")


def test_todays_writer_writes_the_golden_bytes_of_format_version_1(tmp_path: Path) -> None:
    assert FORMAT_VERSION == 1, "a new format version gets golden files of its own (raw-v2)"
    write_raw(tmp_path / "raw")
    written = sorted((tmp_path / "raw").glob("*/*.seg"))
    golden = sorted((HERE / "plain" / "raw").glob("*/*.seg"))
    assert [p.name for p in written] == [p.name for p in golden]
    for mine, theirs in zip(written, golden, strict=True):
        assert mine.read_bytes() == theirs.read_bytes(), mine.name
