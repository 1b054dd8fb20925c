"""The canonical build's statements on another engine (closedloop/engines/canon_build.py): a DuckDB macro expanded
where it is called, a guard that stops the build with its own message, a statement the engine refuses named by
file and line, and UPDATE / DELETE rewritten for Spark with DuckDB's results. Whole estates built on PostgreSQL and
Spark, equal to DuckDB's model row for row: tests/demo/test_profiles.py."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from checks.remote import Remote
from closedloop.engines import open_engine
from closedloop.engines.canon_build import Builder
from closedloop.sqlfiles import PipelineError

MODEL = """
CREATE SCHEMA IF NOT EXISTS canon;
CREATE TABLE canon.client(client_id VARCHAR, crm_account_id VARCHAR, erp_customer_id VARCHAR, name VARCHAR,
    payment_terms_days INTEGER, correlation_id VARCHAR);
CREATE TABLE canon.invoice(invoice_id VARCHAR, client_id VARCHAR, amount_net DECIMAL(18,2), due_date DATE,
    correlation_id VARCHAR);
"""
ROWS = """
INSERT INTO canon.client VALUES ('A1', 'A1', NULL, 'Acme', NULL, 'C-1'), ('E1', 'A1', 'E1', 'ACME CORP', 30, NULL),
    ('E2', NULL, 'E2', 'Solo', 45, NULL), ('B1', 'B1', NULL, 'Beta', NULL, NULL);
INSERT INTO canon.invoice VALUES ('I1', 'E1', 100.10, DATE '2026-01-31', NULL), ('I2', 'E2', 50.00, NULL, NULL),
    ('I3', 'X9', 7.25, DATE '2026-02-28', 'C-9');
"""
RESOLVE = """
UPDATE canon.client AS a SET erp_customer_id = e.erp_customer_id, payment_terms_days = e.payment_terms_days
FROM canon.client AS e
WHERE a.client_id = a.crm_account_id AND a.erp_customer_id IS NULL
  AND e.client_id = e.erp_customer_id AND e.crm_account_id = a.crm_account_id;
DELETE FROM canon.client
WHERE client_id = erp_customer_id
  AND erp_customer_id IN (SELECT erp_customer_id FROM canon.client WHERE client_id = crm_account_id);
UPDATE canon.invoice AS t SET client_id = c.client_id, correlation_id = c.correlation_id
FROM canon.client AS c WHERE c.erp_customer_id = t.client_id AND c.client_id <> t.client_id;
UPDATE canon.invoice SET due_date = DATE '2026-03-31', amount_net = amount_net * 2 WHERE due_date IS NULL;
"""


def _local() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(MODEL + ROWS + RESOLVE)
    return con


def _built(engine, schema: str, path: Path) -> Remote:
    remote = Remote(engine, canonical_schema=schema, work_schema=schema + "_work", canonical="build")
    engine.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    path.write_text(MODEL.replace("CREATE SCHEMA IF NOT EXISTS canon;", "") + ROWS + RESOLVE)
    Builder(remote, _local()).run_file(path, path.read_text())
    return remote


def _rows(remote: Remote, table: str) -> list[tuple]:
    got = remote.engine.fetch_arrow(f"SELECT * FROM {remote.name('canon.' + table)}").to_pylist()
    return sorted((tuple(r.values()) for r in got), key=str)


def _expected(table: str) -> list[tuple]:
    return sorted(_local().execute(f"SELECT * FROM canon.{table}").fetchall(), key=str)


def test_update_from_and_delete_give_duckdbs_rows_on_postgres_and_spark(pg, spark, tmp_path):
    engine = open_engine("postgres", pg.url, pg.password)
    try:
        for remote in (
            _built(engine, "cb_pg", tmp_path / "pg.sql"),
            _built(spark, "cb_spark", tmp_path / "s.sql"),
        ):
            for table in ("client", "invoice"):
                assert _rows(remote, table) == _expected(table), (remote.engine.kind, table)
        assert [r[0] for r in _expected("client")] == ["A1", "B1", "E2"]  # the merged ERP row went
    finally:
        engine.execute("DROP SCHEMA IF EXISTS cb_pg CASCADE")
        spark.execute("DROP DATABASE IF EXISTS cb_spark CASCADE")
        engine.close()


def test_a_macro_is_expanded_where_it_is_called_and_a_malformed_value_try_casts_to_null(pg, tmp_path):
    engine = open_engine("postgres", pg.url, pg.password)
    remote = Remote(engine, canonical_schema="cb_macro", work_schema="cb_macro_work", canonical="build")
    for schema in ("cb_macro", "cb_macro_work"):
        engine.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    path = tmp_path / "mapping.sql"
    path.write_text(
        "CREATE TABLE canon.t(k VARCHAR, days INTEGER, amount DECIMAL(18,2));\n"
        "CREATE OR REPLACE TEMP MACRO terms_days(k) AS TRY_CAST(regexp_extract(k, '(\\d+)$', 1) AS INTEGER);\n"
        "INSERT INTO canon.t SELECT x, terms_days(x), TRY_CAST(a AS DECIMAL(18,2))\n"
        "FROM (VALUES ('NET30', '12.5'), ('DUE', 'N/A'), (NULL, NULL)) v(x, a);\n"
        "DROP MACRO IF EXISTS terms_days;\n"
    )
    try:
        Builder(remote, duckdb.connect()).run_file(path, path.read_text())
        local = duckdb.connect()
        local.execute(path.read_text().replace("canon.t", "t"))
        want = sorted(local.execute("SELECT * FROM t").fetchall(), key=str)
        assert want == [("DUE", None, None), ("NET30", 30, Decimal("12.50")), (None, None, None)]
        assert _rows(remote, "t") == want
    finally:
        for schema in ("cb_macro", "cb_macro_work"):
            engine.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.close()


def test_a_guard_stops_the_build_with_its_message_and_a_refused_statement_names_file_and_line(pg, tmp_path):
    engine = open_engine("postgres", pg.url, pg.password)
    remote = Remote(engine, canonical_schema="cb_guard", canonical="build")
    builder = Builder(remote, duckdb.connect())
    path = tmp_path / "mapping.sql"
    quiet = "SELECT error('never') FROM (SELECT 1 AS n) WHERE n > 1;\n"
    loud = "SELECT error('sources.x.links: ' || n || ' references match nothing') FROM (SELECT 3 AS n);\n"
    try:
        builder.run_file(path, quiet)  # no row: the build goes on
        with pytest.raises(PipelineError) as guard:
            builder.run_file(path, quiet + loud)
        assert str(guard.value) == f"{path}: line 2: sources.x.links: 3 references match nothing"
        with pytest.raises(PipelineError) as refused:
            builder.run_file(path, quiet + "\nSELECT * FROM canon.nowhere;\n")
        assert str(refused.value).startswith(f"{path}: line 3 does not run on postgres:")
        assert "cb_guard.nowhere" in str(refused.value)
    finally:
        engine.close()
