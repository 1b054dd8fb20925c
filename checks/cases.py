"""Cases: the findings about the same underlying money, one root cause, the amount counted once per kind.

A finding's money is the document whose amount it is about, followed through the flow's links: the invoice
(for invoices, their lines, payments applied to them and integration events that carry them), an unapplied
payment, an amendment, a time entry, else the SOW (directly or through the finding's project), else the
project, else the finding's own entity. Findings on the same money form one case:
- per kind, each check's findings on the case add up (distinct pieces of that money; two findings of a check
  that name the same piece in their evidence, `money_piece`, count it once: an unapplied payment and the short
  payment of the invoice it was for are one open amount); checks of the same kind
  that measure the same part of the money (rule header `money`, default the whole document) count it once,
  the largest figure; different parts add up; kinds are never added together;
- the root cause is the finding at the earliest stage of the flow (rule header `stage`), then the lowest
  check id; the others are its symptoms.
A case keeps its own lifecycle (first seen, last seen, resolved, reopened) in results.case_history, the way
findings do in results.finding_history.
"""

from __future__ import annotations

import duckdb

from checks.case_summary import CASE_RUN_DDL, summarize_run
from checks.loader import STAGES

CASES_DDL = """
CREATE TABLE IF NOT EXISTS results.cases(
  run_id VARCHAR, case_key VARCHAR, money_type VARCHAR, money_id VARCHAR, root_finding_key VARCHAR,
  root_check_id VARCHAR, stage VARCHAR, severity VARCHAR, owner_team VARCHAR, correlation_id VARCHAR,
  client_id VARCHAR, sow_id VARCHAR, project_id VARCHAR, invoice_id VARCHAR, legal_entity_id VARCHAR,
  event_date DATE, leakage_rc DECIMAL(18,2), leakage_expected_rc DECIMAL(18,2), exposure_rc DECIMAL(18,2),
  cash_rc DECIMAL(18,2), cash_cost_rc DECIMAL(18,2), compliance_findings INTEGER, findings INTEGER,
  check_ids VARCHAR, first_seen_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ, status VARCHAR, reopened_count INTEGER);
CREATE TABLE IF NOT EXISTS results.case_history(
  case_key VARCHAR, money_type VARCHAR, money_id VARCHAR, root_check_id VARCHAR, check_ids VARCHAR,
  first_seen_at TIMESTAMPTZ, last_seen_at TIMESTAMPTZ, resolved_at TIMESTAMPTZ, reopened_count INTEGER,
  status VARCHAR, last_run_id VARCHAR, severity VARCHAR, leakage_rc DECIMAL(18,2), exposure_rc DECIMAL(18,2),
  cash_rc DECIMAL(18,2), event_date DATE, owner_team VARCHAR, client_id VARCHAR, compliance_findings INTEGER);
"""

# Entity types that are money of their own (the list), when no invoice is named on the finding.
OWN_MONEY = ("payment", "amendment", "time_entry")


def _stage_rank() -> str:
    return "CASE f.stage " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGES)) + " ELSE 99 END"


