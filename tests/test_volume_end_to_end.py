"""Simulator -> recorder -> normalizer -> report: the volume the exchange counted and did not
deliver is found, as silent loss while connected and as volume explained by the drops.

The simulator skips some trades (``skip_trades``: counted in ACML_VOL, never sent), drops each
session on a schedule, and trades on while the recorder is away; its truth file says what
became of every trade. The recorder runs as a real process.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from capture.clock import SEOUL, SystemClock
from capture.kis.layouts import TRADES
from capture.rawlog import list_segments
from jobs.config.config import MarketConfig
from storage.normalize.normalizer import normalize
from storage.read.results import json_rows
from storage.report import volume_today
from storage.report.report import ReportSettings, build_report
from tests.support.catalog_data import query_rows
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

CUM, QTY = TRADES.columns.index("cum_volume"), TRADES.columns.index("trade_qty")


def truth_trades(truth: Path) -> dict[str, dict[int, tuple[int, str]]]:
    """Every trade the market made, per ISIN: its cum_volume -> (qty, sent/skipped/off_air)."""
    made: dict[str, dict[int, tuple[int, str]]] = defaultdict(dict)
    for line in map(json.loads, truth.read_text().splitlines()):
        if line.get("tr_id") != TRADES.tr_id or "malformed" in line:
            continue
        values = line["values"] if "values" in line else line["record"]
        made[values[0]][int(values[CUM])] = (int(values[QTY]), line.get("unsent", "sent"))
    return made


def lake_trades(data: Path) -> dict[str, list[tuple[int, int, int]]]:
    """The lake's trades per ISIN in receive order: (cum_volume, trade_qty, recorder conn)."""
    rows = duckdb.sql(
        "SELECT isin, cum_volume, trade_qty, conn_id FROM read_parquet("
        f"'{data}/lake/live/trades/**/*.parquet', hive_partitioning = false) "
        'ORDER BY isin, recv_ns, segment, "offset", record_index'
    ).fetchall()
    held: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for isin, cum, qty, conn in rows:
        held[isin].append((cum, qty, conn))
    return held


def expected(made: dict[int, tuple[int, str]], held: list[tuple[int, int, int]]) -> dict[str, Any]:
    """From the truth alone: the trades missing between two trades received on one recorder
    connection are lost while connected (silent, and every one was skipped by the exchange);
    those between trades on two connections, across a drop, or before the first trade (the
    market opened before the recording), are explained."""
    silent, explained, fates = 0, 0, defaultdict(int)
    before_cum, before_conn = 0, None
    for cum, qty, conn in held:
        missing = {c: m for c, m in made.items() if before_cum < c < cum}
        volume = sum(q for q, _ in missing.values())
        assert volume == cum - before_cum - qty  # the market's counter tells the truth
        if before_conn == conn:
            assert {fate for _, fate in missing.values()} <= {"skipped"}, missing
            silent += volume
        else:
            explained += volume
            for q, fate in missing.values():
                fates[fate] += q
        before_cum, before_conn = cum, conn
    return {"silent": silent, "explained": explained, "explained_by_fate": dict(fates)}


def test_the_volume_section_finds_skipped_trades_silent_and_the_drops_explained(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    opened = dt.datetime.now(SEOUL).time().replace(microsecond=0)  # the market opens after
    with simulator(tmp_path, rate=40, skip_trades=0.1, drop_every=1.5) as sim:
        config, env = write_config(tmp_path, sim, isins(2), trs=("H0BJASP0", "H0BJCNT0"))
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: len(events(data, "disconnect")) >= 3, 60, "three drops")
            acks = len(events(data, "sub_ack"))
            wait_until(lambda: len(events(data, "sub_ack")) >= acks + 4, 30, "a resubscription")
            assert stop(recorder) == 0
        made = truth_trades(sim.truth)
    normalize(data)
    held = lake_trades(data)
    assert sorted(held) == sorted(made) and len(held) == 2
    # One Seoul day recorded (a run across midnight would start the counter's check again).
    [day] = {dt.date.fromisoformat(s.name[:10]) for s in list_segments(data / "raw")}

    market = MarketConfig()
    settings = ReportSettings(
        session_open=market.session_open, session_close=market.session_close,
        trading_open=opened,
    )  # fmt: skip
    report = build_report(data, day, settings, SystemClock())
    assert report.balanced, report.failure()  # information only: raw against lake still holds
    [found] = [s for s in report.sections if s.path == ("volume_continuity", "by_isin")]
    by_isin = {row["isin"]: row for row in json_rows(found.rows)}

    skipped = off_air = 0
    for isin, trades in held.items():
        want = expected(made[isin], trades)
        row = by_isin[isin]
        assert (row["silent_volume"], row["explained_volume"]) == (
            want["silent"],
            want["explained"],
        ), isin
        assert row["last_cum_volume"] == trades[-1][0]
        assert row["lake_volume"] == sum(qty for _, qty, _ in trades)
        skipped += want["silent"]
        off_air += want["explained_by_fate"].get("off_air", 0)
    assert skipped > 0, "no trade was skipped while connected"
    assert off_air > 0, "the market did not trade on during a drop"
    every_skip = sum(q for m in made.values() for q, fate in m.values() if fate == "skipped")
    assert skipped <= every_skip

    # The named query, and the figures status and the metrics show, say the same.
    rows = query_rows(data, "volume_check", date=day.isoformat(), open=opened.isoformat())
    assert [(r["isin"], r["silent_volume"], r["explained_volume"]) for r in rows] == sorted(
        (i, r["silent_volume"], r["explained_volume"]) for i, r in by_isin.items()
    )
    # Status and the metrics judge the day's first trades by the KRX open, not this market's.
    today = volume_today(data, day)
    missing = sum(r["silent_volume"] + r["explained_volume"] for r in rows)
    assert today is not None and today["silent_volume"] + today["explained_volume"] == missing
