"""The case queue's queries: cases (checks/cases.py) filtered, grouped, paged and totalled per kind of money.

A case counts its money once per kind (leakage, exposure, cash) and compliance as a count; kinds are never
added together here, so every figure this module returns is one kind's. Cached like app/queries.py: the run
file's path is in every cache key, values from people are bound parameters, SQL text comes only from the
constants below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import streamlit as st

from app import queries as q
from closedloop.access import Principal
from closedloop.csvsafe import to_csv

TTL = q.TTL
VIEW = q.VIEW  # cached per view (roles, scope, masking), not per person
PAGE_SIZES = (50, 100, 200)
MONEY = ("leakage_rc", "exposure_rc", "cash_rc")  # one column per kind of money, never summed across
# URL key -> column of the case relation (the same keys the findings filters used, so old links still work)
LIST_FILTERS = {
    "severity": "severity",
    "owner": "owner_team",
    "status": "status",
    "client": "client_id",
    "entity": "legal_entity_id",
    "age": "age_bucket",
    "domain": "domain",
    "practice": "practice",
    "region": "region",
}
KINDS = {  # a case "has" a kind when one of its findings is of it (a $0 leakage finding still is leakage)
    "leakage": "leakage_rc IS NOT NULL",
    "exposure": "exposure_rc IS NOT NULL",
    "cash": "cash_rc IS NOT NULL",
    "compliance": "compliance_findings > 0",
}
SORTS = {
    "impact": "largest_rc DESC NULLS LAST, severity, case_key",  # the largest single kind; not a sum of kinds
    "leakage": "leakage_rc DESC NULLS LAST, severity, case_key",
    "exposure": "exposure_rc DESC NULLS LAST, severity, case_key",
    "cash": "cash_rc DESC NULLS LAST, severity, case_key",
    "severity": "severity, largest_rc DESC NULLS LAST, case_key",
    "age": "age_days DESC NULLS LAST, largest_rc DESC NULLS LAST, case_key",
}
# group-by -> (the group's value, its label); values are never NULL, so a group can be asked for by value
GROUPS = {
    "check": ("check_id", "coalesce(title, check_id) || ' (' || check_id || ')'"),
    "client": ("coalesce(client_id, '')", "coalesce(client_name, client_id, '(no client)')"),
    "sow": (
        "coalesce(sow_id, 'project ' || project_id, '')",
        "CASE WHEN sow_id IS NOT NULL THEN 'SOW ' || sow_id || coalesce(' · ' || project_name, '') "
        "WHEN project_id IS NOT NULL THEN 'Project ' || coalesce(project_name || ' (' || project_id || ')', project_id) "
        "ELSE '(no SOW or project)' END",
    ),
    "owner": ("coalesce(owner_team, '')", "coalesce(owner_team, '(no owner team)')"),
    "age": ("age_bucket", "age_bucket || ' days'"),
}
CASE_COLUMNS = (
    "case_key", "status", "severity", "check_id", "title", "leakage_rc", "leakage_expected_rc", "exposure_rc",
    "cash_rc", "cash_cost_rc", "compliance_findings", "findings", "client_id", "client_name", "erp_invoice_no",
    "invoice_id", "sow_id", "project_id", "project_name", "owner_team", "assignee", "age_days", "money_type",
    "money_id", "correlation_id", "check_ids", "stage", "first_seen_at",
)  # fmt: skip

_CURRENT = """
SELECT c.case_key, c.root_check_id AS check_id, cr.title, cr.domain, c.stage, c.severity,
       CASE WHEN c.status = 'reopened' THEN coalesce(w.st_reopened, 'reopened') ELSE coalesce(w.st_open, c.status) END AS status,
       c.leakage_rc, c.leakage_expected_rc, c.exposure_rc, c.cash_rc, c.cash_cost_rc, c.compliance_findings, c.findings,
       c.check_ids, c.money_type, c.money_id, c.correlation_id, c.client_id, cl.name AS client_name, c.legal_entity_id,
       c.sow_id, c.project_id, p.name AS project_name, c.invoice_id, p.practice, coalesce(p.region, cl.region) AS region,
       c.owner_team, w.assignee, c.event_date, c.first_seen_at,
       date_diff('day', coalesce(c.event_date, CAST(c.first_seen_at AS DATE)), CAST(? AS DATE)) AS age_days,
       c.reopened_count
