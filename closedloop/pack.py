"""The exception pack: a month's cases with their evidence and audit trail, for the month-end close.

A case belongs to a period (a calendar month, YYYY-MM) when its break happened in that month: its event date
(the earliest business date among its findings), or, for a case without one, the date it was first seen. The
pack holds the period's cases the published run still finds (open, with what people did to them) and those a
run has closed (resolved: the data no longer shows them), by kind of money, owner and age. Kinds are never
added together: each amount is one kind's (leakage, exposure, cash) and compliance is a count.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from checks.loader import IMPACT_KINDS
from closedloop import access

IMPACT_MEANING = IMPACT_KINDS  # what each kind of money means, as the pack states it

PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")
MONEY_KINDS = ("leakage", "exposure", "cash")
SECOND = {"leakage": ("leakage_expected_rc", "expected loss"), "cash": ("cash_cost_rc", "cost of delay")}
AGE_BUCKETS = (("0-30", 30), ("31-60", 60), ("61-90", 90), ("91-180", 180), ("180+", None))
# what people see as resolved: closed by a run, or marked resolved by a person and awaiting the next run
RESOLVED = ("closed", "resolved")


class PackError(ValueError):
    """A pack that cannot be built; the message names the value that was wrong."""


@dataclass
class Pack:
    """One period's pack: its cases, evidence and audit trail, and the two files made from them."""

    period: str
    run_id: str
    as_of: dt.date
    currency: str
    generated_at: dt.datetime
    cases: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audit: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    csv: bytes = b""
    html: str = ""
    masked: tuple[str, ...] = ()  # kinds of value masked for whoever the pack was built for
    scope: str = "the whole firm"


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """'2026-10' -> (first day, last day) of that month; anything else is a PackError naming the value."""
    m = PERIOD_RE.match(str(text).strip())
    month = int(m.group(2)) if m else 0
    if not m or not 1 <= month <= 12:
        raise PackError(f"period {text!r} is not a month: use YYYY-MM, e.g. 2026-10")
    first = dt.date(int(m.group(1)), month, 1)
    nxt = dt.date(first.year + (month == 12), month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


_OPEN = """
SELECT c.case_key, c.status AS lifecycle, c.severity, c.root_check_id, cr.title, c.stage, c.money_type, c.money_id,
       coalesce(i.erp_invoice_no, c.money_id) AS document, c.client_id, cl.name AS client_name, c.legal_entity_id,
       c.owner_team, c.correlation_id, coalesce(c.event_date, CAST(c.first_seen_at AS DATE)) AS break_date,
       c.first_seen_at, CAST(NULL AS DATE) AS closed_on, c.leakage_rc, c.leakage_expected_rc, c.exposure_rc, c.cash_rc,
       c.cash_cost_rc, c.compliance_findings, c.findings, c.check_ids
FROM results.cases c
LEFT JOIN results.check_run cr ON cr.run_id = c.run_id AND cr.check_id = c.root_check_id
LEFT JOIN (SELECT invoice_id, any_value(erp_invoice_no) AS erp_invoice_no FROM canon.invoice GROUP BY 1) i
       ON c.money_type = 'invoice' AND i.invoice_id = c.money_id
LEFT JOIN (SELECT client_id, any_value(name) AS name FROM canon.client GROUP BY 1) cl ON cl.client_id = c.client_id
WHERE c.run_id = $run_id AND coalesce(c.event_date, CAST(c.first_seen_at AS DATE)) BETWEEN $first AND $last
"""
# a run stamps what it closes with its as_of timestamp, the end of its business date (next day 00:00 UTC)
_CLOSED = """
WITH h AS (SELECT {history} FROM results.case_history)
SELECT h.case_key, 'closed' AS lifecycle, h.severity, h.root_check_id, cr.title, NULL AS stage, h.money_type,
       h.money_id, coalesce(i.erp_invoice_no, h.money_id) AS document, h.client_id, cl.name AS client_name,
       NULL AS legal_entity_id, h.owner_team, NULL AS correlation_id,
       coalesce(h.event_date, CAST(h.first_seen_at AS DATE)) AS break_date, h.first_seen_at,
       CAST(h.resolved_at - INTERVAL 1 MICROSECOND AS DATE) AS closed_on, h.leakage_rc, NULL AS leakage_expected_rc,
       h.exposure_rc, h.cash_rc, NULL AS cash_cost_rc, h.compliance_findings, NULL AS findings, h.check_ids
FROM h
LEFT JOIN (SELECT check_id, any_value(title) AS title FROM results.check_run GROUP BY 1) cr
       ON cr.check_id = h.root_check_id
LEFT JOIN (SELECT invoice_id, any_value(erp_invoice_no) AS erp_invoice_no FROM canon.invoice GROUP BY 1) i
       ON h.money_type = 'invoice' AND i.invoice_id = h.money_id
LEFT JOIN (SELECT client_id, any_value(name) AS name FROM canon.client GROUP BY 1) cl ON cl.client_id = h.client_id
WHERE h.status = 'resolved' AND coalesce(h.event_date, CAST(h.first_seen_at AS DATE)) BETWEEN $first AND $last
"""
_EVIDENCE = """
SELECT f.case_key, f.finding_key, f.check_id, cr.title, f.severity, f.impact_kind, f.impact_rc, f.expected_loss_rc,
       f.entity_type, f.entity_id, f.event_date, f.details
FROM results.finding f
LEFT JOIN results.check_run cr ON cr.run_id = f.run_id AND cr.check_id = f.check_id
WHERE f.run_id = $run_id AND list_contains($keys::VARCHAR[], f.case_key)
ORDER BY f.case_key, f.stage, f.check_id, f.entity_id
"""


# case_history columns a warehouse written before they existed lacks (its resolved cases then read NULL)
LATER_HISTORY = {
    "event_date": "DATE",
    "owner_team": "VARCHAR",
    "client_id": "VARCHAR",
    "compliance_findings": "INTEGER",
}


def _closed_sql(con: duckdb.DuckDBPyConnection) -> str:
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'results' AND table_name = 'case_history'"
        ).fetchall()
    }
    missing = [f"CAST(NULL AS {t}) AS {c}" for c, t in LATER_HISTORY.items() if c not in have]
    return _CLOSED.replace("{history}", ", ".join(["*", *missing]))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    res = con.execute(sql, params)
    names = [d[0] for d in res.description]
    return [dict(zip(names, r, strict=True)) for r in res.fetchall()]


