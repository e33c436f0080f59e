"""contrib/bondtape.service, the systemd unit docs/operating.md ("Under systemd") points to."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from jobs.cli.dispatch import COMMANDS, build_parser

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "bondtape.service"


def test_the_unit_runs_the_daemon_restarts_it_on_failure_and_stops_it_with_sigterm() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(UNIT.read_text())
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/bondtape") and argv[1] == "run" and "run" in COMMANDS
    build_parser("run").parse_args(argv[1:])  # the flags are the command's own
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert set(service["RestartPreventExitStatus"].split()) == {"2", "3"}  # bad config, held
    assert service["EnvironmentFile"] and service["UMask"] == "0077"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
