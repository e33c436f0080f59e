"""`bondtape report` from the command line: sections on stdout, the JSON saved under
data_dir/reports, exit 0 when raw and the lake balance and 1, naming the partition, when not."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs import cli
from storage.normalize.normalizer import normalize
from tests.support.rawdata import ISINS, RawLog
from tests.support.rawlog import seoul_ns

DAY = "2026-11-26"


def recorded(data_dir: Path) -> RawLog:
    """A normalized day: frames of both TRs, malformed ones, and a gap of 30 minutes."""
    log = RawLog(data_dir, start_ns=seoul_ns(2026, 11, 26, 9, 0, 0))
    log.frames(20)
    log.malformed()
    pair = {"tr_id": "H0BJASP0", "isin": ISINS[0]}
    start_ns = log.clock.now_ns()
    log.event(type="gap_open", conn=1, start_ns=start_ns, reason="dropped", **pair)
    log.clock.advance(1800)
    log.event(type="gap_close", conn=2, end_ns=start_ns + 1800 * 10**9, **pair)
    log.frames(5)
    log.writer.close()
    normalize(data_dir)
    return log


def recorded_with_config(tmp_path: Path, market: str) -> Path:
    """:func:`recorded` in tmp_path/data, and a config for it ending in ``market``."""
    recorded(tmp_path / "data")
    config = tmp_path / "bondtape.toml"
    config.write_text(
        'data_dir = "data"\n[[kis.credentials]]\napp_key_env = "NOT_SET_K"\n'
        'app_secret_env = "NOT_SET_S"\n[capture]\nisins = ["KR103502GD31"]\n' + market
    )
    return config


def test_a_balanced_day_prints_its_sections_saves_its_json_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = recorded(tmp_path)
    assert cli.main(["report", "--data-dir", str(tmp_path), "--date", DAY]) == 0
    out = capsys.readouterr().out
    assert f"integrity report of {DAY}: raw and lake balance" in out
    titles = ["Rejects by reason", "Coverage of the session 08:00-15:30 per ISIN",
              "Gaps opened that day", "exch_time going backwards", "Reconciliation"]  # fmt: skip
    assert all(title in out for title in titles)
    saved = json.loads((tmp_path / "reports" / f"{DAY}.json").read_text())
    assert f"saved {tmp_path / 'reports' / f'{DAY}.json'}" in out
    assert saved["balanced"] is True and (tmp_path / "catalog.duckdb").is_file()
    rows = sum(r["rows"] for r in saved["volume"])
    assert rows == len(log.expected["quotes"]) + len(log.expected["trades"])
    [gap] = saved["gaps"]
    assert gap["duration_s"] == "1800.000000"


def test_the_session_comes_from_the_configs_market_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = recorded_with_config(
        tmp_path, '[market]\nsession_open = "09:00"\nsession_close = "15:00"\n'
    )
    assert cli.main(["report", "--config", str(config), "--date", DAY, "--worst", "2"]) == 0
    assert "Coverage of the session 09:00-15:00 per ISIN" in capsys.readouterr().out
    saved = json.loads((tmp_path / "data" / "reports" / f"{DAY}.json").read_text())
    assert {c["session_s"] for c in saved["coverage"]} == {"21600.000000"}
    assert saved["settings"] == {"session_open": "09:00:00", "session_close": "15:00:00",
                                 "skew_threshold_s": 60.0, "worst": 2,
                                 "trading_open": "09:00:00"}  # fmt: skip


def test_a_special_days_coverage_is_over_its_own_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = recorded_with_config(
        tmp_path,
        f'[[market.special_days]]\ndate = "{DAY}"\nsession_open = "09:00"\n'
        'session_close = "16:30"\nend_of_day = "17:00"\n'
        '[[market.special_days]]\ndate = "2026-11-27"\nsession_open = "10:00"\n',
    )
    assert cli.main(["report", "--config", str(config), "--date", DAY]) == 0
    assert "Coverage of the session 09:00-16:30 per ISIN" in capsys.readouterr().out
    saved = json.loads((tmp_path / "data" / "reports" / f"{DAY}.json").read_text())
    assert {c["session_s"] for c in saved["coverage"]} == {"27000.000000"}  # 7.5 h


def test_a_row_lost_from_the_lake_exits_1_naming_its_partition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded(tmp_path)
    folder = tmp_path / "lake" / "live" / "trades" / f"date={DAY}" / f"isin={ISINS[0]}"
    path = sorted(folder.glob("*.parquet"))[0]
    pq.write_table(pq.read_table(path).slice(1), path)
    assert cli.main(["report", "--data-dir", str(tmp_path), "--date", DAY]) == 1
    captured = capsys.readouterr()
    assert "raw and lake DO NOT BALANCE" in captured.out
    assert f"does not balance: trades/date={DAY}/isin={ISINS[0]} holds" in captured.err
    assert json.loads((tmp_path / "reports" / f"{DAY}.json").read_text())["balanced"] is False


def test_a_data_dir_without_raw_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", "--data-dir", str(tmp_path / "nope"), "--date", DAY]) == 2
    assert "has no raw/ folder" in capsys.readouterr().err


def test_a_date_with_nothing_recorded_is_a_usage_error_and_saves_no_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded(tmp_path)
    assert cli.main(["report", "--data-dir", str(tmp_path), "--date", "2026-11-20"]) == 2
    assert "--date = '2026-11-20': nothing was recorded that day" in capsys.readouterr().err
    assert not (tmp_path / "reports" / "2026-11-20.json").exists()
