"""The Data health page's queries: sources, contracts, monitors, suppression, runs and the scheduler.

Split from app/queries.py (same rules: read-only DuckDB on the published run, cached per run file, values
always bound); the scheduler and run-now calls go through closedloop.scheduler, never the pipeline.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl
import streamlit as st

from app.queries import TTL, VIEW, _pl, _rows, tables
from closedloop import settings

HISTORY_RUNS = 10  # runs shown in a contract's or monitor's pass/fail history
SYMBOLS = "CASE {s} WHEN 'failed' THEN '✕' WHEN 'breach' THEN '✕' WHEN 'warning' THEN '!' WHEN 'error' THEN '?' WHEN 'skipped' THEN '·' ELSE '✓' END"


_SOURCE_RUN = (
    "source", "system", "transport", "stream", "status", "rows", "files", "seconds", "extracted_at", "error",
    "absent_reason", "missing_fields", "extra_fields",
)  # fmt: skip


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def health(path: str) -> dict[str, pl.DataFrame]:
    """Sources of this run, each source's last good collection, run history and snapshot metadata."""
    have = tables(path)
    out: dict[str, pl.DataFrame] = {}
    if "meta.source_run" in have:
        # SELECT *: warehouses from before absent streams have no absent_reason column
        run = _pl(path, "SELECT * FROM meta.source_run ORDER BY source, stream")
        out["source_run"] = run.select([c for c in _SOURCE_RUN if c in run.columns])
    if "meta.source_history" in have:
        out["last_ok"] = _pl(
            path,
            "SELECT source, max(extracted_at) FILTER (WHERE status = 'ok') AS last_success, "
            "max(extracted_at) AS last_attempt, count(*) FILTER (WHERE status NOT IN ('ok', 'absent')) AS failed_streams, "
            "count(DISTINCT run_id) AS runs FROM meta.source_history GROUP BY source ORDER BY source",
        )
    if "meta.run_history" in have:
        out["run_history"] = _pl(
            path,
            "SELECT run_id, started_at, finished_at, status, as_of, trigger, rows, errors, seconds "
            "FROM meta.run_history ORDER BY started_at DESC LIMIT 50",
        )
    if "canon.snapshot_meta" in have:
        # the source's freshness SLA as this run's freshness monitor judged it ([sources.<key>] freshness_sla_hours)
        sla = "results.monitor" in have and "meta.run" in have
        out["snapshot"] = _pl(
            path,
            "SELECT m.source_system, m.table_name, m.snapshot_ts, m.row_count, m.extract_status, m.max_modified_at, "
            + ("f.sla_hours " if sla else "CAST(NULL AS DOUBLE) AS sla_hours ")
            + "FROM canon.snapshot_meta m "
            + (
                "LEFT JOIN (SELECT source, max(threshold) AS sla_hours FROM results.monitor WHERE monitor = 'freshness'"
                " AND run_id IN (SELECT run_id FROM meta.run) GROUP BY source) f ON f.source = m.source_system "
                if sla
                else ""
            )
            + "ORDER BY 1, 2",
        )
    return out