def _age_bucket(days: int | None) -> str:
    for name, hi in AGE_BUCKETS:
        if hi is None or (days is not None and days <= hi):
            return name
    return AGE_BUCKETS[-1][0]


def evidence_text(details: Any) -> str:
    """A finding's evidence columns as one line of 'name: value' pairs."""
    try:
        doc = json.loads(details) if isinstance(details, str) else (details or {})
    except ValueError:
        return str(details)
    if not isinstance(doc, dict):
        return str(doc)
    return "; ".join(f"{k}: {v}" for k, v in doc.items() if v is not None)


def build_pack(
    con: duckdb.DuckDBPyConnection,
    period: str,
    ops_url: str,
    *,
    currency: str | None = None,
    today: dt.date | None = None,
    who: access.Principal | None = None,
) -> Pack:
    """The period's pack from a published run (a read-only connection) and the ops store's audit log, in
    `who`'s scope and masking (None: the operator on the machine, everything)."""
    from closedloop import case_audit, pack_files

    if who is not None and not who.detail:
        raise PackError(
            f"{', '.join(sorted(who.roles)) or 'no role'}: sees totals only, not the cases an exception pack lists"
        )
    first, last = parse_period(period)
    run = con.execute(
        "SELECT run_id, as_of, reporting_currency, started_at FROM meta.run ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    if run is None:
        raise PackError("the published run has no run record (meta.run): run `closedloop run` first")
    run_id, as_of, run_ccy, started_at = run
    have = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'results'"
        ).fetchall()
    }
    if not {"cases", "case_history", "finding"} <= have:
        raise PackError(f"run {run_id} has no cases (it predates them): run `closedloop run` again")
    open_scope, open_params = _scope_sql(who, "c.client_id", "c.legal_entity_id")
    closed_scope, closed_params = _scope_sql(who, "h.client_id", None)
    params = {"run_id": run_id, "first": first, "last": last, **open_params}
    cases = _rows(con, f"{_OPEN} AND {open_scope}", params) + _rows(
        con, f"{_closed_sql(con)} AND {closed_scope}", {"first": first, "last": last, **closed_params}
    )
    keys = [c["case_key"] for c in cases]
    wf = case_audit.case_workflow(ops_url)
    states = wf.states(keys) if keys else {}
    trails = case_audit.trails(wf, keys)
    today = today or dt.datetime.now(dt.UTC).date()
    for c in cases:
        st = states.get(c["case_key"])
        if c["lifecycle"] == "closed":
            c["status"] = "closed"
        else:
            c["status"] = st.effective(c["lifecycle"], started_at, today) if st else c["lifecycle"]
        c["assignee"] = st.assignee if st else None
        resolves = [r for r in trails.get(c["case_key"], []) if r["action"] == "resolve"]
        c["resolved_by"] = resolves[-1]["actor"] if resolves else None
        c["reason"] = (resolves[-1]["payload"] or {}).get("reason") if resolves else None
        end = c["closed_on"] or as_of
        c["age_days"] = (end - c["break_date"]).days if c["break_date"] else None
        c["age_bucket"] = _age_bucket(c["age_days"])
        c["group"] = "resolved" if c["status"] in RESOLVED else "open"
    cases.sort(
        key=lambda c: (c["group"] != "open", c["severity"] or "S9", -(c["leakage_rc"] or 0), c["case_key"])
    )
    evidence: dict[str, list[dict[str, Any]]] = {}
    if keys:
        for f in _rows(con, _EVIDENCE, {"run_id": run_id, "keys": keys}):
            details = f.pop("details")
            f["evidence"] = evidence_text(access.mask_json(details, who) if who is not None else details)
            evidence.setdefault(f["case_key"], []).append(f)
    for c in cases:  # compliance is counted by its worst finding's severity, as the overview counts it
        sevs = [f["severity"] for f in evidence.get(c["case_key"], []) if f["impact_kind"] == "compliance"]
        c["compliance_severity"] = min(sevs) if sevs else c["severity"]
    masked: tuple[str, ...] = ()
    if who is not None and who.masked:
        masked = tuple(sorted(who.masked))
        cases = [access.mask_record(c, who) for c in cases]
        for rows in evidence.values():
            rows[:] = [access.mask_record(f, who) for f in rows]
        trails = {k: [access.mask_record(a, who) for a in v] for k, v in trails.items()}
    pack = Pack(
        period=f"{first:%Y-%m}",
        run_id=run_id,
        as_of=as_of,
        currency=currency or run_ccy or "USD",
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        cases=cases,
        evidence=evidence,
        audit=trails,
        masked=masked,
        scope=who.scope.describe() if who is not None else "the whole firm",
    )
    pack.csv = pack_files.to_csv_bytes(pack)
    pack.html = pack_files.to_html(pack)
    return pack


