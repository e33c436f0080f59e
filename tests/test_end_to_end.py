"""Simulator -> recorder -> normalizer: what the simulator sent is what the lake holds.

The simulator writes every record it sends to its truth file; the recorder runs as a real
process; the normalizer reads the raw log. Encrypted, multi-record and malformed frames are
all in the mix, and the comparison is digit for digit.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import duckdb

from capture.clock import SystemClock
from capture.kis.layouts import LAYOUTS
from capture.rawlog import list_segments
from jobs.config.config import MarketConfig
from storage.normalize.normalizer import normalize
from storage.report.report import ReportSettings, build_report
from tests.support.lake_values import as_sent, comparable
from tests.support.recorder import (
    events,
    isins,
    record,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)


def lake_rows(data_dir: Path, table: str, conn_id: int) -> list[tuple[str, list[str]]]:
    layout = next(lay for lay in LAYOUTS.values() if lay.table == table)
    columns = ", ".join(f'"{c}"' for c in layout.columns)
    rows = duckdb.sql(
        f"SELECT {columns} FROM read_parquet('{data_dir}/lake/live/{table}/**/*.parquet', "
        f"hive_partitioning = false) WHERE conn_id = {conn_id} "
        'ORDER BY segment, "offset", record_index'
    ).fetchall()
    kinds = [f.kind for f in layout.fields]
    return [
        (layout.tr_id, [as_sent(k, v) for k, v in zip(kinds, row, strict=True)]) for row in rows
    ]


def test_every_record_the_simulator_sent_is_in_the_lake_with_every_digit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # The simulator drops the connection after 400 frames: by the time the recorder logs the
    # disconnect, every frame sent on it has been delivered, so the comparison is exact.
    with simulator(
        tmp_path, rate=60, encrypt=True, malformed_rate=0.03, drop_after_frames=400
    ) as sim:
        config, env = write_config(tmp_path, sim, isins(3), trs=tuple(LAYOUTS))
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: any(e["conn"] == 1 for e in events(data, "disconnect")), 60, "drop")
            assert stop(recorder) == 0
        truth_lines = [json.loads(line) for line in sim.truth.read_text().splitlines()]

    stats = normalize(data)
    first_conn = min(line["conn"] for line in truth_lines)
    sent = [line for line in truth_lines if line["conn"] == first_conn]
    sent_records = [
        (
            line["tr_id"],
            [
                comparable(f.kind, v)
                for f, v in zip(LAYOUTS[line["tr_id"]].fields, line["values"], strict=True)
            ],
        )
        for line in sent
        if "values" in line
    ]
    sent_malformed = [line for line in sent if "malformed" in line]

    # Within each table the lake's lineage order is the order the records were sent in.
    for tr_id, table in (("H0BJASP0", "quotes"), ("H0BJCNT0", "trades")):
        assert lake_rows(data, table, 1) == [r for r in sent_records if r[0] == tr_id]
    assert len(sent_records) > 300
    assert any(count > 1 for count in _frame_sizes(data)), "no multi-record frame was exercised"

    [(rejects,)] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{data}/lake/live/rejects/**/*.parquet', "
        "hive_partitioning = false) WHERE conn_id = 1"
    ).fetchall()
    assert rejects == len(sent_malformed) > 0
    assert stats.rejects >= len(sent_malformed)

    # The integrity report of each day recorded balances raw against the lake.
    market = MarketConfig()
    settings = ReportSettings(session_open=market.session_open, session_close=market.session_close)
    held = 0
    for day in sorted({segment.name[:10] for segment in list_segments(data / "raw")}):
        report = build_report(data, dt.date.fromisoformat(day), settings, SystemClock())
        assert report.balanced, report.failure()
        held += sum(p.found for p in report.partitions)
    assert held >= len(sent_records) + len(sent_malformed)


def _frame_sizes(data_dir: Path) -> list[int]:
    rows = duckdb.sql(
        "SELECT max(record_index) + 1 FROM "
        f"read_parquet('{data_dir}/lake/live/quotes/**/*.parquet', hive_partitioning = false) "
        'GROUP BY segment, "offset"'
    ).fetchall()
    return [row[0] for row in rows]
