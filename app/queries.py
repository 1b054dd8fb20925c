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

from closedloop import access, settings, trace
from closedloop.access import Principal
from closedloop.lastgood import app_config
from closedloop.warehouse import Warehouse

TTL = 3600


def view(who: Principal) -> tuple:
    """What a cached result depends on about a person: roles, scope and masking, not who they are. So everyone
    with the same view shares one computed result per run file (50 sessions, one query), and two views never
    share one (a scoped or masked person never gets another's rows). A cached function must not read actor."""
    return (tuple(sorted(who.roles)), who.scope, tuple(sorted(who.masked)))


# hash_funcs of every cached query taking a Principal: keyed by its view (above)
VIEW = {Principal: view}
# KPI units that are not money (anything else, e.g. a currency code, is an amount)
NON_MONEY_UNITS = frozenset(
    {"days", "business_days", "hours", "ratio", "pct", "percent", "share", "count", "n"}
)


@dataclass(frozen=True)
class Run:
    """The published run the app is showing."""

    run_id: str
    path: str
    data_dir: Path
    ops_url: str
    currency: str = "USD"


def config() -> settings.Config:
    """The app's config: parsed once per version of its file; while the file does not parse (a typo made while
    the app runs), the last good one, and Data health says so (closedloop/lastgood.py)."""
    return app_config()


def published() -> Run | None:
    """Read the publish pointer now (cheap): the app follows it on every rerun."""
    cfg = config()
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


# ---- scope and masking: every query that returns firm data passes its result through these -----------------


def mask_details(details: Any, who: Principal) -> Any:
    """A finding's evidence document (JSON text) with the principal's masked keys replaced by access.MASKED."""
    return access.mask_json(details, who)


def mask_row(row: dict[str, Any], who: Principal) -> dict[str, Any]:
    """One result row masked for the principal, its evidence document too."""
    out = access.mask_record(row, who)
    if "details" in out:
        out["details"] = mask_details(row["details"], who)
    return out


def mask_rows(rows: list[dict[str, Any]], who: Principal) -> list[dict[str, Any]]:
    return [mask_row(r, who) for r in rows]


def mask_frame(df: pl.DataFrame, who: Principal) -> pl.DataFrame:
    """access.mask_frame, and the evidence documents of a `details` column masked key by key."""
    df = access.mask_frame(df, who)
    if "details" in df.columns and who.masked and df.height:
        df = df.with_columns(
            pl.col("details").map_elements(lambda d: mask_details(d, who), return_dtype=pl.String)
        )
    return df


def masked_kinds(columns: Any, who: Principal) -> list[str]:
    """The kinds of value masked for the principal among these columns (for the page's caption)."""
    return sorted({k for c in columns if (k := access.value_kind(str(c))) and who.masks(k)})


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def tables(path: str) -> set[str]:
    """Tables present in the run (a run without checks has no results.*)."""
    return {r["t"] for r in _rows(path, "SELECT schema_name || '.' || table_name AS t FROM duckdb_tables()")}


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
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


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def kpis(path: str, headline: tuple[tuple[str, str], ...], who: Principal) -> pl.DataFrame:
    """Each KPI's headline measure for the whole firm per run, oldest run first, for tiles and trends.

    A KPI has several measures (median, P90, share within SLA...): the tile shows one, named in
    app/kpi_targets.HEADLINE; the others stay in results.kpi for drill-down. KPIs are firm-wide (a median
    cannot be re-cut by a scope): a person with a scope gets none (fail closed; the page says why), and a
    money KPI's value is null where amounts are masked.
    """
    pairs = [v for pair in headline for v in pair]
    cond = " OR ".join("(kpi_id = ? AND name = ?)" for _ in headline) or "false"
    df = _pl(
        path,
        "SELECT run_id, as_of, kpi_id, name, unit, value FROM results.kpi "
        f"WHERE (slice_kind IS NULL OR slice_kind IN ('', 'all', 'total', 'firm')) AND ({cond}) "
        "ORDER BY kpi_id, run_id" + (" LIMIT 0" if who.scope.limited else ""),
        pairs,
    )
    if who.masks("amounts") and df.height:
        money = ~pl.col("unit").fill_null("").str.to_lowercase().is_in(list(NON_MONEY_UNITS))
        df = df.with_columns(pl.when(money).then(None).otherwise(pl.col("value")).alias("value"))
    return df


