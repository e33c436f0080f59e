"""The config file: frozen dataclasses validated in one place (config, with the KIS URLs and
REST pace in endpoints), over the TOML section reader that rejects unknown keys and says how
to fix them (section).
"""

from __future__ import annotations

from jobs.config.config import (
    Config,
    JobsConfig,
    LakeConfig,
    LogsConfig,
    MarketConfig,
    load_config,
)

__all__ = [
    "Config",
    "JobsConfig",
    "LakeConfig",
    "LogsConfig",
    "MarketConfig",
    "load_config",
]
