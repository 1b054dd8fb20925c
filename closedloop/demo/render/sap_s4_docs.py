"""SAP S/4HANA Cloud exports, money flows: billing documents and items, receivables clearing, purchasing,
revenue, posting periods and the custom CDS views (write-downs, dunning, disputes, PSA milestones)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from closedloop.demo.render._fmt import modstamp, synthetic_ids, table
from collectors.sap_s4.codes import BILLING_TYPES, CLEARING, POSTING, payment_terms, sap_code

if TYPE_CHECKING:
    from closedloop.demo.render.sap_s4 import Writer


def render_billing(firm, w: Writer, now, customer, corr) -> dict[str, int]:
    col, counts = pl.col, {}
    inv = table(firm, "invoice")
    counts["billing_document"] = w.write(
        "billing_document",
        inv,
        {
            "BillingDocument": col("invoice_id"),
            "DocumentReferenceID": col("erp_invoice_no"),
            "BillingDocumentType": sap_code("type", BILLING_TYPES),
            "SoldToParty": customer("client_id"),
            "CompanyCode": col("legal_entity_id"),
            "YY1_SOWID": col("sow_id"),
            "YY1_Project": col("project_id"),
            "AccountingPostingStatus": sap_code("status", POSTING),
            "InvoiceClearingStatus": sap_code("status", CLEARING),
            "BillingDocumentIsCancelled": col("status") == "cancelled",
            "BillingDocumentDate": col("invoice_date"),
            "YY1_PostedAt": col("posted_at"),
            "YY1_NetDueDate": col("due_date"),
            "TransactionCurrency": col("currency"),
            "TotalNetAmount": col("amount_net"),
            "TaxAmount": col("tax_amount"),
            "TotalGrossAmount": col("amount_gross"),
            "YY1_AmountCleared": col("amount_paid"),
            "CustomerPaymentTerms": payment_terms(col("payment_terms_days")),
            "PurchaseOrderByCustomer": col("po_number"),
            "YY1_CreditedBillingDoc": col("source_ref"),
            "SDDocumentReason": col("credit_reason_code"),
            "LastChangeDateTime": modstamp(now, "posted_at", "invoice_date"),
        }
        | corr,
    )
    counts["billing_document_item"] = w.write(
        "billing_document_item",
        table(firm, "invoice_line"),
        {
            "BillingDocumentItem": col("invoice_line_id"),
            "BillingDocument": col("invoice_id"),
            "YY1_LineNo": col("line_no"),
            "YY1_LineType": col("line_type"),
            "YY1_SourceID": col("source_id"),
            "YY1_Role": col("role"),
            "BillingQuantity": col("quantity"),
            "YY1_UnitPrice": col("unit_price"),
            "NetAmount": col("amount"),
            "TaxCode": col("tax_code"),
            "YY1_TaxRate": col("tax_rate"),
            "YY1_PeriodStart": col("period_start"),
            "YY1_PeriodEnd": col("period_end"),
            "YY1_ReasonCode": col("reason_code"),
            "YY1_ApprovedBy": col("approved_by"),
            "YY1_ServiceCategory": col("service_category"),
            "YY1_AppliedToRetainer": col("applied_to_retainer"),
        }
        | corr,
    )
    counts["payment"] = w.write(
        "payment",
        table(firm, "payment"),
        {
            "AccountingDocument": col("payment_id"),
            "AccountingDocumentType": pl.lit("DZ"),
            "InvoiceReference": col("invoice_id"),
            "Customer": customer("client_id"),
            "CompanyCode": col("legal_entity_id"),
            "AmountInTransactionCurrency": col("amount"),
            "TransactionCurrency": col("currency"),
            "PostingDate": col("received_date"),
            "ClearingDate": col("applied_date"),
        }
        | corr,
    )
    counts["purchase_order"] = w.write(
        "purchase_order",
        table(firm, "subcontract"),
        {
            "PurchaseOrder": col("subcontract_id"),
            "Supplier": col("vendor_id"),
            "YY1_Project": col("project_id"),
            "YY1_SOWID": col("sow_id"),
            "YY1_CapAmount": col("cap_amount"),
            "DocumentCurrency": col("currency"),
            "ValidityStartDate": col("valid_from"),
            "ValidityEndDate": col("valid_to"),
            "YY1_AgreementStatus": col("status"),
            "YY1_Rebillable": col("rebillable"),
            "YY1_MarkupPct": col("markup_pct"),
            "LastChangeDateTime": modstamp(now, "valid_from"),
        }
        | corr,
    )
    counts["supplier_invoice"] = w.write(
        "supplier_invoice",
        table(firm, "vendor_bill"),
        {
            "SupplierInvoice": col("vendor_bill_id"),
            "InvoicingParty": col("vendor_id"),
            "YY1_Project": col("project_id"),
            "YY1_PurchaseOrder": col("subcontract_id"),
            "DocumentDate": col("bill_date"),
            "InvoiceGrossAmount": col("amount"),
            "DocumentCurrency": col("currency"),
            "YY1_Rebillable": col("rebillable"),
            "YY1_BillingDocumentItem": col("invoice_line_id"),
        }
        | corr,
    )
    return counts


def render_records(firm, w: Writer, now, corr) -> dict[str, int]:
    col, counts = pl.col, {}
    rc = table(firm, "revenue_contract")
    rc = rc.with_columns(source_id=pl.coalesce("source_id", synthetic_ids(9_400_000_000, ["sow_id"])))
    counts["revenue_contract"] = w.write(
        "revenue_contract",
        rc,
        {
            "RevenueContract": col("source_id"),
            "SOWID": col("sow_id"),
            "TransactionPrice": col("transaction_price"),
            "PriceChangedAt": col("tp_updated_at"),
        }
        | corr,
    )
    counts["revenue_posting"] = w.write(
        "revenue_posting",
        table(firm, "revenue_schedule"),
        {
            "RevenuePostingLine": col("rev_line_id"),
            "SOWID": col("sow_id"),
            "Project": col("project_id"),
            "FiscalPeriodStartDate": col("period"),
            "RecognitionMethod": col("method"),
            "Amount": col("amount"),
            "PostedAt": col("posted_at"),
            "PeriodIsLocked": col("period_locked"),
        }
        | corr,
    )
    locks = table(firm, "period_lock")
    locks = locks.with_columns(source_id=pl.coalesce("source_id", synthetic_ids(9_500_000_000, ["period"])))
    counts["posting_period"] = w.write(
        "posting_period",
        locks,
        {
            "PostingPeriod": col("source_id"),
            "FiscalPeriodStartDate": col("period"),
            "LockedAt": col("lock_ts"),
        },
    )
    counts["write_down"] = w.write(
        "write_down",
        table(firm, "write_down"),
        {
            "WriteDown": col("write_down_id"),
            "Project": col("project_id"),
            "Amount": col("amount"),
            "Currency": col("currency"),
            "ReasonCode": col("reason_code"),
            "RequestedByRole": col("requested_by_role"),
            "ApprovedBy": col("approved_by"),
            "CreatedAt": col("created_at"),
        }
        | corr,
    )
    ca = table(firm, "collection_action")
    ca = ca.with_columns(
        source_id=pl.coalesce(
            "source_id", synthetic_ids(9_700_000_000, ["invoice_id", "action_type", "action_date"])
        )
    )
    counts["collection_action"] = w.write(
        "collection_action",
        ca,
        {
            "CollectionAction": col("source_id"),
            "BillingDocument": col("invoice_id"),
            "ActionType": col("action_type"),
            "ActionDate": col("action_date"),
        }
        | corr,
    )
    dp = table(firm, "dispute")
    dp = dp.with_columns(
        source_id=pl.coalesce("source_id", synthetic_ids(9_800_000_000, ["invoice_id", "opened"]))
    )
    counts["dispute"] = w.write(
        "dispute",
        dp,
        {
            "DisputeCase": col("source_id"),
            "BillingDocument": col("invoice_id"),
            "OpenedOn": col("opened"),
            "ClosedOn": col("closed"),
            "ReasonCode": col("reason_code"),
        }
        | corr,
    )
    # the PSA's own milestones (the CLM's come from the CLM): the firm labels them by the ERP of its default estate
    ms = table(firm, "milestone").filter(col("source_system") == "netsuite")
    counts["milestone"] = w.write(
        "milestone",
        ms,
        {
            "Milestone": col("milestone_id"),
            "MilestoneName": col("name"),
            "SOWID": col("sow_id"),
            "Project": col("project_id"),
            "Amount": col("amount"),
            "DueDate": col("due_date"),
            "MilestoneStatus": col("status"),
            "CompletedOn": col("completed_date"),
            "AcceptedOn": col("accepted_date"),
            "BillingTrigger": col("billing_trigger"),
        }
        | corr,
    )
    return counts
