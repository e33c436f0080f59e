"""One TOML table of the config: a refusal of unknown keys first, then typed reads.

A typo in a key must fail loudly, never fall back to a default, and it must be the first
thing reported: a misspelt ``[captrue]`` is the problem, not the ISINs then missing from
``[capture]``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from capture.errors import ConfigError


class Section:
    """Reads keys of one TOML table, checking types; keys outside ``known`` are refused.

    ``removed`` maps keys bondtape no longer reads to why they went and what to do: a config
    written for an older version then gets that reason, not a bare "unknown key".

    Raises:
        ConfigError: ``table`` is not a table, or has a removed key (with its reason), or a
            key that is not in ``known`` (with the closest known key as the suggested fix).
    """

    def __init__(
        self,
        prefix: str,
        table: object,
        known: Iterable[str],
        removed: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(table, dict):
            raise ConfigError(prefix, table, f"[{prefix}] must be a table")
        self.prefix = prefix
        self.table: dict[str, Any] = dict(table)
        known = list(known)
        for name, value in self.table.items():
            if removed and name in removed:
                raise ConfigError(self.key(name), value, removed[name])
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                raise ConfigError(self.key(name), value, f"unknown key: {hint}")

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
            raise ConfigError(
                self.key(name), value, 'write a time of day as "HH:MM", from 00:00 to 23:59'
            ) from None


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if set(kinds) == {int, float}:
        return "a number"
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
