"""Every query the app runs, in one place: read-only DuckDB on the published run, cached per run file.

Cached functions take the run file path as their first argument, so a newly published run (a new file)
is a new cache key and is picked up on the next rerun without a restart. Values from people are always
bound parameters; SQL text is built only from the constants in this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import streamlit as st

from closedloop import settings, trace
from closedloop.warehouse import Warehouse

TTL = 3600


@dataclass(frozen=True)
class Run:
    """The published run the app is showing."""

    run_id: str
    path: str
    data_dir: Path
    ops_url: str
    currency: str = "USD"


def published() -> Run | None:
    """Read the publish pointer now (cheap): the app follows it on every rerun."""
    cfg = settings.load()
    doc = Warehouse.at(cfg.data_dir).published()
    if doc is None:
        return None
    path = str(Warehouse.at(cfg.data_dir).runs_dir / doc["file"])
    return Run(doc["run_id"], path, cfg.data_dir, cfg.ops_url, cfg.get("closedloop", "reporting_currency"))


@st.cache_resource(max_entries=4, show_spinner=False)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    return con


def _cur(path: str) -> duckdb.DuckDBPyConnection:
    """A cursor per query: sessions run on their own threads and DuckDB cursors are per thread."""
    cur = _connection(path).cursor()
    cur.execute("SET TimeZone = 'UTC'")
    return cur


def _pl(path: str, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    with _cur(path) as cur:
        return cur.execute(sql, params or []).pl()


def _rows(path: str, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with _cur(path) as cur:
        res = cur.execute(sql, params or [])
        names = [d[0] for d in res.description]
        return [dict(zip(names, r, strict=True)) for r in res.fetchall()]


@st.cache_data(ttl=TTL, show_spinner=False)
def tables(path: str) -> set[str]:
    """Tables present in the run (a run without checks has no results.*)."""
    return {r["t"] for r in _rows(path, "SELECT schema_name || '.' || table_name AS t FROM duckdb_tables()")}


@st.cache_data(ttl=TTL, show_spinner=False)
def run_info(path: str) -> dict[str, Any]:
    """meta.run for the published run."""
    rows = _rows(path, "SELECT * FROM meta.run ORDER BY started_at DESC LIMIT 1")
    return rows[0] if rows else {}


# ---- findings -----------------------------------------------------------------------------------

AGE_BUCKETS = (
    ("0-30", 0, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("180+", 181, None),
)
AGE_SQL = (
    "CASE "
    + " ".join(f"WHEN age_days <= {hi} THEN '{k}'" for k, _, hi in AGE_BUCKETS if hi is not None)
    + " ELSE '180+' END"
)
# URL key -> column of the findings relation
LIST_FILTERS = dict(
    pair.split("=")
    for pair in [
        "check=check_id",
        "severity=severity",
        "owner=owner_team",
        "status=status",
        "client=client_id",
        "entity=legal_entity_id",
        "age=age_bucket",
        "domain=domain",
        "practice=practice",
        "region=region",
        "kind=impact_kind",
    ]
)


@dataclass(frozen=True)
class Filters:
    """The findings filters, as they travel in the URL."""

    lists: tuple[tuple[str, tuple[str, ...]], ...] = ()
    min_impact: Decimal | None = None
    text: str = ""
    sort: str = "impact"

    def get(self, key: str) -> tuple[str, ...]:
        return dict(self.lists).get(key, ())


Overlay = tuple[tuple[str, str, str, str | None], ...]

_CURRENT = """
SELECT f.finding_key, f.check_id, cr.title, cr.domain, f.severity,
       CASE WHEN f.status = 'reopened' THEN coalesce(w.st_reopened, 'reopened') ELSE coalesce(w.st_open, f.status) END AS status,
       f.impact_rc, f.impact_kind, f.entity_type, f.entity_id, f.correlation_id, f.client_id, c.name AS client_name,
       f.legal_entity_id, le.name AS legal_entity_name, p.practice, coalesce(p.region, c.region) AS region,
       f.owner_team, w.assignee, f.event_date, f.first_seen_at,
       date_diff('day', coalesce(f.event_date, CAST(f.first_seen_at AS DATE)), CAST(? AS DATE)) AS age_days,
       f.reopened_count, f.details
FROM results.finding f
LEFT JOIN results.check_run cr ON cr.run_id = f.run_id AND cr.check_id = f.check_id
LEFT JOIN (SELECT client_id, any_value(name) AS name, any_value(region) AS region FROM canon.client GROUP BY client_id) c
       ON c.client_id = f.client_id
LEFT JOIN (SELECT legal_entity_id, any_value(name) AS name FROM canon.legal_entity GROUP BY legal_entity_id) le
       ON le.legal_entity_id = f.legal_entity_id
LEFT JOIN (SELECT project_id, any_value(practice) AS practice, any_value(region) AS region FROM canon.project
           GROUP BY project_id) p ON p.project_id = f.project_id