def build_sql() -> str:
    """The statements that place this run's findings into cases and carry the cases' lifecycle forward."""
    own = ", ".join(f"'{t}'" for t in OWN_MONEY)
    return f"""
CREATE OR REPLACE TEMP TABLE f_money AS
WITH linked AS (
  SELECT f.* EXCLUDE (case_key),
         coalesce(f.invoice_id, CASE WHEN f.entity_type = 'invoice' THEN f.entity_id END) AS inv,
         coalesce(f.project_id, CASE WHEN f.entity_type = 'project' THEN f.entity_id END) AS prj,
         {_stage_rank()} AS stage_rank
  FROM results.finding f WHERE f.run_id = getvariable('run_id')),
with_sow AS (
  SELECT l.*, coalesce(l.sow_id, CASE WHEN l.entity_type = 'sow' THEN l.entity_id END, p.sow_id) AS sw
  FROM linked l LEFT JOIN (SELECT project_id, any_value(sow_id) AS sow_id FROM canon.project
                           GROUP BY project_id) p ON p.project_id = l.prj)
SELECT w.*,
       CASE WHEN w.inv IS NOT NULL THEN 'invoice' WHEN w.entity_type IN ({own}) THEN w.entity_type
            WHEN w.sw IS NOT NULL THEN 'sow' WHEN w.prj IS NOT NULL THEN 'project' ELSE w.entity_type END
         AS money_type,
       CASE WHEN w.inv IS NOT NULL THEN w.inv WHEN w.entity_type IN ({own}) THEN w.entity_id
            WHEN w.sw IS NOT NULL THEN w.sw WHEN w.prj IS NOT NULL THEN w.prj ELSE w.entity_id END AS money_id
FROM with_sow w;

CREATE OR REPLACE TEMP TABLE cur_case AS
WITH keyed AS (
  SELECT m.*, md5(m.money_type || '|' || m.money_id) AS case_key FROM f_money m),
per_piece AS (
  SELECT k.case_key, k.check_id, k.impact_kind, k.run_id,
         coalesce(json_extract_string(k.details, '$.money_piece'), k.finding_key) AS piece,
         min(k.stage_rank) AS stage_rank, max(k.impact_rc) AS amount, max(k.expected_loss_rc) AS second
  FROM keyed k
  GROUP BY k.case_key, k.check_id, k.impact_kind, k.run_id,
           coalesce(json_extract_string(k.details, '$.money_piece'), k.finding_key)),
per_check AS (
  SELECT p.case_key, p.check_id, p.impact_kind, coalesce(cr.money, 'document') AS money,
         min(p.stage_rank) AS stage_rank, sum(p.amount) AS amount, sum(p.second) AS second
  FROM per_piece p LEFT JOIN results.check_run cr ON cr.run_id = p.run_id AND cr.check_id = p.check_id
  GROUP BY p.case_key, p.check_id, p.impact_kind, coalesce(cr.money, 'document')),
per_money AS (
  SELECT case_key, impact_kind, amount, second,
         row_number() OVER (PARTITION BY case_key, impact_kind, money ORDER BY amount DESC, stage_rank, check_id)
           AS rn
  FROM per_check),
kinds AS (
  SELECT case_key,
         sum(CASE WHEN impact_kind = 'leakage' THEN amount END) AS leakage_rc,
         sum(CASE WHEN impact_kind = 'leakage' THEN second END) AS leakage_expected_rc,
         sum(CASE WHEN impact_kind = 'exposure' THEN amount END) AS exposure_rc,
         sum(CASE WHEN impact_kind = 'cash' THEN amount END) AS cash_rc,
         sum(CASE WHEN impact_kind = 'cash' THEN second END) AS cash_cost_rc
  FROM per_money WHERE rn = 1 GROUP BY case_key),
root AS (
  SELECT k.*, row_number() OVER (PARTITION BY k.case_key
                                 ORDER BY k.stage_rank, k.check_id, k.impact_rc DESC, k.finding_key) AS rn
  FROM keyed k),
agg AS (
  SELECT case_key, min(severity) AS severity, count(*) AS findings, min(event_date) AS event_date,
         count(*) FILTER (WHERE impact_kind = 'compliance') AS compliance_findings,
         string_agg(DISTINCT check_id, ',' ORDER BY check_id) AS check_ids,
         min(first_seen_at) AS first_seen_at
  FROM keyed GROUP BY case_key)
SELECT r.case_key, r.money_type, r.money_id, r.finding_key AS root_finding_key, r.check_id AS root_check_id,
       r.stage, a.severity, r.owner_team, r.correlation_id, r.client_id, r.sw AS sow_id, r.prj AS project_id,
       r.inv AS invoice_id, r.legal_entity_id, a.event_date,
       CAST(k.leakage_rc AS DECIMAL(18,2)) AS leakage_rc,
       CAST(k.leakage_expected_rc AS DECIMAL(18,2)) AS leakage_expected_rc,
       CAST(k.exposure_rc AS DECIMAL(18,2)) AS exposure_rc, CAST(k.cash_rc AS DECIMAL(18,2)) AS cash_rc,
       CAST(k.cash_cost_rc AS DECIMAL(18,2)) AS cash_cost_rc, CAST(a.compliance_findings AS INTEGER) AS compliance_findings,
       CAST(a.findings AS INTEGER) AS findings, a.check_ids, a.first_seen_at
FROM root r JOIN agg a ON a.case_key = r.case_key LEFT JOIN kinds k ON k.case_key = r.case_key
WHERE r.rn = 1;

UPDATE results.finding f SET case_key = md5(m.money_type || '|' || m.money_id)
FROM f_money m WHERE f.run_id = getvariable('run_id') AND f.finding_key = m.finding_key;

-- A case no finding maps to any more is resolved once every check that found it has run again (a suppressed
-- or errored check says nothing); one that comes back after that is reopened.
CREATE OR REPLACE TEMP TABLE ran_checks AS
SELECT check_id FROM results.check_run
WHERE run_id = getvariable('run_id') AND status IN ('passed', 'failed');

CREATE OR REPLACE TEMP TABLE new_case_history AS
SELECT c.case_key, c.money_type, c.money_id, c.root_check_id, c.check_ids,
       least(coalesce(h.first_seen_at, c.first_seen_at), c.first_seen_at) AS first_seen_at,
       getvariable('as_of_ts') AS last_seen_at, CAST(NULL AS TIMESTAMPTZ) AS resolved_at,
       coalesce(h.reopened_count, 0) + CASE WHEN h.status = 'resolved' THEN 1 ELSE 0 END AS reopened_count,
       CASE WHEN h.case_key IS NULL THEN 'open' WHEN h.status = 'resolved' THEN 'reopened' ELSE h.status END
         AS status,
       getvariable('run_id') AS last_run_id, c.severity, c.leakage_rc, c.exposure_rc, c.cash_rc,
       c.event_date, c.owner_team, c.client_id, c.compliance_findings
FROM cur_case c LEFT JOIN results.case_history h ON h.case_key = c.case_key
UNION ALL
SELECT h.case_key, h.money_type, h.money_id, h.root_check_id, h.check_ids, h.first_seen_at, h.last_seen_at,
       CASE WHEN settled.case_key IS NOT NULL THEN getvariable('as_of_ts') ELSE h.resolved_at END,
       h.reopened_count,
       CASE WHEN settled.case_key IS NOT NULL THEN 'resolved' ELSE h.status END,
       h.last_run_id, h.severity, h.leakage_rc, h.exposure_rc, h.cash_rc, h.event_date, h.owner_team, h.client_id,
       h.compliance_findings
FROM results.case_history h
LEFT JOIN (
  SELECT h2.case_key FROM results.case_history h2
  WHERE h2.status IN ('open', 'reopened')
    AND NOT EXISTS (SELECT 1 FROM unnest(string_split(h2.check_ids, ',')) AS t(cid)
                    WHERE t.cid NOT IN (SELECT check_id FROM ran_checks))) settled
  ON settled.case_key = h.case_key
WHERE h.case_key NOT IN (SELECT case_key FROM cur_case);

DELETE FROM results.case_history;
INSERT INTO results.case_history BY NAME SELECT * FROM new_case_history;
DELETE FROM results.cases WHERE run_id = getvariable('run_id');
INSERT INTO results.cases BY NAME
SELECT getvariable('run_id') AS run_id, c.* EXCLUDE (first_seen_at), h.first_seen_at, h.last_seen_at, h.status,
       h.reopened_count
FROM cur_case c JOIN results.case_history h ON h.case_key = c.case_key;
"""


def ensure_cases(con: duckdb.DuckDBPyConnection) -> None:
    """Create the case tables when missing."""
    con.execute(CASES_DDL)
    con.execute(CASE_RUN_DDL)


def build_cases(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Group this run's findings into cases (results.case) and carry case history; returns the case count."""
    ensure_cases(con)
    con.execute(build_sql())
    summarize_run(con, run_id)
    return con.execute("SELECT count(*) FROM results.cases WHERE run_id = ?", [run_id]).fetchone()[0]
