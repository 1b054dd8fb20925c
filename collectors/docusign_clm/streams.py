"""DocuSign Navigator (Agreements API) streams as data: one listing, GET /v1/accounts/{accountId}/agreements.

Navigator holds every agreement document in one listing; its `type` says what a document is (MSA, SOW,
amendment, rate schedule), so the mapping splits the one raw table by type names taken from config. What the
canonical model needs beyond Navigator's standard provisions (business numbers, the CRM's ids, rate lines,
milestones) lives in the agreement's `custom_provisions`, whose keys are the account's own: configurable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols, resolve_names
from collectors.base import Stream

# Stream-independent: what each canonical CLM entity is called in the account's `type` values.
AGREEMENT_TYPES = {
    "msa": "Master Service Agreement",
    "sow": "Statement of Work",
    "amendment": "Amendment",
    "rate_card": "Rate Schedule",
}
# Logical field -> default custom provision key (the account's data model names them; see discover).
CUSTOM_PROVISIONS = {
    "contract_id": "contract_number",
    "sow_id": "sow_number",
    "amendment_id": "amendment_number_id",
    "amendment_no": "amendment_sequence",
    "rate_card_id": "rate_card_id",
    "correlation_id": "correlation_id",
    "opportunity_id": "salesforce_opportunity_id",
    "client_id": "salesforce_account_id",
    "legal_entity": "contracting_entity",
    "contract_type": "contract_type",
    "status": "agreement_status",
    "payment_terms_days": "payment_terms_days",
    "po_required": "po_required",
    "tax_terms": "tax_terms",
    "expense_policy_id": "expense_policy_id",
    "cap_amount": "not_to_exceed_amount",
    "billing_type": "billing_type",
    "po_number": "po_number",
    "expense_rebillable": "expenses_rebillable",
    "expense_markup_pct": "expense_markup_pct",
    "expense_cap": "expense_cap",
    "work_at_risk_approved": "work_at_risk_approved",
    "multi_currency_billing": "multi_currency_billing",
    "over_time_criteria": "revenue_over_time_criteria",
    "value_delta": "value_change",
    "new_end_date": "new_expiration_date",
    "new_cap_amount": "new_not_to_exceed_amount",
    "new_rate_card_id": "new_rate_card_id",
    "change_type": "change_type",
    "scope": "rate_scope",
    "rate_lines": "rate_lines",
    "milestones": "milestones",
}
# Keys inside one rate line / one milestone object of those arrays (fixed: they are the arrays' own shape).
RATE_LINE_KEYS = ("line_id", "role", "bill_rate", "discount_pct", "cost_rate", "valid_from", "valid_to")
MILESTONE_KEYS = (
    "milestone_id",
    "project_id",
    "name",
    "amount",
    "due_date",
    "status",
    "completed_date",
    "accepted_date",
    "billing_trigger",
)
COLUMNS = cols(
    "id",
    "title",
    "file_name",
    "document_id",
    "type",
    "category",
    "status",
    "review_status",
    "parties:JSON",
    "provisions:JSON",
    "custom_provisions:JSON",
    "related_agreement_documents:JSON",
    "source_name",
    "source_id",
    "metadata:JSON",
    required=("id", "type"),
)


def agreement_types(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    return resolve_names(AGREEMENT_TYPES, (cfg or {}).get("agreement_types"))


def custom_keys(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Logical field -> the account's custom provision key in force (config over the defaults)."""
    cfg = cfg or {}
    keys = resolve_names(CUSTOM_PROVISIONS, cfg.get("custom_provisions"))
    keys["correlation_id"] = cfg.get("correlation_provision") or keys["correlation_id"]
    return keys


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """The one agreements listing (file agreements.jsonl: the pages' `data` items, one per line)."""
    return [
        Stream(
            "agreements",
            COLUMNS,
            primary_key=("id",),
            file_pattern="agreements.jsonl",
            description="GET /v1/accounts/{accountId}/agreements",
        )
    ]