FROM results.cases c
LEFT JOIN results.check_run cr ON cr.run_id = c.run_id AND cr.check_id = c.root_check_id
LEFT JOIN (SELECT client_id, any_value(name) AS name, any_value(region) AS region FROM canon.client GROUP BY client_id) cl
       ON cl.client_id = c.client_id
LEFT JOIN (SELECT project_id, any_value(name) AS name, any_value(practice) AS practice, any_value(region) AS region
           FROM canon.project GROUP BY project_id) p ON p.project_id = c.project_id
LEFT JOIN wf w ON w.case_key = c.case_key
WHERE c.run_id = ?
"""
# Cases a run closed (every check that found them ran again and found nothing): asked for with status=closed.
_CLOSED = """
UNION ALL
SELECT h.case_key, h.root_check_id, cr.title, cr.domain, NULL, h.severity, 'closed', h.leakage_rc, NULL, h.exposure_rc,
       h.cash_rc, NULL, NULL, NULL, h.check_ids, h.money_type, h.money_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, cr.owner, w.assignee, NULL, h.first_seen_at,
       date_diff('day', CAST(h.first_seen_at AS DATE), CAST(? AS DATE)), h.reopened_count
FROM results.case_history h
LEFT JOIN (SELECT check_id, any_value(title) AS title, any_value(domain) AS domain, any_value(owner) AS owner
           FROM results.check_run GROUP BY check_id) cr ON cr.check_id = h.root_check_id
LEFT JOIN wf w ON w.case_key = h.case_key
WHERE h.status = 'resolved'
"""


def _relation(
    run: q.Run, as_of: dt.date, f: q.Filters, overlay: q.Overlay, who: Principal
) -> tuple[str, list[Any]]:
    """The filtered case relation (a CTE list ending in `cases`) in the principal's scope, and its parameters.

    Closed cases (results.case_history) carry a client but no legal entity: a person scoped by legal entity
    sees none of them (fail closed)."""
    cols = list(zip(*overlay, strict=True)) if overlay else [(), (), (), ()]
    scope, sparams = who.scope.sql("c.client_id", "c.legal_entity_id")
    params: list[Any] = [list(c) for c in cols] + [as_of, run.run_id, *sparams]
    body = f"{_CURRENT} AND {scope}"
    if "closed" in f.get("status"):
        closed_scope, cparams = who.scope.sql("h.client_id", None)
        body += f"{_CLOSED} AND {closed_scope}"
        params += [as_of, *cparams]
    where, wparams = [], []
    for key, col in LIST_FILTERS.items():
        if values := f.get(key):
            where.append(f"list_contains(?::VARCHAR[], CAST({col} AS VARCHAR))")
            wparams.append(list(values))
    if checks := f.get("check"):  # a case is a check's when any of its findings is (root or symptom)
        where.append("list_has_any(string_split(coalesce(check_ids, check_id), ','), ?::VARCHAR[])")
        wparams.append(list(checks))
    if kinds := [k for k in f.get("kind") if k in KINDS]:
        where.append("(" + " OR ".join(KINDS[k] for k in kinds) + ")")
    elif f.get("kind"):
        where.append("false")  # only unknown kinds asked for: nothing matches
    if f.min_impact is not None:
        where.append("coalesce(largest_rc, 0) >= ?")
        wparams.append(f.min_impact)
    if f.text:
        # the case's documents and names, or any of its findings' entity or correlation ID
        where.append(
            "(contains(lower(concat_ws(' ', money_id, sow_id, project_id, project_name, invoice_id, correlation_id,"
            " client_name, (SELECT min(i.erp_invoice_no) FROM canon.invoice i WHERE i.invoice_id = a.invoice_id))),"
            " lower(?)) OR EXISTS (SELECT 1 FROM results.finding f WHERE f.run_id = ? AND f.case_key = a.case_key"
            " AND (contains(lower(f.entity_id), lower(?)) OR contains(lower(coalesce(f.correlation_id, '')), lower(?)))))"
        )
        wparams += [f.text, run.run_id, f.text, f.text]
    age = q.AGE_SQL
    sql = (
        "WITH wf AS (SELECT unnest(?::VARCHAR[]) AS case_key, unnest(?::VARCHAR[]) AS st_open, "
        "unnest(?::VARCHAR[]) AS st_reopened, unnest(?::VARCHAR[]) AS assignee), "
        f"base AS ({body}), "
        f"aged AS (SELECT *, {age} AS age_bucket, "
        "greatest(leakage_rc, exposure_rc, cash_rc) AS largest_rc FROM base), "
        f"cases AS (SELECT * FROM aged a {'WHERE ' + ' AND '.join(where) if where else ''})"
    )
    return sql, params + wparams


def _in_group(by: str | None, value: str | None) -> tuple[str, list[Any]]:
    if not by or by not in GROUPS or value is None:
        return "", []
    return f" WHERE CAST({GROUPS[by][0]} AS VARCHAR) = ?", [value]


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256, hash_funcs=VIEW)
def totals(run: q.Run, as_of: dt.date, f: q.Filters, overlay: q.Overlay, who: Principal) -> dict[str, Any]:
    """Count of the filtered cases and their money per kind (each kind its own figure), compliance as a count;
    in the principal's scope, amounts masked for them."""
    sql, params = _relation(run, as_of, f, overlay, who)
    rows = q._rows(
        run.path,
        f"{sql} SELECT count(*) AS cases, sum(findings) AS findings, "
        + ", ".join(
            f"CAST(coalesce(sum({c}), 0) AS DECIMAL(18,2)) AS {c}"
            for c in (*MONEY, "leakage_expected_rc", "cash_cost_rc")
        )
        + ", coalesce(sum(compliance_findings), 0) AS compliance_findings, "
        "count(*) FILTER (WHERE severity = 'S1') AS s1 FROM cases",
        params,
    )
    return q.mask_row(rows[0], who)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256, hash_funcs=VIEW)
