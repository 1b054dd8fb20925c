"""Where a trace starts when nobody has an ID yet, and where each record of a flow lives in its source system.

Pure functions over a DuckDB connection (the published warehouse, read-only); values are bound parameters.

An integration event is judged per business event (its idempotency key, else its message id), not per
attempt: a failure later retried with success is delivered, not failing. Canonical statuses are the value
map's (closedloop/valuemaps.py: success, failed, retrying, dead_letter).
"""

from __future__ import annotations

from typing import Any

import duckdb

from closedloop.trace import ENTITIES

STARTS_SHOWN = 8

# One row per business event still not delivered: dead-lettered, or failing (failed or retrying, no success).
_UNDELIVERED = """
WITH attempts AS (
    SELECT correlation_id, coalesce(idempotency_key, event_id) AS business_event, status, created_at,
           event_type, source_system, target_system, error_message, attempt,
           row_number() OVER (PARTITION BY coalesce(idempotency_key, event_id)
                              ORDER BY created_at DESC NULLS LAST, attempt DESC NULLS LAST) AS newest
    FROM canon.integration_event
    WHERE correlation_id IS NOT NULL
), per_event AS (
    SELECT business_event,
           max(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS delivered,
           max(CASE WHEN status = 'dead_letter' THEN 1 ELSE 0 END) AS dead,
           count(*) AS attempts, max(attempt) AS max_attempt
    FROM attempts GROUP BY business_event
)
SELECT a.correlation_id, a.business_event, a.event_type, a.source_system, a.target_system,
       a.error_message, a.created_at,
       CASE WHEN p.dead = 1 THEN 'dead-lettered' ELSE 'failing' END AS state,
       greatest(p.attempts, coalesce(p.max_attempt, 0)) AS attempts
FROM attempts a JOIN per_event p ON p.business_event = a.business_event
WHERE a.newest = 1 AND p.delivered = 0
"""


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    return {r[0] for r in rows}


def _dicts(res: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in res.description]
    return [dict(zip(names, r, strict=True)) for r in res.fetchall()]


def undelivered_flows(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """Flows with a business event still not delivered, the most recent first: per flow its newest such
    event (type, systems, error, when), its state, and how many of its events are dead-lettered or failing."""
    if "canon.integration_event" not in _tables(con):
        return []
    return _dicts(
        con.execute(
            f"WITH u AS ({_UNDELIVERED}), ranked AS (SELECT *, "
            "row_number() OVER (PARTITION BY correlation_id ORDER BY created_at DESC NULLS LAST, business_event) "
            "AS pick, count(*) OVER (PARTITION BY correlation_id) AS events, "
            "sum(CASE WHEN state = 'dead-lettered' THEN 1 ELSE 0 END) OVER (PARTITION BY correlation_id) AS dead "
            "FROM u) "
            "SELECT correlation_id, event_type, source_system, target_system, error_message, created_at, state, "
            "attempts, events, dead FROM ranked WHERE pick = 1 "
            "ORDER BY created_at DESC NULLS LAST, correlation_id LIMIT ?",
            [limit],
        )
    )


CASE_AMOUNTS = ("leakage_rc", "exposure_rc", "cash_rc")


def largest_open_cases(
    con: duckdb.DuckDBPyConnection, run_id: str, scope: tuple[str, list[Any]] = ("TRUE", []), limit: int = 50
) -> list[dict[str, Any]]:
    """The run's open cases on a flow, largest amount of any kind first (kinds are shown apart, never summed).

    `scope` is a predicate over c.client_id / c.legal_entity_id with its parameters (Scope.sql)."""
    have = _tables(con)
    if "results.cases" not in have:
        return []
    title = (
        "(SELECT any_value(cr.title) FROM results.check_run cr WHERE cr.check_id = c.root_check_id)"
        if "results.check_run" in have
        else "NULL"
    )
    pred, params = scope
    return _dicts(
        con.execute(
            f"SELECT c.case_key, c.correlation_id, c.root_check_id AS check_id, {title} AS title, c.stage, "
            "c.severity, c.status, c.money_type, c.money_id, c.client_id, c.leakage_rc, c.exposure_rc, c.cash_rc, "
            "c.compliance_findings, c.findings FROM results.cases c "
            "WHERE c.run_id = ? AND c.correlation_id IS NOT NULL AND coalesce(c.status, 'open') IN ('open', 'reopened') "
            f"AND {pred} "
            "ORDER BY greatest(coalesce(c.leakage_rc, 0), coalesce(c.exposure_rc, 0), coalesce(c.cash_rc, 0)) DESC, "
            "c.case_key LIMIT ?",
            [run_id, *params, limit],
        )
    )


def record_sources(
    con: duckdb.DuckDBPyConnection, correlation_id: str, entity_types: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Where each record of a flow lives: its source (the config key), the id the source knows it by and, for
    an invoice, its type; rows as app/deeplinks.links takes them."""
    have = _tables(con)
    parts = []
    for e in ENTITIES:
        if e.entity_type in entity_types and f"canon.{e.table}" in have:
            kind = "CAST(type AS VARCHAR)" if e.entity_type == "invoice" else "NULL"
            parts.append(
                f"SELECT '{e.entity_type}' AS entity_type, CAST({e.id_col} AS VARCHAR) AS entity_id, "
                f"CAST({e.id_col} AS VARCHAR) AS label, {kind} AS record_type, source_system, "
                f"CAST(source_id AS VARCHAR) AS source_id FROM canon.{e.table} WHERE correlation_id = ?"
            )
    if not parts:
        return []
    return _dicts(con.execute(" UNION ALL ".join(parts), [correlation_id] * len(parts)))