_CONTRACT_STREAMS = f"""
WITH per AS (
    SELECT run_id, source, stream, count(*) AS expectations,
           count(*) FILTER (WHERE NOT success AND exception IS NULL AND severity = 'critical') AS critical,
           count(*) FILTER (WHERE NOT success AND exception IS NULL AND severity <> 'critical') AS warning,
           count(*) FILTER (WHERE exception IS NOT NULL) AS errored,
           coalesce(sum(unexpected_count) FILTER (WHERE NOT success AND exception IS NULL), 0) AS failing_rows
    FROM results.contract_result GROUP BY run_id, source, stream
), judged AS (
    SELECT *, CASE WHEN critical > 0 THEN 'failed' WHEN warning > 0 THEN 'warning' WHEN errored > 0 THEN 'error'
                   ELSE 'passed' END AS status,
           row_number() OVER (PARTITION BY source, stream ORDER BY run_id DESC) AS age
    FROM per
), hist AS (
    SELECT source, stream, string_agg({SYMBOLS.format(s="status")}, '' ORDER BY run_id) AS history,
           count(*) FILTER (WHERE status = 'failed') AS runs_failed, count(*) AS runs
    FROM judged WHERE age <= {HISTORY_RUNS} GROUP BY source, stream
)
SELECT j.status, j.source, j.stream, j.expectations, j.critical, j.warning, j.errored, j.failing_rows,
       h.history, h.runs_failed, h.runs
FROM judged j JOIN hist h USING (source, stream)
WHERE j.run_id = ?
ORDER BY CASE j.status WHEN 'failed' THEN 0 WHEN 'warning' THEN 1 WHEN 'error' THEN 2 ELSE 3 END,
         j.source = 'canon', j.source, j.stream
"""


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def contract_streams(path: str, run_id: str) -> pl.DataFrame:
    """Per stream (raw) or table (canon): this run's contract verdict and its pass/fail over recent runs."""
    if "results.contract_result" not in tables(path):
        return pl.DataFrame()
    return _pl(path, _CONTRACT_STREAMS, [run_id])


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def contract_failures(path: str, run_id: str) -> pl.DataFrame:
    """This run's failing (or erroring) expectations with their sample failing keys, critical first."""
    if "results.contract_result" not in tables(path):
        return pl.DataFrame()
    return _pl(
        path,
        "SELECT severity, source, stream, label, kind, column_name, unexpected_count, element_count, "
        "sample_failing_keys, exception FROM results.contract_result WHERE run_id = ? AND NOT success "
        "ORDER BY exception IS NOT NULL, severity <> 'critical', source = 'canon', source, stream, label",
        [run_id],
    )


_MONITORS = f"""
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY source, stream, monitor ORDER BY run_id DESC) AS age
    FROM results.monitor
), hist AS (
    SELECT source, stream, monitor, string_agg({SYMBOLS.format(s="status")}, '' ORDER BY run_id) AS history
    FROM ranked WHERE age <= {HISTORY_RUNS} GROUP BY ALL
)
SELECT m.status, m.monitor, m.source, m.stream, m.value, m.threshold, m.unit, m.detail, h.history
FROM results.monitor m JOIN hist h USING (source, stream, monitor)
WHERE m.run_id = ?
ORDER BY CASE m.status WHEN 'breach' THEN 0 WHEN 'warning' THEN 1 WHEN 'ok' THEN 2 ELSE 3 END,
         CASE m.monitor WHEN 'freshness' THEN 0 WHEN 'volume' THEN 1 ELSE 2 END, m.source, m.stream
"""


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def monitors(path: str, run_id: str) -> pl.DataFrame:
    """Freshness, volume and schema-drift verdicts of this run, problems first, with recent history."""
    if "results.monitor" not in tables(path):
        return pl.DataFrame()
    return _pl(path, _MONITORS, [run_id])


