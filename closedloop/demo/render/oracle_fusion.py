"""Oracle Fusion Cloud ERP / PPM exports: one JSON-lines file per REST resource, items as the REST API returns
them with onlyData=true (every attribute present, null included; numbers bare; dates YYYY-MM-DD; timestamps
ISO 8601 with an offset). The sandbox serves these files; the files transport reads them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import FirmLike, as_of_ts, modstamp, synthetic_ids, table
from closedloop.demo.render.oracle_fusion_txn import (
    PROJECT_STATUS,
    fusion_words,
    payment_terms,
    render_expenditures,
    render_periods,
    render_receivables,
    write_items,
)
from collectors.oracle_fusion.streams import names, streams


def render(firm: FirmLike, out: Path, cfg: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, int]:
    """Write every stream of collectors/oracle_fusion/streams.py from the firm's ERP frames."""
    n, now = names(cfg), as_of_ts(firm)
    s = {st.name: st for st in streams(cfg)}
    corr = n["correlation_field"]
    f = {k: v for k, v in n.items() if k != "correlation_field"}
    clients = table(firm, "client").select(
        "client_id", pl.coalesce("erp_customer_id", "client_id").alias("c")
    )
    cust_ids = dict(clients.drop_nulls().unique("client_id", keep="first").iter_rows())

    def customer(col: str) -> pl.Expr:
        return pl.col(col).replace_strict(cust_ids, default=pl.col(col), return_dtype=pl.String)

    def stamp(*cols: str) -> pl.Expr:
        return modstamp(now, *cols)

    counts: dict[str, int] = {}

    def put(name: str, frame: pl.DataFrame, values: dict[str, pl.Expr]) -> None:
        counts[name] = write_items(out, s[name], frame, values)

    le = table(firm, "legal_entity")
    put(
        "legalEntities",
        le,
        {
            "LegalEntityId": pl.col("legal_entity_id"),
            "Name": pl.col("name"),
            "CountryCode": pl.col("country"),
            "FunctionalCurrencyCode": pl.col("functional_ccy"),
            "RegistrationNumber": pl.col("tax_registration"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp(),
        },
    )
    cl = table(firm, "client").filter(
        pl.col("erp_customer_id").is_not_null() | pl.col("crm_account_id").is_null()
    )
    put(
        "customerAccounts",
        cl,
        {
            "CustomerAccountId": pl.coalesce("erp_customer_id", "client_id"),
            "AccountNumber": pl.coalesce("erp_customer_id", "client_id"),
            "OrganizationName": pl.col("name"),
            "OrigSystemReference": pl.col("crm_account_id"),
            "CountryCode": pl.col("country"),
            "TaxRegistrationNumber": pl.col("tax_id"),
            "TaxExemptFlag": pl.col("tax_exempt"),
            "PaymentTerms": payment_terms("payment_terms_days"),
            f["region"]: pl.col("region"),
            f["taxJurisdiction"]: pl.col("tax_jurisdiction"),
            f["billToCountry"]: pl.col("bill_to_country"),
            f["poRequired"]: pl.col("po_required"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp(),
        },
    )
    put(
        "laborResources",
        table(firm, "resource"),
        {
            "ResourceId": pl.col("resource_id"),
            "ResourceName": pl.col("name"),
            "LegalEntityId": pl.col("legal_entity_id"),
            "JobName": pl.col("role"),
            "OrganizationName": pl.col("practice"),
            "CostRate": pl.col("cost_rate"),
            f["region"]: pl.col("region"),
            corr: pl.lit(None, pl.String),
            "LastUpdateDate": stamp(),
        },
    )
    p = table(firm, "project")
    put(
        "projects",
        p,
        {
            "ProjectId": pl.col("project_id"),
            "ProjectNumber": pl.col("name"),
            "ProjectName": pl.col("name"),
            "CustomerAccountId": customer("client_id"),
            "LegalEntityId": pl.col("legal_entity_id"),
            "ProjectTypeName": pl.col("billing_type"),
            "ProjectCurrencyCode": pl.col("currency"),
            "ProjectStartDate": pl.col("start_date"),
            "ProjectFinishDate": pl.col("end_date"),
            "ProjectStatus": fusion_words("status", PROJECT_STATUS),
            "CreationDate": pl.col("created_at"),
            "ProjectManagerResourceId": pl.col("pm_id"),
            "OwningOrganizationName": pl.col("practice"),
            "PaymentTerms": payment_terms("payment_terms_days"),
            f["sowId"]: pl.col("sow_id"),
            f["budgetAmount"]: pl.col("budget_amount"),
            f["budgetHours"]: pl.col("budget_hours"),
            f["budgetUpdatedAt"]: pl.col("budget_updated_at"),
            f["budgetSubcontractCost"]: pl.col("budget_subcontract_cost"),
            f["closedDate"]: pl.col("closed_date"),
            f["region"]: pl.col("region"),
            f["projectRole"]: pl.col("project_role"),
            f["poNumber"]: pl.col("po_number"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("created_at", "budget_updated_at"),
        },
    )
    put(
        "projectTasks",
        table(firm, "task"),
        {
            "TaskId": pl.col("task_id"),
            "ProjectId": pl.col("project_id"),
            "TaskNumber": pl.col("wbs_code"),
            "TaskName": pl.col("name"),
            "BillableFlag": pl.col("billable"),
            f["milestoneId"]: pl.col("milestone_id"),
            corr: pl.col("correlation_id"),
        },
    )
    put(
        "resourceAssignments",
        table(firm, "assignment"),
        {
            "AssignmentId": pl.col("source_id"),
            "ProjectId": pl.col("project_id"),
            "ResourceId": pl.col("resource_id"),
            "ProjectRoleName": pl.col("role"),
            "AssignmentStartDate": pl.col("start_date"),
            "AssignmentEndDate": pl.col("end_date"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp(),
        },
    )
    put(
        "billPlans",
        table(firm, "billing_rule"),
        {
            "BillPlanId": pl.col("source_id"),
            "ProjectId": pl.col("project_id"),
            "BillMethodName": pl.col("rule_type"),
            "HardLimitAmount": pl.col("cap"),
            f["capHours"]: pl.col("cap_hours"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp(),
        },
    )
    put(
        "billingEvents",
        table(firm, "billing_schedule"),
        {
            "EventId": pl.col("schedule_line_id"),
            "ProjectId": pl.col("project_id"),
            "ContractNumber": pl.col("sow_id"),
            "CompletionDate": pl.col("bill_date"),
            "BillTransactionAmount": pl.col("amount"),
            "BillTransactionCurrencyCode": pl.col("currency"),
            "EventTypeName": pl.col("line_type"),
            f["milestoneId"]: pl.col("milestone_id"),
            f["eventUpdatedAt"]: pl.col("updated_at"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("updated_at"),
        },
    )
    ms = table(firm, "milestone").filter(pl.col("source_system") == "netsuite")  # the ERP's own milestones
    put(
        "milestones",
        ms,
        {
            "MilestoneId": pl.col("milestone_id"),
            "ContractNumber": pl.col("sow_id"),
            "ProjectId": pl.col("project_id"),
            "MilestoneName": pl.col("name"),
            "Amount": pl.col("amount"),
            "DueDate": pl.col("due_date"),
            "MilestoneStatus": pl.col("status"),
            "CompletionDate": pl.col("completed_date"),
            f["acceptedDate"]: pl.col("accepted_date"),
            f["billingTrigger"]: pl.col("billing_trigger"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("completed_date", "accepted_date"),
        },
    )
    counts["expenditureItems"] = render_expenditures(out, s["expenditureItems"], firm, f, corr, stamp)
    counts |= render_receivables(out, s, firm, f, corr, stamp, customer)
    po = table(firm, "subcontract")
    put(
        "purchaseOrders",
        po,
        {
            "POHeaderId": pl.col("subcontract_id"),
            "SupplierId": pl.col("vendor_id"),
            "ProjectId": pl.col("project_id"),
            "Ordered": pl.col("cap_amount"),
            "CurrencyCode": pl.col("currency"),
            "StartDate": pl.col("valid_from"),
            "EndDate": pl.col("valid_to"),
            "Status": pl.col("status"),
            f["sowId"]: pl.col("sow_id"),
            f["rebillable"]: pl.col("rebillable"),
            f["markupPct"]: pl.col("markup_pct"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("valid_from"),
        },
    )
    put(
        "payablesInvoices",
        table(firm, "vendor_bill"),
        {
            "InvoiceId": pl.col("vendor_bill_id"),
            "SupplierId": pl.col("vendor_id"),
            "ProjectId": pl.col("project_id"),
            "PurchaseOrderId": pl.col("subcontract_id"),
            "InvoiceDate": pl.col("bill_date"),
            "InvoiceAmount": pl.col("amount"),
            "InvoiceCurrency": pl.col("currency"),
            f["rebillable"]: pl.col("rebillable"),
            f["invoiceLineId"]: pl.col("invoice_line_id"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("bill_date"),
        },
    )
    rc = table(firm, "revenue_contract")
    put(
        "revenueContracts",
        rc,
        {
            "ContractId": pl.coalesce("source_id", synthetic_ids(9_400_000_000, ["sow_id"])),
            "ContractNumber": pl.col("sow_id"),
            "TransactionPrice": pl.col("transaction_price"),
            f["tpUpdatedAt"]: pl.col("tp_updated_at"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("tp_updated_at"),
        },
    )
    put(
        "revenueDistributions",
        table(firm, "revenue_schedule"),
        {
            "RevenueDistributionId": pl.col("rev_line_id"),
            "ContractNumber": pl.col("sow_id"),
            "ProjectId": pl.col("project_id"),
            "PeriodStartDate": pl.col("period"),
            "RevenueMethod": pl.col("method"),
            "RevenueAmount": pl.col("amount"),
            f["postedToGlAt"]: pl.col("posted_at"),
            f["periodLocked"]: pl.col("period_locked"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("posted_at"),
        },
    )
    counts["accountingPeriods"] = render_periods(out, s["accountingPeriods"], firm, corr, stamp)
    put(
        "writeDowns",
        table(firm, "write_down"),
        {
            "WriteDownId": pl.col("write_down_id"),
            "ProjectId": pl.col("project_id"),
            "Amount": pl.col("amount"),
            "CurrencyCode": pl.col("currency"),
            "ReasonCode": pl.col("reason_code"),
            "ApprovedBy": pl.col("approved_by"),
            "CreationDate": pl.col("created_at"),
            f["requestedByRole"]: pl.col("requested_by_role"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("created_at"),
        },
    )
    put(
        "collectionActions",
        table(firm, "collection_action"),
        {
            "ActionId": pl.col("source_id"),
            "CustomerTransactionId": pl.col("invoice_id"),
            "ActionType": pl.col("action_type"),
            "ActionDate": pl.col("action_date"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("action_date"),
        },
    )
    put(
        "disputes",
        table(firm, "dispute"),
        {
            "DisputeId": pl.col("source_id"),
            "CustomerTransactionId": pl.col("invoice_id"),
            "DisputeDate": pl.col("opened"),
            "ResolvedDate": pl.col("closed"),
            "DisputeReason": pl.col("reason_code"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("opened", "closed"),
        },
    )
    return counts
