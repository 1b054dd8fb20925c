"""One case in detail: its row, its findings with their own history, and where its records live in the sources.

Cached like app/queries.py (the run file's path is in every key; values from people are bound parameters).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import queries as q
from checks.loader import STAGES
from closedloop.access import Principal

TTL = q.TTL
VIEW = q.VIEW  # cached per view (roles, scope, masking), not per person


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def case_key_for(path: str, run_id: str, key: str, who: Principal) -> str | None:
    """The case a ?sel= value names: a case key, or a finding key (a link from the trace) mapped to its case;
    None for a case outside the principal's scope or a principal who sees totals only."""
    if not who.detail:
        return None
    scope, sparams = who.scope.sql("client_id", "legal_entity_id")
    closed_scope, cparams = who.scope.sql("client_id", None)
    rows = q._rows(
        path,
        f"SELECT case_key FROM results.cases WHERE run_id = ? AND case_key = ? AND {scope} UNION ALL "
        "SELECT case_key FROM results.finding WHERE run_id = ? AND finding_key = ? AND case_key IS NOT NULL "
        f"AND {scope} UNION ALL "
        f"SELECT case_key FROM results.case_history WHERE case_key = ? AND {closed_scope} LIMIT 1",
        [run_id, key, *sparams, run_id, key, *sparams, key, *cparams],
    )
    return rows[0]["case_key"] if rows else None


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def case_detail(path: str, run_id: str, key: str, who: Principal) -> dict[str, Any] | None:
    """One case of this run (or, closed by a run, from its history) with names and document numbers, masked
    for the principal; None outside their scope or for a principal who sees totals only."""
    if not who.detail:
        return None
    scope, sparams = who.scope.sql("c.client_id", "c.legal_entity_id")
    closed_scope, cparams = who.scope.sql("h.client_id", None)
    rows = q._rows(
        path,
        "SELECT c.*, cr.title, cr.domain, cl.name AS client_name, le.name AS legal_entity_name, "
        "p.name AS project_name, i.erp_invoice_no, i.currency AS invoice_currency, h.resolved_at, "
        "h.last_seen_at AS history_last_seen_at FROM results.cases c "
        "LEFT JOIN results.check_run cr ON cr.run_id = c.run_id AND cr.check_id = c.root_check_id "
        "LEFT JOIN (SELECT client_id, any_value(name) AS name FROM canon.client GROUP BY 1) cl ON cl.client_id = c.client_id "
        "LEFT JOIN (SELECT legal_entity_id, any_value(name) AS name FROM canon.legal_entity GROUP BY 1) le "
        "  ON le.legal_entity_id = c.legal_entity_id "
        "LEFT JOIN (SELECT project_id, any_value(name) AS name FROM canon.project GROUP BY 1) p ON p.project_id = c.project_id "
        "LEFT JOIN (SELECT invoice_id, min(erp_invoice_no) AS erp_invoice_no, min(currency) AS currency FROM canon.invoice "
        "           GROUP BY 1) i ON i.invoice_id = c.invoice_id "
        "LEFT JOIN results.case_history h ON h.case_key = c.case_key "
        f"WHERE c.run_id = ? AND c.case_key = ? AND {scope}",
        [run_id, key, *sparams],
    )
    if rows:
        return q.mask_row(rows[0], who)
    rows = q._rows(
        path,
        "SELECT h.*, h.status AS history_status, cr.title, cr.owner AS owner_team FROM results.case_history h "
        "LEFT JOIN (SELECT check_id, any_value(title) AS title, any_value(owner) AS owner FROM results.check_run "
        f"GROUP BY 1) cr ON cr.check_id = h.root_check_id WHERE h.case_key = ? AND {closed_scope}",
        [key, *cparams],
    )
    return q.mask_row(rows[0], who) if rows else None


