"""Parse a batch of plain-text data frames into typed rows, vectorized in DuckDB.

Input is one Arrow table of frames (``FRAME_SCHEMA``): the text ``E|TR_ID|NNN|payload`` with
its lineage. ``1|`` frames arrive here already decrypted (storage/normalize/demux.py does that, one
frame at a time, as it must); everything else happens in set-oriented SQL: split the header,
validate flag/TR/count/width, explode multi-record frames with ``unnest(range(n))``, index the
``^``-split fields, check each value against its kind's pattern (storage/schemas.py), then
cast. A frame that fails a header check is one reject; a record with a bad value is one reject
naming the first bad column; nothing is dropped and nothing raises for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from capture.kis import LAYOUTS, RECORD_COUNT, Field, Layout
from storage.schemas import FEED_TABLES, INSTANT, KIND_TYPES, instants

FRAME_SCHEMA = pa.schema(
    [
        ("frame_no", pa.int64()),
        ("text", pa.string()),
        ("recv_ns", pa.int64()),
        ("conn_id", pa.int64()),
        ("segment", pa.string()),
        ("offset", pa.int64()),
    ]
)

REJECT_SCHEMA = pa.schema(
    [("frame_no", pa.int64()), ("record_index", pa.int32()), ("reason", pa.string())]
)

_CHUNK_ROWS = 16_384
"""Rows per Arrow record batch fed to DuckDB: it scans Arrow input in parallel by batch, where
a 100k-row table of its own would be one row group, scanned by one thread."""

_US_PER_DAY = 86_400_000_000

_RECV_WALL_US = (
    "epoch_us(timezone('Asia/Seoul', to_timestamp(recv_ns // 1000000000))) "
    "+ recv_ns // 1000 % 1000000"
)
"""The Seoul wall clock at ``recv_ns`` as microseconds since 1970-01-01 00:00 (wall), from one
time zone conversion per record. The conversion is fed whole seconds: ``to_timestamp`` takes
a DOUBLE, exact for whole seconds, and zone offsets are whole seconds."""

_EXCH_TIME_US = (
    "(substr(exch_time, 1, 2)::BIGINT * 3600 + substr(exch_time, 3, 2)::BIGINT * 60 "
    "+ substr(exch_time, 5, 2)::BIGINT) * 1000000"
)
"""``exch_time``'s Seoul time of day in microseconds, from its text (HHMMSS, validated)."""

_EXCH_US = f"""
    recv_ns // 1000 + exch_delta_us + CASE
        WHEN exch_delta_us > {_US_PER_DAY // 2} THEN -{_US_PER_DAY}
        WHEN exch_delta_us < -{_US_PER_DAY // 2} THEN {_US_PER_DAY}
        ELSE 0 END
"""
"""``exch_ts`` in UTC microseconds: ``exch_time`` on the Seoul date that puts it nearest
``recv_ts``, i.e. the date of recv_ts, the day before (stamped 23:59:59, received after
midnight) or the day after (an exchange clock slightly ahead: received 23:59:59.8, stamped
00:00:01). ``exch_delta_us`` is exch_time minus recv_ts's Seoul time of day, so adding it to
recv_ts lands on exch_time that day; a day is added or taken when that is over 12 h away.
This takes the zone offset at recv_ts for exch_ts, exact while the offset does not change
within those 12 h (Asia/Seoul has had a fixed offset since 1988)."""


@dataclass(frozen=True, slots=True)
class ParsedFrames:
    """``rows``: per table name, schema columns + ``date``, sorted by (date, isin, lineage)."""

    rows: dict[str, pa.Table]
    rejects: pa.Table


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _header_sql() -> str:
    """Split the header and decide each frame's validity with cheap comparisons only.

    The reason text is not built here: ``_reasons_sql`` builds it for the few failing frames,
    as concatenating it (and TRY_CAST) for every frame cost more than copying the payload."""
    widths = " ".join(f"WHEN {_quote(tr)} THEN {lay.width}" for tr, lay in LAYOUTS.items())
    return f"""
    WITH h AS (
        SELECT frame_no, text, recv_ns, conn_id, segment, "offset",
               string_split(left(text, 64), '|') AS parts
        FROM frames),
    p AS (
        SELECT frame_no, recv_ns, conn_id, segment, "offset", len(parts) >= 4 AS has_header,
               parts[1] AS flag, parts[2] AS tr, parts[3] AS cnt,
               CASE parts[2] {widths} END AS width,
               CASE WHEN regexp_full_match(parts[3], {_quote(RECORD_COUNT)})
                   THEN parts[3]::BIGINT END AS n,
               substr(text, length(parts[1]) + length(parts[2]) + length(parts[3]) + 4)
                   AS payload
        FROM h),
    c AS (SELECT *, length(payload) - length(replace(payload, '^', '')) + 1 AS nfields FROM p)
    SELECT frame_no, recv_ns, conn_id, segment, "offset", tr, n, payload, nfields, has_header,
           flag, cnt, width,
           coalesce(has_header AND flag IN ('0', '1') AND n > 0 AND nfields = n * width, FALSE)
               AS ok
    FROM c
    """


