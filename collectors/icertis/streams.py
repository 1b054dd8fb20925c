"""Icertis streams as data: one contract type per stream, each a flat record of the tenant's attributes.

Icertis publishes no API contract: attribute and contract type names are tenant configuration, so every name
here is a default a firm overrides in [sources.icertis] fields / contract_types. The same streams come from
the tenant's REST API (collectors/rest_generic) or its scheduled CSV exports (<contract type>.csv).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import resolve_names
from collectors.base import Column, Stream

CONTRACT_TYPES = {
    "msa": "ICMMSA",
    "sow": "ICMSOW",
    "amendment": "ICMAmendment",
    "rate_card": "ICMRateCard",
    "milestone": "ICMMilestone",
}
D2 = "DECIMAL(18,2)"
# logical field -> (default attribute name, raw type)
FIELDS: dict[str, tuple[str, str]] = {
    "id": ("SysId", "VARCHAR"),
    "agreement_code": ("AgreementCode", "VARCHAR"),
    "parent_code": ("ParentAgreementCode", "VARCHAR"),
    "client_id": ("CustomerCode", "VARCHAR"),
    "legal_entity": ("ContractingEntity", "VARCHAR"),
    "opportunity_id": ("CRMOpportunityId", "VARCHAR"),
    "contract_type": ("AgreementType", "VARCHAR"),
    "status": ("Status", "VARCHAR"),
    "signed_date": ("SignedDate", "DATE"),
    "effective_date": ("EffectiveDate", "DATE"),
    "start_date": ("StartDate", "DATE"),
    "end_date": ("ExpiryDate", "DATE"),
    "currency": ("Currency", "VARCHAR"),
    "payment_terms_days": ("PaymentTermsDays", "BIGINT"),
    "po_required": ("PORequired", "BOOLEAN"),
    "tax_terms": ("TaxTerms", "VARCHAR"),
    "expense_policy_id": ("ExpensePolicyCode", "VARCHAR"),
    "value": ("ContractValue", D2),
    "cap_amount": ("NotToExceedAmount", D2),
    "billing_type": ("BillingType", "VARCHAR"),
    "po_number": ("PONumber", "VARCHAR"),
    "expense_rebillable": ("ExpensesRebillable", "BOOLEAN"),
    "expense_markup_pct": ("ExpenseMarkupPct", "DOUBLE"),
    "expense_cap": ("ExpenseCap", D2),
    "work_at_risk_approved": ("WorkAtRiskApproved", "BOOLEAN"),
    "multi_currency_billing": ("MultiCurrencyBilling", "BOOLEAN"),
    "over_time_criteria": ("RevenueRecognitionCriteria", "VARCHAR"),
    "amendment_no": ("AmendmentNumber", "BIGINT"),
    "value_delta": ("ValueChange", D2),
    "new_end_date": ("NewExpiryDate", "DATE"),
    "new_cap_amount": ("NewNotToExceedAmount", D2),
    "new_rate_card_id": ("NewRateCardCode", "VARCHAR"),
    "change_type": ("ChangeType", "VARCHAR"),
    "rate_card_id": ("RateCardCode", "VARCHAR"),
    "scope": ("RateScope", "VARCHAR"),
    "sow_id": ("SOWCode", "VARCHAR"),
    "contract_id": ("MSACode", "VARCHAR"),
    "role": ("Role", "VARCHAR"),
    "bill_rate": ("BillRate", D2),
    "discount_pct": ("DiscountPct", "DOUBLE"),
    "cost_rate": ("CostRate", D2),
    "valid_from": ("ValidFrom", "DATE"),
    "valid_to": ("ValidTo", "DATE"),
    "milestone_id": ("MilestoneCode", "VARCHAR"),
    "project_id": ("ProjectCode", "VARCHAR"),
    "name": ("Name", "VARCHAR"),
    "amount": ("Amount", D2),
    "due_date": ("DueDate", "DATE"),
    "completed_date": ("CompletedDate", "DATE"),
    "accepted_date": ("AcceptedDate", "DATE"),
    "billing_trigger": ("BillingTrigger", "VARCHAR"),
    "correlation_id": ("CorrelationId", "VARCHAR"),
    "modified": ("LastModifiedDate", "TIMESTAMPTZ"),
}
_AGREEMENT = ("id", "agreement_code")
STREAM_FIELDS: dict[str, tuple[str, ...]] = {
    "msa": (
        *_AGREEMENT,
        "client_id",
        "legal_entity",
        "opportunity_id",
        "contract_type",
        "status",
        "signed_date",
        "effective_date",
        "end_date",
        "currency",
        "payment_terms_days",
        "po_required",
        "tax_terms",
        "expense_policy_id",
        "correlation_id",
        "modified",
    ),
    "sow": (
        *_AGREEMENT,
        "parent_code",
        "opportunity_id",
        "client_id",
        "legal_entity",
        "status",
        "signed_date",
        "start_date",
        "end_date",
        "currency",
        "value",
        "cap_amount",
        "billing_type",
        "payment_terms_days",
        "po_number",
        "expense_rebillable",
        "expense_markup_pct",
        "expense_cap",
        "expense_policy_id",
        "work_at_risk_approved",
        "multi_currency_billing",
        "over_time_criteria",
        "correlation_id",
        "modified",
    ),
    "amendment": (
        *_AGREEMENT,
        "parent_code",
        "amendment_no",
        "status",
        "signed_date",
        "effective_date",
        "value_delta",
        "new_end_date",
        "new_cap_amount",
        "new_rate_card_id",
        "change_type",
        "correlation_id",
        "modified",
    ),
    "rate_card": (
        "id",
        "rate_card_id",
        "scope",
        "sow_id",
        "contract_id",
        "role",
        "currency",
        "bill_rate",
        "discount_pct",
        "cost_rate",
        "valid_from",
        "valid_to",
        "correlation_id",
        "modified",
    ),
    "milestone": (
        "id",
        "milestone_id",
        "sow_id",
        "project_id",
        "name",
        "amount",
        "due_date",
        "status",
        "completed_date",
        "accepted_date",
        "billing_trigger",
        "correlation_id",
        "modified",
    ),
}


def contract_types(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    return resolve_names(CONTRACT_TYPES, (cfg or {}).get("contract_types"))


def field_names(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Logical field -> the tenant's attribute name (a dotted path for a nested one) in force."""
    return resolve_names({k: v[0] for k, v in FIELDS.items()}, (cfg or {}).get("fields"))


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    names, types = field_names(cfg), contract_types(cfg)
    out = []
    for stream, logicals in STREAM_FIELDS.items():
        columns = tuple(
            Column(names[f], FIELDS[f][1], required=f in ("id",)) for f in dict.fromkeys(logicals)
        )
        out.append(
            Stream(
                stream,
                columns,
                primary_key=(names["id"],),
                cursor_field=names["modified"],
                file_pattern=f"{types[stream]}.csv",
                description=f"GET /api/v1/agreements/{types[stream]}",
            )
        )
    return out
