"""Value maps: every enumerated canonical column is filled through a per-source map, never a vendor literal.

A firm's CRM says `Closed Won`, its CLM `Fully Signed`, its ERP `Paid In Full`; the checks read one
canonical vocabulary (`executed`, `paid`, ...). `[sources.<key>.values]` maps each vendor value to it:

    [sources.ironclad.values]
    "sow.status" = { "Fully Signed" = "executed", "Out for Signature" = "in_review" }

Matching ignores case, surrounding space and the difference between spaces, underscores and hyphens, and
every canonical value maps to itself: the demo firm's vendors, which already speak the canonical vocabulary,
need no map at all. A value no map knows is set to NULL in canon and recorded in meta.unmapped_value with the
flows it touches, so the checks that read that column leave those flows unjudged instead of reporting them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import duckdb

_BILLING_TYPES = ("TM", "TM_CAP", "FF", "MILESTONE", "RETAINER", "MANAGED_SERVICE")
_APPROVAL = ("open", "submitted", "approved", "rejected")
_AGREEMENT = ("draft", "in_review", "executed", "completed", "terminated", "expired", "cancelled")

# Canonical "table.column" -> its values: the vocabulary the rule files test (checks/rules, checks/kpis).
DOMAINS: dict[str, tuple[str, ...]] = {
    "opportunity.deal_type": ("new", "change_order", "renewal", "extension"),
    "contract.status": _AGREEMENT,
    "sow.status": _AGREEMENT,
    "sow.billing_type": _BILLING_TYPES,
    "sow.over_time_criteria": ("over_time", "stand_ready", "point_in_time"),
    "amendment.status": ("draft", "in_review", "executed", "cancelled", "terminated"),
    "amendment.change_type": ("end_date", "value", "rate", "cap", "scope"),
    "rate_card.scope": ("SOW", "MSA", "STANDARD"),
    "milestone.status": ("planned", "in_progress", "completed", "accepted", "rejected", "cancelled"),
    "milestone.billing_trigger": ("acceptance", "date", "completion"),
    "project.status": ("pending", "active", "on_hold", "closed", "cancelled"),
    "project.billing_type": _BILLING_TYPES,
    "billing_schedule.line_type": ("fixed", "milestone", "retainer"),
    "billing_rule.rule_type": ("time", "fixed_date", "time_cap", "fixed_milestone"),
    "time_entry.approval_status": _APPROVAL,
    "expense.approval_status": _APPROVAL,
    "invoice.type": ("invoice", "credit_note"),
    "invoice.status": ("draft", "posted", "paid", "partially_paid", "cancelled"),
    "invoice_line.line_type": (
        "time",
        "expense",
        "milestone",
        "fixed",
        "retainer",
        "subcontract",
        "adjustment",
    ),
    "revenue_schedule.method": (
        "right_to_invoice",
        "input_hours",
        "input_cost",
        "ratable",
        "output_milestones",
        "on_invoice",
        "point_in_time",
    ),
    "crm_invoice_status.status": ("open", "paid", "partially_paid", "credited", "cancelled", "overdue"),
    "integration_event.status": ("success", "failed", "retrying", "dead_letter"),
    "collection_action.action_type": ("reminder_email", "call", "final_notice", "dunning_letter", "agency"),
    "subcontract.status": _AGREEMENT,
}

# What real vendors send where it is not the canonical word itself (display values of standard picklists).
# A firm's own map wins over these; anything else needs a line in [sources.<key>.values].
VENDOR_DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "netsuite": {
        # transaction status display values (BUILTIN.DF) for invoices and credit memos
        "invoice.status": {
            "Open": "posted",
            "Paid In Full": "paid",
            "Pending Approval": "draft",
            "Voided": "cancelled",
            "Fully Applied": "paid",
        },
        "project.status": {"In Progress": "active", "Not Started": "pending", "Completed": "closed"},
        "time_entry.approval_status": {"Pending Approval": "submitted"},
        "expense.approval_status": {"Pending Approval": "submitted"},
        # charge types of charge-based billing (billing_schedules = 'charges'); a retainer fee is a fixed-date charge
        "billing_schedule.line_type": {"Fixed Date": "fixed", "Milestone": "milestone"},
    },
    # Dataverse option-set labels (the FormattedValue annotation) of Project Operations and Sales
    "dynamics_project": {
        "project.status": {"Not Started": "pending", "In Progress": "active", "Completed": "closed"},
        "project.billing_type": {
            "Time and Material": "TM",
            "Time and Material with Not-to-Exceed": "TM_CAP",
            "Fixed Price": "FF",
            "Fixed Price Milestones": "MILESTONE",
        },
        "time_entry.approval_status": {"Draft": "open", "Returned": "rejected"},
        "expense.approval_status": {"Draft": "open"},
        "invoice.status": {
            "New": "draft",
            "Billed": "posted",
            "Complete": "paid",
            "Partial": "partially_paid",
            "Canceled": "cancelled",
        },
        "invoice_line.line_type": {"Fee": "fixed"},
    },
    "dynamics_sales": {
        "crm_invoice_status.status": {
            "Billed": "open",
            "Complete": "paid",
            "Partial": "partially_paid",
            "Canceled": "cancelled",
        },
        "opportunity.deal_type": {"New Business": "new", "Change Order": "change_order"},
    },
    # SAP S/4HANA codes (collectors/sap_s4/codes.py): enterprise project ProcessingStatus, TimeSheetStatus
    "sap_s4": {
        "project.status": {"00": "pending", "10": "active", "42": "closed"},
        "time_entry.approval_status": {"10": "open", "20": "submitted", "30": "approved", "40": "rejected"},
    },
    # Conga CLM's standard Apttus__Status__c values (the status category is not read)
    "conga": {
        **{
            f"{t}.status": {
                "Request": "draft",
                "Author Contract": "draft",
                "Internal Review": "in_review",
                "Other Party Review": "in_review",
                "Ready for Signatures": "in_review",
                "Other Party Signatures": "in_review",
                "Fully Signed": "executed",
                "Activated": "executed",
                "Being Amended": "executed",
                "Being Renewed": "executed",
                "Expired": "expired",
                "Terminated": "terminated",
                "Cancelled Request": "cancelled",
            }
            for t in ("contract", "sow", "amendment")
        },
    },
    "ironclad": {
        "contract.status": {"Signed": "executed", "Active": "executed"},
        "sow.status": {"Signed": "executed", "Active": "executed"},
        "amendment.status": {"Signed": "executed", "Active": "executed"},
    },
    "oracle_fusion": {
        # PPM project statuses (a new project is Draft until submitted) and time card / expense report statuses
        "project.status": {"Draft": "pending"},
        "time_entry.approval_status": {"Working": "open"},
        "expense.approval_status": {"Working": "open"},
    },
    # Navigator's own status (PENDING, COMPLETE, INACTIVE), read where the account keeps no status provision
    "docusign_clm": {
        "contract.status": {"COMPLETE": "executed", "PENDING": "in_review", "INACTIVE": "expired"},
        "sow.status": {"COMPLETE": "executed", "PENDING": "in_review", "INACTIVE": "expired"},
        "amendment.status": {"COMPLETE": "executed", "PENDING": "in_review", "INACTIVE": "cancelled"},
    },
}

TODO = "TODO"  # what `closedloop discover` writes for a value it could not match; treated as unmapped


def normalize(value: Any) -> str:
    """The matching form of a value: case, surrounding space and space/underscore/hyphen runs ignored."""
    return re.sub(r"[\s_\-]+", " ", str(value).strip().lower())


def validate(values: Any, where: str) -> dict[str, dict[str, str]]:
    """A [sources.<key>.values] table checked against the domains; errors name the key (`where` holds the file)."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{where} must be a table of 'table.column' = {{vendor value = canonical value}}")
    out: dict[str, dict[str, str]] = {}
    for column, pairs in values.items():
        domain = DOMAINS.get(column)
        if domain is None:
            raise ValueError(
                f"{where}: unknown canonical column {column!r} (one of: {', '.join(sorted(DOMAINS))})"
            )
        if not isinstance(pairs, Mapping):
            raise ValueError(f'{where}."{column}" must be a table of vendor value = canonical value')
        for vendor, canonical in pairs.items():
            if canonical != TODO and canonical not in domain:
                raise ValueError(
                    f'{where}."{column}": {vendor!r} maps to {canonical!r}, which is not a value of'
                    f" {column} ({', '.join(domain)})"
                )
        out[column] = {str(k): str(v) for k, v in pairs.items()}
    return out


