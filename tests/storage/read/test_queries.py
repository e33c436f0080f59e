"""Named queries as files: each header declares exactly the parameters its SQL uses; values
are bound and checked with errors that name the fix; results do not depend on the session."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from capture.errors import ConfigError, StorageError
from capture.kis.bond_master import Bond
from storage.lake.bonds import bonds_table, save_bonds
from storage.read.queries import (
    bind,
    named_queries,
    named_query,
    open_catalog,
    parse_assignments,
    parse_query,
    run_query,
    run_sql,
)
from tests.support.catalog_data import CORP, DAY, GOV, catalog_dir, gap, quote, trade

NAMES = [
    "bars", "book_asof", "coverage", "curve", "depth_imbalance", "gaps_report",
    "mid_spread", "trades_summary", "trades_with_quote", "volume_check",
]  # fmt: skip


def test_every_named_query_ships_with_a_summary_and_its_parameters() -> None:
    queries = named_queries()
    assert [q.name for q in queries] == NAMES
    for query in queries:
        summary = query.header.split("\n\n")[0]
        assert summary.endswith(".") and len(summary) > 40, query.name
        assert query.parameters, query.name
        assert all(p.doc for p in query.parameters)


@pytest.mark.parametrize("name", NAMES)
def test_the_sql_casts_each_parameter_to_the_type_its_header_declares_and_no_other(
    name: str,
) -> None:
    query = named_query(name)
    body = re.sub(r"--.*", "", query.text)  # the header and comments go
    used = re.findall(r"\$(\w+)", body)
    casts = re.findall(r"CAST\(\$(\w+) AS ([A-Z]+(?:\[\])?)\)", body)
    declared = {p.name: p.type for p in query.parameters}
    assert set(used) == set(declared)
    assert len(casts) == len(used)  # every use is a cast...
    assert {param: declared[param] for param, _ in casts} == dict(casts)  # ...to its type


def test_a_header_entry_reads_name_type_default_and_doc_over_continued_lines() -> None:
    query = parse_query(
        "q",
        "-- Summary line.\n"
        "--   $at TIMESTAMPTZ, required: the instant; text\n"
        "--       without an offset is Seoul time.\n"
        "--   $open TIME, default '08:00': when it opens.\n"
        "SELECT CAST($at AS TIMESTAMPTZ), CAST($open AS TIME)\n",
    )
    assert [(p.name, p.type, p.required, p.doc) for p in query.parameters] == [
        ("at", "TIMESTAMPTZ", True, "required: the instant; text without an offset is Seoul time."),
        ("open", "TIME", False, "default '08:00': when it opens."),
    ]
    assert query.header.splitlines()[0] == "Summary line."
    with pytest.raises(ValueError, match="not a parameter entry"):
        parse_query("q", "-- Summary.\n--   $at: the instant\nSELECT 1\n")


def test_bind_gives_every_parameter_a_value_lists_split_on_commas_others_null() -> None:
    query = named_query("bars")
    assert bind(query, {"date": "2026-11-26", "isins": f" {GOV},,{CORP} "}) == {
        "date": "2026-11-26",
        "to_date": None,
        "interval": None,
        "isins": [GOV, CORP],
    }


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("book_asof", {"isn": GOV}, "query 'book_asof' has no parameter 'isn': its parameters "
         "are at, isins"),
        ("book_asof", {}, "query 'book_asof' needs at=VALUE (TIMESTAMPTZ, required: the instant"),
        ("book_asof", {"at": "2026-11-26", "isins": " , "}, "give at least one item"),
    ],
)  # fmt: skip
def test_bind_refuses_an_unknown_a_missing_or_an_empty_parameter(
    name: str, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        bind(named_query(name), values)
    assert message in str(caught.value)
    assert caught.value.exit_status == 2


def test_parse_assignments_reads_name_equals_value_once_each() -> None:
    assert parse_assignments(["at=2026-11-26 10:30:00+09:00", "isins=A,B", "x="]) == {
        "at": "2026-11-26 10:30:00+09:00",
        "isins": "A,B",
        "x": "",
    }
    with pytest.raises(ConfigError, match="write it as NAME=VALUE"):
        parse_assignments(["at"])
    with pytest.raises(ConfigError, match="isins is given twice; give it once"):
        parse_assignments(["isins=A", "isins=B"])


def test_an_unknown_query_name_lists_the_queries() -> None:
    with pytest.raises(ConfigError) as caught:
        named_query("book")
    assert "no such query; the queries are bars, book_asof, coverage," in str(caught.value)


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("book_asof", {"at": "yesterday"}, "--param = 'at=yesterday': not a TIMESTAMPTZ"),
        ("bars", {"date": "2026-13-01"}, "'date=2026-13-01': not a DATE"),
        ("bars", {"interval": "fortnightly"}, "'interval=fortnightly': not a INTERVAL"),
        ("coverage", {"session_open": "8h"}, "'session_open=8h': not a TIME"),
    ],
)
def test_a_value_not_of_its_type_is_an_error_naming_the_parameter(
    tmp_path: Path, name: str, values: dict[str, str], message: str
) -> None:
    with open_catalog(catalog_dir(tmp_path)) as con, pytest.raises(ConfigError) as caught:
        run_query(con, named_query(name), values)
    assert message in str(caught.value)


def test_a_missing_or_unreadable_catalog_is_a_storage_error_saying_what_to_run(
    tmp_path: Path,
) -> None:
    with pytest.raises(StorageError, match=r"build it first with `bondtape catalog --config F`"):
        open_catalog(tmp_path)
    (tmp_path / "catalog.duckdb").write_text("not a database")
    with pytest.raises(StorageError, match=r"cannot open the catalog .* read-only"):
        open_catalog(tmp_path)


def test_run_sql_is_read_only_and_reports_duckdbs_message(tmp_path: Path) -> None:
    with open_catalog(catalog_dir(tmp_path, quotes=[quote(GOV, f"{DAY} 10:00:00")])) as con:
        assert run_sql(con, "SELECT count(*) AS n FROM quotes").to_pylist() == [{"n": 1}]
        with pytest.raises(StorageError, match=r"the SQL failed: .*read-only"):
            run_sql(con, "CREATE TABLE copied AS FROM quotes")
        with pytest.raises(StorageError, match=r"the SQL failed: .*no_such_view"):
            run_sql(con, "SELECT * FROM no_such_view")
        with pytest.raises(ConfigError, match="holds no statement"):
            run_sql(con, "  ")


SESSION_PARAMS = {  # every instant with an explicit offset, so no session reads it
    "bars": {"date": DAY, "interval": "1 day"},
    "book_asof": {"at": f"{DAY} 08:45:00+09:00"},
    "coverage": {"date": DAY, "until": f"{DAY} 23:00:00+09:00"},
    "curve": {"at": f"{DAY} 08:45:00+09:00"},  # 23:45 the day before, in UTC
    "depth_imbalance": {"isin": GOV},
    "gaps_report": {"date": DAY, "until": f"{DAY} 23:00:00+09:00"},
    "mid_spread": {"isin": GOV, "start": f"{DAY} 00:00:00+09:00"},
    "trades_summary": {"date": DAY},
    "trades_with_quote": {"isin": GOV, "date": DAY},
    "volume_check": {"date": DAY},
}


@pytest.mark.parametrize("name", NAMES)
def test_a_query_answers_the_same_in_any_session_time_zone_given_offsets(
    tmp_path: Path, name: str
) -> None:
    """Seoul dates, bars and sessions come from the SQL, not the session: the text runs as is
    in a plain DuckDB session (``con.execute(text, params)``) in UTC or New York."""
    data = catalog_dir(
        tmp_path,
        # 08:30 Seoul is 23:30 UTC the day before: a UTC reading would change the date.
        quotes=[quote(GOV, f"{DAY} 08:30:00"), quote(GOV, f"{DAY} 10:00:00")],
        trades=[trade(GOV, f"{DAY} 08:40:00", "10570.00", 1)],
        gaps=[gap(GOV, f"{DAY} 08:10:00", f"{DAY} 08:20:00"), gap(CORP, f"{DAY} 09:00:00", None)],
    )
    bonds = [Bond(GOV, "국고", "01", "01", "01", None, None, dt.date(2053, 12, 10))]
    save_bonds(data / "lake", bonds_table(bonds)[0])
    query = named_query(name)
    params = bind(query, SESSION_PARAMS[name])
    answers = []
    for zone in ("Asia/Seoul", "UTC", "America/New_York"):
        with duckdb.connect(str(data / "catalog.duckdb"), read_only=True) as con:
            con.execute(f"SET TimeZone = '{zone}'").fetchall()
            answers.append(con.execute(query.text, params).fetchall())
    assert answers[0]
    assert answers[1] == answers[0] and answers[2] == answers[0]
