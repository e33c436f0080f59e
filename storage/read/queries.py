"""Named queries (``sql/queries/NAME.sql``): their headers and parameters, and running them,
or any SQL, read-only over the catalog.

A query file starts with a header of ``--`` lines: what the query answers and how, then one
entry per parameter, its name, the DuckDB type its value is cast to, and ``required`` or its
default, an entry going on over lines indented further::

    -- Parameters (the text given is cast to the type shown; one left out is NULL):
    --   $at TIMESTAMPTZ, required: the instant, e.g. '2026-11-26 10:30:00+09:00'; text
    --       without an offset is read in the session's TimeZone ...
    --   $isins VARCHAR[], default all ISINs: the ISINs to show ...

Values arrive as text (the command line's ``k=v``); a list parameter (a type ending in
``[]``) takes comma-separated items. Each value is first cast to its type in DuckDB, so that a
bad one is an error naming the parameter, and is then passed on as text: the SQL casts every
parameter itself (``CAST($at AS TIMESTAMPTZ)``), so a file runs the same in any DuckDB session
given text, and one left out is NULL, for which the SQL applies its default. The session's
TimeZone is Asia/Seoul: that is how a time without an offset is read, and how results show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

import sql
from capture.errors import ConfigError, StorageError
from storage.read.catalog import connect

"""The catalog, under ``data_dir``: views and macros only, built by ``bondtape catalog``."""

SESSION_TIMEZONE = "Asia/Seoul"

Value = str | list[str] | None
"""A parameter's value as passed to DuckDB: text, a list of texts, or NULL."""

_PARAMETER = re.compile(
    r"\s+\$(?P<name>\w+) (?P<type>[A-Z]+(?:\[\])?), (?P<default>required|default .+?): "
    r"(?P<doc>.+)"
)
_CONTINUED = re.compile(r"\s{5,}\S.*")


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str  # the DuckDB type the SQL casts the value to
    required: bool
    doc: str  # "required: ..." or "default ...: ...", as the header says it

    @property
    def is_list(self) -> bool:
        return self.type.endswith("[]")


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    header: str  # the header's text, without the comment marks
    parameters: tuple[Parameter, ...]
    text: str  # the whole file, header included, as DuckDB runs it

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters]


def parse_query(name: str, text: str) -> NamedQuery:
    """A query file's header and parameters.

    Raises:
        ValueError: a header line starting with ``$`` is not a parameter entry (the file is
            shipped with bondtape, so this is a bug, caught by its tests).
    """
    lines: list[str] = []
    entries: list[tuple[re.Match[str], list[str]]] = []  # per parameter: entry, continuation
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        body = line[2:]
        lines.append(body.removeprefix(" "))
        if body.strip().startswith("$"):
            match = _PARAMETER.fullmatch(body)
            if match is None:
                raise ValueError(f"sql/queries/{name}.sql: not a parameter entry: {line!r}")
            entries.append((match, []))
        elif entries and _CONTINUED.fullmatch(body):
            entries[-1][1].append(body.strip())
    parameters = tuple(
        Parameter(
            name=match["name"],
            type=match["type"],
            required=match["default"] == "required",
            doc=" ".join([f"{match['default']}: {match['doc']}", *more]),
        )
        for match, more in entries
    )
    return NamedQuery(name, "\n".join(lines).strip(), parameters, text)


def named_queries() -> list[NamedQuery]:
    """Every named query, by name."""
    return [parse_query(name, text) for name, text in sql.named_queries().items()]


def named_query(name: str) -> NamedQuery:
    """The named query ``name``.

    Raises:
        ConfigError: there is no such query (the message lists them).
    """
    texts = sql.named_queries()
    if name not in texts:
        raise ConfigError(
            "query", name, f"no such query; the queries are {', '.join(texts)} "
            "(`bondtape query --list` describes them)",
        )  # fmt: skip
    return parse_query(name, texts[name])


def parse_assignments(texts: Iterable[str]) -> dict[str, str]:
    """``k=v`` texts (the command line's ``--param``) as a mapping.

    Raises:
        ConfigError: a text has no ``=``, or names a parameter already given.
    """
    values: dict[str, str] = {}
    for text in texts:
        key, equals, value = text.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ConfigError("--param", text, "write it as NAME=VALUE, e.g. at=2026-11-26 10:30")
        if key in values:
            raise ConfigError(
                "--param", text, f"{key} is given twice; give it once (a list parameter "
                "takes comma-separated items)",
            )  # fmt: skip
        values[key] = value
    return values