def page(
    run: q.Run,
    as_of: dt.date,
    f: q.Filters,
    overlay: q.Overlay,
    number: int = 1,
    size: int = 50,
    by: str | None = None,
    value: str | None = None,
    who: Principal | None = None,
) -> pl.DataFrame:
    """One page of the filtered cases (of one group when `by`/`value` are given), sorted in DuckDB, in the
    principal's scope and masking; no rows for a principal who sees totals only."""
    if who is None:
        raise TypeError("page() needs the principal (who=)")
    sql, params = _relation(run, as_of, f, overlay, who)
    cond, gparams = _in_group(by, value)
    order = SORTS.get(f.sort, SORTS["impact"])
    size = size if size in PAGE_SIZES else PAGE_SIZES[0]
    offset = (max(int(number), 1) - 1) * size
    cols = ", ".join(f"pg.{c}" for c in CASE_COLUMNS if c != "erp_invoice_no")
    # invoice numbers for the page's rows only: the invoice table is the largest one the queue touches
    limit = size if who.detail else 0
    df = q._pl(
        run.path,
        f"{sql}, pg AS (SELECT * FROM cases{cond} ORDER BY {order} LIMIT {limit} OFFSET {offset}) "
        f"SELECT {cols}, inv.erp_invoice_no FROM pg LEFT JOIN (SELECT invoice_id, min(erp_invoice_no) AS erp_invoice_no "
        "FROM canon.invoice WHERE invoice_id IN (SELECT invoice_id FROM pg) GROUP BY invoice_id) inv "
        f"ON inv.invoice_id = pg.invoice_id ORDER BY {order.replace('case_key', 'pg.case_key')}",
        params + gparams,
    ).select(CASE_COLUMNS)
    return q.mask_frame(df, who)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256, hash_funcs=VIEW)
