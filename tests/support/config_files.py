"""A smallest valid config file, for the tests of config checks and of commands that load one."""

from __future__ import annotations

from pathlib import Path

# The credentials BASE names: a test sets them in the environment (they are not secrets).
ENV = {"KIS_APP_KEY": "PSappkey-not-a-real-one", "KIS_APP_SECRET": "secret-not-a-real-one"}

BASE = """
data_dir = "data"
[[kis.credentials]]
app_key_env = "KIS_APP_KEY"
app_secret_env = "KIS_APP_SECRET"
[capture]
isins = ["KR103502GD31"]
"""


def write_config(tmp_path: Path, body: str) -> Path:
    """``body`` as ``tmp_path/bondtape.toml``."""
    path = tmp_path / "bondtape.toml"
    path.write_text(body, encoding="utf-8")
    return path
