"""A lake of another schema version is refused by incremental runs and migrated by a rebuild;
the golden lake of schema 2 (tests/data/lake-v2/, see lake_v2.py) is where they start."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from capture.errors import StorageError
from storage.lake.files import SCHEMA_VERSION_KEY, WRITER_VERSION_KEY
from storage.normalize.normalizer import normalize
from storage.schemas import SCHEMA_VERSION, TABLES
from tests.data.lake_v2 import HERE as GOLDEN
from tests.data.lake_v2 import RAW, make_lake
from tests.support.rawdata import RawLog, lake_rows
from tests.support.rawlog import seoul_ns

REFUSAL = "schema version 1 .* run `bondtape normalize --rebuild`"
AFTER_GOLDEN_NS = seoul_ns(2026, 11, 27, 10, 0, 0)  # new raw, after the golden segments


def _file_versions(data_dir: Path) -> dict[str, bytes]:
    return {
        str(path): pq.read_schema(path).metadata[SCHEMA_VERSION_KEY]
        for path in (data_dir / "lake" / "live").rglob("*.parquet")
    }


def _golden_lake(data_dir: Path) -> None:
    """The golden raw log and the schema-2 lake made of it, copied under ``data_dir``."""
    shutil.copytree(RAW, data_dir / "raw")
    shutil.copytree(GOLDEN / "lake", data_dir / "lake")


def _version_1_lake(data_dir: Path) -> None:
    """The golden lake as version 1 would have left it: files whose metadata says 1, and a
    checkpoint with no schema_version (version 1 wrote none)."""
    _golden_lake(data_dir)
    for path in (data_dir / "lake" / "live").rglob("*.parquet"):
        table = pq.read_table(path)
        meta = {**(table.schema.metadata or {}), SCHEMA_VERSION_KEY: b"1"}
        pq.write_table(table.replace_schema_metadata(meta), path)
    checkpoint = data_dir / "lake" / "checkpoint.json"
    body = json.loads(checkpoint.read_text())
    del body["schema_version"]
    checkpoint.write_text(json.dumps(body))
    assert set(_file_versions(data_dir).values()) == {b"1"}


def _all_rows(data_dir: Path) -> dict[str, list[dict]]:
    rows = {t: lake_rows(data_dir, t) for t in ("quotes", "trades", "rejects")}
    return {**rows, "gaps": lake_rows(data_dir, "gaps", order='segment, "offset"')}


@pytest.mark.parametrize("checkpoint", ["kept", "lost"])
def test_an_incremental_run_refuses_a_version_1_lake_and_says_to_rebuild(
    tmp_path: Path, checkpoint: str
) -> None:
    _version_1_lake(tmp_path)
    if checkpoint == "lost":  # then the files' metadata tells the version
        (tmp_path / "lake" / "checkpoint.json").unlink()
    log = RawLog(tmp_path, start_ns=AFTER_GOLDEN_NS)
    log.frames(5)
    log.writer.close()
    before = _file_versions(tmp_path)
    with pytest.raises(StorageError, match=REFUSAL):
        normalize(tmp_path)
    assert _file_versions(tmp_path) == before, "nothing was written"


def test_a_rebuild_of_one_date_refuses_a_version_1_lake(tmp_path: Path) -> None:
    _version_1_lake(tmp_path)
    [day] = [p.name[5:] for p in (tmp_path / "lake" / "live" / "quotes").iterdir()]
    with pytest.raises(StorageError, match=REFUSAL):
        normalize(tmp_path, rebuild=True, date=dt.date.fromisoformat(day))


def test_a_full_rebuild_migrates_a_version_1_lake_and_incremental_runs_work_again(
    tmp_path: Path,
) -> None:
    _version_1_lake(tmp_path)
    before = _all_rows(tmp_path)
    assert all(before.values())
    normalize(tmp_path, rebuild=True)
    assert _all_rows(tmp_path) == before
    assert set(_file_versions(tmp_path).values()) == {str(SCHEMA_VERSION).encode()} == {b"2"}
    checkpoint = json.loads((tmp_path / "lake" / "checkpoint.json").read_text())
    assert checkpoint["schema_version"] == 2

    log = RawLog(tmp_path, start_ns=AFTER_GOLDEN_NS)
    log.frames(5)
    log.writer.close()
    assert normalize(tmp_path).records > 0
    landed = len(lake_rows(tmp_path, "quotes")) + len(lake_rows(tmp_path, "trades"))
    golden = len(before["quotes"]) + len(before["trades"])
    assert landed - golden == len(log.expected["quotes"]) + len(log.expected["trades"])
    assert set(_file_versions(tmp_path).values()) == {b"2"}


def _files(lake: Path) -> dict[str, tuple[dict[bytes, bytes], list[dict]]]:
    """Each live file of a lake: its metadata but the writer's version, and its rows."""
    out = {}
    for path in sorted((lake / "live").rglob("*.parquet")):
        table = pq.read_table(path, partitioning=None)
        meta = {k: v for k, v in (table.schema.metadata or {}).items() if k != WRITER_VERSION_KEY}
        out[str(path.relative_to(lake))] = (meta, table.to_pylist())
    return out


def test_the_golden_v2_lake_is_what_todays_normalizer_makes_of_the_golden_raw_log(
    tmp_path: Path,
) -> None:
    # Fails when the schema (or what lands in it) changes without a new SCHEMA_VERSION.
    assert SCHEMA_VERSION == 2, "a new schema version: add lake-v3 (tests/data/lake_v2.py)"
    lake = make_lake(tmp_path)
    assert _files(lake) == _files(GOLDEN / "lake")
    checkpoint = json.loads((lake / "checkpoint.json").read_text())
    assert checkpoint == json.loads((GOLDEN / "lake" / "checkpoint.json").read_text())
    tables = {rel.split("/")[1] for rel in _files(GOLDEN / "lake")}
    assert tables == set(TABLES)  # every table the normalizer writes
    for path in (GOLDEN / "lake" / "live").rglob("*.parquet"):
        schema = pq.read_schema(path).remove_metadata()
        assert schema == TABLES[path.relative_to(GOLDEN / "lake" / "live").parts[0]].schema


def test_an_incremental_run_continues_the_golden_v2_lake_from_its_checkpoint(
    tmp_path: Path,
) -> None:
    _golden_lake(tmp_path)
    before = _all_rows(tmp_path)
    log = RawLog(tmp_path, start_ns=AFTER_GOLDEN_NS)
    log.frames(8)
    log.writer.close()
    stats = normalize(tmp_path)
    assert stats.records == 8 + 1  # the frames, and the STATE record opening their segment
    after = _all_rows(tmp_path)
    assert after["gaps"] == before["gaps"] and after["rejects"] == before["rejects"]
    new = (
        len(after["quotes"]) + len(after["trades"]) - len(before["quotes"]) - len(before["trades"])
    )
    assert new == len(log.expected["quotes"]) + len(log.expected["trades"])
