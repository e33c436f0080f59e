"""One TOML table of the config: a refusal of unknown keys first, then typed reads.

A typo in a key must fail loudly, never fall back to a default, and it must be the first
thing reported: a misspelt ``[captrue]`` is the problem, not the ISINs then missing from
``[capture]``.

A section is built with the frozen dataclass it fills, and an absent key reads as that
dataclass field's default: the default is written once, on the field, never again here.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from typing import Any

from capture.errors import ConfigError


class Section:
    """Reads the keys of one TOML table, checking types; an absent key reads as the default of
    the field of that name in ``fills`` (None if it has no default, or no such field).

    The known keys are the fields of ``fills``, or ``keys`` when the table's keys differ from
    them; any other key is refused. ``table`` None (the table is absent) reads as empty.
    ``removed`` maps keys bondtape no longer reads to why they went and what to do: a config
    written for an older version then gets that reason, not a bare "unknown key".

    Raises:
        ConfigError: ``table`` is not a table, or has a removed key (with its reason), or a
            key that is not known (with the closest known key as the suggested fix).
    """

    def __init__(
        self,
        prefix: str,
        table: object,
        fills: type,
        *,
        keys: Iterable[str] | None = None,
        removed: Mapping[str, str] | None = None,
    ) -> None:
        table = {} if table is None else table
        if not isinstance(table, dict):
            raise ConfigError(prefix, table, f"[{prefix}] must be a table")
        self.prefix = prefix
        self.table: dict[str, Any] = dict(table)
        self._fields = {f.name: f for f in fields(fills)}
        known = list(self._fields if keys is None else keys)
        for name, value in self.table.items():
            if removed and name in removed:
                raise ConfigError(self.key(name), value, removed[name])
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
                raise ConfigError(self.key(name), value, f"unknown key: {hint}")

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def take(self, name: str, kind: type | tuple[type, ...]) -> Any:
        """The value of ``name``, or its field default if absent.

        Raises:
            ConfigError: the value is not of ``kind``.
        """
        if name not in self.table:
            return self._default(name)
        value = self.table.pop(name)
        # bool is an int in Python; a number key given `true` is still a mistake.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise ConfigError(self.key(name), value, f"must be {_type_name(kind)}")
        if not isinstance(value, kind):
            raise ConfigError(self.key(name), value, f"must be {_type_name(kind)}")
        return value

    def _default(self, name: str) -> Any:
        field = self._fields.get(name)
        if field is None:
            return None
        if field.default_factory is not MISSING:
            return field.default_factory()
        return None if field.default is MISSING else field.default

    def positive(self, name: str) -> float:
        """A number greater than 0, as a float.

        Raises:
            ConfigError: not a number, or not greater than 0.
        """
        value = self.take(name, (int, float))
        if value <= 0:
            raise ConfigError(self.key(name), value, "must be a number greater than 0")
        return float(value)

    def time(self, name: str) -> dt.time:
        """A time of day, written "HH:MM" (or a TOML local time).

        Raises:
            ConfigError: not a time of day.
        """
        value = self.take(name, (str, dt.time))
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
