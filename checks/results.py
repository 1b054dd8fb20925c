"""DDL of the results.* tables and the carry-forward of history from the previous warehouse."""

from __future__ import annotations

import duckdb

RESULTS_DDL = """
CREATE SCHEMA IF NOT EXISTS results;
CREATE TABLE IF NOT EXISTS results.check_run(
  run_id VARCHAR, check_id VARCHAR, title VARCHAR, domain VARCHAR, owner VARCHAR, base_severity VARCHAR,
  impact_kind VARCHAR, status VARCHAR, row_count BIGINT, impact_rc DECIMAL(18,2), duration_ms DOUBLE,
  error VARCHAR, as_of DATE, params VARCHAR, stage VARCHAR, expected_loss_rc DECIMAL(18,2), money VARCHAR);
CREATE TABLE IF NOT EXISTS results.finding(
  run_id VARCHAR, finding_key VARCHAR, check_id VARCHAR, severity VARCHAR, base_severity VARCHAR,
  impact_kind VARCHAR, impact_rc DECIMAL(18,2), entity_type VARCHAR, entity_id VARCHAR, correlation_id VARCHAR,
  client_id VARCHAR, sow_id VARCHAR, project_id VARCHAR, invoice_id VARCHAR, legal_entity_id VARCHAR,
  event_date DATE, owner_team VARCHAR, first_seen_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ, status VARCHAR,
  reopened_count INTEGER, details VARCHAR, stage VARCHAR, expected_loss_rc DECIMAL(18,2), case_key VARCHAR);
CREATE TABLE IF NOT EXISTS results.finding_history(
  finding_key VARCHAR, check_id VARCHAR, entity_type VARCHAR, entity_id VARCHAR, correlation_id VARCHAR,
  invoice_id VARCHAR, first_seen_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ,
  reopened_count INTEGER, status VARCHAR, last_run_id VARCHAR, severity VARCHAR, impact_rc DECIMAL(18,2));
CREATE TABLE IF NOT EXISTS results.kpi(
  run_id VARCHAR, as_of DATE, kpi_id VARCHAR, name VARCHAR, value DOUBLE, unit VARCHAR, slice_kind VARCHAR,
  slice_value VARCHAR);
"""

# Every check's raw rows, before dedup and severity: in the in-memory helper catalog (checks/loader.py),
# since they are rewritten into results.finding once and writing them to the run file would cost twice.
STAGE_DDL = """
CREATE TABLE chk.finding_stage(
  run_id VARCHAR, check_id VARCHAR, entity_type VARCHAR, entity_id VARCHAR, correlation_id VARCHAR,
  impact_rc DECIMAL(18,2), client_id VARCHAR, sow_id VARCHAR, project_id VARCHAR, invoice_id VARCHAR,
  legal_entity_id VARCHAR, event_date DATE, base_severity VARCHAR, age_value DOUBLE, grace_value DOUBLE,
  details VARCHAR, expected_loss_rc DECIMAL(18,2))
"""

CARRIED = ("check_run", "kpi")


def ensure_results(con: duckdb.DuckDBPyConnection) -> None:
    """Create the results schema and tables when missing."""
    from checks.cases import ensure_cases

    con.execute(RESULTS_DDL)
    ensure_cases(con)


def carry_forward(con: duckdb.DuckDBPyConnection, previous: str, run_id: str) -> None:
    """Copy finding history and per-run check/KPI summaries from the previously published warehouse."""
    con.execute(f"ATTACH '{previous.replace(chr(39), chr(39) * 2)}' AS prev (READ_ONLY)")
    try:
        have = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'prev' AND schema_name = 'results'"
            ).fetchall()
        }
        for history in ("finding_history", "case_history"):
            if history in have:
                con.execute(f"DELETE FROM results.{history}")
                con.execute(f"INSERT INTO results.{history} BY NAME SELECT * FROM prev.results.{history}")
        for table in CARRIED:
            if table in have:
                con.execute(f"DELETE FROM results.{table} WHERE run_id <> ?", [run_id])
                con.execute(
                    f"INSERT INTO results.{table} BY NAME SELECT * FROM prev.results.{table} WHERE run_id <> ?",
                    [run_id],
                )
    finally:
        con.execute("DETACH prev")


