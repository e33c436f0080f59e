"""User mistakes on the command line get one clear line and an exit status, never a traceback
and never a false success."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs import cli
from tests.support.config_files import BASE, write_config


@pytest.mark.parametrize(
    "argv",
    [
        ["raw", "verify", "--data-dir", "{missing}"],
        ["raw", "ls", "--data-dir", "{missing}"],
        ["normalize", "--data-dir", "{missing}"],
    ],
)
def test_a_data_dir_without_raw_is_an_error_not_an_empty_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    missing = tmp_path / "typo"
    status = cli.main([arg.format(missing=missing) for arg in argv])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err and "has no raw/ folder" in err and str(missing) in err
    assert not missing.exists(), "a typo must not create a data directory"


@pytest.mark.parametrize(
    "argv",
    [
        ["normalize", "--data-dir", ".", "--follow", "--interval", "-1"],
        ["normalize", "--data-dir", ".", "--batch-records", "0"],
        ["demo", "--seconds", "0"],
    ],
)
def test_a_non_positive_number_is_refused_by_the_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    assert "must be greater than 0" in capsys.readouterr().err


def test_read_only_commands_take_a_config_without_its_credentials_being_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KIS_APP_KEY", raising=False)
    monkeypatch.delenv("KIS_APP_SECRET", raising=False)
    config = write_config(tmp_path, BASE)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    assert cli.main(["raw", "verify", "--config", str(config)]) == 0
    assert "no corruption" in capsys.readouterr().out


def test_dumping_a_segment_that_does_not_exist_is_an_error_not_silence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "raw").mkdir()
    status = cli.main(["raw", "dump", "--data-dir", str(tmp_path), "--segment", "nope.seg"])
    assert status == 2
    assert "--segment = 'nope.seg': no such segment" in capsys.readouterr().err


def test_status_of_a_data_dir_that_does_not_exist_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["status", "--data-dir", str(tmp_path / "typo")]) == 2
    assert "no such directory" in capsys.readouterr().err
