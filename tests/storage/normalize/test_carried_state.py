"""The state a batch carries to the next (checkpoint.json's ``state``) stays as small as what a
later record can still need, however long the lake lives (issue 18, defect 6)."""

from __future__ import annotations

import json
from pathlib import Path

from storage.normalize.normalizer import normalize
from tests.support.rawdata import RawLog, lake_rows


def _sessions(log: RawLog, conns: range, *, disconnect: bool = True) -> None:
    """Each connection of one credential: connect, its acks with a key/iv, encrypted frames,
    and (unless the recorder was killed) its disconnect."""
    for conn in conns:
        log.event(type="connect", conn=conn, url="ws://127.0.0.1:1", credential="main")
        log.ack(conn, "H0BJASP0")
        log.ack(conn, "H0BJCNT0")
        log.frames(2, conn_id=conn, encrypted=True)
        if disconnect:
            log.event(type="disconnect", conn=conn, reason="connection lost")


def _checkpoint(data_dir: Path) -> dict:
    return json.loads((data_dir / "lake" / "checkpoint.json").read_text())


def _rows(data_dir: Path) -> int:
    return len(lake_rows(data_dir, "quotes")) + len(lake_rows(data_dir, "trades"))


def test_the_checkpoint_stays_bounded_across_many_reconnects(tmp_path: Path) -> None:
    few, many = tmp_path / "few", tmp_path / "many"
    for data_dir, n in ((few, 3), (many, 300)):
        log = RawLog(data_dir)
        _sessions(log, range(100, 100 + n))
        _sessions(log, range(100 + n, 101 + n), disconnect=False)  # the live one
        log.writer.close()
        normalize(data_dir, batch_records=50)
        expected = len(log.expected["quotes"]) + len(log.expected["trades"])
        assert _rows(data_dir) == expected  # every encrypted frame decrypted
        # Only the live connection's keys (and conn 2's, from the segment's STATE record).
        assert sorted(_checkpoint(data_dir)["state"]["keys"]) == sorted(["2", str(100 + n)])
    size_few = (few / "lake" / "checkpoint.json").stat().st_size
    size_many = (many / "lake" / "checkpoint.json").stat().st_size
    assert size_many <= size_few + 16  # the position's offset has more digits, no more


def test_a_connection_never_disconnected_goes_when_its_credential_connects_again(
    tmp_path: Path,
) -> None:
    log = RawLog(tmp_path)
    _sessions(log, range(10, 11), disconnect=False)  # the recorder was killed here
    log.event(type="recorder_start", conn=0, recorder_id="t1", pid=1, previous_last_ns=None)
    _sessions(log, range(11, 12), disconnect=False)
    log.writer.close()
    normalize(tmp_path)
    assert _rows(tmp_path) == len(log.expected["quotes"]) + len(log.expected["trades"])
    assert sorted(_checkpoint(tmp_path)["state"]["keys"]) == ["11", "2"]  # 10 went
