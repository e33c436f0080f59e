"""One TOML table of the config: typed reads, and a refusal of every key nobody read.

A typo in a key must fail loudly, never fall back to a default: :meth:`Section.done` raises
for whatever is left.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from capture.errors import ConfigError


class Section:
    """Reads keys of one TOML table, checking types, and rejects the keys nobody read."""

    def __init__(self, prefix: str, table: object) -> None:
        if not isinstance(table, dict):
            raise ConfigError(prefix, table, f"[{prefix}] must be a table")
        self.prefix = prefix
        self.table: dict[str, Any] = dict(table)

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def take(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        if name not in self.table:
            return default
        value = self.table.pop(name)
        # bool is an int in Python; a number key given `true` is still a mistake.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ConfigError(self.key(name), value, f"must be {_type_name(kind)}")
        if not isinstance(value, kind):
            raise ConfigError(self.key(name), value, f"must be {_type_name(kind)}")
        return value

    def positive(self, name: str, default: float) -> float:
        value = self.take(name, (int, float), default)
        if value <= 0:
            raise ConfigError(self.key(name), value, "must be a number greater than 0")
        return float(value)

    def time(self, name: str, default: dt.time) -> dt.time:
        value = self.take(name, (str, dt.time), default)
        if isinstance(value, dt.time):
            return value
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            raise ConfigError(self.key(name), value, 'write a time as "HH:MM"') from None

    def done(self) -> None:
        for name in self.table:
            raise ConfigError(
                self.key(name),
                self.table[name],
                "unknown key: check its spelling against bondtape.example.toml",
            )


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "a string",
        int: "a whole number",
        float: "a number",
        list: "a list",
        bool: "true or false",
        dt.time: "a time",
        dict: "a table",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)
