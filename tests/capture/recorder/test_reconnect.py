"""Drops and resubscription, and the 41-per-session sharding, against `bondtape simulate`."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

from capture.rawlog import RecordKind
from tests.support.recorder import (
    STOP_TIMEOUT_S,
    TRS,
    events,
    isins,
    raw_records,
    record,
    running,
    simulator,
    stop,
    wait_until,
    write_config,
)


def fully_subscribed_conns(data: Path, pairs: int) -> int:
    per_conn = Counter(e["conn"] for e in events(data, "sub_ack"))
    return sum(1 for n in per_conn.values() if n == pairs)


def test_dropped_connections_open_gaps_that_close_on_resubscription_without_doubles(
    tmp_path: Path,
) -> None:
    pairs = 4
    with simulator(tmp_path, rate=20, drop_every=0.6) as sim:
        config, env = write_config(tmp_path, sim, isins(pairs))
        data = tmp_path / "data"
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            # Two drops, then a third connection fully subscribed: every gap had its chance.
            wait_until(lambda: fully_subscribed_conns(data, pairs) >= 3, 30, "3 subscribed conns")
            assert stop(recorder) == 0
    everything = events(data)
    acks = [e for e in everything if e["type"] == "sub_ack"]
    assert all(e["msg_cd"] == "OPSP0000" for e in acks)  # never a duplicate registration
    per_conn = Counter((e["conn"], e["tr_id"], e["isin"]) for e in acks)
    assert set(per_conn.values()) == {1}
    sent = Counter(
        (r.conn_id, r.payload) for r in raw_records(data) if r.kind is RecordKind.FRAME_SENT
    )
    assert set(sent.values()) == {1}
    drops = [e for e in everything if e["type"] == "disconnect" and e["reason"] != "recorder stop"]
    assert len(drops) >= 2
    opened = [e for e in everything if e["type"] == "gap_open" and e["reason"] != "recorder stop"]
    closed = [e for e in everything if e["type"] == "gap_close"]
    # Every gap opened by a drop is closed by the next connection's ack, later in time.
    assert len(opened) >= 2 * pairs
    for gap in opened:
        ends = [c for c in closed if (c["tr_id"], c["isin"]) == (gap["tr_id"], gap["isin"])]
        assert any(c["end_ns"] > gap["start_ns"] and c["conn"] > gap["conn"] for c in ends)


def test_120_registrations_over_three_credentials_use_three_sessions_of_at_most_41(
    tmp_path: Path,
) -> None:
    with simulator(tmp_path, rate=0.2) as sim:
        config, env = write_config(tmp_path, sim, isins(60), credentials=3, trs=TRS)
        data = tmp_path / "data"
        with running(record(config, env, stderr=subprocess.DEVNULL)) as recorder:
            wait_until(lambda: len(events(data, "sub_ack")) >= 120, 30, "120 acks")
            assert stop(recorder) == 0
    acks = events(data, "sub_ack")
    assert len({(e["tr_id"], e["isin"]) for e in acks}) == 120
    assert sorted(Counter(e["conn"] for e in acks).values()) == [40, 40, 40]
    assert not events(data, "sub_error")


def test_an_app_key_in_use_elsewhere_is_reported_plainly_and_backed_off(tmp_path: Path) -> None:
    with simulator(tmp_path, rate=1) as sim:
        (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
        config_a, env = write_config(tmp_path / "a", sim, isins(1))
        config_b, _ = write_config(tmp_path / "b", sim, isins(1))
        data_b = tmp_path / "b" / "data"
        with running(record(config_a, env, stderr=subprocess.DEVNULL)) as first:
            wait_until(lambda: events(tmp_path / "a" / "data", "sub_ack"), 20, "first ack")
            with running(record(config_b, env, stderr=subprocess.PIPE)) as second:
                wait_until(lambda: events(data_b, "disconnect"), 20, "the second session dropped")
                second.terminate()
                _, err = second.communicate(timeout=STOP_TIMEOUT_S)
                assert second.returncode == 0
            assert stop(first) == 0
        log = err.decode()
    assert [e["msg_cd"] for e in events(data_b, "sub_error")] == ["OPSP8996"]
    assert (
        events(data_b, "disconnect")[0]["reason"] == "app key in use by another session (OPSP8996)"
    )
    assert "already in use by another session" in log and "Waiting 300 s" in log