# ---- trace, catalog (the Data health queries: app/queries_health.py) ---------------------------


# a flow's client and legal entity: the tables a flow's records carry them on
_FLOW_PARTIES = ("opportunity", "contract", "sow", "project", "invoice", "payment")


def flows_in_scope(cur: duckdb.DuckDBPyConnection, cids: list[str], who: Principal) -> set[str]:
    """The correlation IDs among `cids` whose flow belongs to the principal's scope: a record of the flow
    carries an in-scope client and legal entity. A flow with no such record is out of scope (fail closed)."""
    if not who.scope.limited:
        return set(cids)
    if not cids:
        return set()
    have = {
        r[0] for r in cur.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    }
    pred, sparams = who.scope.sql("client_id", "legal_entity_id")
    parts = [
        f"SELECT correlation_id FROM canon.{t} WHERE list_contains(?::VARCHAR[], correlation_id) AND {pred}"
        for t in _FLOW_PARTIES
        if f"canon.{t}" in have
    ]
    if not parts:
        return set()
    params = [p for _ in parts for p in [list(cids), *sparams]]
    return {r[0] for r in cur.execute(" UNION ".join(parts), params).fetchall()}


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def trace_lookup(path: str, any_id: str, who: Principal) -> tuple[list[str], list[trace.Match]]:
    """Correlation IDs an ID resolves to, and the records it names, within the principal's scope (none
    without detail: an executive sees totals only)."""
    if not who.detail:
        return [], []
    with _cur(path) as cur:
        cids, matches = trace.lookup(cur, any_id)
        if not who.scope.limited:
            return cids, matches
        ok = flows_in_scope(
            cur, sorted({*cids, *(m.correlation_id for m in matches if m.correlation_id)}), who
        )
    return [c for c in cids if c in ok], [m for m in matches if m.correlation_id in ok]


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def trace_flow(
    path: str, correlation_id: str, who: Principal
) -> tuple[list[trace.TraceRecord], list[dict[str, Any]]]:
    """The flow's records and its findings, masked for the principal; nothing for a flow outside their scope."""
    if not who.detail:
        return [], []
    with _cur(path) as cur:
        if not flows_in_scope(cur, [trace.clean_id(correlation_id)], who):
            return [], []
        records, findings = trace.timeline(cur, correlation_id), trace.findings(cur, correlation_id)
    if who.masked:
        records = [
            trace.TraceRecord(r.lane, r.entity_type, r.entity_id, r.ts, access.mask_record(r.fields, who))
            for r in records
        ]
    return records, mask_rows(findings, who)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def check_runs(path: str, who: Principal) -> pl.DataFrame:
    """Every check's result in every run carried in this warehouse (status, rows, $), oldest first.

    Rows and $ are firm-wide: null for a person with a scope (fail closed), $ masked where amounts are."""
    df = _pl(
        path,
        "SELECT run_id, as_of, check_id, title, domain, owner, base_severity, impact_kind, status, row_count, "
        "impact_rc, duration_ms, error, params FROM results.check_run ORDER BY check_id, run_id",
    )
    if who.scope.limited:
        df = df.with_columns(
            pl.lit(None, dtype=df.schema["row_count"]).alias("row_count"),
            pl.lit(None, dtype=df.schema["impact_rc"]).alias("impact_rc"),
        )
    return mask_frame(df, who)


def exception_pack(run: Run, period: str, who: Principal) -> tuple[bytes, str]:
    """The month's exception pack (closedloop/pack.py) from the published run: its CSV bytes and HTML page,
    in the principal's scope and masking.

    Not cached: it carries the audit trail, which moves as people act. A bad period raises pack.PackError.
    """
    from closedloop import pack

    with _cur(run.path) as cur:
        result = pack.build_pack(cur, period, run.ops_url, currency=run.currency, who=who)
    return result.csv, result.html
