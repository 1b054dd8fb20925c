"""Built-in contract rules: canonical keys, domains and references, plus vendor structure the declarations lack."""

from __future__ import annotations

from closedloop.valuemaps import DOMAINS

# Default severity of each rule kind: critical ones fail the source for the run (dependent checks suppressed).
SEVERITY = {
    "key": "critical",  # primary key not null and unique: joins would fan out or drop rows
    "required": "critical",  # a required column absent or empty: mappings read NULL
    "exists": "critical",  # a contracted column the source stopped sending
    "allowed": "critical",  # a status the mapping and the checks do not know: every check would misread it
    "references": "warning",  # orphans are business findings too (Q2C-103); make critical per firm if wanted
    "non_negative": "warning",
    # an amount outside its bounds (a -$5B opportunity, cents loaded as dollars): every $ figure would carry it
    "amount": "critical",
    "date_order": "warning",
}

# Canonical primary keys (closedloop/canon/schema.sql); checks join on these.
CANON_KEYS: dict[str, tuple[str, ...]] = {
    "client": ("client_id",),
    "legal_entity": ("legal_entity_id",),
    "opportunity": ("opportunity_id",),
    "contract": ("contract_id",),
    "sow": ("sow_id",),
    "amendment": ("amendment_id",),
    "rate_card": ("rate_card_id", "role"),  # one card, one line per role
    "milestone": ("milestone_id",),
    "project": ("project_id",),
    "task": ("task_id",),
    "billing_schedule": ("schedule_line_id",),
    "time_entry": ("time_entry_id",),
    "expense": ("expense_id",),
    "invoice": ("invoice_id",),
    "invoice_line": ("invoice_line_id",),
    "payment": ("payment_id",),
    "revenue_schedule": ("rev_line_id",),
    "crm_invoice_status": ("crm_record_id",),
    "integration_event": ("event_id",),
    "write_down": ("write_down_id",),
    "subcontract": ("subcontract_id",),
    "fx_rate": ("rate_date", "from_ccy", "to_ccy"),
}

# The value domains the checks test with literals, declared once in closedloop/valuemaps.py: the value maps
# leave only these (or NULL, recorded as unmapped) in canon. Replace one with [contracts] allowed_values.
CANON_DOMAINS: dict[str, dict[str, list[str]]] = {}
for _key, _values in DOMAINS.items():
    _table, _column = _key.split(".")
    CANON_DOMAINS.setdefault(_table, {})[_column] = list(_values)

# child table.column -> parent table.column, within canon.
CANON_REFERENCES: dict[str, str] = {
    "opportunity.client_id": "client.client_id",
    "sow.contract_id": "contract.contract_id",
    "amendment.sow_id": "sow.sow_id",
    "milestone.sow_id": "sow.sow_id",
    "project.client_id": "client.client_id",
    "task.project_id": "project.project_id",
    "billing_schedule.project_id": "project.project_id",
    "time_entry.project_id": "project.project_id",
    "expense.project_id": "project.project_id",
    "invoice.client_id": "client.client_id",
    "invoice_line.invoice_id": "invoice.invoice_id",
    "payment.invoice_id": "invoice.invoice_id",
}

# Money and quantities that cannot be negative (credit notes, adjustments and value deltas can).
CANON_NON_NEGATIVE: dict[str, list[str]] = {
    "opportunity": ["amount"],
    "sow": ["value", "cap_amount"],
    "rate_card": ["bill_rate", "cost_rate"],
    "milestone": ["amount"],
    "billing_schedule": ["amount"],
    "time_entry": ["hours"],
    "payment": ["amount"],
    "project": ["budget_amount"],
}

CANON_DATE_ORDER: dict[str, list[tuple[str, str]]] = {
    "contract": [("effective_date", "end_date")],
    "sow": [("start_date", "end_date")],
    "project": [("start_date", "end_date")],
    "rate_card": [("valid_from", "valid_to")],
    "assignment": [("start_date", "end_date")],
}

# Vendor structure by source kind, '<stream>.<column>' names (defaults; config names resolved by the kind).
VENDOR: dict[str, dict] = {
    "salesforce": {
        "references": {"opportunity.AccountId": "account.Id"},
        "non_negative": [],
        "date_order": [],
    },
    "netsuite": {
        "references": {
            "transactionline.transaction": "transaction.id",
            "projecttask.project": "job.id",
            "billingschedule_line.billingschedule": "billingschedule.id",
            "resourceallocation.project": "job.id",
        },
        "non_negative": ["timebill.hours", "billingschedule_line.amount"],
        "date_order": [
            ("job.startdate", "job.projectedenddate"),
            ("resourceallocation.startdate", "resourceallocation.enddate"),
            ("accountingperiod.startdate", "accountingperiod.enddate"),
        ],
    },
}


def vendor_rules(kind: str, scfg: dict) -> dict:
    """A kind's structural rules, with the org's configured names (e.g. the invoice-status lookup field)."""
    rules = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in VENDOR.get(kind, {}).items()}
    if kind == "salesforce":
        try:
            from collectors.salesforce.streams import names
        except ImportError:  # the vendor package may be absent in a trimmed install
            return rules
        rules.setdefault("references", {})[f"invoice_status.{names(scfg)['inv_opportunity_field']}"] = (
            "opportunity.Id"
        )
    return rules


# Money columns are DECIMAL(18,2) in canon (closedloop/canon/schema.sql): each is bounded by [contracts]
# max_amount either side of zero unless [contracts] amounts sets its own bounds.
MONEY_TYPE = "DECIMAL(18,2)"
