"""Ironclad streams as data: one stream per record type of the repository (/records?types=...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols, resolve_names
from collectors.base import Stream

# Stream -> the tenant's record type key (configurable: record types are tenant configuration).
RECORD_TYPES = {
    "msa": "msa",
    "sow": "statementOfWork",
    "amendment": "amendment",
    "rate_card": "rateCard",
    "milestone": "milestone",
}
# Logical property -> (default tenant key, Ironclad property type). Keys are tenant-specific: read
# GET /records/metadata and override them in [sources.<key>] properties = {...}.
PROPERTIES: dict[str, tuple[str, str]] = {
    "correlation_id": ("correlationId", "string"),
    "opportunity_id": ("salesforceOpportunityId", "string"),
    "client_id": ("salesforceAccountId", "string"),
    "counterparty": ("counterpartyName", "string"),
    "legal_entity": ("contractingEntity", "string"),
    "contract_id": ("masterAgreementId", "string"),
    "sow_id": ("statementOfWorkId", "string"),
    "project_id": ("netsuiteProjectId", "string"),
    "contract_type": ("contractType", "string"),
    "status": ("agreementStatus", "string"),
    "signed_date": ("agreementDate", "date"),
    "effective_date": ("effectiveDate", "date"),
    "start_date": ("startDate", "date"),
    "end_date": ("expirationDate", "date"),
    "currency": ("contractCurrency", "string"),
    "payment_terms_days": ("paymentTermsDays", "number"),
    "po_required": ("poRequired", "boolean"),
    "tax_terms": ("taxTerms", "string"),
    "expense_policy_id": ("expensePolicyId", "string"),
    "value": ("contractValue", "monetaryAmount"),
    "cap_amount": ("notToExceedAmount", "monetaryAmount"),
    "billing_type": ("billingType", "string"),
    "po_number": ("poNumber", "string"),
    "expense_rebillable": ("expensesRebillable", "boolean"),
    "expense_markup_pct": ("expenseMarkupPct", "number"),
    "expense_cap": ("expenseCap", "monetaryAmount"),
    "work_at_risk_approved": ("workAtRiskApproved", "boolean"),
    "multi_currency_billing": ("multiCurrencyBilling", "boolean"),
    "over_time_criteria": ("overTimeCriteria", "string"),
    "amendment_no": ("amendmentNumber", "number"),
    "value_delta": ("valueChange", "monetaryAmount"),
    "new_end_date": ("newExpirationDate", "date"),
    "new_cap_amount": ("newNotToExceedAmount", "monetaryAmount"),
    "new_rate_card_id": ("newRateCardId", "string"),
    "change_type": ("changeType", "string"),
    "scope": ("rateScope", "string"),
    "rate_card_id": ("rateCardId", "string"),
    "role": ("role", "string"),
    "bill_rate": ("billRate", "monetaryAmount"),
    "discount_pct": ("discountPct", "number"),
    "cost_rate": ("costRate", "monetaryAmount"),
    "valid_from": ("validFrom", "date"),
    "valid_to": ("validTo", "date"),
    "amount": ("milestoneAmount", "monetaryAmount"),
    "due_date": ("dueDate", "date"),
    "completed_date": ("completedDate", "date"),
    "accepted_date": ("acceptedDate", "date"),
    "billing_trigger": ("billingTrigger", "string"),
}
COLUMNS = cols(
    "id",
    "ironcladId",
    "type",
    "name",
    "lastUpdated:TIMESTAMPTZ",
    "properties:JSON",
    "childIds:JSON",
    required=("id",),
)


def record_types(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Stream -> tenant record type key in force (cfg record_types over the defaults)."""
    return resolve_names(RECORD_TYPES, (cfg or {}).get("record_types"))


def property_keys(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Logical property -> tenant property key in force; correlation/opportunity keys have own settings."""
    cfg = cfg or {}
    keys = resolve_names({k: v[0] for k, v in PROPERTIES.items()}, cfg.get("properties"))
    keys["correlation_id"] = cfg.get("correlation_property") or keys["correlation_id"]
    keys["opportunity_id"] = cfg.get("opportunity_property") or keys["opportunity_id"]
    return keys


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """One stream per record type (file records/<type>.jsonl), plus the tenant's records metadata."""
    out = [
        Stream(
            name,
            COLUMNS,
            primary_key=("id",),
            cursor_field="lastUpdated",
            file_pattern=f"records/{rtype}.jsonl",
            description=f"GET /records?types={rtype}",
        )
        for name, rtype in record_types(cfg).items()
    ]
    meta = cols("recordTypes:JSON", "properties:JSON")
    out.append(
        Stream(
            "records_metadata",
            meta,
            file_pattern="records/metadata.json",
            description="GET /records/metadata",
        )
    )
    return out
