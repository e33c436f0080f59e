"""``bondtape.Lake``: one object for a data_dir, with what a notebook asks of the lake.

Named for what a user opens (the lake under ``data_dir``, read-only), as nautilus has one
``ParquetDataCatalog`` and ArcticDB one ``Library`` to read from; the writer side's
``storage.lake.Lake`` is internal and never exported here. Every method calls storage/;
this module only checks arguments where the call is, and keeps the connection current.

It holds one read-only DuckDB connection on ``catalog.duckdb``. The catalog is rebuilt as
the lake changes, by an atomic rename: before each call the file is compared with the one
the connection opened (inode, size, mtime), and a changed one is opened afresh, so each call
sees the lake's latest committed state. Relations handed out earlier keep the connection
they were made on (it closes when the last of them goes), and so the state they planned on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from capture.clock import SEOUL, SystemClock
from capture.errors import ConfigError, StorageError
from storage.read import (
    BATCH_ROWS,
    CATALOG_NAME,
    Book,
    DateLike,
    Event,
    book_at,
    checked,
    event_batches,
    events,
    named_query,
    open_catalog,
    parse_date,
    parse_isins,
    parse_range,
)
from storage.report import Report, ReportSettings, build_report

Instant = dt.datetime | str
"""An instant: an aware datetime, or one without a zone (or ISO text) read as Seoul's."""

_ORDER = 'recv_ns, segment, "offset", record_index'
_ORDERS = {"quotes": _ORDER, "trades": _ORDER, "gaps": 'start_ts, segment, "offset"'}