def bind(query: NamedQuery, values: Mapping[str, str]) -> dict[str, Value]:
    """Every parameter of ``query`` with its value: the text given, a list parameter's
    comma-separated items, or None (NULL: the SQL's default) for one left out.

    Raises:
        ConfigError: an unknown parameter, a required one missing, or an empty list.
    """
    names = ", ".join(query.parameter_names)
    for key in values:
        if key not in query.parameter_names:
            raise ConfigError(
                "--param", f"{key}={values[key]}",
                f"query {query.name!r} has no parameter {key!r}: its parameters are {names}",
            )  # fmt: skip
    bound: dict[str, Value] = {}
    for p in query.parameters:
        text = values.get(p.name)
        if text is None:
            if p.required:
                raise ConfigError(
                    "--param", None, f"query {query.name!r} needs {p.name}=VALUE "
                    f"({p.type}, {p.doc})",
                )  # fmt: skip
            bound[p.name] = None
        elif p.is_list:
            items = [item.strip() for item in text.split(",") if item.strip()]
            if not items:
                raise ConfigError(
                    "--param", f"{p.name}={text}", "give at least one item, comma-separated"
                )
            bound[p.name] = items
        else:
            bound[p.name] = text
    return bound


def open_catalog(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """The catalog read-only (see :func:`storage.read.catalog.connect`), in a session whose
    TimeZone is Asia/Seoul, so times without an offset are Seoul's. The caller closes it.

    Raises:
        StorageError: there is no catalog, or it cannot be opened.
    """
    con = connect(data_dir)
    con.execute(f"SET TimeZone = '{SESSION_TIMEZONE}'").fetchall()
    return con


def run_query(
    con: duckdb.DuckDBPyConnection, query: NamedQuery, values: Mapping[str, str]
) -> pa.Table:
    """Run a named query with text ``values`` (see :func:`bind`) and return its rows.

    Raises:
        ConfigError: a parameter is unknown, missing, or not of its type.
        StorageError: the query fails in DuckDB (a view or its files cannot be read).
    """
    return _rows(con, query.text, checked(con, query, values), f"query {query.name!r}")


def checked(
    con: duckdb.DuckDBPyConnection, query: NamedQuery, values: Mapping[str, str]
) -> dict[str, Value]:
    """Every parameter of ``query`` bound (see :func:`bind`), each text cast to its type in
    DuckDB first, so that a bad value is an error naming the parameter.

    Raises:
        ConfigError: a parameter is unknown, missing, or not of its type.
    """
    bound = bind(query, values)
    by_name = {p.name: p for p in query.parameters}
    for name, value in bound.items():
        if isinstance(value, str):
            _check_cast(con, by_name[name], value)
    return bound


def run_sql(
    con: duckdb.DuckDBPyConnection, text: str, params: Mapping[str, object] | None = None
) -> pa.Table:
    """Run any SQL, with ``$name`` parameters bound to ``params`` (Python values); the last
    statement's rows are returned.

    Raises:
        ConfigError: the text holds no statement.
        StorageError: DuckDB refuses or fails it (the message is DuckDB's).
    """
    return _rows(con, text, dict(params or {}), "the SQL")


def _check_cast(con: duckdb.DuckDBPyConnection, parameter: Parameter, text: str) -> None:
    """Raises: ConfigError: ``text`` does not cast to the parameter's type."""
    try:
        con.execute(f"SELECT CAST($value AS {parameter.type})", {"value": text}).fetchall()
    except duckdb.ConversionException as exc:
        reason = str(exc).splitlines()[0].removeprefix("Conversion Error: ")
        raise ConfigError(
            "--param", f"{parameter.name}={text}", f"not a {parameter.type} ({reason})"
        ) from None


def _rows(
    con: duckdb.DuckDBPyConnection, text: str, params: Mapping[str, object], what: str
) -> pa.Table:
    """Raises: ConfigError: no statement in ``text``. StorageError: DuckDB fails it."""
    try:
        relation = con.sql(text, params=params or None)
        table = None if relation is None else relation.to_arrow_table()
    except duckdb.Error as exc:
        raise StorageError(f"{what} failed: {exc}") from exc
    if table is None:
        raise ConfigError("SQL", text, "holds no statement: give a query such as SELECT ...")
    return table
