"""Raw logs of format version 2 read the same forever: the golden segments under
tests/data/raw-v2 (plain and sealed) give the records and the lake rows pinned beside them,
they hold REST_RECV records, and today's writer still writes those very bytes (a format
change must bump the version)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capture.rawlog import FORMAT_VERSION, RawRecord, RecordKind, read_records, rest
from storage.normalize.normalizer import normalize
from tests.data.golden import V1, V2, describe, lake_as_text, write_raw
from tests.support.samples import REST_BOOK_SAMPLE, REST_REFUSED_SAMPLE


def pinned(name: str) -> object:
    return json.loads((V2 / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("form", ["plain", "sealed"])
def test_the_golden_segments_read_as_the_records_pinned_beside_them(form: str) -> None:
    assert describe(list(read_records(V2 / form / "raw"))) == pinned("records.json")


def test_the_golden_log_holds_a_book_snapshot_and_a_refusal_as_rest_records() -> None:
    found = [
        rest.read_rest(r.payload)
        for r in read_records(V2 / "plain" / "raw")
        if isinstance(r, RawRecord) and r.kind is RecordKind.REST_RECV
    ]
    assert [(r.status, r.body.decode()) for r in found] == [
        (500, REST_REFUSED_SAMPLE),
        (200, REST_BOOK_SAMPLE),
    ]
    assert {(r.isin, r.tr_id, r.query) for r in found} == {
        ("KR103502GD31", "FHKBJ773401C0", "FID_COND_MRKT_DIV_CODE=B&FID_INPUT_ISCD=KR103502GD31")
    }


@pytest.mark.parametrize("form", ["plain", "sealed"])
def test_the_golden_segments_normalize_to_the_lake_rows_pinned_beside_them(
    tmp_path: Path, form: str
) -> None:
    shutil.copytree(V2 / form / "raw", tmp_path / "raw")
    normalize(tmp_path)
    assert lake_as_text(tmp_path) == pinned("lake.json")


def test_the_lake_of_version_2_holds_the_rows_of_version_1_and_no_more_for_now() -> None:
    """The REST records are skipped by storage until it normalizes them (next step): the same
    story gives the same rows, only their raw positions and times differ (a corrupt region's
    bytes hold its record's header, so its receive time too)."""
    v1, v2 = json.loads((V1 / "lake.json").read_text()), pinned("lake.json")
    assert isinstance(v2, dict)
    lineage = {"segment", "offset", "close_segment", "close_offset", "recv_ts", "recv_ns",
               "start_ts", "end_ts"}  # fmt: skip

    def kept(row: dict[str, str | None]) -> dict[str, str | None]:
        corrupt = (row.get("reason") or "").startswith("corrupt")
        return {k: v for k, v in row.items() if k not in lineage and not (corrupt and k == "raw")}

    def values(lake: dict[str, list[dict[str, str | None]]]) -> dict[str, list[dict]]:
        return {t: [kept(row) for row in rows] for t, rows in lake.items()}

    assert values(v2) == values(v1)


def test_todays_writer_writes_the_golden_bytes_of_format_version_2(tmp_path: Path) -> None:
    assert FORMAT_VERSION == 2, "a new format version gets golden files of its own (raw-v3)"
    write_raw(tmp_path / "raw")
    written = sorted((tmp_path / "raw").glob("*/*.seg"))
    golden = sorted((V2 / "plain" / "raw").glob("*/*.seg"))
    assert [p.name for p in written] == [p.name for p in golden]
    for mine, theirs in zip(written, golden, strict=True):
        assert mine.read_bytes() == theirs.read_bytes(), mine.name
