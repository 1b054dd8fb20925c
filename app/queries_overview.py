"""The overview's queries: money per kind from cases (each case counted once), never summed across kinds.

A case (checks/cases.py) holds one amount per kind of money: leakage, exposure, cash; compliance has no amount
and is counted, by the severity of its worst finding. Every figure this module returns is one kind's. Cached
like app/queries.py (the run file's path is in each cache key); SQL text comes only from constants here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from app import queries as q
from closedloop import access, case_audit
from closedloop.access import Principal
from closedloop.workflow import Workflow

TTL = q.TTL
VIEW = q.VIEW  # cached per view (roles, scope, masking), not per person
MONEY_KINDS = ("leakage", "exposure", "cash")
KINDS = (*MONEY_KINDS, "compliance")
# kind -> (amount column of results.cases, its second figure's column or None)
AMOUNT = {"leakage": ("leakage_rc", "leakage_expected_rc"), "exposure": ("exposure_rc", None),
          "cash": ("cash_rc", "cash_cost_rc")}  # fmt: skip
SEVERITIES = ("S1", "S2", "S3", "S4")
_AMOUNT_OF_KIND = (
    "CASE k.impact_kind WHEN 'leakage' THEN c.leakage_rc WHEN 'exposure' THEN c.exposure_rc "
    "WHEN 'cash' THEN c.cash_rc END"
)
_SECOND_OF_KIND = (
    "CASE k.impact_kind WHEN 'leakage' THEN c.leakage_expected_rc WHEN 'cash' THEN c.cash_cost_rc END"
)
# each case once per kind it has, at the severity of its worst finding of that kind
_PER_KIND = (
    "SELECT f.case_key, f.impact_kind, min(f.severity) AS severity FROM results.finding f "
    "WHERE f.run_id = ? AND f.case_key IS NOT NULL AND f.impact_kind IN ('leakage', 'exposure', 'cash', 'compliance') "
    "GROUP BY f.case_key, f.impact_kind"
)


def _amount(value: Any, who: Principal) -> Any:
    """An amount as the principal may see it: access.MASKED where amounts are masked (never a zero)."""
    return access.MASKED if who.masks("amounts") and value is not None else value


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def kind_totals(path: str, run_id: str, who: Principal) -> dict[str, dict[str, Any]]:
    """Per kind: cases, amount at stake and its second figure (None where the kind has none), cases by severity;
    over the principal's scope, amounts masked for them."""
    scope, sparams = who.scope.sql("c.client_id", "c.legal_entity_id")
    rows = q._rows(
        path,
        f"WITH k AS ({_PER_KIND}) SELECT k.impact_kind AS kind, k.severity, count(*) AS cases, "
        f"CAST(sum({_AMOUNT_OF_KIND}) AS DECIMAL(18,2)) AS amount, CAST(sum({_SECOND_OF_KIND}) AS DECIMAL(18,2)) "
        f"AS second FROM k JOIN results.cases c ON c.run_id = ? AND c.case_key = k.case_key WHERE {scope} GROUP BY ALL",
        [run_id, run_id, *sparams],
    )
    out: dict[str, dict[str, Any]] = {
        k: {
            "cases": 0,
            "amount": None if k == "compliance" else Decimal("0.00"),
            "second": None,
            "by_severity": {},
        }
        for k in KINDS
    }
    for r in rows:
        t = out[r["kind"]]
        t["cases"] += r["cases"]
        t["by_severity"][r["severity"]] = t["by_severity"].get(r["severity"], 0) + r["cases"]
        if r["kind"] != "compliance":
            t["amount"] += r["amount"] or Decimal("0.00")
            if r["second"] is not None:
                t["second"] = (t["second"] or Decimal("0.00")) + r["second"]
    for t in out.values():
        t["amount"], t["second"] = _amount(t["amount"], who), _amount(t["second"], who)
    return out


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def kind_trend(path: str, who: Principal) -> pl.DataFrame:
    """Per business date (the last run of each as_of date) and kind: cases, amount, second figure; oldest first.

    results.case_run holds firm-wide totals only: a person with a scope gets no trend (fail closed)."""
    if "results.case_run" not in q.tables(path) or who.scope.limited:
        return pl.DataFrame()
    df = q._pl(
        path,
        "WITH last AS (SELECT as_of, max(run_id) AS run_id FROM results.case_run GROUP BY as_of) "
        "SELECT r.as_of, r.impact_kind AS kind, CAST(sum(r.cases) AS INTEGER) AS cases, "
        "CAST(sum(r.amount_rc) AS DECIMAL(18,2)) AS amount, CAST(sum(r.second_rc) AS DECIMAL(18,2)) AS second "
        "FROM results.case_run r JOIN last USING (as_of, run_id) GROUP BY r.as_of, r.impact_kind "
        "ORDER BY r.as_of, r.impact_kind",
    )
    return q.mask_frame(df, who) if not who.masks("amounts") else _mask_money(df)


