"""Dynamics 365 Sales tables as data: accounts (the client master), opportunities (the pipeline) and the CRM's
invoices (what the CRM shows of the ERP's invoices: number, status, amounts, written back by the integration)."""

from __future__ import annotations

from collectors._dataverse import CURRENCY, Entity

CRM_ONLY = (
    "tax_jurisdiction",
    "tax_id",
    "tax_exempt",
    "bill_to_country",
    "payment_terms_days",
    "po_required",
)

ENTITIES: list[Entity] = [
    Entity(
        "account",
        "accounts",
        "client",
        "client_id",
        key_attr="accountnumber",
        renames={"name": "name", "country": "address1_country", "erp_customer_id": "cl_erpcustomerid"},
        skip=CRM_ONLY,
    ),
    Entity(
        "opportunity",
        "opportunities",
        "opportunity",
        "opportunity_id",
        key_attr="cl_opportunitynumber",
        renames={
            "client_id": "parentaccountid",
            "name": "name",
            "stage": "stepname",
            "created_at": "createdon",
            "close_date": "estimatedclosedate",
            "amount": "estimatedvalue",
            "deal_type": "opportunitytypecode",
            "legal_entity_id": "cl_contractingentity",  # the ERP company's name, resolved in canon
        },
        lookups={"client_id": "account", "currency": "transactioncurrency"},
    ),
    Entity(
        "invoice",
        "invoices",
        "crm_invoice_status",
        "crm_record_id",
        key_attr="cl_externalid",
        renames={
            "erp_invoice_no": "invoicenumber",
            "crm_account_id": "customerid",
            "opportunity_id": "opportunityid",
            "amount": "totalamount",
            "status": "statuscode",
            "due_date": "duedate",
            "paid_amount": "cl_paidamount",
            "last_synced_at": "cl_lastsyncedon",
        },
        lookups={
            "crm_account_id": "account",
            "opportunity_id": "opportunity",
            "currency": "transactioncurrency",
        },
    ),
]
ALL = [CURRENCY, *ENTITIES]
