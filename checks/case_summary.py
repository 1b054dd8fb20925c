"""Per-run totals of cases, per kind of money and severity, carried forward so trends read cases, not checks.

results.cases holds only the current run's cases; a trend over runs needs each run's figures, counted once per
case the way the overview shows them today. One row per (run, kind, severity): the cases with a finding of that
kind, at the severity of their worst finding of that kind, with the kind's amount at stake and its second figure
(leakage: expected loss; cash: cost of the delay). Compliance has no amount: its rows carry counts only. Kinds
are separate rows and are never added together.
"""

from __future__ import annotations

import duckdb

CASE_RUN_DDL = """
CREATE TABLE IF NOT EXISTS results.case_run(
  run_id VARCHAR, as_of DATE, impact_kind VARCHAR, severity VARCHAR, cases INTEGER, findings INTEGER,
  amount_rc DECIMAL(18,2), second_rc DECIMAL(18,2));
"""

SUMMARY_SQL = """
INSERT INTO results.case_run
WITH per_kind AS (
  SELECT f.case_key, f.impact_kind, min(f.severity) AS severity, count(*) AS findings
  FROM results.finding f
  WHERE f.run_id = $run_id AND f.case_key IS NOT NULL
    AND f.impact_kind IN ('leakage', 'exposure', 'cash', 'compliance')
  GROUP BY f.case_key, f.impact_kind)
SELECT $run_id, $as_of, k.impact_kind, k.severity, CAST(count(*) AS INTEGER), CAST(sum(k.findings) AS INTEGER),
       CAST(sum(CASE k.impact_kind WHEN 'leakage' THEN c.leakage_rc WHEN 'exposure' THEN c.exposure_rc
                                   WHEN 'cash' THEN c.cash_rc END) AS DECIMAL(18,2)),
       CAST(sum(CASE k.impact_kind WHEN 'leakage' THEN c.leakage_expected_rc WHEN 'cash' THEN c.cash_cost_rc END)
            AS DECIMAL(18,2))
FROM per_kind k JOIN results.cases c ON c.run_id = $run_id AND c.case_key = k.case_key
GROUP BY k.impact_kind, k.severity
"""


def summarize_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Replace this run's rows of results.case_run from its cases (checks/cases.py calls it after building them)."""
    con.execute(CASE_RUN_DDL)
    as_of = con.execute(
        "SELECT coalesce(getvariable('as_of'), (SELECT max(as_of) FROM results.check_run WHERE run_id = ?))",
        [run_id],
    ).fetchone()[0]
    con.execute("DELETE FROM results.case_run WHERE run_id = ?", [run_id])
    con.execute(SUMMARY_SQL, {"run_id": run_id, "as_of": as_of})