def _mask_money(df: pl.DataFrame) -> pl.DataFrame:
    """Amount columns of an aggregate (named amount, second) nulled: their names do not say they are money."""
    return df.with_columns(
        [pl.lit(None, dtype=df.schema[c]).alias(c) for c in ("amount", "second") if c in df.columns]
    )


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def kpi_by_date(path: str, headline: tuple[tuple[str, str], ...], who: Principal) -> pl.DataFrame:
    """q.kpis, one value per business date (the last run of each as_of date), oldest first."""
    df = q.kpis(path, headline, who)
    if df.is_empty():
        return df
    return df.sort("run_id").unique(["kpi_id", "name", "as_of"], keep="last").sort("kpi_id", "as_of")


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def fix_first(run: q.Run, as_of: dt.date, who: Principal, n: int = 5) -> list[dict[str, Any]]:
    """The n cases with the most leakage in the principal's scope: what to fix first, with what a person needs
    to recognise each (none for a principal who sees totals only)."""
    if not who.detail:
        return []
    scope, sparams = who.scope.sql("c.client_id", "c.legal_entity_id")
    rows = q._rows(
        run.path,
        "SELECT c.case_key, c.leakage_rc, c.leakage_expected_rc, c.root_check_id, cr.title, c.owner_team, "
        "c.money_type, c.money_id, coalesce(i.erp_invoice_no, c.money_id) AS document, cl.name AS client_name, "
        "c.client_id, c.findings, c.status, coalesce(p.name, sp.name) AS project_name, "
        "date_diff('day', coalesce(c.event_date, CAST(c.first_seen_at AS DATE)), CAST(? AS DATE)) AS age_days "
        "FROM results.cases c "
        "LEFT JOIN results.check_run cr ON cr.run_id = c.run_id AND cr.check_id = c.root_check_id "
        "LEFT JOIN (SELECT invoice_id, any_value(erp_invoice_no) AS erp_invoice_no FROM canon.invoice GROUP BY 1) i "
        "  ON c.money_type = 'invoice' AND i.invoice_id = c.money_id "
        "LEFT JOIN (SELECT client_id, any_value(name) AS name FROM canon.client GROUP BY 1) cl ON cl.client_id = c.client_id "
        "LEFT JOIN (SELECT project_id, any_value(name) AS name FROM canon.project GROUP BY 1) p "
        "  ON p.project_id = c.project_id "
        "LEFT JOIN (SELECT sow_id, min(name) AS name FROM canon.project GROUP BY 1) sp ON sp.sow_id = c.sow_id "
        f"WHERE c.run_id = ? AND c.leakage_rc > 0 AND {scope} ORDER BY c.leakage_rc DESC, c.case_key LIMIT ?",
        [as_of, run.run_id, *sparams, int(n)],
    )
    return q.mask_rows(rows, who)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def money_by_month(path: str, run_id: str, as_of: dt.date, who: Principal, months: int = 12) -> pl.DataFrame:
    """Amount per money kind by the month the break happened (event date, else when first seen), last N months,
    over the principal's scope (amounts masked for them)."""
    scope, sparams = who.scope.sql("c.client_id", "c.legal_entity_id")
    df = q._pl(
        path,
        f"WITH k AS ({_PER_KIND}), m AS (SELECT k.impact_kind, "
        "date_trunc('month', coalesce(c.event_date, CAST(c.first_seen_at AS DATE))) AS month, "
        f"{_AMOUNT_OF_KIND} AS amount FROM k JOIN results.cases c ON c.run_id = ? AND c.case_key = k.case_key "
        f"WHERE k.impact_kind <> 'compliance' AND {scope}) "
        "SELECT month, impact_kind AS kind, count(*) AS cases, CAST(sum(amount) AS DECIMAL(18,2)) AS amount FROM m "
        "WHERE month > date_trunc('month', CAST(? AS DATE)) - to_months(CAST(? AS INTEGER)) "
        "GROUP BY ALL ORDER BY 1, 2",
        [run_id, run_id, *sparams, as_of, int(months)],
    )
    return q.mask_frame(df, who)


