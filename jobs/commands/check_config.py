"""`bondtape check-config --config F`: validate a config and show what it would record.

Lets a user find every mistake before an overnight run; shows credential *names* and
environment variable names only, never their values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from capture.kis import REGISTRATIONS_PER_SESSION
from jobs.config import load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="bondtape TOML config")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    pairs = len(config.capture.isins) * len(config.capture.trs)
    print(f"config {args.config}: ok")
    print(f"  data_dir     {config.data_dir}")
    print(f"  websocket    {config.kis.ws_url}")
    print(f"  recording    {len(config.capture.isins)} ISINs x {', '.join(config.capture.trs)}")
    print(
        f"  sessions     {pairs} registrations over {len(config.kis.credentials)} credential(s), "
        f"at most {REGISTRATIONS_PER_SESSION} each"
    )
    for credential in config.kis.credentials:
        variables = f"${credential.app_key_env}, ${credential.app_secret_env}"
        print(f"  credential   {credential.name}: {variables}")
    return 0
