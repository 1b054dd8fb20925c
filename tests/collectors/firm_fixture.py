"""A small hand-made truth firm: a few rows per canonical table, two resolvable flows and an orphan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import polars as pl

from closedloop.demo.firm.schema import canon_schema, conform

UTC = dt.UTC
d = dt.date


def ts(*a: int) -> dt.datetime:
    return dt.datetime(*a, tzinfo=UTC)


@dataclass
class TruthFirm:
    """Canonical truth tables plus, per table, the correlation id each row should resolve to."""

    tables: dict[str, pl.DataFrame]
    params: dict[str, Any] = field(default_factory=lambda: {"as_of": d(2026, 10, 31)})
    expected_corr: dict[str, list[str | None]] = field(default_factory=dict)


# Ids: Salesforce 18-char, Ironclad 24-hex, NetSuite numeric strings (as the vendors expose them).
ACC_A, ACC_B = "0015g00000AaAaAAAA", "0015g00000BbBbBAAA"
OPP_1, OPP_2, OPP_3 = "0065g00000Opp1AAAA", "0065g00000Opp2AAAA", "0065g00000Opp3AAAA"
MSA_1 = "65a101000000000000000001"
SOW_1, SOW_2 = "65a102000000000000000001", "65a102000000000000000002"
AMD_1, RC_1, RC_2 = "65a103000000000000000001", "65a104000000000000000001", "65a104000000000000000002"
MS_1 = "65a105000000000000000001"
LE_US, LE_GB = "1", "2"
CUST_A, CUST_B, CUST_C = "1000001", "1000002", "1000003"
EMP_1, EMP_2 = "2000001", "2000002"
PRJ_1, PRJ_2, PRJ_3 = "3000001", "3000002", "3000003"
TASK_1, TASK_2 = "5000001", "5000002"
INV_1, INV_2, CRED_1 = "10000001", "10000002", "17000001"


def _rows(table: str, rows: list[dict[str, Any]], expected: list[str | None] | None, out: TruthFirm) -> None:
    cols = canon_schema()[table]
    frame = pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema=cols)
    out.tables[table] = conform(table, frame)
    out.expected_corr[table] = expected if expected is not None else [r.get("correlation_id") for r in rows]


def build() -> TruthFirm:
    """The fixture firm; expected_corr holds what resolve.sql must derive where a row carries none."""
    f = TruthFirm(tables={})
    ns, sf, ic = {"source_system": "netsuite"}, {"source_system": "salesforce"}, {"source_system": "ironclad"}
    ref = {"source_system": "reference"}
    _rows(
        "legal_entity",
        [
            {
                "legal_entity_id": LE_US,
                "name": "Closedloop US",
                "country": "US",
                "functional_ccy": "USD",
                "tax_registration": "US-12-345",
                **ns,
                "source_id": LE_US,
            },
            {
                "legal_entity_id": LE_GB,
                "name": "Closedloop UK",
                "country": "GB",
                "functional_ccy": "GBP",
                "tax_registration": "GB999",
                **ns,
                "source_id": LE_GB,
            },
        ],
        None,
        f,
    )
    _rows(
        "client",
        [
            {
                "client_id": ACC_A,
                "crm_account_id": ACC_A,
                "erp_customer_id": CUST_A,
                "name": 'Acme "Corp", Ltd',
                "country": "US",
                "region": "Americas",
                "tax_jurisdiction": "US-NY",
                "tax_id": "US-TX-1",
                "tax_exempt": False,
                "bill_to_country": "US",
                "payment_terms_days": 30,
                "po_required": True,
                **sf,
                "source_id": ACC_A,
            },
            {
                "client_id": ACC_B,
                "crm_account_id": ACC_B,
                "erp_customer_id": CUST_B,
                "name": "Bravo GmbH",
                "country": "DE",
                "region": "EMEA",
                "tax_jurisdiction": "DE",
                "tax_id": "DE123",
                "tax_exempt": True,
                "bill_to_country": "GB",
                "payment_terms_days": 45,
                "po_required": False,
                **sf,
                "source_id": ACC_B,
            },
            {
                "client_id": CUST_C,
                "crm_account_id": None,
                "erp_customer_id": CUST_C,
                "name": "Charlie ERP-only",
                "country": "GB",
                "region": "EMEA",
                "tax_jurisdiction": "GB",
                "tax_id": None,
                "tax_exempt": None,
                "bill_to_country": "GB",
                "payment_terms_days": 60,
                "po_required": None,
                **ns,
                "source_id": CUST_C,
            },
        ],
        None,
        f,
    )
    _rows(
        "opportunity",
        [
            {
                "opportunity_id": OPP_1,
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "name": "Acme - Phase 1",
                "stage": "Closed Won",
                "is_won": True,
                "created_at": ts(2025, 1, 5, 9, 30, 1),
                "close_date": d(2025, 2, 1),
                "amount": D("120000.50"),
                "currency": "USD",
                "deal_type": "new",
                "owner_id": "0055g00000Own1AAA",
                **sf,
                "source_id": OPP_1,
                "correlation_id": "CL-0000000001",
            },
            {
                "opportunity_id": OPP_2,
                "client_id": ACC_B,
                "legal_entity_id": LE_GB,
                "name": "Bravo rollout",
                "stage": "Closed Won",
                "is_won": True,
                "created_at": ts(2025, 3, 1, 12, 0, 0, 123000),
                "close_date": d(2025, 3, 20),
                "amount": D("99999999.99"),
                "currency": "GBP",
                "deal_type": "change_order",
                "parent_sow_id": SOW_1,
                "owner_id": None,
                **sf,
                "source_id": OPP_2,
                "correlation_id": "CL-0000000002",
            },
            {
                "opportunity_id": OPP_3,
                "client_id": ACC_B,
                "legal_entity_id": None,
                "name": "Bravo lost",
                "stage": "Closed Lost",
                "is_won": False,
                "created_at": ts(2025, 4, 1),
                "close_date": None,
                "amount": None,
                "currency": "GBP",
                **sf,
                "source_id": OPP_3,
                "correlation_id": None,
            },
        ],
        None,
        f,
    )
    _rows(
        "crm_invoice_status",
        [
            {
                "crm_record_id": "a0A5g00000Inv1AAAA",
                "erp_invoice_no": "INV0000001",
                "crm_account_id": ACC_A,
                "opportunity_id": OPP_1,
                "amount": D("1200.00"),
                "currency": "USD",
                "status": "Partially Paid",
                "paid_amount": D("200.10"),
                "due_date": d(2025, 4, 30),
                "last_synced_at": ts(2025, 4, 2, 3, 4, 5),
                **sf,
                "source_id": "a0A5g00000Inv1AAAA",
            },
            {
                "crm_record_id": "a0A5g00000Inv2AAAA",
                "erp_invoice_no": "INV0000002",
                "crm_account_id": ACC_B,
                "opportunity_id": None,
                "amount": D("500.00"),
                "currency": "GBP",
                "status": "Open",
                "paid_amount": None,
                "due_date": d(2025, 6, 1),
                "last_synced_at": None,
                **sf,
                "source_id": "a0A5g00000Inv2AAAA",
            },
        ],
        ["CL-0000000001", "CL-0000000002"],
        f,
    )
    _rows(
        "contract",
        [
            {
                "contract_id": MSA_1,
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "opportunity_id": OPP_1,
                "contract_type": "MSA",
                "status": "executed",
                "signed_date": d(2025, 1, 20),
                "effective_date": d(2025, 2, 1),
                "end_date": d(2027, 1, 31),
                "currency": "USD",
                "payment_terms_days": 30,
                "po_required": True,
                "tax_terms": "exclusive",
                "expense_policy_id": "EXP-STD",
                **ic,
                "source_id": MSA_1,
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "sow",
        [
            {
                "sow_id": SOW_1,
                "contract_id": MSA_1,
                "opportunity_id": OPP_1,
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "status": "executed",
                "signed_date": d(2025, 1, 28),
                "start_date": d(2025, 2, 1),
                "end_date": d(2025, 12, 31),
                "currency": "USD",
                "value": D("120000.50"),
                "cap_amount": D("130000.00"),
                "billing_type": "TM_CAP",
                "payment_terms_days": 30,
                "po_number": "PO-1",
                "expense_rebillable": True,
                "expense_markup_pct": 0.05,
                "expense_cap": D("5000.00"),
                "expense_policy_id": "EXP-STD",
                "work_at_risk_approved": False,
                "multi_currency_billing": False,
                "over_time_criteria": "input",
                **ic,
                "source_id": SOW_1,
                "correlation_id": "CL-0000000001",
            },
            {
                "sow_id": SOW_2,
                "contract_id": None,
                "opportunity_id": OPP_2,
                "client_id": ACC_B,
                "legal_entity_id": LE_GB,
                "status": "executed",
                "signed_date": d(2025, 3, 25),
                "start_date": d(2025, 4, 1),
                "end_date": None,
                "currency": "GBP",
                "value": D("99999999.99"),
                "billing_type": "MILESTONE",
                **ic,
                "source_id": SOW_2,
            },
        ],
        ["CL-0000000001", "CL-0000000002"],
        f,
    )
    _rows(
        "amendment",
        [
            {
                "amendment_id": AMD_1,
                "sow_id": SOW_1,
                "amendment_no": 1,
                "status": "executed",
                "signed_date": d(2025, 6, 1),
                "effective_date": d(2025, 6, 2),
                "value_delta": D("-1500.25"),
                "new_end_date": d(2026, 3, 31),
                "new_cap_amount": None,
                "new_rate_card_id": RC_2,
                "change_type": "extension",
                **ic,
                "source_id": AMD_1,
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "rate_card",
        [
            {
                "rate_card_id": RC_1,
                "scope": "SOW",
                "sow_id": SOW_1,
                "contract_id": None,
                "role": "Manager",
                "currency": "USD",
                "bill_rate": D("260.00"),
                "discount_pct": 0.1,
                "cost_rate": D("117.00"),
                "valid_from": d(2025, 2, 1),
                "valid_to": d(2025, 12, 31),
                **ic,
                "source_id": RC_1,
            },
            {
                "rate_card_id": RC_2,
                "scope": "MSA",
                "sow_id": None,
                "contract_id": MSA_1,
                "role": "Analyst",
                "currency": "USD",
                "bill_rate": D("110.00"),
                "discount_pct": None,
                "cost_rate": None,
                "valid_from": d(2025, 1, 1),
                "valid_to": None,
                **ic,
                "source_id": RC_2,
            },
        ],
        ["CL-0000000001", None],
        f,
    )
    _rows(
        "milestone",
        [
            {
                "milestone_id": MS_1,
                "sow_id": SOW_2,
                "project_id": PRJ_2,
                "name": "Go-live",
                "amount": D("50000.00"),
                "due_date": d(2025, 6, 30),
                "status": "accepted",
                "completed_date": d(2025, 6, 20),
                "accepted_date": d(2025, 6, 25),
                "billing_trigger": "acceptance",
                **ic,
                "source_id": MS_1,
            },
        ],
        ["CL-0000000002"],
        f,
    )
    _rows(
        "project",
        [
            {
                "project_id": PRJ_1,
                "sow_id": SOW_1,
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "name": "Acme P1",
                "billing_type": "TM_CAP",
                "currency": "USD",
                "start_date": d(2025, 2, 1),
                "end_date": d(2025, 12, 31),
                "budget_amount": D("120000.50"),
                "budget_hours": 600.5,
                "budget_updated_at": ts(2025, 2, 2, 8, 0, 0),
                "budget_subcontract_cost": D("1000.00"),
                "status": "active",
                "created_at": ts(2025, 2, 1, 10, 11, 12),
                "closed_date": None,
                "pm_id": EMP_1,
                "practice": "Technology",
                "region": "Americas",
                "project_role": "prime",
                "po_number": "PO-1",
                "payment_terms_days": 30,
                **ns,
                "source_id": PRJ_1,
            },
            {
                "project_id": PRJ_2,
                "sow_id": SOW_2,
                "client_id": ACC_B,
                "legal_entity_id": LE_GB,
                "name": "Bravo P2",
                "billing_type": "MILESTONE",
                "currency": "GBP",
                "start_date": d(2025, 4, 1),
                "status": "closed",
                "closed_date": d(2025, 9, 30),
                "created_at": ts(2025, 4, 1),
                **ns,
                "source_id": PRJ_2,
            },
            {
                "project_id": PRJ_3,
                "sow_id": None,
                "client_id": CUST_C,
                "legal_entity_id": LE_GB,
                "name": "Charlie T&M",
                "billing_type": "TM",
                "currency": "GBP",
                "start_date": d(2025, 5, 1),
                "status": "active",
                "payment_terms_days": 60,
                **ns,
                "source_id": PRJ_3,
            },
        ],
        ["CL-0000000001", "CL-0000000002", None],
        f,
    )
    _rows(
        "task",
        [
            {
                "task_id": TASK_1,
                "project_id": PRJ_1,
                "wbs_code": "1.1",
                "name": "Build",
                "billable": True,
                **ns,
                "source_id": TASK_1,
            },
            {
                "task_id": TASK_2,
                "project_id": PRJ_2,
                "wbs_code": "1",
                "name": "Go-live",
                "billable": False,
                "milestone_id": MS_1,
                **ns,
                "source_id": TASK_2,
            },
        ],
        ["CL-0000000001", "CL-0000000002"],
        f,
    )
    _rows(
        "assignment",
        [
            {
                "project_id": PRJ_1,
                "resource_id": EMP_1,
                "role": "Manager",
                "start_date": d(2025, 2, 1),
                "end_date": d(2025, 12, 31),
                **ns,
                "source_id": "9100000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "resource",
        [
            {
                "resource_id": EMP_1,
                "name": "Jane Doe",
                "legal_entity_id": LE_US,
                "role": "Manager",
                "practice": "Technology",
                "region": "Americas",
                "cost_rate": D("117.00"),
                **ns,
                "source_id": EMP_1,
            },
            {
                "resource_id": EMP_2,
                "name": "Sam O'Neil",
                "legal_entity_id": LE_GB,
                "role": "Analyst",
                "practice": None,
                "region": "EMEA",
                "cost_rate": D("50.00"),
                **ns,
                "source_id": EMP_2,
            },
        ],
        None,
        f,
    )
    _rows(
        "billing_schedule",
        [
            {
                "schedule_line_id": "7000001",
                "project_id": PRJ_2,
                "sow_id": SOW_2,
                "bill_date": d(2025, 6, 30),
                "amount": D("50000.00"),
                "currency": "GBP",
                "milestone_id": MS_1,
                "line_type": "milestone",
                "updated_at": ts(2025, 4, 2, 1, 2, 3),
                **ns,
                "source_id": "7000001",
            },
            {
                "schedule_line_id": "7000002",
                "project_id": PRJ_2,
                "sow_id": SOW_2,
                "bill_date": d(2025, 9, 30),
                "amount": D("49999949.99"),
                "currency": "GBP",
                "line_type": "fixed",
                **ns,
                "source_id": "7000002",
            },
        ],
        ["CL-0000000002", "CL-0000000002"],
        f,
    )
    _rows(
        "billing_rule",
        [
            {
                "project_id": PRJ_1,
                "rule_type": "TM_CAP",
                "cap": D("130000.00"),
                "cap_hours": 650.0,
                **ns,
                "source_id": "7900001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "time_entry",
        [
            {
                "time_entry_id": "100000001",
                "project_id": PRJ_1,
                "task_id": TASK_1,
                "resource_id": EMP_1,
                "resource_legal_entity_id": LE_US,
                "role": "Manager",
                "work_date": d(2025, 3, 3),
                "hours": D("7.50"),
                "billable": True,
                "approval_status": "approved",
                "submitted_at": ts(2025, 3, 7, 17, 0, 0),
                "approved_at": ts(2025, 3, 8, 9, 15, 30),
                "cost_rate": D("117.00"),
                "invoice_line_id": "50000001",
                **ns,
                "source_id": "100000001",
            },
            {
                "time_entry_id": "100000002",
                "project_id": PRJ_3,
                "task_id": None,
                "resource_id": EMP_2,
                "resource_legal_entity_id": LE_GB,
                "role": "Analyst",
                "work_date": d(2025, 5, 5),
                "hours": D("8.00"),
                "billable": False,
                "approval_status": "submitted",
                "submitted_at": ts(2025, 5, 9, 17, 0, 0),
                **ns,
                "source_id": "100000002",
            },
        ],
        ["CL-0000000001", None],
        f,
    )
    _rows(
        "expense",
        [
            {
                "expense_id": "30000001",
                "project_id": PRJ_1,
                "resource_id": EMP_1,
                "expense_date": d(2025, 3, 4),
                "category": "lodging",
                "amount": D("250.75"),
                "currency": "USD",
                "billable": True,
                "approval_status": "approved",
                "approved_at": ts(2025, 3, 9),
                "invoice_line_id": "50000002",
                **ns,
                "source_id": "30000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "invoice",
        [
            {
                "invoice_id": INV_1,
                "erp_invoice_no": "INV0000001",
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "sow_id": SOW_1,
                "project_id": PRJ_1,
                "type": "invoice",
                "status": "partially_paid",
                "invoice_date": d(2025, 3, 31),
                "posted_at": ts(2025, 4, 1, 6, 0, 0),
                "due_date": d(2025, 4, 30),
                "currency": "USD",
                "amount_net": D("1128.25"),
                "tax_amount": D("71.75"),
                "amount_gross": D("1200.00"),
                "amount_paid": D("200.10"),
                "payment_terms_days": 30,
                "po_number": "PO-1",
                **ns,
                "source_id": INV_1,
                "correlation_id": "CL-0000000001",
            },
            {
                "invoice_id": INV_2,
                "erp_invoice_no": "INV0000002",
                "client_id": ACC_B,
                "legal_entity_id": LE_GB,
                "sow_id": None,
                "project_id": PRJ_2,
                "type": "invoice",
                "status": "posted",
                "invoice_date": d(2025, 5, 2),
                "due_date": d(2025, 6, 1),
                "currency": "GBP",
                "amount_net": D("500.00"),
                "tax_amount": D("0.00"),
                "amount_gross": D("500.00"),
                "amount_paid": D("0.00"),
                "payment_terms_days": 45,
                **ns,
                "source_id": INV_2,
            },
            {
                "invoice_id": CRED_1,
                "erp_invoice_no": "CM0000001",
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "sow_id": SOW_1,
                "project_id": PRJ_1,
                "type": "credit_note",
                "status": "posted",
                "invoice_date": d(2025, 4, 15),
                "currency": "USD",
                "amount_net": D("-100.00"),
                "tax_amount": D("0.00"),
                "amount_gross": D("-100.00"),
                "source_ref": INV_1,
                "credit_reason_code": "RATE_ERROR",
                **ns,
                "source_id": CRED_1,
            },
        ],
        ["CL-0000000001", "CL-0000000002", "CL-0000000001"],
        f,
    )
    _rows(
        "invoice_line",
        [
            {
                "invoice_line_id": "50000001",
                "invoice_id": INV_1,
                "line_no": 1,
                "line_type": "time",
                "source_id": "100000001",
                "role": "Manager",
                "quantity": D("7.50"),
                "unit_price": D("120.00"),
                "amount": D("900.00"),
                "tax_code": "S",
                "tax_rate": 0.0,
                "period_start": d(2025, 3, 1),
                "period_end": d(2025, 3, 31),
                "service_category": "consulting",
                "applied_to_retainer": False,
                **ns,
            },
            {
                "invoice_line_id": "50000002",
                "invoice_id": INV_1,
                "line_no": 2,
                "line_type": "expense",
                "source_id": "30000001",
                "quantity": D("1.00"),
                "unit_price": D("228.25"),
                "amount": D("228.25"),
                "reason_code": None,
                "approved_by": EMP_1,
                **ns,
            },
        ],
        ["CL-0000000001", "CL-0000000001"],
        f,
    )
    _rows(
        "payment",
        [
            {
                "payment_id": "20000001",
                "invoice_id": INV_1,
                "client_id": ACC_A,
                "legal_entity_id": LE_US,
                "amount": D("200.10"),
                "currency": "USD",
                "received_date": d(2025, 4, 20),
                "applied_date": d(2025, 4, 21),
                **ns,
                "source_id": "20000001",
            },
            {
                "payment_id": "20000002",
                "invoice_id": None,
                "client_id": CUST_C,
                "legal_entity_id": LE_GB,
                "amount": D("10.00"),
                "currency": "GBP",
                "received_date": d(2025, 5, 20),
                **ns,
                "source_id": "20000002",
            },
        ],
        ["CL-0000000001", None],
        f,
    )
    _rows(
        "revenue_schedule",
        [
            {
                "rev_line_id": "8000001",
                "sow_id": SOW_1,
                "project_id": PRJ_1,
                "period": d(2025, 3, 1),
                "method": "input",
                "amount": D("1128.25"),
                "posted_at": ts(2025, 4, 5, 1, 0, 0),
                "period_locked": True,
                **ns,
                "source_id": "8000001",
            },
            {
                "rev_line_id": "8000002",
                "sow_id": SOW_2,
                "project_id": PRJ_2,
                "period": d(2025, 6, 1),
                "method": "output",
                "amount": D("50000.00"),
                "period_locked": False,
                **ns,
                "source_id": "8000002",
            },
        ],
        ["CL-0000000001", "CL-0000000002"],
        f,
    )
    _rows(
        "revenue_contract",
        [
            {
                "sow_id": SOW_1,
                "transaction_price": D("120000.50"),
                "tp_updated_at": ts(2025, 2, 3, 4, 5, 6),
                **ns,
                "source_id": "9400000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "period_lock",
        [
            {"period": d(2025, 3, 1), "lock_ts": ts(2025, 4, 10, 18, 0, 0), **ns, "source_id": "2025-03-01"},
        ],
        None,
        f,
    )
    _rows(
        "collection_action",
        [
            {
                "invoice_id": INV_1,
                "action_type": "reminder",
                "action_date": d(2025, 5, 7),
                **ns,
                "source_id": "9700000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "dispute",
        [
            {
                "invoice_id": INV_2,
                "opened": d(2025, 5, 10),
                "closed": None,
                "reason_code": "RATE",
                **ns,
                "source_id": "9800000001",
            },
        ],
        ["CL-0000000002"],
        f,
    )
    _rows(
        "write_down",
        [
            {
                "write_down_id": "29000001",
                "project_id": PRJ_1,
                "amount": D("300.00"),
                "currency": "USD",
                "reason_code": "QUALITY",
                "requested_by_role": "Manager",
                "approved_by": EMP_1,
                "created_at": ts(2025, 4, 2, 10, 0, 0),
                **ns,
                "source_id": "29000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "subcontract",
        [
            {
                "subcontract_id": "28000001",
                "vendor_id": "4000001",
                "project_id": PRJ_1,
                "sow_id": SOW_1,
                "cap_amount": D("1000.00"),
                "currency": "USD",
                "valid_from": d(2025, 2, 1),
                "valid_to": d(2025, 6, 30),
                "status": "open",
                "rebillable": True,
                "markup_pct": 0.1,
                **ns,
                "source_id": "28000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "vendor_bill",
        [
            {
                "vendor_bill_id": "25000001",
                "vendor_id": "4000001",
                "project_id": PRJ_1,
                "subcontract_id": "28000001",
                "bill_date": d(2025, 3, 15),
                "amount": D("400.00"),
                "currency": "USD",
                "rebillable": True,
                **ns,
                "source_id": "25000001",
            },
        ],
        ["CL-0000000001"],
        f,
    )
    _rows(
        "integration_event",
        [
            {
                "event_id": "3f2a9c1e-0000-4000-8000-000000000001",
                "correlation_id": "CL-0000000001",
                "idempotency_key": "opp-won-" + OPP_1,
                "source_system": "salesforce",
                "target_system": "ironclad",
                "entity_type": "opportunity",
                "entity_id": OPP_1,
                "target_entity_id": SOW_1,
                "event_type": "opportunity_won",
                "status": "success",
                "attempt": 1,
                "created_at": ts(2025, 2, 1, 0, 0, 1),
                "processed_at": ts(2025, 2, 1, 0, 0, 2, 500000),
                "source_id": "3f2a9c1e-0000-4000-8000-000000000001",
            },
            {
                "event_id": "3f2a9c1e-0000-4000-8000-000000000002",
                "correlation_id": None,
                "idempotency_key": "x",
                "source_system": "netsuite",
                "target_system": "salesforce",
                "entity_type": "invoice",
                "entity_id": INV_2,
                "event_type": "invoice_status",
                "status": "failed",
                "attempt": 3,
                "error_message": 'INVALID_FIELD: bad "value"\nline 2',
                "created_at": ts(2025, 5, 2, 1, 0, 0),
                "source_id": "3f2a9c1e-0000-4000-8000-000000000002",
            },
        ],
        None,
        f,
    )
    _rows(
        "fx_rate",
        [
            {
                "rate_date": d(2025, 1, 1),
                "from_ccy": "GBP",
                "to_ccy": "USD",
                "rate": D("1.27123456"),
                **ref,
                "source_id": "GBP:USD:2025-01-01",
            },
            {
                "rate_date": d(2025, 1, 1),
                "from_ccy": "USD",
                "to_ccy": "USD",
                "rate": D("1"),
                **ref,
                "source_id": "u",
            },
        ],
        None,
        f,
    )
    _rows(
        "calendar",
        [
            {"d": d(2025, 1, 1), "is_business_day": False, "legal_entity_id": None, "bd_no": 0},
            {"d": d(2025, 1, 2), "is_business_day": True, "legal_entity_id": LE_GB, "bd_no": 1},
        ],
        None,
        f,
    )
    _rows(
        "tax_matrix",
        [
            {
                "seller_country": "GB",
                "buyer_country": "DE",
                "service_category": "consulting",
                "buyer_is_business": True,
                "expected_rate": 0.0,
                "reverse_charge": True,
                "valid_from": d(2020, 1, 1),
                "valid_to": None,
                **ref,
                "source_id": "t1",
            },
        ],
        None,
        f,
    )
    _rows(
        "rev_policy_matrix",
        [
            {
                "billing_type": "TM",
                "over_time_criteria": "input",
                "method": "as_invoiced",
                **ref,
                "source_id": "r1",
            },
        ],
        None,
        f,
    )
    _rows(
        "expense_policy_rule",
        [
            {
                "policy_id": "EXP-STD",
                "category": "lodging",
                "allowed": True,
                "cap": D("300.00"),
                "max_markup_pct": 0.1,
                **ref,
                "source_id": "e1",
            },
        ],
        None,
        f,
    )
    _rows(
        "approval_matrix",
        [{"role": "Manager", "threshold": D("5000.00"), **ref, "source_id": "Manager"}],
        None,
        f,
    )
    _rows(
        "intercompany_agreement",
        [
            {
                "supplier_le": LE_GB,
                "buyer_le": LE_US,
                "valid_from": d(2024, 1, 1),
                "valid_to": d(2026, 12, 31),
                **ref,
                "source_id": "2>1",
            },
        ],
        None,
        f,
    )
    return f
