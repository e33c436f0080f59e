from __future__ import annotations

from pathlib import Path

import pytest

from capture.clock import ManualClock
from capture.rawlog import Position, RawLogWriter, RecordKind
from jobs.cli.dispatch import main

# 2026-11-26 09:00:00 Asia/Seoul
NINE = 1_795_651_200_000_000_000


def _log(data_dir: Path) -> list[Position]:
    clock = ManualClock(NINE)
    with RawLogWriter(data_dir / "raw", "rec1", clock=clock, seal_in_background=False) as w:
        return [
            w.append(RecordKind.EVENT, 0, b'{"type":"connect"}'),
            w.append(RecordKind.FRAME_RECV, 3, b"0|H0BJASP0|001|\xff\n" + b"9" * 500, NINE + 5),
            w.append(RecordKind.FRAME_RECV, 3, b"0|H0BJCNT0|001|x", NINE + 6),
        ]


def test_dump_prints_one_line_per_record_with_seoul_time_and_escaped_payload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    positions = _log(tmp_path)
    assert main(["raw", "dump", "--data-dir", str(tmp_path), "--kind", "frame_recv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        f"2026-11-26 09:00:00.000000005 conn=3 frame_recv @{positions[1].segment}:"
        f"{positions[1].offset} 0|H0BJASP0|001|\\xff\\n999"
    )
    assert lines[0].endswith("… (517 bytes)")


def test_dump_of_one_segment_stops_at_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    positions = _log(tmp_path)
    argv = ["raw", "dump", "--data-dir", str(tmp_path), "--segment", positions[0].segment]
    assert main([*argv, "--limit", "1"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "event" in line and '{"type":"connect"}' in line


def test_ls_lists_segments_in_read_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    positions = _log(tmp_path)
    assert main(["raw", "ls", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split("\t")[:2] == [positions[0].segment, "plain"]


def test_verify_reports_the_corrupt_segment_and_offset_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    positions = _log(tmp_path)
    assert main(["raw", "verify", "--data-dir", str(tmp_path)]) == 0
    assert "ok: 3 records in 1 segment(s)" in capsys.readouterr().out
    path = tmp_path / "raw" / positions[1].segment
    data = bytearray(path.read_bytes())
    data[positions[1].offset + 30] ^= 0x01
    path.write_bytes(data)
    assert main(["raw", "verify", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"CORRUPT {positions[1].segment} offset {positions[1].offset}:" in out
    assert "record CRC mismatch" in out