def _table_sources(path: str, also: set[str] = frozenset()) -> dict[str, set[str]]:
    """Sources feeding each canonical table: snapshot_meta, plus the rows' own source_system for `also`."""
    have = tables(path)
    out: dict[str, set[str]] = {}
    if "canon.snapshot_meta" in have:
        for r in _rows(path, "SELECT DISTINCT table_name, source_system FROM canon.snapshot_meta"):
            out.setdefault(r["table_name"], set()).add(r["source_system"])
    cols = {
        r["t"]
        for r in _rows(
            path,
            "SELECT table_name AS t FROM duckdb_columns() WHERE schema_name = 'canon' AND column_name = 'source_system'",
        )
    }
    for t in sorted(also & cols):  # names come from rule files and are checked against the catalog above
        for r in _rows(
            path, f'SELECT DISTINCT source_system AS s FROM canon."{t}" WHERE source_system IS NOT NULL'
        ):
            out.setdefault(t, set()).add(r["s"])
    return out


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def failed_sources(path: str, run_id: str) -> pl.DataFrame:
    """Why each source failed this run: collection errors, critical contracts and monitor breaches."""
    have = tables(path)
    rows: list[dict[str, Any]] = []
    if "meta.source_run" in have:
        for r in _rows(
            path,
            "SELECT source, stream, error FROM meta.source_run WHERE run_id = ? AND status NOT IN ('ok', 'absent')"
            " ORDER BY 1, 2",
            [run_id],
        ):
            rows.append(
                {"source": r["source"], "why": "collection", "detail": f"{r['stream']}: {r['error']}"}
            )
    if "results.contract_result" in have:
        feeds = _table_sources(path)
        for r in _rows(
            path,
            "SELECT source, stream, label, unexpected_count, element_count, sample_failing_keys "
            "FROM results.contract_result WHERE run_id = ? AND NOT success AND exception IS NULL "
            "AND severity = 'critical' ORDER BY 1, 2, 3",
            [run_id],
        ):
            blamed = [r["source"]]
            if r["source"] == "canon":
                samples = json.loads(r["sample_failing_keys"] or "[]")
                blamed = sorted({s["source_system"] for s in samples if s.get("source_system")}) or sorted(
                    feeds.get(r["stream"].removeprefix("canon."), {"canon"})
                )
            what = f"{r['stream']}: {r['label']} ({r['unexpected_count']:,} of {r['element_count']:,} rows)"
            rows += [{"source": b, "why": "contract", "detail": what} for b in blamed]
    if "results.monitor" in have:
        for r in _rows(
            path,
            "SELECT source, stream, monitor, value, threshold, unit, detail FROM results.monitor "
            "WHERE run_id = ? AND status = 'breach' ORDER BY 1, 2, 3",
            [run_id],
        ):
            where = "" if r["stream"] == "*" else f"{r['stream']}: "
            rows.append({"source": r["source"], "why": r["monitor"], "detail": where + _breach(r)})
    return pl.DataFrame(rows, schema={"source": pl.String, "why": pl.String, "detail": pl.String})


def _breach(r: dict[str, Any]) -> str:
    """A monitor breach in a few words: the measured value against its threshold."""
    v, t = r["value"] or 0, r["threshold"] or 0
    if r["monitor"] == "schema":
        d = json.loads(r["detail"] or "{}")
        return (
            "; ".join(f"{k} {', '.join(x) if isinstance(x, list) else x}" for k, x in d.items()) or "changed"
        )
    if r["monitor"] == "freshness":
        return f"{v:,.1f} h old, SLA {t:,.1f} h"
    return f"{v:,.0f} {r['unit'] or ''} vs median {t:,.0f}"


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def _check_inputs() -> dict[str, tuple[set[str], set[str]]]:
    """Check id -> (systems, canonical tables) from the rule files: what a failed source can suppress."""
    from checks.loader import load_checks

    return {c.id: ({s.lower() for s in c.systems}, set(c.tables)) for c in load_checks()}


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def suppressed_checks(path: str, run_id: str, failed: tuple[str, ...]) -> pl.DataFrame:
    """Checks reported 'suppressed' in this run, each with the failed sources feeding its inputs."""
    if "results.check_run" not in tables(path):
        return pl.DataFrame()
    rows = _rows(
        path,
        "SELECT check_id, title, domain, owner, base_severity FROM results.check_run "
        "WHERE run_id = ? AND status = 'suppressed' ORDER BY base_severity, check_id",
        [run_id],
    )
    try:
        inputs = _check_inputs()
    except Exception:  # rule files unreadable: still list the checks, without the reason
        inputs = {}
    feeds = _table_sources(path, set().union(*(inputs.get(r["check_id"], ((), set()))[1] for r in rows)))
    for r in rows:
        systems, tabs = inputs.get(r["check_id"], (set(), set()))
        fed = set().union(*(feeds.get(t, set()) for t in tabs)) if tabs else set()
        blamed = sorted(s for s in failed if s in fed or s.lower() in systems)
        r["because_of"] = ", ".join(blamed) or "inputs flagged by a gating check (Q2C-105/106)"
        r["inputs"] = ", ".join(sorted(tabs))
    schema = ["check_id", "title", "domain", "owner", "base_severity", "because_of", "inputs"]
    return pl.DataFrame(rows, schema={c: pl.String for c in schema})