# dimension -> (label expression, value expression, the queue's URL key); over the case relation below
DIMENSIONS = {
    "domain": ("coalesce(replace(domain, '_', ' '), '(no family)')", "domain", "domain"),
    "client": ("coalesce(client_name, client_id, '(no client)')", "client_id", "client"),
    "legal_entity": ("coalesce(legal_entity_name, legal_entity_id, '(none)')", "legal_entity_id", "entity"),
    "practice": ("coalesce(practice, '(no practice)')", "practice", "practice"),
    "region": ("coalesce(region, '(no region)')", "region", "region"),
}
_CASES = """
SELECT c.*, cr.domain, cl.name AS client_name, le.name AS legal_entity_name, p.practice,
       coalesce(p.region, cl.region) AS region
FROM results.cases c
LEFT JOIN results.check_run cr ON cr.run_id = c.run_id AND cr.check_id = c.root_check_id
LEFT JOIN (SELECT client_id, any_value(name) AS name, any_value(region) AS region FROM canon.client GROUP BY 1) cl
       ON cl.client_id = c.client_id
LEFT JOIN (SELECT legal_entity_id, any_value(name) AS name FROM canon.legal_entity GROUP BY 1) le
       ON le.legal_entity_id = c.legal_entity_id
LEFT JOIN (SELECT project_id, any_value(practice) AS practice, any_value(region) AS region FROM canon.project
           GROUP BY 1) p ON p.project_id = c.project_id
WHERE c.run_id = ?
"""


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def money_by(path: str, run_id: str, dim: str, kind: str, who: Principal, top: int = 12) -> pl.DataFrame:
    """One money kind's amount and case count by a dimension (top N by amount), over the principal's scope."""
    label, value, _ = DIMENSIONS[dim]
    column = AMOUNT[kind][0]
    scope, sparams = who.scope.sql("client_id", "legal_entity_id")
    order = (
        "cases DESC" if who.masks("amounts") else "amount DESC"
    )  # the order must not reveal a masked amount
    df = q._pl(
        path,
        f"WITH cases AS ({_CASES}) SELECT {label} AS label, CAST({value} AS VARCHAR) AS value, count(*) AS cases, "
        f"CAST(sum({column}) AS DECIMAL(18,2)) AS amount FROM cases WHERE {column} IS NOT NULL AND {scope} "
        f"GROUP BY ALL ORDER BY {order}, label LIMIT {int(top)}",
        [run_id, *sparams],
    )
    return q.mask_frame(df, who)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def closed_on(path: str, as_of: dt.date, who: Principal) -> list[dict[str, Any]]:
    """Cases the runs of this business date closed (every check that found them ran and found nothing), in
    the principal's scope (case_history has no legal entity: none for a person scoped by one)."""
    if "results.case_history" not in q.tables(path) or not who.detail:
        return []
    scope, sparams = who.scope.sql("h.client_id", None)
    # a run stamps what it closes with its as_of timestamp: the end of the business date (next day 00:00 UTC)
    rows = q._rows(
        path,
        "SELECT h.case_key, h.root_check_id, cr.title, h.money_type, h.money_id, h.leakage_rc, h.exposure_rc, "
        "h.cash_rc, h.severity, h.owner_team, h.resolved_at FROM results.case_history h "
        "LEFT JOIN (SELECT check_id, any_value(title) AS title FROM results.check_run GROUP BY 1) cr "
        "  ON cr.check_id = h.root_check_id "
        "WHERE h.status = 'resolved' AND CAST(h.resolved_at - INTERVAL 1 MICROSECOND AS DATE) = ? "
        f"AND {scope} "
        "ORDER BY h.leakage_rc DESC NULLS LAST, h.cash_rc DESC NULLS LAST, h.exposure_rc DESC NULLS LAST, h.case_key",
        [as_of, *sparams],
    )
    return q.mask_rows(rows, who)


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def case_labels(path: str, run_id: str, keys: tuple[str, ...], who: Principal) -> dict[str, dict[str, Any]]:
    """For case keys: the root check's title, the document, and whether this run still finds the case (none
    for a principal who sees totals only; only cases in their scope)."""
    if not keys or not who.detail:
        return {}
    scope, sparams = who.scope.sql("client_id", "legal_entity_id")
    closed_scope, cparams = who.scope.sql("client_id", None)
    rows = q._rows(
        path,
        "WITH k AS (SELECT unnest(?::VARCHAR[]) AS case_key), h AS ("
        "  SELECT case_key, root_check_id, money_type, money_id, false AS open FROM results.case_history"
        f"  WHERE case_key NOT IN (SELECT case_key FROM results.cases WHERE run_id = ?) AND {closed_scope}"
        "  UNION ALL SELECT case_key, root_check_id, money_type, money_id, true FROM results.cases WHERE run_id = ?"
        f"  AND {scope}) "
        "SELECT h.case_key, h.root_check_id, coalesce(cr.title, h.root_check_id) AS title, h.money_type, h.money_id, "
        "h.open FROM k JOIN h USING (case_key) "
        "LEFT JOIN (SELECT check_id, any_value(title) AS title FROM results.check_run GROUP BY 1) cr "
        "  ON cr.check_id = h.root_check_id",
        [list(keys), run_id, *cparams, run_id, *sparams],
    )
    return {r["case_key"]: r for r in rows}


@st.cache_data(ttl=TTL, show_spinner=False, hash_funcs=VIEW)
def previous_run_started(path: str, run_id: str) -> dt.datetime | None:
    """When the run before this one started (meta.run_history), the start of 'since the last run'."""
    rows = q._rows(
        path,
        "SELECT max(started_at) AS at FROM meta.run_history WHERE run_id < ? AND status IN ('ok', 'partial')",
        [run_id],
    )
    return rows[0]["at"] if rows else None


@st.cache_resource(show_spinner=False)
def case_workflow(ops_url: str) -> Workflow:
    """The workflow on cases, read-only here (one engine per ops store, as the queue uses)."""
    return case_audit.case_workflow(ops_url)
