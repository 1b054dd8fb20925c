"""The trace: any ID a person has in hand → the whole commercial flow across CRM, CLM, ERP and middleware.

Pure functions over a DuckDB connection (the published warehouse, read-only). Every value that comes
from a person is a bound parameter; table and column names come only from the constants below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb

MAX_ID_LEN = 200
LANES = ("CRM", "CLM", "ERP", "Middleware")
ROW_CAP = 500  # per entity type on one flow; a flow with more schedule lines is summarised, not drawn


@dataclass(frozen=True)
class Entity:
    """How one canonical table appears on the trace: lane, id column, the moment it happened, key fields."""

    entity_type: str
    table: str
    lane: str
    id_col: str
    ts_expr: str
    fields: tuple[str, ...]
    lookup: tuple[str, ...] = ()  # extra columns a person may search by (human keys)


# A record keyed by a business number (sources.<clm>.keys, project_key) is still found by the id its own
# system shows: the opaque Ironclad record id or the NetSuite internal id is its source_id.
BY_SOURCE_ID = ("source_id",)


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "opportunity",
        "opportunity",
        "CRM",
        "opportunity_id",
        "coalesce(created_at, CAST(close_date AS TIMESTAMPTZ))",
        ("name", "stage", "is_won", "close_date", "amount", "currency", "deal_type", "client_id", "owner_id"),
    ),
    Entity(
        "crm_invoice_status",
        "crm_invoice_status",
        "CRM",
        "crm_record_id",
        "last_synced_at",
        ("erp_invoice_no", "status", "amount", "paid_amount", "currency", "due_date", "last_synced_at"),
    ),
    Entity(
        "contract",
        "contract",
        "CLM",
        "contract_id",
        "CAST(coalesce(signed_date, effective_date) AS TIMESTAMPTZ)",
        (
            "contract_type",
            "status",
            "signed_date",
            "effective_date",
            "end_date",
            "currency",
            "payment_terms_days",
        ),
        lookup=BY_SOURCE_ID,
    ),
    Entity(
        "sow",
        "sow",
        "CLM",
        "sow_id",
        "CAST(coalesce(signed_date, start_date) AS TIMESTAMPTZ)",
        ("status", "signed_date", "start_date", "end_date", "value", "currency", "billing_type", "po_number"),
        lookup=BY_SOURCE_ID,
    ),
    Entity(
        "amendment",
        "amendment",
        "CLM",
        "amendment_id",
        "CAST(coalesce(signed_date, effective_date) AS TIMESTAMPTZ)",
        ("sow_id", "amendment_no", "status", "signed_date", "value_delta", "change_type", "new_end_date"),
        lookup=BY_SOURCE_ID,
    ),
    Entity(
        "milestone",
        "milestone",
        "CLM",
        "milestone_id",
        "CAST(coalesce(accepted_date, completed_date, due_date) AS TIMESTAMPTZ)",
        ("name", "amount", "status", "due_date", "completed_date", "accepted_date", "billing_trigger"),
        lookup=BY_SOURCE_ID,
    ),
    Entity(
        "project",
        "project",
        "ERP",
        "project_id",
        "coalesce(created_at, CAST(start_date AS TIMESTAMPTZ))",
        (
            "name",
            "status",
            "billing_type",
            "currency",
            "budget_amount",
            "start_date",
            "end_date",
            "practice",
            "region",
        ),
        lookup=BY_SOURCE_ID,
    ),
    Entity(
        "billing_schedule",
        "billing_schedule",
        "ERP",
        "schedule_line_id",
        "CAST(bill_date AS TIMESTAMPTZ)",
        ("bill_date", "amount", "currency", "line_type", "milestone_id"),
    ),
    Entity(
        "invoice",
        "invoice",
        "ERP",
        "invoice_id",
        "coalesce(posted_at, CAST(invoice_date AS TIMESTAMPTZ))",
        (
            "erp_invoice_no",
            "type",
            "status",
            "invoice_date",
            "due_date",
            "amount_gross",
            "amount_paid",
            "currency",
        ),
        lookup=("erp_invoice_no",),
    ),
    Entity(
        "payment",
        "payment",
        "ERP",
        "payment_id",
        "CAST(coalesce(applied_date, received_date) AS TIMESTAMPTZ)",
        ("invoice_id", "amount", "currency", "received_date", "applied_date"),
    ),
    Entity(
        "revenue_schedule",
        "revenue_schedule",
        "ERP",
        "rev_line_id",
        "coalesce(posted_at, CAST(period AS TIMESTAMPTZ))",
        ("period", "method", "amount", "posted_at", "period_locked"),
    ),
    Entity(
        "integration_event",
        "integration_event",
        "Middleware",
        "event_id",
        "created_at",
        (
            "event_type",
            "source_system",
            "target_system",
            "entity_type",
            "entity_id",
            "status",
            "attempt",
            "error_message",
            "processed_at",
            "idempotency_key",  # the attempts of one business event share it (closedloop/trace_summary.py)
        ),
        lookup=("idempotency_key",),
    ),
)
BY_TYPE = {e.entity_type: e for e in ENTITIES}


@dataclass(frozen=True)
class Match:
    """A record whose id (or human key) equals what was searched, with the flow it belongs to."""

    lane: str
    entity_type: str
    entity_id: str
    correlation_id: str | None


@dataclass
class TraceRecord:
    """One record on a flow's timeline."""

    lane: str
    entity_type: str
    entity_id: str
    ts: dt.datetime | None
    fields: dict[str, Any] = field(default_factory=dict)