LEFT JOIN wf w ON w.finding_key = f.finding_key
WHERE f.run_id = ?
"""
_CLOSED = """
UNION ALL
SELECT h.finding_key, h.check_id, cr.title, cr.domain, h.severity, 'closed', h.impact_rc, cr.impact_kind,
       h.entity_type, h.entity_id, h.correlation_id, NULL, NULL, NULL, NULL, NULL, NULL, cr.owner, w.assignee,
       NULL, h.first_seen_at, date_diff('day', CAST(h.first_seen_at AS DATE), CAST(? AS DATE)), h.reopened_count, NULL
FROM results.finding_history h
LEFT JOIN (SELECT check_id, any_value(title) AS title, any_value(domain) AS domain, any_value(impact_kind) AS impact_kind,
                  any_value(owner) AS owner FROM results.check_run GROUP BY check_id) cr ON cr.check_id = h.check_id
LEFT JOIN wf w ON w.finding_key = h.finding_key
WHERE h.status = 'resolved'
"""


def _findings_sql(run: Run, as_of: dt.date, f: Filters, overlay: Overlay) -> tuple[str, list[Any]]:
    """The filtered findings relation `q` (current run + closed history when asked) and its parameters."""
    cols = list(zip(*overlay, strict=True)) if overlay else [(), (), (), ()]
    params: list[Any] = [list(c) for c in cols]
    params += [as_of, run.run_id]
    body = _CURRENT
    if "closed" in f.get("status"):
        body += _CLOSED
        params.append(as_of)
    where, wparams = [], []
    for key, col in LIST_FILTERS.items():
        values = f.get(key)
        if values:
            where.append(f"list_contains(?::VARCHAR[], CAST({col} AS VARCHAR))")
            wparams.append(list(values))
    if f.min_impact is not None:
        where.append("coalesce(impact_rc, 0) >= ?")
        wparams.append(f.min_impact)
    if f.text:
        where.append(
            "(contains(lower(entity_id), lower(?)) OR contains(lower(coalesce(correlation_id, '')), lower(?)))"
        )
        wparams += [f.text, f.text]
    sql = (
        "WITH wf AS (SELECT unnest(?::VARCHAR[]) AS finding_key, unnest(?::VARCHAR[]) AS st_open, "
        "unnest(?::VARCHAR[]) AS st_reopened, unnest(?::VARCHAR[]) AS assignee), "
        f"base AS ({body}), aged AS (SELECT *, {AGE_SQL} AS age_bucket FROM base) "
        f"SELECT * FROM aged {'WHERE ' + ' AND '.join(where) if where else ''}"
    )
    return sql, params + wparams


# ---- overview -----------------------------------------------------------------------------------


@st.cache_data(ttl=TTL, show_spinner=False)
def kpis(path: str, headline: tuple[tuple[str, str], ...]) -> pl.DataFrame:
    """Each KPI's headline measure for the whole firm per run, oldest run first, for tiles and trends.

    A KPI has several measures (median, P90, share within SLA...): the tile shows one, named in
    app/kpi_targets.HEADLINE; the others stay in results.kpi for drill-down.
    """
    pairs = [v for pair in headline for v in pair]
    cond = " OR ".join("(kpi_id = ? AND name = ?)" for _ in headline) or "false"
    return _pl(
        path,
        "SELECT run_id, as_of, kpi_id, name, unit, value FROM results.kpi "
        f"WHERE (slice_kind IS NULL OR slice_kind IN ('', 'all', 'total', 'firm')) AND ({cond}) "
        "ORDER BY kpi_id, run_id",
        pairs,
    )


# ---- trace, catalog (the Data health queries: app/queries_health.py) ---------------------------


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512)
def trace_lookup(path: str, any_id: str) -> tuple[list[str], list[trace.Match]]:
    """Correlation IDs an ID resolves to, and the records it names."""
    with _cur(path) as cur:
        return trace.lookup(cur, any_id)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512)
def trace_flow(path: str, correlation_id: str) -> tuple[list[trace.TraceRecord], list[dict[str, Any]]]:
    """The flow's records and its findings."""
    with _cur(path) as cur:
        return trace.timeline(cur, correlation_id), trace.findings(cur, correlation_id)


@st.cache_data(ttl=TTL, show_spinner=False)
def check_runs(path: str) -> pl.DataFrame:
    """Every check's result in every run carried in this warehouse (status, rows, $), oldest first."""
    return _pl(
        path,
        "SELECT run_id, as_of, check_id, title, domain, owner, base_severity, impact_kind, status, row_count, "
        "impact_rc, duration_ms, error, params FROM results.check_run ORDER BY check_id, run_id",
    )


def exception_pack(run: Run, period: str) -> tuple[bytes, str]:
    """The month's exception pack (closedloop/pack.py) from the published run: its CSV bytes and HTML page.

    Not cached: it carries the audit trail, which moves as people act. A bad period raises pack.PackError.
    """
    from closedloop import pack

    with _cur(run.path) as cur:
        result = pack.build_pack(cur, period, run.ops_url, currency=run.currency)
    return result.csv, result.html