def groups(
    run: q.Run, as_of: dt.date, f: q.Filters, overlay: q.Overlay, by: str, who: Principal
) -> pl.DataFrame:
    """The filtered cases grouped: per group its count, money per kind (never summed across) and compliance;
    in the principal's scope, amounts masked for them."""
    value, label = GROUPS[by]
    sql, params = _relation(run, as_of, f, overlay, who)
    money = ", ".join(f"CAST(sum({c}) AS DECIMAL(18,2)) AS {c}" for c in MONEY)
    order = (
        "min(CASE age_bucket "
        + " ".join(f"WHEN '{k}' THEN {i}" for i, (k, *_) in enumerate(q.AGE_BUCKETS))
        + " END)"
        if by == "age"
        else "greatest(sum(leakage_rc), sum(exposure_rc), sum(cash_rc)) DESC NULLS LAST, count(*) DESC"
    )
    if who.masks("amounts"):  # the order must not reveal what is masked
        order = "count(*) DESC" if by != "age" else order
    df = q._pl(
        run.path,
        f"{sql} SELECT CAST({value} AS VARCHAR) AS value, min({label}) AS label, count(*) AS cases, {money}, "
        "CAST(sum(compliance_findings) AS BIGINT) AS compliance_findings, count(*) FILTER (WHERE severity = 'S1') AS s1 "
        f"FROM cases GROUP BY CAST({value} AS VARCHAR) ORDER BY {order}, 2",
        params,
    )
    return q.mask_frame(df, who)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=256, hash_funcs=VIEW)
def group_keys(
    run: q.Run, as_of: dt.date, f: q.Filters, overlay: q.Overlay, by: str, value: str, who: Principal
) -> tuple[str, ...]:
    """Every case key in one group (in the principal's scope), in queue order: what a bulk action acts on."""
    if not who.detail:
        return ()
    sql, params = _relation(run, as_of, f, overlay, who)
    cond, gparams = _in_group(by, value)
    order = SORTS.get(f.sort, SORTS["impact"])
    rows = q._rows(run.path, f"{sql} SELECT case_key FROM cases{cond} ORDER BY {order}", params + gparams)
    return tuple(r["case_key"] for r in rows)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def filter_options(path: str, run_id: str, who: Principal) -> dict[str, list[tuple[str, str]]]:
    """Values for the filter widgets, as (value, label) pairs from the run's cases in the principal's scope."""
    scope, sparams = who.scope.sql("c.client_id", "c.legal_entity_id")

    def pairs(sql: str) -> list[tuple[str, str]]:
        sql = sql.replace("WHERE c.run_id = ?", f"WHERE c.run_id = ? AND {scope}")
        rows = q._rows(path, sql, [run_id, *sparams] if "AND " + scope in sql else [run_id])
        return [(r["v"], r["l"] or r["v"]) for r in rows if r["v"] is not None]

    return {
        "check": pairs(
            "SELECT DISTINCT f.check_id AS v, coalesce(cr.title, '') || ' (' || f.check_id || ')' AS l "
            "FROM results.finding f LEFT JOIN results.check_run cr USING (run_id, check_id) WHERE f.run_id = ? ORDER BY 1"
        ),
        "owner": pairs(
            "SELECT DISTINCT owner_team AS v, owner_team AS l FROM results.cases c WHERE c.run_id = ? ORDER BY 1"
        ),
        "client": pairs(
            "SELECT DISTINCT c.client_id AS v, coalesce(cl.name, c.client_id) AS l FROM results.cases c "
            "LEFT JOIN (SELECT client_id, any_value(name) AS name FROM canon.client GROUP BY 1) cl USING (client_id) "
            "WHERE c.run_id = ? ORDER BY 2"
        ),
        "entity": pairs(
            "SELECT DISTINCT c.legal_entity_id AS v, coalesce(le.name, c.legal_entity_id) AS l FROM results.cases c "
            "LEFT JOIN (SELECT legal_entity_id, any_value(name) AS name FROM canon.legal_entity GROUP BY 1) le "
            "USING (legal_entity_id) WHERE c.run_id = ? ORDER BY 2"
        ),
        "domain": pairs(
            "SELECT DISTINCT domain AS v, domain AS l FROM results.check_run WHERE run_id = ? ORDER BY 1"
        ),
    }


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def severity_by_check(path: str, run_id: str, who: Principal) -> dict[str, str]:
    """Per check, its findings in this run (in the principal's scope) by severity ("2 S1 · 40 S2")."""
    scope, sparams = who.scope.sql("client_id", "legal_entity_id")
    rows = q._rows(
        path,
        "SELECT check_id, string_agg(n || ' ' || severity, ' · ' ORDER BY severity) AS s FROM "
        "(SELECT check_id, severity, count(*) AS n FROM results.finding WHERE run_id = ? AND "
        f"{scope} GROUP BY ALL) GROUP BY 1",
        [run_id, *sparams],
    )
    return {r["check_id"]: r["s"] for r in rows}