def clean_id(raw: Any) -> str:
    """What a person typed, as plain text: stripped, no control characters, at most MAX_ID_LEN."""
    text = "" if raw is None else str(raw)
    text = "".join(ch for ch in text if ch.isprintable()).strip()
    return text[:MAX_ID_LEN]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    return {r[0] for r in rows}


def match(con: duckdb.DuckDBPyConnection, any_id: str) -> list[Match]:
    """Every record the ID names: a correlation ID, a record id, an invoice number or an event id."""
    needle = clean_id(any_id)
    return _match(con, needle, _tables(con)) if needle else []


def _match(con: duckdb.DuckDBPyConnection, needle: str, have: set[str]) -> list[Match]:
    parts: list[str] = []
    params: list[str] = []
    for e in ENTITIES:
        if f"canon.{e.table}" not in have:
            continue
        cols = (e.id_col, *e.lookup)
        cond = " OR ".join(f"{c} = ?" for c in cols)
        parts.append(
            f"SELECT '{e.lane}' AS lane, '{e.entity_type}' AS entity_type, CAST({e.id_col} AS VARCHAR), "
            f"correlation_id FROM canon.{e.table} WHERE {cond}"
        )
        params.extend([needle] * len(cols))
    if not parts:
        return []
    rows = con.execute(" UNION ALL ".join(parts) + " LIMIT 200", params).fetchall()
    return [Match(*r) for r in rows]


def resolve(con: duckdb.DuckDBPyConnection, any_id: str) -> list[str]:
    """The correlation ID(s) of the flow(s) an ID belongs to; an ID that is itself a correlation ID wins."""
    return lookup(con, any_id)[0]


def lookup(con: duckdb.DuckDBPyConnection, any_id: str) -> tuple[list[str], list[Match]]:
    """resolve() and match() of one ID, reading the records it names once."""
    needle = clean_id(any_id)
    if not needle:
        return [], []
    have = _tables(con)
    matches = _match(con, needle, have)
    direct = [
        f"SELECT correlation_id FROM canon.{e.table} WHERE correlation_id = ?"
        for e in ENTITIES
        if f"canon.{e.table}" in have
    ]
    if direct and con.execute(" UNION ".join(direct) + " LIMIT 1", [needle] * len(direct)).fetchall():
        return [needle], matches
    return sorted({m.correlation_id for m in matches if m.correlation_id}), matches


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def timeline(con: duckdb.DuckDBPyConnection, correlation_id: str) -> list[TraceRecord]:
    """Every record on one flow, each with its lane, moment and key fields, ordered by time."""
    cid = clean_id(correlation_id)
    if not cid:
        return []
    have = _tables(con)
    out: list[TraceRecord] = []
    for e in ENTITIES:
        if f"canon.{e.table}" not in have:
            continue
        cols = ", ".join(e.fields)
        rows = con.execute(
            f"SELECT CAST({e.id_col} AS VARCHAR), {e.ts_expr}, {cols} FROM canon.{e.table} "
            f"WHERE correlation_id = ? ORDER BY 2 NULLS LAST, 1 LIMIT {ROW_CAP}",
            [cid],
        ).fetchall()
        for r in rows:
            out.append(
                TraceRecord(e.lane, e.entity_type, r[0], r[1], dict(zip(e.fields, r[2:], strict=True)))
            )
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    out.sort(key=lambda t: (t.ts or far, LANES.index(t.lane), t.entity_type, t.entity_id))
    return out


FINDING_COLS = (
    "finding_key",
    "check_id",
    "severity",
    "status",
    "impact_rc",
    "entity_type",
    "entity_id",
    "first_seen_at",
    "last_seen_at",
    "details",
)


def findings(con: duckdb.DuckDBPyConnection, correlation_id: str) -> list[dict[str, Any]]:
    """Findings on a flow: those of the published run, then earlier ones the run no longer reproduces."""
    cid = clean_id(correlation_id)
    have = _tables(con)
    if not cid or "results.finding" not in have:
        return []
    cols = ", ".join(f"f.{c}" for c in FINDING_COLS)
    rows = con.execute(
        f"SELECT {cols}, cr.title FROM results.finding f "
        "LEFT JOIN results.check_run cr ON cr.run_id = f.run_id AND cr.check_id = f.check_id "
        "WHERE f.correlation_id = ? ORDER BY f.impact_rc DESC NULLS LAST, f.check_id",
        [cid],
    ).fetchall()
    out = [dict(zip((*FINDING_COLS, "title"), r, strict=True)) for r in rows]
    if "results.finding_history" in have:
        seen = {f["finding_key"] for f in out}
        closed = con.execute(
            "SELECT h.finding_key, h.check_id, h.severity, h.status, h.impact_rc, h.entity_type, h.entity_id, "
            "h.first_seen_at, h.last_seen_at, NULL AS details, t.title FROM results.finding_history h "
            "LEFT JOIN (SELECT check_id, any_value(title) AS title FROM results.check_run GROUP BY check_id) t "
            "ON t.check_id = h.check_id WHERE h.correlation_id = ? AND h.status = 'resolved' "
            "ORDER BY h.last_seen_at DESC",
            [cid],
        ).fetchall()
        out += [
            {**dict(zip((*FINDING_COLS, "title"), r, strict=True)), "status": "closed"}
            for r in closed
            if r[0] not in seen
        ]
    return out


def record_fields(record: TraceRecord) -> dict[str, Any]:
    """A record's fields as JSON-friendly values (dates as ISO text), for display and export."""
    return {k: _jsonable(v) for k, v in record.fields.items()}
