"""The command line: every command is listed, and each loads only what it needs."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import duckdb
import pyarrow
import pytest

from jobs import cli

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--help"])
    assert caught.value.code == 0
    assert f"bondtape {command}" in capsys.readouterr().out


def test_the_recorder_process_does_not_load_the_normalizers_libraries() -> None:
    # Design invariant 3: the recorder shares no weight (nor GIL) with the heavy jobs.
    probe = (
        "import sys; from jobs import cli; cli.build_parser('record').parse_args("
        "['record', '--config', 'x']); "
        "print(sorted(m for m in ('duckdb', 'pyarrow', 'storage', 'matplotlib') "
        "if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_version_names_bondtape_duckdb_pyarrow_and_python_without_loading_the_engines() -> None:
    # Read from the packages' metadata, so it can be asked of a recorder host too.
    probe = (
        "import sys; from jobs import cli\n"
        "try: cli.main(['--version'])\n"
        "except SystemExit as exit: assert exit.code in (0, None), exit.code\n"
        "print(sorted(m for m in ('duckdb', 'pyarrow', 'storage') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"bondtape {metadata.version('bondtape')} (duckdb {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, python {platform.python_version()})",
        "[]",
    ]