def _stage_rank(col: str) -> str:
    return f"CASE {col} " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGES)) + " ELSE 99 END"


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def case_findings(path: str, run_id: str, key: str, who: Principal) -> list[dict[str, Any]]:
    """The case's findings in flow-stage order (the root cause first), each with its own history across runs
    and the currency of its document (evidence amounts are in it unless the rule names another); in the
    principal's scope and masking, none for a principal who sees totals only."""
    if not who.detail:
        return []
    scope, sparams = who.scope.sql("client_id", "legal_entity_id")
    rows = q._rows(
        path,
        f"WITH mine AS (SELECT * FROM results.finding WHERE run_id = ? AND case_key = ? AND {scope}) "
        "SELECT f.finding_key, f.check_id, cr.title, f.stage, f.severity, f.base_severity, f.impact_kind, f.impact_rc, "
        "f.expected_loss_rc, f.entity_type, f.entity_id, f.correlation_id, f.client_id, f.details, f.invoice_id, f.sow_id, "
        "f.project_id, h.first_seen_at, h.last_seen_at, h.resolved_at, h.status AS lifecycle, h.reopened_count, "
        "coalesce(i.currency, s.currency, p.currency) AS document_currency "
        "FROM mine f "
        "LEFT JOIN results.check_run cr ON cr.run_id = f.run_id AND cr.check_id = f.check_id "
        "LEFT JOIN results.finding_history h ON h.finding_key = f.finding_key "
        "LEFT JOIN (SELECT invoice_id, min(currency) AS currency FROM canon.invoice "
        "           WHERE invoice_id IN (SELECT invoice_id FROM mine) GROUP BY 1) i ON i.invoice_id = f.invoice_id "
        "LEFT JOIN (SELECT sow_id, min(currency) AS currency FROM canon.sow "
        "           WHERE sow_id IN (SELECT sow_id FROM mine) GROUP BY 1) s ON s.sow_id = f.sow_id "
        "LEFT JOIN (SELECT project_id, min(currency) AS currency FROM canon.project "
        "           WHERE project_id IN (SELECT project_id FROM mine) GROUP BY 1) p ON p.project_id = f.project_id "
        f"ORDER BY {_stage_rank('f.stage')}, f.check_id, f.impact_rc DESC NULLS LAST, f.finding_key",
        [run_id, key, *sparams],
    )
    return q.mask_rows(rows, who)


# entity type -> (canonical table, its key column, a number or name people know it by)
RECORD_TABLES = {
    "invoice": ("invoice", "invoice_id", "erp_invoice_no"),
    "sow": ("sow", "sow_id", "sow_id"),
    "contract": ("contract", "contract_id", "contract_id"),
    "opportunity": ("opportunity", "opportunity_id", "name"),
    "project": ("project", "project_id", "name"),
    "client": ("client", "client_id", "name"),
    "payment": ("payment", "payment_id", "payment_id"),
    "amendment": ("amendment", "amendment_id", "amendment_id"),
    "milestone": ("milestone", "milestone_id", "name"),
    "time_entry": ("time_entry", "time_entry_id", "time_entry_id"),
    "expense": ("expense", "expense_id", "expense_id"),
}


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512, hash_funcs=VIEW)
def source_records(path: str, wanted: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    """Where each (entity type, id) lives: its source (config key), the id the source knows it by, its label.

    The SOW's contract and opportunity come along, so a case links to every system its money passed through."""
    have = q.tables(path)
    ids: dict[str, set[str]] = {}
    for etype, eid in wanted:
        if etype in RECORD_TABLES and eid is not None:
            ids.setdefault(etype, set()).add(str(eid))
    if ids.get("sow") and {"canon.sow"} <= have:
        for r in q._rows(
            path,
            "SELECT contract_id, opportunity_id FROM canon.sow WHERE list_contains(?::VARCHAR[], sow_id)",
            [sorted(ids["sow"])],
        ):
            if r["contract_id"]:
                ids.setdefault("contract", set()).add(r["contract_id"])
            if r["opportunity_id"]:
                ids.setdefault("opportunity", set()).add(r["opportunity_id"])
    parts, params = [], []
    for etype, keys in sorted(ids.items()):
        table, col, label = RECORD_TABLES[etype]
        if f"canon.{table}" not in have:
            continue
        kind = "type" if etype == "invoice" else "NULL"
        parts.append(
            f"SELECT DISTINCT '{etype}' AS entity_type, {col} AS entity_id, CAST({label} AS VARCHAR) AS label, "
            f"{kind} AS record_type, source_system, source_id FROM canon.{table} "
            f"WHERE list_contains(?::VARCHAR[], {col})"
        )
        params.append(sorted(keys))
    if not parts:
        return []
    return q._rows(path, " UNION ALL ".join(parts) + " ORDER BY 1, 2", params)
