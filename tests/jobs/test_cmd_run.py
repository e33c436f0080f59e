"""`bondtape run` owns its data_dir: a second daemon on it is refused, as its own error."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from capture.errors import AlreadyRunning, RawLogError
from capture.filelock import hold_exclusive
from jobs import cli
from jobs.commands import run
from tests.support.config_files import BASE, ENV, write_config


def test_a_second_daemon_on_a_data_dir_is_already_running_with_exit_3_not_a_raw_log_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    config = write_config(tmp_path, BASE)
    data = tmp_path / "data"
    data.mkdir()
    held = hold_exclusive(data / run.LOCK_NAME, "the first daemon")  # as a running daemon does
    try:
        with pytest.raises(AlreadyRunning) as refused:
            run.run(argparse.Namespace(config=config))
        assert not isinstance(refused.value, RawLogError)
        assert "another daemon is running" in str(refused.value)
        assert str(data) in str(refused.value)
        assert cli.main(["run", "--config", str(config)]) == 3
    finally:
        os.close(held)
    err = capsys.readouterr().err
    assert "another daemon is running" in err and "Traceback" not in err
