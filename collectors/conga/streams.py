"""Conga CLM (Apttus) streams as data: the agreement and agreement line item objects of the Salesforce org.

Conga CLM is a managed package inside the firm's Salesforce org, so its data is read through the Salesforce
REST transport (collectors/salesforce/api.py). Package versions and firms differ in field names, so every
object and field name below is a setting of [sources.conga] with the package's standard name as default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols, resolve_names, split_spec
from collectors.base import Stream
from collectors.config_keys import duplicate_columns

# Logical name -> (API name in a standard Conga org, raw type). Every key is a setting of [sources.conga].
AGREEMENT_FIELDS: dict[str, tuple[str, str]] = {
    "number_field": ("Apttus__FF_Agreement_Number__c", "VARCHAR"),
    "category_field": ("Apttus__Agreement_Category__c", "VARCHAR"),
    "subtype_field": ("Apttus__Subtype__c", "VARCHAR"),
    "status_category_field": ("Apttus__Status_Category__c", "VARCHAR"),
    "status_field": ("Apttus__Status__c", "VARCHAR"),
    "account_field": ("Apttus__Account__c", "VARCHAR"),
    "opportunity_field": ("Apttus__Related_Opportunity__c", "VARCHAR"),
    "parent_field": ("Apttus__Parent_Agreement__c", "VARCHAR"),
    "version_field": ("Apttus__Version_Number__c", "BIGINT"),
    "signed_date_field": ("Apttus__Company_Signed_Date__c", "DATE"),
    "start_date_field": ("Apttus__Contract_Start_Date__c", "DATE"),
    "end_date_field": ("Apttus__Contract_End_Date__c", "DATE"),
    "value_field": ("Apttus__Total_Contract_Value__c", "DECIMAL(18,2)"),
    # the firm's own custom fields on the agreement (defaults: what a services firm typically adds)
    "correlation_field": ("Correlation_Id__c", "VARCHAR"),
    "legal_entity_field": ("Contracting_Entity__c", "VARCHAR"),
    "payment_terms_field": ("Payment_Terms_Days__c", "BIGINT"),
    "po_required_field": ("PO_Required__c", "BOOLEAN"),
    "tax_terms_field": ("Tax_Terms__c", "VARCHAR"),
    "expense_policy_field": ("Expense_Policy__c", "VARCHAR"),
    "cap_field": ("Not_To_Exceed__c", "DECIMAL(18,2)"),
    "billing_type_field": ("Billing_Type__c", "VARCHAR"),
    "po_number_field": ("PO_Number__c", "VARCHAR"),
    "expense_rebillable_field": ("Expenses_Rebillable__c", "BOOLEAN"),
    "expense_markup_field": ("Expense_Markup_Pct__c", "DOUBLE"),
    "expense_cap_field": ("Expense_Cap__c", "DECIMAL(18,2)"),
    "work_at_risk_field": ("Work_At_Risk_Approved__c", "BOOLEAN"),
    "multi_currency_field": ("Multi_Currency_Billing__c", "BOOLEAN"),
    "over_time_field": ("Revenue_Recognition__c", "VARCHAR"),
    "value_change_field": ("Value_Change__c", "DECIMAL(18,2)"),
    "change_type_field": ("Change_Type__c", "VARCHAR"),
    "new_rate_card_field": ("New_Rate_Card__c", "VARCHAR"),
}
LINE_FIELDS: dict[str, tuple[str, str]] = {
    "line_agreement_field": ("Apttus__AgreementId__c", "VARCHAR"),
    "line_contract_field": ("Master_Agreement__c", "VARCHAR"),
    "line_description_field": ("Apttus__Description__c", "VARCHAR"),
    "line_list_price_field": ("Apttus__ListPrice__c", "DECIMAL(18,2)"),
    "line_net_price_field": ("Apttus__NetPrice__c", "DECIMAL(18,2)"),
    "line_type_field": ("Line_Type__c", "VARCHAR"),
    "line_rate_card_field": ("Rate_Card__c", "VARCHAR"),
    "line_scope_field": ("Rate_Scope__c", "VARCHAR"),
    "line_discount_field": ("Discount_Pct__c", "DOUBLE"),
    "line_cost_rate_field": ("Cost_Rate__c", "DECIMAL(18,2)"),
    "line_valid_from_field": ("Valid_From__c", "DATE"),
    "line_valid_to_field": ("Valid_To__c", "DATE"),
    "line_due_date_field": ("Due_Date__c", "DATE"),
    "line_status_field": ("Milestone_Status__c", "VARCHAR"),
    "line_completed_field": ("Completed_Date__c", "DATE"),
    "line_accepted_field": ("Accepted_Date__c", "DATE"),
    "line_trigger_field": ("Billing_Trigger__c", "VARCHAR"),
    "line_project_field": ("ERP_Project__c", "VARCHAR"),
    "line_correlation_field": ("Correlation_Id__c", "VARCHAR"),
}
OBJECTS = {
    "agreement_object": "Apttus__APTS_Agreement__c",
    "line_item_object": "Apttus__AgreementLineItem__c",
}
NAMES: dict[str, str] = (
    OBJECTS | {k: v[0] for k, v in AGREEMENT_FIELDS.items()} | {k: v[0] for k, v in LINE_FIELDS.items()}
)
DOCS = {
    "agreement_object": "API name of the Conga agreement object.",
    "line_item_object": "API name of the Conga agreement line item object (rate cards and milestones).",
    "number_field": "Agreement field holding the agreement's business number (the id the ERP and CRM know).",
    "category_field": "Agreement field telling MSA, SOW, amendment and rate-card agreements apart (see categories).",
    "parent_field": "Agreement lookup to the parent agreement (a SOW's MSA; an amendment's amended SOW).",
    "status_field": "Agreement status picklist read into the canonical status (through the value map).",
    "line_type_field": "Line item field telling rate-card lines and milestone lines apart (see line_types).",
    "line_contract_field": "Line item lookup to the MSA agreement a rate line is priced under (empty: none).",
    "correlation_field": "Agreement custom field holding the correlation ID.",
    "legal_entity_field": "Agreement custom field naming the contracting legal entity (ERP subsidiary name).",
}
# Stream -> the value of the category field that marks it (firms name categories their own way).
CATEGORIES = {"msa": "MSA", "sow": "SOW", "amendment": "Amendment", "rate_card": "Rate Card"}
# Line kind -> the value of the line type field.
LINE_TYPES = {"rate_card": "Rate", "milestone": "Milestone"}
CURSOR = "SystemModstamp"


def names(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """API names in force for this org: config over the package defaults."""
    return resolve_names(NAMES, cfg)


def categories(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    return resolve_names(CATEGORIES, (cfg or {}).get("categories"))


def line_types(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    return resolve_names(LINE_TYPES, (cfg or {}).get("line_types"))


def _specs(n: Mapping[str, str], fields: Mapping[str, tuple[str, str]]) -> list[str]:
    return [f"{n[k]}:{t}" for k, (_, t) in fields.items()]


def _cols(stream: str, cfg: Mapping[str, Any] | None, specs: list[str]):
    duplicate_columns("conga", stream, [split_spec(s) for s in specs], cfg)
    return cols(*specs, required=("Id",))


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """The agreement object (MSAs, SOWs, amendments, rate-card agreements) and its line items."""
    n = names(cfg)
    common = ["CurrencyIsoCode", "IsDeleted:BOOLEAN", f"{CURSOR}:TIMESTAMPTZ"]
    agreement = Stream(
        "agreement",
        _cols("agreement", cfg, ["Id", "Name", *_specs(n, AGREEMENT_FIELDS), *common]),
        primary_key=("Id",),
        cursor_field=CURSOR,
        file_pattern=f"{n['agreement_object']}.jsonl",
        description=f"SELECT ... FROM {n['agreement_object']}: MSAs, SOWs and amendments by category",
    )
    line_item = Stream(
        "line_item",
        _cols("line_item", cfg, ["Id", "Name", *_specs(n, LINE_FIELDS), *common]),
        primary_key=("Id",),
        cursor_field=CURSOR,
        file_pattern=f"{n['line_item_object']}.jsonl",
        description=f"SELECT ... FROM {n['line_item_object']}: rate-card and milestone lines",
    )
    return [agreement, line_item]
