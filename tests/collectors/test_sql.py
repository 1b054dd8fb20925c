"""The SQL collector: any SQLAlchemy URL, chunked, read-only, password never in messages."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import duckdb
import pytest

from collectors.base import Stream, StreamState
from collectors.runner import collect_source
from collectors.sql import SqlCollector

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "erp.sqlite"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE invoices(id TEXT, amount NUMERIC, issued DATE)")
        c.executemany(
            "INSERT INTO invoices VALUES (?, ?, ?)", [(f"I{i}", f"{i}.25", "2026-10-01") for i in range(250)]
        )
    return path


def test_tables_and_queries_arrive_in_chunks(db):
    cfg = {
        "url": f"sqlite:///{db}",
        "streams": {"invoices": "invoices", "big": "SELECT id, amount FROM invoices WHERE amount > 100"},
        "chunk_rows": 100,
    }
    con = duckdb.connect()
    res = collect_source(con, SqlCollector(cfg), run_id="r", extracted_at=NOW)
    assert res.status == "ok", res.errors
    assert {s.stream: s.rows for s in res.streams} == {"big": 150, "invoices": 250}
    assert con.execute("SELECT max(_source_row) FROM raw.sql__invoices").fetchone()[0] == 250
    total = con.execute("SELECT sum(CAST(amount AS DECIMAL(18,2))) FROM raw.sql__invoices").fetchone()[0]
    assert total == sum(Decimal(f"{i}.25") for i in range(250))


def test_the_source_database_is_opened_read_only(db):
    collector = SqlCollector({"url": f"sqlite:///{db}", "streams": {"x": "invoices"}, "chunk_rows": 10})
    with collector._engine().connect() as conn, pytest.raises(Exception, match="readonly"):
        conn.exec_driver_sql("DELETE FROM invoices")


def test_errors_name_the_database_without_the_password(tmp_path):
    cfg = {"url": "postgresql://app@127.0.0.1:1/erp", "streams": {"x": "invoices"}, "chunk_rows": 10}
    collector = SqlCollector(cfg, password="s3cr3t-pw")
    con = duckdb.connect()
    res = collect_source(con, collector, run_id="r", extracted_at=NOW)
    assert res.status == "failed"
    assert "database postgresql://app:***@127.0.0.1:1/erp" in res.errors[0]
    assert "s3cr3t-pw" not in res.errors[0]


def test_a_stream_that_is_neither_table_nor_select_is_refused(db):
    collector = SqlCollector(
        {"url": f"sqlite:///{db}", "streams": {"x": "invoices; DROP TABLE x"}, "chunk_rows": 10}
    )
    with pytest.raises(Exception, match="neither a table name nor a SELECT"):
        list(collector.read(Stream("x", ()), StreamState()))