# ---- export -------------------------------------------------------------------------------------------------

EXPORT_CASE_COLUMNS = (
    "case_key", "status", "severity", "check_id", "title", "stage", "leakage_rc", "leakage_expected_rc",
    "exposure_rc", "cash_rc", "cash_cost_rc", "compliance_findings", "findings", "check_ids", "client_id",
    "client_name", "legal_entity_id", "erp_invoice_no", "invoice_id", "sow_id", "project_id", "project_name",
    "owner_team", "assignee", "age_days", "event_date", "first_seen_at", "money_type", "money_id", "correlation_id",
)  # fmt: skip
EXPORT_FINDING_COLUMNS = (
    "case_key", "finding_key", "check_id", "title", "stage", "severity", "impact_kind", "impact_rc",
    "expected_loss_rc", "entity_type", "entity_id", "correlation_id", "invoice_id", "sow_id", "project_id",
    "event_date", "first_seen_at", "details",
)  # fmt: skip


def _inv_numbers(sql: str) -> str:
    return (
        f"{sql}, n AS (SELECT invoice_id, min(erp_invoice_no) AS erp_invoice_no FROM canon.invoice "
        "WHERE invoice_id IN (SELECT invoice_id FROM cases) GROUP BY invoice_id) "
    )


def export_cases_csv(run: q.Run, as_of: dt.date, f: q.Filters, overlay: q.Overlay, who: Principal) -> bytes:
    """The filtered cases as CSV: one column per kind of money (no total across kinds), formula cells escaped;
    in the principal's scope, masked values written as access.MASKED, nothing but the header without detail."""
    sql, params = _relation(run, as_of, f, overlay, who)
    cols = ", ".join("n.erp_invoice_no" if c == "erp_invoice_no" else f"c.{c}" for c in EXPORT_CASE_COLUMNS)
    order = SORTS.get(f.sort, SORTS["impact"]).replace("case_key", "c.case_key")
    with q._cur(run.path) as cur:
        res = cur.execute(
            f"{_inv_numbers(sql)} SELECT {cols} FROM cases c LEFT JOIN n ON n.invoice_id = c.invoice_id "
            f"ORDER BY {order}{'' if who.detail else ' LIMIT 0'}",
            params,
        )
        return to_csv(EXPORT_CASE_COLUMNS, _masked(EXPORT_CASE_COLUMNS, res.fetchall(), who))


def export_findings_csv(
    run: q.Run, as_of: dt.date, f: q.Filters, overlay: q.Overlay, who: Principal
) -> bytes:
    """The findings of the filtered cases as CSV, each with its case key and its own amount and kind.

    A finding's amount is its own: findings of one case can measure the same money, so a total down this file
    is not the case's amount (that is the cases file, counted once per kind)."""
    sql, params = _relation(run, as_of, f, overlay, who)
    cols = ", ".join(f"fi.{c}" if c != "title" else "cr.title" for c in EXPORT_FINDING_COLUMNS)
    with q._cur(run.path) as cur:
        res = cur.execute(
            f"{sql} SELECT {cols} FROM results.finding fi JOIN cases c ON c.case_key = fi.case_key "
            "LEFT JOIN results.check_run cr ON cr.run_id = fi.run_id AND cr.check_id = fi.check_id "
            "WHERE fi.run_id = ? ORDER BY fi.case_key, fi.stage, fi.check_id, fi.finding_key"
            + ("" if who.detail else " LIMIT 0"),
            [*params, run.run_id],
        )
        return to_csv(EXPORT_FINDING_COLUMNS, _masked(EXPORT_FINDING_COLUMNS, res.fetchall(), who))


def _masked(columns: tuple[str, ...], rows: list[tuple], who: Principal) -> list[list[Any]]:
    """Export rows with the principal's masked values (and evidence keys) written as access.MASKED."""
    return [list(q.mask_row(dict(zip(columns, r, strict=True)), who).values()) for r in rows]
