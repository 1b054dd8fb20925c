"""Salesforce streams as data: SOQL objects with the org's custom field and object names from config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._source import cols, resolve_names, split_spec
from collectors.base import Stream
from collectors.config_keys import duplicate_columns

# Logical name -> API name in a default org; every key is a setting of [sources.<key>].
NAMES = {
    "correlation_field": "Correlation_Id__c",
    "erp_customer_field": "ERP_Customer_Id__c",
    "region_field": "Region__c",
    "legal_entity_field": "Legal_Entity__c",
    "parent_sow_field": "Parent_SOW_Id__c",
    "invoice_status_object": "Invoice_Status__c",
    "inv_opportunity_field": "Opportunity__c",
    "inv_account_field": "Account__c",
    "inv_number_field": "Invoice_Number__c",
    "inv_status_field": "Status__c",
    "inv_amount_field": "Amount__c",
    "inv_paid_field": "Paid_Amount__c",
    "inv_balance_field": "Balance__c",
    "inv_due_date_field": "Due_Date__c",
    "inv_synced_field": "Last_Synced__c",
}
DOCS = {
    "correlation_field": "Custom field (on Account, Opportunity and the invoice-status object) holding the correlation ID.",
    "erp_customer_field": "Account custom field holding the ERP customer id (the client merge key).",
    "region_field": "Account custom field holding the sales region.",
    "legal_entity_field": "Opportunity custom field naming the contracting legal entity (ERP subsidiary name).",
    "parent_sow_field": "Opportunity custom field holding the CLM SOW id a change order or renewal amends.",
    "invoice_status_object": "API name of the custom object the integration writes invoice status back to.",
}
CURSOR = "SystemModstamp"


def names(cfg: Mapping[str, Any] | None = None) -> dict[str, str]:
    """API names in force for this org: config over the defaults."""
    return resolve_names(NAMES, cfg)


def relationship(field: str) -> str:
    """The relationship name of a custom lookup: Opportunity__c -> Opportunity__r."""
    return field[:-3] + "__r" if field.endswith("__c") else field.removesuffix("Id")


def _cols(stream: str, cfg: Mapping[str, Any] | None, *specs: str, required: tuple[str, ...]):
    """cols(), after refusing two settings that name one field with different types (naming both)."""
    duplicate_columns("salesforce", stream, [split_spec(s) for s in specs], cfg)
    return cols(*specs, required=required)


def streams(cfg: Mapping[str, Any] | None = None) -> list[Stream]:
    """Account, Opportunity and the invoice-status object, as /query returns their records."""
    n = names(cfg)
    corr = n["correlation_field"]
    account = Stream(
        "account",
        _cols(
            "account",
            cfg,
            "Id",
            "Name",
            "Type",
            "BillingCountry",
            n["region_field"],
            n["erp_customer_field"],
            corr,
            "IsDeleted:BOOLEAN",
            "SystemModstamp:TIMESTAMPTZ",
            required=("Id",),
        ),
        primary_key=("Id",),
        cursor_field=CURSOR,
        file_pattern="Account.jsonl",
    )
    opportunity = Stream(
        "opportunity",
        _cols(
            "opportunity",
            cfg,
            "Id",
            "Name",
            "AccountId",
            "Account:JSON",
            "StageName",
            "IsWon:BOOLEAN",
            "IsClosed:BOOLEAN",
            "CreatedDate:TIMESTAMPTZ",
            "CloseDate:DATE",
            "Amount:DECIMAL(18,2)",
            "CurrencyIsoCode",
            "Type",
            "OwnerId",
            n["legal_entity_field"],
            n["parent_sow_field"],
            corr,
            "IsDeleted:BOOLEAN",
            "SystemModstamp:TIMESTAMPTZ",
            required=("Id",),
        ),
        primary_key=("Id",),
        cursor_field=CURSOR,
        file_pattern="Opportunity.jsonl",
    )
    obj = n["invoice_status_object"]
    invoice_status = Stream(
        "invoice_status",
        _cols(
            "invoice_status",
            cfg,
            "Id",
            "Name",
            n["inv_opportunity_field"],
            f"{relationship(n['inv_opportunity_field'])}:JSON",
            n["inv_account_field"],
            n["inv_number_field"],
            n["inv_status_field"],
            f"{n['inv_amount_field']}:DECIMAL(18,2)",
            f"{n['inv_paid_field']}:DECIMAL(18,2)",
            f"{n['inv_balance_field']}:DECIMAL(18,2)",
            f"{n['inv_due_date_field']}:DATE",
            "CurrencyIsoCode",
            f"{n['inv_synced_field']}:TIMESTAMPTZ",
            corr,
            "IsDeleted:BOOLEAN",
            "SystemModstamp:TIMESTAMPTZ",
            required=("Id",),
        ),
        primary_key=("Id",),
        cursor_field=CURSOR,
        file_pattern=f"{obj}.jsonl",
        description=f"SELECT ... FROM {obj}: invoice status written back by the integration",
    )
    return [account, opportunity, invoice_status]
