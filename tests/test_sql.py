"""The named queries ship with the package and run on real DuckDB."""

from __future__ import annotations

import pytest

import sql


def test_a_named_query_is_read_from_its_sql_file() -> None:
    assert "QUALIFY row_number()" in sql.query("latest_books")


def test_an_unknown_query_name_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        sql.query("no_such_query")
