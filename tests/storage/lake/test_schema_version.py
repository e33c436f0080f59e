"""A lake of an older schema version is refused by incremental runs and migrated by a rebuild."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import storage.lake.files
from capture.errors import StorageError
from storage.lake.files import SCHEMA_VERSION_KEY
from storage.normalize.normalizer import normalize
from storage.schemas import SCHEMA_VERSION
from tests.support.rawdata import RawLog, lake_rows

REFUSAL = "schema version 1 .* run `bondtape normalize --rebuild`"


def _file_versions(data_dir: Path) -> dict[str, bytes]:
    return {
        str(path): pq.read_schema(path).metadata[SCHEMA_VERSION_KEY]
        for path in (data_dir / "lake" / "live").rglob("*.parquet")
    }


def _version_1_lake(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> RawLog:
    """A lake as version 1 left it: files that say 1, a checkpoint with no schema_version."""
    log = RawLog(data_dir)
    log.frames(30)
    log.malformed()
    log.event(type="gap_open", conn=1, tr_id="H0BJASP0", isin="KR103502GD31", start_ns=5,
              reason="dropped")  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr(storage.lake.files, "SCHEMA_VERSION", 1)
        normalize(data_dir, batch_records=10)
    checkpoint = data_dir / "lake" / "checkpoint.json"
    body = json.loads(checkpoint.read_text())
    del body["schema_version"]
    checkpoint.write_text(json.dumps(body))
    assert set(_file_versions(data_dir).values()) == {b"1"}
    return log


def _all_rows(data_dir: Path) -> dict[str, list[dict]]:
    rows = {t: lake_rows(data_dir, t) for t in ("quotes", "trades", "rejects")}
    return {**rows, "gaps": lake_rows(data_dir, "gaps", order='segment, "offset"')}


@pytest.mark.parametrize("checkpoint", ["kept", "lost"])
def test_an_incremental_run_refuses_a_version_1_lake_and_says_to_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint: str
) -> None:
    log = _version_1_lake(tmp_path, monkeypatch)
    if checkpoint == "lost":  # then the files' metadata tells the version
        (tmp_path / "lake" / "checkpoint.json").unlink()
    log.frames(5)
    before = _file_versions(tmp_path)
    with pytest.raises(StorageError, match=REFUSAL):
        normalize(tmp_path)
    assert _file_versions(tmp_path) == before, "nothing was written"


def test_a_rebuild_of_one_date_refuses_a_version_1_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _version_1_lake(tmp_path, monkeypatch)
    [day] = [p.name[5:] for p in (tmp_path / "lake" / "live" / "quotes").iterdir()]
    with pytest.raises(StorageError, match=REFUSAL):
        normalize(tmp_path, rebuild=True, date=dt.date.fromisoformat(day))


def test_a_full_rebuild_migrates_a_version_1_lake_and_incremental_runs_work_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _version_1_lake(tmp_path, monkeypatch)
    before = _all_rows(tmp_path)
    assert all(before.values())
    normalize(tmp_path, rebuild=True)
    assert _all_rows(tmp_path) == before
    assert set(_file_versions(tmp_path).values()) == {str(SCHEMA_VERSION).encode()} == {b"2"}
    checkpoint = json.loads((tmp_path / "lake" / "checkpoint.json").read_text())
    assert checkpoint["schema_version"] == 2

    log.frames(5)
    log.writer.close()
    assert normalize(tmp_path).records > 0
    landed = len(lake_rows(tmp_path, "quotes")) + len(lake_rows(tmp_path, "trades"))
    assert landed == len(log.expected["quotes"]) + len(log.expected["trades"])
    assert set(_file_versions(tmp_path).values()) == {b"2"}