def run_ledger(ops_url: str, limit: int = 50) -> pl.DataFrame:
    """Every attempt in the ops store (not cached: it moves), errors as one line each."""
    from closedloop.ops import OpsStore

    cols = ("run_id", "started_at", "finished_at", "status", "trigger", "published", "rows", "seconds")
    out = []
    for r in OpsStore(ops_url).runs(limit):
        row = {c: r.get(c) for c in cols}
        try:
            errors = json.loads(r.get("errors") or "[]")
        except json.JSONDecodeError:
            errors = [str(r.get("errors"))]
        row["errors"] = "; ".join(str(e) for e in errors)[:2000] or None
        out.append(row)
    schema = {
        "run_id": pl.String,
        "started_at": pl.Datetime("us", "UTC"),
        "finished_at": pl.Datetime("us", "UTC"),
        "status": pl.String,
        "trigger": pl.String,
        "published": pl.Boolean,
        "rows": pl.Int64,
        "seconds": pl.Float64,
        "errors": pl.String,
    }
    for row in out:  # SQLite hands back naive datetimes: they are UTC
        for c in ("started_at", "finished_at"):
            if row[c] is not None and row[c].tzinfo is None:
                row[c] = row[c].replace(tzinfo=dt.UTC)
    return pl.DataFrame(out, schema=schema)


def scheduler() -> dict[str, Any]:
    """closedloop.scheduler.scheduler_state for this config (not cached: heartbeats and requests move)."""
    from closedloop.lastgood import app_broken, app_config
    from closedloop.scheduler import scheduler_state

    try:
        state = scheduler_state(app_config())
    except Exception as exc:  # an unreadable job store must not take the page down
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    broken = app_broken()  # what the app itself sees, even before the scheduler's next poll
    if broken is not None and not (state.get("status") or {}).get("config_error"):
        state["status"] = {
            **(state.get("status") or {}),
            "config_file": broken.file,
            "config_error": broken.error,
            "config_error_since": broken.since,
        }
    return state


@st.cache_data(ttl=10, show_spinner=False, hash_funcs=VIEW)
def scheduler_outcome(ops_url: str) -> dict[str, Any] | None:
    """The scheduler's last outcome and config error, shared by every session for 10 s (the overview's line)."""
    from closedloop.scheduler import last_outcome

    try:
        return last_outcome(ops_url)
    except Exception:  # an ops store that cannot be read: the overview says nothing rather than fail
        return None


def request_run(user: str) -> int:
    """Queue a whole run for the serving scheduler; returns the request id (an existing pending one is reused)."""
    from closedloop.scheduler import request_run_now

    return request_run_now(settings.load(), user)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def coverage(path: str, run_id: str) -> pl.DataFrame:
    """Each check's and KPI's coverage in this run (checks/coverage.py): covered, partly or not covered."""
    if "results.coverage" not in tables(path):
        return pl.DataFrame(
            schema={c: pl.String for c in ("item_id", "item_kind", "status", "missing", "settings")}
            | {"not_judged": pl.Int64}
        )
    return _pl(
        path,
        "SELECT item_id, item_kind, status, not_judged, missing, settings FROM results.coverage"
        " WHERE run_id = ? ORDER BY CASE status WHEN 'not covered' THEN 0 WHEN 'partly covered' THEN 1 ELSE 2 END,"
        " item_kind, item_id",
        [run_id],
    )
