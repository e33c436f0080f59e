"""The command line: every command is listed, and each loads only what it needs."""

from __future__ import annotations

import importlib
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


def listed_commands(help_text: str) -> list[tuple[str, str]]:
    """(name, help) per command under COMMAND in ``bondtape --help``, a long name's help on
    the line after it joined back to it."""
    lines = help_text.split("\n  COMMAND\n", 1)[1].split("\n\n", 1)[0].splitlines()
    listed: list[tuple[str, str]] = []
    for line in lines:
        name, _, text = line.strip().partition("  ")
        if line.startswith("    ") and not line.startswith("     "):  # a command's own line
            listed.append((name, text.strip()))
        else:  # the help of the long name above, wrapped to the next line
            listed[-1] = (listed[-1][0], f"{listed[-1][1]} {line.strip()}".strip())
    return listed


def test_help_lists_every_command_once_in_order_with_its_own_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per command's help
    with pytest.raises(SystemExit) as caught:
        cli.main(["--help"])
    assert caught.value.code == 0
    listed = listed_commands(capsys.readouterr().out)
    assert listed == [(name, text) for name, (_, text) in cli.COMMANDS.items()]
    # status is the one place to ask whether all is well, not the recorder's alone
    assert dict(listed)["status"].startswith("is all well: the daemon, the recorder, the disk")


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_has_its_own_help_from_its_module(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: bondtape {command} [-h]")
    module = importlib.import_module(cli.COMMANDS[command][0])
    summary = " ".join((module.__doc__ or "").split("\n\n")[0].replace("`", "").split())
    description = " ".join(out.split("\n\n")[1].split())
    assert description == summary  # the module's own first paragraph, not the table's line


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
