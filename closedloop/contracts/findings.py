"""Monitor breaches as findings of the integration family (Q2C-105/106/109), beside the checks' findings."""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from closedloop.monitors import CHECK_IDS, Observation

TITLES = {
    "Q2C-105": ("Stale snapshot (freshness) — gating", "S1"),
    "Q2C-106": ("Snapshot volume anomaly (partial extract) — gating", "S2"),
    "Q2C-109": ("Schema drift (fields added, removed or retyped)", "S2"),
}
OWNER = "Data Platform"


def _severity(o: Observation) -> str:
    base = TITLES[CHECK_IDS[o.monitor]][1]
    return base if o.status == "breach" else "S4"


def write_findings(
    con: duckdb.DuckDBPyConnection, *, run_id: str, as_of_ts: dt.datetime, observations: list[Observation]
) -> int:
    """Merge this run's monitor findings into results.finding and finding_history (same shape as the runner)."""
    try:
        from checks.results import ensure_results
    except ImportError:  # checks package absent: findings still land in results.monitor
        return 0
    ensure_results(con)
    ids = list(TITLES)
    done = {
        r[0]
        for r in con.execute("SELECT check_id FROM results.check_run WHERE run_id = ?", [run_id]).fetchall()
    }
    ids = [i for i in ids if i not in done]  # a rule file with the same id owns it: do not double-count
    judged = {CHECK_IDS[o.monitor] for o in observations if o.status != "skipped"}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE mon_cur(check_id VARCHAR, severity VARCHAR, entity_type VARCHAR,"
        " entity_id VARCHAR, details VARCHAR)"
    )
    rows = [
        [
            CHECK_IDS[o.monitor],
            _severity(o),
            "source" if o.stream == "*" else "source_stream",
            o.source if o.stream == "*" else f"{o.source}.{o.stream}",
            json.dumps(
                {
                    "source_system": o.source,
                    "table_name": None if o.stream == "*" else o.stream,
                    "monitor": o.monitor,
                    "status": o.status,
                    "value": o.value,
                    "threshold": o.threshold,
                    "unit": o.unit,
                    **o.detail,
                },
                default=str,
            ),
        ]
        for o in observations
        if o.status in ("breach", "warning") and CHECK_IDS[o.monitor] in ids
    ]
    if rows:
        con.executemany("INSERT INTO mon_cur VALUES (?,?,?,?,?)", rows)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE mon_hist AS
        SELECT md5(c.check_id || '|' || c.entity_type || '|' || c.entity_id) AS finding_key, c.check_id,
               c.entity_type, c.entity_id, NULL::VARCHAR AS correlation_id, NULL::VARCHAR AS invoice_id,
               coalesce(h.first_seen_at, $ts) AS first_seen_at, $ts AS last_seen_at,
               NULL::TIMESTAMPTZ AS resolved_at,
               coalesce(h.reopened_count, 0) + CASE WHEN h.status = 'resolved' THEN 1 ELSE 0 END AS reopened_count,
               CASE WHEN h.finding_key IS NULL THEN 'open' WHEN h.status = 'resolved' THEN 'reopened'
                    ELSE h.status END AS status,
               $run AS last_run_id, c.severity, CAST(0 AS DECIMAL(18,2)) AS impact_rc, c.details
        FROM mon_cur c LEFT JOIN results.finding_history h
          ON h.finding_key = md5(c.check_id || '|' || c.entity_type || '|' || c.entity_id)
        """,
        {"ts": as_of_ts, "run": run_id},
    )
    con.execute(
        """
        UPDATE results.finding_history SET status = 'resolved', resolved_at = $ts
        WHERE list_contains($judged, check_id) AND status IN ('open', 'reopened')
          AND finding_key NOT IN (SELECT finding_key FROM mon_hist)
        """,
        {"judged": sorted(judged & set(ids)), "ts": as_of_ts},
    )
    con.execute("DELETE FROM results.finding_history WHERE finding_key IN (SELECT finding_key FROM mon_hist)")
    con.execute(
        "INSERT INTO results.finding_history SELECT finding_key, check_id, entity_type, entity_id, correlation_id,"
        " invoice_id, first_seen_at, last_seen_at, resolved_at, reopened_count, status, last_run_id, severity,"
        " impact_rc FROM mon_hist"
    )
    con.execute(
        """
        INSERT INTO results.finding BY NAME
        SELECT $run AS run_id, finding_key, check_id, severity, severity AS base_severity, 'compliance' AS impact_kind,
               impact_rc, entity_type, entity_id, correlation_id, $owner AS owner_team, first_seen_at,
               last_seen_at, status, reopened_count, details, 'data' AS stage
        FROM mon_hist
        """,
        {"run": run_id, "owner": OWNER},
    )
    counts = dict(con.execute("SELECT check_id, count(*) FROM mon_hist GROUP BY check_id").fetchall())
    for cid in ids:
        status = "failed" if counts.get(cid) else ("passed" if cid in judged else "skipped")
        con.execute(
            "INSERT INTO results.check_run (run_id, check_id, title, domain, owner, base_severity, impact_kind,"
            " status, row_count, impact_rc, duration_ms, error, as_of, params, stage)"
            " VALUES (?, ?, ?, 'integration', ?, ?, 'compliance', ?, ?, 0, 0, NULL, CAST(? AS DATE), '{}', 'data')",
            [
                run_id,
                cid,
                TITLES[cid][0],
                OWNER,
                TITLES[cid][1],
                status,
                counts.get(cid, 0),
                as_of_ts - dt.timedelta(seconds=1),
            ],
        )
    return sum(counts.values())