class Lake:
    """The lake of ``data_dir``, read-only: its dates and ISINs, books, the tables over a
    date range as lazy DuckDB relations, named queries and SQL, the event stream, and the
    day's integrity report. A context manager; :meth:`close` ends it.

    Raises:
        StorageError: ``data_dir`` has no catalog (the message says how to build it).
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self._path = self.data_dir / CATALOG_NAME
        self._con: duckdb.DuckDBPyConnection | None = None
        self._opened: tuple[int, int, int] | None = None
        self._closed = False
        self._connection()

    def __enter__(self) -> Lake:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"bondtape.Lake({str(self.data_dir)!r})"

    def close(self) -> None:
        """Close the connection; relations made from it can no longer run."""
        if self._con is not None:
            self._con.close()
        self._con, self._closed = None, True

    # What is there

    def dates(self) -> list[dt.date]:
        """The Seoul trading dates with any quote or trade, in order."""
        rows = self._connection().sql(
            "SELECT DISTINCT date FROM (SELECT date FROM quotes UNION ALL "
            "SELECT date FROM trades) ORDER BY date"
        )
        return [day for (day,) in rows.fetchall()]

    def isins(self, start: DateLike | None = None, end: DateLike | None = None) -> list[str]:
        """The ISINs with any quote or trade on the dates ``start`` to ``end`` (default: any
        date; ``end`` defaults to ``start``), in order.

        Raises:
            ConfigError: a date is not one, or ``end`` is before ``start``.
        """
        dates = "NULL, NULL" if start is None else _dates_between(start, end)
        rows = self._connection().sql(
            f"SELECT DISTINCT isin FROM (SELECT isin FROM quotes_between({dates}) UNION ALL "
            f"SELECT isin FROM trades_between({dates})) ORDER BY isin"
        )
        return [isin for (isin,) in rows.fetchall()]

    # Books

    def book(self, isin: str, at: Instant) -> Book | None:
        """``isin``'s book at ``at``: its latest quote of ``at``'s Seoul day received at or
        before it (as the query ``book_asof`` decides); None if it had none by then.

        Raises:
            ConfigError: ``isin`` is not an ISIN, or ``at`` not an instant.
        """
        (one,) = parse_isins([isin])
        return book_at(self._connection(), one, _instant(at))

    def books_asof(
        self, at: Instant, isins: Iterable[str] | str | None = None
    ) -> duckdb.DuckDBPyRelation:
        """Every ISIN's book at ``at`` (or those of ``isins``), one row per ISIN, as the
        named query ``book_asof`` gives it.

        Raises:
            ConfigError: ``at`` is not an instant, or an ISIN is not one.
        """
        return self.query("book_asof", at=_instant(at), isins=parse_isins(isins))

    # Tables over a date range

    def quotes(
        self,
        start: DateLike,
        end: DateLike | None = None,
        isins: Iterable[str] | str | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """The book updates of the Seoul dates ``start`` to ``end`` (included; default
        ``start`` alone) of ``isins`` (default all), in receipt order, lazily: ``.arrow()``,
        ``.df()``, ``.pl()`` or more SQL on it read them.

        Raises:
            ConfigError: a date is not one, ``end`` is before ``start``, an ISIN is not one.
        """
        return self._table("quotes", start, end, isins)

    def trades(
        self,
        start: DateLike,
        end: DateLike | None = None,
        isins: Iterable[str] | str | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """The trades of those dates and ISINs, as :meth:`quotes` gives book updates."""
        return self._table("trades", start, end, isins)

    def gaps(
        self,
        start: DateLike,
        end: DateLike | None = None,
        isins: Iterable[str] | str | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """The gaps opened on those dates (a gap is dated by its start), of those ISINs, by
        start: when a connection was down and which feeds it carried."""
        return self._table("gaps", start, end, isins)

    def _table(
        self,
        view: str,
        start: DateLike,
        end: DateLike | None,
        isins: Iterable[str] | str | None,
    ) -> duckdb.DuckDBPyRelation:
        """Raises: ConfigError: a date or an ISIN is not one."""
        dates = _dates_between(start, end)
        chosen = parse_isins(isins)
        where = ""
        if chosen is not None:  # shapes checked: safe to write into the SQL
            where = "WHERE isin IN (" + ", ".join(f"'{isin}'" for isin in chosen) + ")"
        return self._connection().sql(
            f"FROM {view}_between({dates}) {where} ORDER BY {_ORDERS[view]}"
        )

    # SQL

    def query(self, name: str, **params: object) -> duckdb.DuckDBPyRelation:
        """The named query ``name`` (``sql/queries/NAME.sql``; ``bondtape query --list``
        describes them) with its parameters: text, or Python values (instants, dates,
        numbers; a list for a list parameter), lazily.

        Raises:
            ConfigError: no such query, or a parameter is unknown, missing or not its type.
        """
        named = named_query(name)
        con = self._connection()
        texts = {key: _text(value) for key, value in params.items() if value is not None}
        return con.sql(named.text, params=checked(con, named, texts))

    def sql(self, text: str, **params: object) -> duckdb.DuckDBPyRelation:
        """Any SQL over the catalog's views and macros, ``$name`` bound to ``params``,
        lazily (a statement that returns no rows runs at once and gives None).

        Raises:
            StorageError: DuckDB refuses the SQL (the message is DuckDB's).
        """
        try:
            return self._connection().sql(text, params=params or None)
        except duckdb.Error as exc:
            raise StorageError(f"the SQL failed: {exc}") from exc

    # The event stream

    def events(
        self,
        start: DateLike,
        end: DateLike | None = None,
        isins: Iterable[str] | str | None = None,
    ) -> Iterator[Event]:
        """Every quote and trade of those dates and ISINs in receipt order, as
        :class:`~storage.read.Book` and :class:`~storage.read.Trade` objects.

        Raises:
            ConfigError: a date or an ISIN is not one, or ``end`` is before ``start``.
        """
        self._connection()  # closed, or the catalog gone: say so here
        return events(self.data_dir, start, end, isins)

    def event_batches(
        self,
        start: DateLike,
        end: DateLike | None = None,
        isins: Iterable[str] | str | None = None,
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        """The same stream as Arrow record batches of ``storage.read.EVENT_SCHEMA``.

        Raises:
            ConfigError: a date or an ISIN is not one, or ``end`` is before ``start``.
        """
        self._connection()
        return event_batches(self.data_dir, start, end, isins, batch_rows=batch_rows)

    # Integrity

    def report(self, date: DateLike, settings: ReportSettings | None = None) -> Report:
        """The integrity report of the Seoul date ``date`` (what ``bondtape report`` prints
        and saves), built now from raw and the lake; ``settings`` default to KRX's regular
        session and the command's thresholds. ``.balanced`` says whether raw and the lake
        agree, ``.to_json()`` gives it all.

        Raises:
            ConfigError: ``date`` is not a date.
            StorageError: raw or the lake's checkpoint cannot be read.
        """
        day = parse_date("date", date)
        self._connection()
        return build_report(self.data_dir, day, settings or ReportSettings(), SystemClock())

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """The connection, opened afresh if the catalog file changed since.

        Raises:
            StorageError: the lake is closed, or there is no catalog.
        """
        if self._closed:
            raise StorageError(f"{self!r} is closed: open a new one")
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            raise StorageError(
                f"no catalog at {self._path}: build it first with `bondtape catalog "
                f"--data-dir {self.data_dir}` (or --config F)"
            ) from None
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if self._con is None or seen != self._opened:
            # Not closed: relations made on the old one keep it until they go. Its own
            # instance, or DuckDB would hand back the old file while they live.
            self._con = open_catalog(self.data_dir)
            self._opened = seen
        return self._con


def _dates_between(start: DateLike, end: DateLike | None) -> str:
    """The arguments of a ``<table>_between`` macro for ``start`` to ``end`` (default
    ``start``): the catalog's date macros read only those days' files.

    Raises: ConfigError: a date is not one, or the range ends before it starts."""
    first, last = parse_range(start, end)
    return f"DATE '{first.isoformat()}', DATE '{last.isoformat()}'"


def _instant(at: Instant) -> dt.datetime:
    """``at`` as an aware datetime (Seoul's when it has no zone).

    Raises: ConfigError: ``at`` is neither a datetime nor ISO text."""
    if isinstance(at, str):
        with contextlib.suppress(ValueError):
            at = dt.datetime.fromisoformat(at)
    if not isinstance(at, dt.datetime):
        raise ConfigError("at", at, "give an instant: a datetime, or text such as "
                          "'2026-11-26 10:30:00' (Seoul unless it has an offset)")  # fmt: skip
    return at if at.tzinfo is not None else at.replace(tzinfo=SEOUL)


def _text(value: object) -> str:
    """A Python value as the text a named query's parameter takes (a list: comma-separated;
    instants and dates in ISO form, which DuckDB casts)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date):  # datetimes too: ISO 8601 with their offset
        return value.isoformat()
    if isinstance(value, Iterable):
        return ",".join(_text(item) for item in value)
    return str(value)