_REASONS_SQL = """
    SELECT frame_no, NULL::INTEGER AS record_index,
        CASE
            WHEN NOT has_header THEN 'not a data frame: no E|TR_ID|NNN| header'
            WHEN flag NOT IN ('0', '1') THEN 'encryption flag ' || flag || ' is not 0 or 1'
            WHEN width IS NULL THEN 'unknown TR ' || tr
            WHEN n IS NULL OR n = 0 THEN 'record count ' || cnt || ' is not a positive number'
            ELSE tr || ' frame says ' || cnt || ' records of ' || width
                || ' fields, payload has ' || nfields || ' fields'
        END AS reason
    FROM framed WHERE NOT ok
    """
"""One reject per frame that fails a header check, with the first failed check as reason."""


def _value_sql(field: Field, var: str) -> str:
    """SQL typing the text in ``var``; only ever applied to text that matched the pattern."""
    return f"TRY_CAST({var} AS {KIND_TYPES[field.kind].sql})"


def _ok_sql(field: Field, var: str) -> str:
    pattern = KIND_TYPES[field.kind].pattern
    return "TRUE" if pattern is None else f"regexp_full_match({var}, {_quote(pattern)})"


def _records_sql(layout: Layout) -> str:
    w = layout.width
    lineage = 'frame_no, recv_ns, conn_id, segment, "offset", record_index'
    texts = ", ".join(f"f[record_index * {w} + {k + 1}] AS v{k}" for k in range(w))
    oks = ", ".join(f"{_ok_sql(fld, f'v{k}')} AS ok{k}" for k, fld in enumerate(layout.fields))
    values = ", ".join(
        f"CASE WHEN ok{k} THEN {_value_sql(fld, f'v{k}')} END AS {fld.column}"
        for k, fld in enumerate(layout.fields)
    )
    reasons = " ".join(
        f"WHEN NOT ok{k} THEN {_quote(f'{fld.column} ({fld.kis_name}) = ')} || "
        f"left(v{k}, 40) || {_quote(f' is not a valid {fld.kind.value}')}"
        for k, fld in enumerate(layout.fields)
        if KIND_TYPES[fld.kind].pattern is not None
    )
    return f"""
    WITH r AS (
        SELECT frame_no, recv_ns, conn_id, segment, "offset", string_split(payload, '^') AS f,
               unnest(range(n)) AS record_index
        FROM framed WHERE ok AND tr = {_quote(layout.tr_id)}),
    v AS (
        SELECT frame_no, recv_ns, conn_id, segment, "offset",
               record_index::INTEGER AS record_index, {_RECV_WALL_US} AS wall_us, {texts}
        FROM r),
    o AS (SELECT *, {oks} FROM v),
    t AS (
        SELECT {lineage}, CAST(make_timestamp(wall_us) AS DATE) AS date, {values},
               CASE {reasons} END AS reason,
               {_EXCH_TIME_US} - wall_us % {_US_PER_DAY} AS exch_delta_us
        FROM o)
    SELECT * EXCLUDE (exch_delta_us), {_EXCH_US} AS exch_us FROM t
    """


class FrameParser:
    """Owns an in-memory DuckDB connection (2 threads by default) reused across batches."""

    def __init__(self, threads: int = 2) -> None:
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"SET threads = {int(threads)}")
        self._header = _header_sql()
        self._records = {tr: _records_sql(lay) for tr, lay in LAYOUTS.items()}

    def parse(self, frames: pa.Table) -> ParsedFrames:
        """Rows per feed table and rejects, for a table shaped like ``FRAME_SCHEMA``."""
        con = self._con
        con.register("frames", _chunked(frames.cast(FRAME_SCHEMA)))
        try:
            con.register("framed", con.sql(self._header).to_arrow_table(_CHUNK_ROWS))
            rejects = [con.sql(_REASONS_SQL).to_arrow_table()]
            rows: dict[str, pa.Table] = {}
            for tr_id, sql in self._records.items():
                result = con.sql(sql).to_arrow_table()
                bad = pc.is_valid(result["reason"])
                rejects.append(result.filter(bad).select(["frame_no", "record_index", "reason"]))
                rows[FEED_TABLES[tr_id].name] = _typed(
                    tr_id, _sorted(result.filter(pc.invert(bad)))
                )
        finally:
            con.unregister("frames")
            con.unregister("framed")
        return ParsedFrames(rows, pa.concat_tables([r.cast(REJECT_SCHEMA) for r in rejects]))

    def close(self) -> None:
        self._con.close()


def _chunked(table: pa.Table) -> pa.Table:
    return pa.Table.from_batches(table.to_batches(max_chunksize=_CHUNK_ROWS), table.schema)


def _sorted(rows: pa.Table) -> pa.Table:
    """By (date, isin, frame_no, record_index): Arrow sorts the four keys and takes the rows,
    where DuckDB's ORDER BY moved every wide row through its sort (~50 ms per 100k records)."""
    keys = ["date", "isin", "frame_no", "record_index"]
    return rows.take(pc.sort_indices(rows.select(keys), [(k, "ascending") for k in keys]))


def _typed(tr_id: str, result: pa.Table) -> pa.Table:
    """Cast DuckDB's output to the table schema, plus the ``date`` partition column."""
    schema = FEED_TABLES[tr_id].schema
    columns = []
    for field in schema:
        if field.name == "recv_ts":
            columns.append(instants(result["recv_ns"]))
        elif field.name == "exch_ts":
            columns.append(result["exch_us"].cast(INSTANT))
        else:
            columns.append(result[field.name].cast(field.type))
    columns.append(result["date"].cast(pa.date32()))
    return pa.Table.from_arrays(columns, schema=schema.append(pa.field("date", pa.date32())))