def source_map(kind: str, configured: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    """normalized vendor value -> canonical value, per column, for one source: identity, vendor defaults, config."""
    out: dict[str, dict[str, str]] = {}
    for column, domain in DOMAINS.items():
        m = {normalize(v): v for v in domain}
        m.update({normalize(k): v for k, v in VENDOR_DEFAULTS.get(kind, {}).get(column, {}).items()})
        for k, v in ((configured or {}).get(column) or {}).items():
            if v == TODO:
                m.pop(normalize(k), None)
            else:
                m[normalize(k)] = v
        out[column] = m
    return out


def setting_key(source: str, column: str) -> str:
    """The config key a value of `column` from `source` is added under."""
    return f'sources.{source}.values."{column}"'


# --- applying the maps while the canonical model is built -----------------------------------------------
# An observation of the run (like meta.source_run), not canonical data: checks/ reads it, nothing joins it.
UNMAPPED_TABLE = "meta.unmapped_value"
UNMAPPED_DDL = f"""
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS {UNMAPPED_TABLE}(source_system VARCHAR, table_name VARCHAR, column_name VARCHAR,
    vendor_value VARCHAR, correlation_id VARCHAR, row_count BIGINT, setting VARCHAR);
CREATE TEMP TABLE IF NOT EXISTS _unmapped_rows(source_system VARCHAR, table_name VARCHAR, column_name VARCHAR,
    vendor_value VARCHAR, rid BIGINT);
"""


def enumerated_columns() -> dict[str, list[str]]:
    """Canonical table -> its enumerated columns (DOMAINS)."""
    out: dict[str, list[str]] = {}
    for key in DOMAINS:
        table, column = key.split(".")
        out.setdefault(table, []).append(column)
    return out


def row_marks(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every table with an enumerated column: a source's mapping appends past this mark."""
    return {t: con.execute(f"SELECT count(*) FROM canon.{t}").fetchone()[0] for t in enumerated_columns()}


def apply(
    con: duckdb.DuckDBPyConnection, source: str, kind: str, configured: Any, marks: Mapping[str, int]
) -> None:
    """Translate the rows `source` just appended (rowid past its mark) into canonical values, in place.

    Only values that change are written, so a source already speaking the canonical vocabulary costs one
    GROUP BY per column and no UPDATE.
    """
    con.execute(UNMAPPED_DDL)
    maps = source_map(kind, configured)
    for table, columns in enumerated_columns().items():
        mark = marks.get(table, 0)
        for column in columns:
            seen = con.execute(
                f"SELECT {column} FROM canon.{table} WHERE rowid >= ? AND {column} IS NOT NULL GROUP BY 1",
                [mark],
            ).fetchall()
            m = maps[f"{table}.{column}"]
            changes = [(v, m.get(normalize(v))) for (v,) in seen]
            changes = [(v, c) for v, c in changes if c != v]
            if not changes:
                continue
            con.execute("CREATE OR REPLACE TEMP TABLE _vm(vendor VARCHAR, canonical VARCHAR)")
            con.executemany("INSERT INTO _vm VALUES (?, ?)", changes)
            con.execute(
                f"INSERT INTO _unmapped_rows SELECT ?, ?, ?, t.{column}, t.rowid FROM canon.{table} t"
                f" JOIN _vm ON _vm.vendor = t.{column} WHERE t.rowid >= ? AND _vm.canonical IS NULL",
                [source, table, column, mark],
            )
            con.execute(
                f"UPDATE canon.{table} AS t SET {column} = _vm.canonical FROM _vm"
                f" WHERE t.{column} = _vm.vendor AND t.rowid >= ?",
                [mark],
            )
            con.execute("DROP TABLE _vm")


def record_unmapped(con: duckdb.DuckDBPyConnection) -> None:
    """After cross-source resolution: the unmapped rows by value and by flow (correlation IDs are final now).

    Rows are found again by rowid: resolve.sql updates these tables but deletes from none of them (only
    canon.client, which has no enumerated column), so the rowids noted while mapping still name them.
    """
    con.execute(UNMAPPED_DDL)
    for table in sorted(
        {r[0] for r in con.execute("SELECT DISTINCT table_name FROM _unmapped_rows").fetchall()}
    ):
        con.execute(
            f"INSERT INTO {UNMAPPED_TABLE} SELECT u.source_system, u.table_name, u.column_name, u.vendor_value,"
            f" t.correlation_id, count(*), 'sources.' || u.source_system || '.values.\"' || u.table_name || '.'"
            f" || u.column_name || '\"' FROM _unmapped_rows u JOIN canon.{table} t ON t.rowid = u.rid"
            f" WHERE u.table_name = ? GROUP BY u.source_system, u.table_name, u.column_name, u.vendor_value,"
            f" t.correlation_id",
            [table],
        )
    con.execute("DROP TABLE _unmapped_rows")
