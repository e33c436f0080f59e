"""The config file: frozen dataclasses validated in one place (config), over the TOML section
reader that rejects unknown keys and says how to fix them (section).
"""

from __future__ import annotations

from jobs.config.config import Config, JobsConfig, LakeConfig, MarketConfig, load_config

__all__ = [
    "Config",
    "JobsConfig",
    "LakeConfig",
    "MarketConfig",
    "load_config",
]