FINALIZE_SQL = """
CREATE OR REPLACE TEMP TABLE cur_finding AS
WITH ranked AS (
  SELECT s.*, row_number() OVER (PARTITION BY s.check_id, s.entity_type, s.entity_id
                                 ORDER BY s.impact_rc DESC NULLS LAST, s.details) AS rn
  FROM chk.finding_stage s WHERE s.run_id = getvariable('run_id')),
lvl AS (
  SELECT r.*, md5(r.check_id || '|' || r.entity_type || '|' || r.entity_id) AS finding_key,
         CAST(substr(r.base_severity, 2, 1) AS INTEGER)
           - CASE WHEN coalesce(r.impact_rc, 0) >= getvariable('materiality_rc') THEN 1 ELSE 0 END
           - CASE WHEN r.grace_value IS NOT NULL AND r.age_value > 2 * r.grace_value THEN 1 ELSE 0 END AS level
  FROM ranked r WHERE r.rn = 1)
SELECT l.*, 'S' || CAST(greatest(l.level, 1) AS VARCHAR) AS severity FROM lvl l;

CREATE OR REPLACE TEMP TABLE new_history AS
SELECT c.finding_key, c.check_id, c.entity_type, c.entity_id, c.correlation_id, c.invoice_id,
       coalesce(h.first_seen_at, getvariable('as_of_ts')) AS first_seen_at, getvariable('as_of_ts') AS last_seen_at,
       CAST(NULL AS TIMESTAMPTZ) AS resolved_at,
       coalesce(h.reopened_count, 0) + CASE WHEN h.status = 'resolved' THEN 1 ELSE 0 END AS reopened_count,
       CASE WHEN h.finding_key IS NULL THEN 'open' WHEN h.status = 'resolved' THEN 'reopened'
            ELSE h.status END AS status,
       getvariable('run_id') AS last_run_id, c.severity, c.impact_rc
FROM cur_finding c LEFT JOIN results.finding_history h ON h.finding_key = c.finding_key
UNION ALL
SELECT h.finding_key, h.check_id, h.entity_type, h.entity_id, h.correlation_id, h.invoice_id,
       h.first_seen_at, h.last_seen_at,
       CASE WHEN ran.check_id IS NOT NULL AND h.status IN ('open', 'reopened') THEN getvariable('as_of_ts') ELSE h.resolved_at END,
       h.reopened_count,
       CASE WHEN ran.check_id IS NOT NULL AND h.status IN ('open', 'reopened') THEN 'resolved' ELSE h.status END,
       h.last_run_id, h.severity, h.impact_rc
FROM results.finding_history h
LEFT JOIN (SELECT check_id FROM results.check_run
           WHERE run_id = getvariable('run_id') AND status IN ('passed', 'failed')) ran ON ran.check_id = h.check_id
WHERE h.finding_key NOT IN (SELECT finding_key FROM cur_finding);

DELETE FROM results.finding_history;
INSERT INTO results.finding_history SELECT * FROM new_history;
DELETE FROM results.finding WHERE run_id = getvariable('run_id');
INSERT INTO results.finding
SELECT c.run_id, c.finding_key, c.check_id, c.severity, c.base_severity, cr.impact_kind, c.impact_rc,
       c.entity_type, c.entity_id, c.correlation_id, c.client_id, c.sow_id, c.project_id, c.invoice_id,
       c.legal_entity_id, c.event_date, cr.owner, h.first_seen_at, h.last_seen_at, h.status, h.reopened_count,
       c.details, cr.stage, c.expected_loss_rc, NULL
FROM cur_finding c
JOIN results.check_run cr ON cr.run_id = c.run_id AND cr.check_id = c.check_id
JOIN results.finding_history h ON h.finding_key = c.finding_key;
"""