def _scope_sql(who: access.Principal | None, client_col: str, entity_col: str | None) -> tuple[str, dict]:
    """The principal's scope predicate with named parameters (the pack's queries name theirs)."""
    if who is None:
        return "TRUE", {}
    pred, values = who.scope.sql(client_col, entity_col)
    named = {}
    for i, v in enumerate(values):
        pred = pred.replace("?", f"$scope{i}", 1)
        named[f"scope{i}"] = v
    return pred, named


def total(values: Any) -> Any:
    """The sum of amounts, or access.MASKED when any of them is masked (a masked amount is never a zero)."""
    values = list(values)
    if any(v == access.MASKED for v in values):
        return access.MASKED
    return sum((v for v in values if v is not None), Decimal("0.00"))


def summary(pack: Pack) -> dict[str, dict[str, Any]]:
    """Per kind and group (open, resolved): cases and amount (compliance: cases by severity); kinds apart."""
    out: dict[str, dict[str, Any]] = {}
    for kind in (*MONEY_KINDS, "compliance"):
        per: dict[str, Any] = {}
        for group in ("open", "resolved"):
            mine = [c for c in pack.cases if c["group"] == group and has_kind(c, kind)]
            row: dict[str, Any] = {"cases": len(mine)}
            if kind in MONEY_KINDS:
                row["amount_rc"] = total(c[f"{kind}_rc"] for c in mine)
                if kind in SECOND:
                    seconds = [c[SECOND[kind][0]] for c in mine if c[SECOND[kind][0]] is not None]
                    row[SECOND[kind][1]] = total(seconds) if seconds else None
            else:
                row["by_severity"] = {
                    s: sum(1 for c in mine if c["compliance_severity"] == s) for s in ("S1", "S2", "S3", "S4")
                }
            per[group] = row
        out[kind] = per
    return out


def has_kind(case: dict[str, Any], kind: str) -> bool:
    """Whether a case has money of this kind (compliance: a compliance finding)."""
    if kind == "compliance":
        return bool(case.get("compliance_findings"))
    return case.get(f"{kind}_rc") is not None
