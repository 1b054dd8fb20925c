"""Oracle Fusion Cloud ERP / PPM exports: one JSON-lines file per REST resource, items as the REST API returns
them with onlyData=true (every attribute present, null included; numbers bare; dates YYYY-MM-DD; timestamps
ISO 8601 with an offset). The sandbox serves these files; the files transport reads them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import (
    FirmLike,
    as_of_ts,
    check_fields,
    json_object,
    json_value,
    modstamp,
    synthetic_ids,
    table,
    write_lines,
)
from collectors.base import Stream
from collectors.oracle_fusion.streams import names, streams

# Fusion's own words where they differ from the canonical ones (closedloop/valuemaps.py VENDOR_DEFAULTS reverses them)
PROJECT_STATUS = {
    "pending": "Draft",
    "active": "Active",
    "on_hold": "On Hold",
    "closed": "Closed",
    "cancelled": "Cancelled",
}
APPROVAL = {"open": "WORKING", "submitted": "SUBMITTED", "approved": "APPROVED", "rejected": "REJECTED"}
# expenditure type classes of time cards and expense reports (the mapping tells them apart by these)
TIME_CLASS, EXPENSE_CLASS = "Straight Time", "Expense Reports"
TS = "%Y-%m-%dT%H:%M:%S%.3f+00:00"  # Fusion writes timestamps with their offset, e.g. 2024-05-31T10:15:00.000+00:00


def _write(out: Path, stream: Stream, frame: pl.DataFrame, values: Mapping[str, pl.Expr]) -> int:
    check_fields(stream, values)
    pairs = [(c.name, json_value(values[c.name], c.type, TS)) for c in stream.columns]
    return write_lines(frame, json_object(pairs, keep_nulls=True), out / (stream.file_pattern or ""))


def _words(col: str, words: Mapping[str, str]) -> pl.Expr:
    """A canonical value in Fusion's word for it (an unknown value passes through, as a firm's own would)."""
    return pl.col(col).replace_strict(dict(words), default=pl.col(col), return_dtype=pl.String)


def _terms(col: str) -> pl.Expr:
    """Payment terms as Fusion names them: the terms' name ('Net 30'), not a day count."""
    return pl.lit("Net ") + pl.col(col).cast(pl.String)


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
        counts[name] = _write(out, s[name], frame, values)

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
            "PaymentTerms": _terms("payment_terms_days"),
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
            "ProjectStatus": _words("status", PROJECT_STATUS),
            "CreationDate": pl.col("created_at"),
            "ProjectManagerResourceId": pl.col("pm_id"),
            "OwningOrganizationName": pl.col("practice"),
            "PaymentTerms": _terms("payment_terms_days"),
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
    counts["expenditureItems"] = _expenditures(out, s["expenditureItems"], firm, f, corr, stamp)
    counts |= _receivables(out, s, firm, f, corr, stamp, customer)
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
    counts["accountingPeriods"] = _periods(out, s["accountingPeriods"], firm, corr, stamp)
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


def _expenditures(out, stream, firm, f, corr, stamp) -> int:
    """Time and expenses as PPM records both: expenditure items, told apart by ExpenditureTypeClass."""
    te = table(firm, "time_entry").select(
        ExpenditureItemId=pl.col("time_entry_id"),
        ExpenditureTypeClass=pl.lit(TIME_CLASS),
        ProjectId=pl.col("project_id"),
        TaskId=pl.col("task_id"),
        PersonId=pl.col("resource_id"),
        ProviderLegalEntityId=pl.col("resource_legal_entity_id"),
        ProjectRoleName=pl.col("role"),
        ExpenditureItemDate=pl.col("work_date"),
        Quantity=pl.col("hours").cast(pl.Decimal(18, 2)),
        BillableFlag=pl.col("billable"),
        ApprovalStatus=_words("approval_status", APPROVAL),
        RawCostRate=pl.col("cost_rate"),
        ExpenditureCategoryName=pl.lit("Labor"),
        TransactionAmount=pl.lit(None, pl.Decimal(18, 2)),
        TransactionCurrencyCode=pl.lit(None, pl.String),
        submittedAt=pl.col("submitted_at"),
        approvedAt=pl.col("approved_at"),
        invoiceLineId=pl.col("invoice_line_id"),
        corr=pl.col("correlation_id"),
        LastUpdateDate=stamp("submitted_at", "approved_at"),
    )
    ex = table(firm, "expense").select(
        ExpenditureItemId=pl.col("expense_id"),
        ExpenditureTypeClass=pl.lit(EXPENSE_CLASS),
        ProjectId=pl.col("project_id"),
        TaskId=pl.lit(None, pl.String),
        PersonId=pl.col("resource_id"),
        ProviderLegalEntityId=pl.lit(None, pl.String),
        ProjectRoleName=pl.lit(None, pl.String),
        ExpenditureItemDate=pl.col("expense_date"),
        Quantity=pl.lit(1, pl.Decimal(18, 2)),
        BillableFlag=pl.col("billable"),
        ApprovalStatus=_words("approval_status", APPROVAL),
        RawCostRate=pl.lit(None, pl.Decimal(18, 2)),
        ExpenditureCategoryName=pl.col("category"),
        TransactionAmount=pl.col("amount").cast(pl.Decimal(18, 2)),
        TransactionCurrencyCode=pl.col("currency"),
        submittedAt=pl.lit(None, pl.Datetime("us", "UTC")),
        approvedAt=pl.col("approved_at"),
        invoiceLineId=pl.col("invoice_line_id"),
        corr=pl.col("correlation_id"),
        LastUpdateDate=stamp("approved_at"),
    )
    both = pl.concat([te, ex], how="vertical_relaxed")
    rename = {
        "submittedAt": f["submittedAt"],
        "approvedAt": f["approvedAt"],
        "invoiceLineId": f["invoiceLineId"],
        "corr": corr,
    }
    return _write(out, stream, both, {rename.get(c, c): pl.col(c) for c in both.columns})


def _receivables(out, s, firm, f, corr, stamp, customer) -> dict[str, int]:
    """Invoices and credit memos (two resources), each with its lines as a child resource."""
    inv = table(firm, "invoice")
    counts = {}
    for kind, stream, lines, status, ccy, balance in (
        (
            "invoice",
            "receivablesInvoices",
            "receivablesInvoiceLines",
            "InvoiceStatus",
            "InvoiceCurrencyCode",
            "InvoiceBalanceAmount",
        ),
        (
            "credit_note",
            "receivablesCreditMemos",
            "receivablesCreditMemoLines",
            "CreditMemoStatus",
            "CreditMemoCurrencyCode",
            "CreditMemoBalanceAmount",
        ),
    ):
        frame = inv.filter(pl.col("type") == kind)
        counts[stream] = _write(
            out,
            s[stream],
            frame,
            {
                "CustomerTransactionId": pl.col("invoice_id"),
                "TransactionNumber": pl.col("erp_invoice_no"),
                "TransactionType": pl.lit("Invoice" if kind == "invoice" else "Credit Memo"),
                "BillToCustomerAccountId": customer("client_id"),
                "LegalEntityId": pl.col("legal_entity_id"),
                status: pl.col("status"),
                "TransactionDate": pl.col("invoice_date"),
                "DueDate": pl.col("due_date"),
                ccy: pl.col("currency"),
                "EnteredAmount": pl.col("amount_gross"),
                "TaxAmount": pl.col("tax_amount"),
                "LinesAmount": pl.col("amount_net"),
                # Fusion holds what is still owed, not what was paid
                balance: pl.col("amount_gross") - pl.col("amount_paid"),
                "PaymentTerms": _terms("payment_terms_days"),
                "PurchaseOrder": pl.col("po_number"),
                "CrossReference": pl.col("source_ref"),
                f["sowId"]: pl.col("sow_id"),
                f["projectId"]: pl.col("project_id"),
                f["postedAt"]: pl.col("posted_at"),
                f["creditReasonCode"]: pl.col("credit_reason_code"),
                corr: pl.col("correlation_id"),
                "LastUpdateDate": stamp("posted_at", "invoice_date"),
            },
        )
        il = table(firm, "invoice_line").filter(pl.col("invoice_id").is_in(frame["invoice_id"].implode()))
        counts[lines] = _write(
            out,
            s[lines],
            il,
            {
                "CustomerTransactionLineId": pl.col("invoice_line_id"),
                "CustomerTransactionId": pl.col("invoice_id"),
                "LineNumber": pl.col("line_no"),
                "Quantity": pl.col("quantity"),
                "UnitSellingPrice": pl.col("unit_price"),
                "LineAmount": pl.col("amount"),
                "TaxClassificationCode": pl.col("tax_code"),
                "RuleStartDate": pl.col("period_start"),
                "RuleEndDate": pl.col("period_end"),
                "MemoLineName": pl.col("service_category"),
                f["lineType"]: pl.col("line_type"),
                f["sourceId"]: pl.col("source_id"),
                f["role"]: pl.col("role"),
                f["taxRate"]: pl.col("tax_rate"),
                f["reasonCode"]: pl.col("reason_code"),
                f["approvedBy"]: pl.col("approved_by"),
                f["appliedToRetainer"]: pl.col("applied_to_retainer"),
                corr: pl.col("correlation_id"),
            },
        )
    pay = table(firm, "payment")
    counts["standardReceipts"] = _write(
        out,
        s["standardReceipts"],
        pay,
        {
            "StandardReceiptId": pl.col("payment_id"),
            "ReceiptNumber": pl.lit("RCPT-") + pl.col("payment_id"),
            "CustomerAccountId": customer("client_id"),
            "LegalEntityId": pl.col("legal_entity_id"),
            "Amount": pl.col("amount"),
            "Currency": pl.col("currency"),
            "ReceiptDate": pl.col("received_date"),
            f["appliedInvoiceId"]: pl.col("invoice_id"),
            f["appliedDate"]: pl.col("applied_date"),
            corr: pl.col("correlation_id"),
            "LastUpdateDate": stamp("received_date", "applied_date"),
        },
    )
    return counts


def _periods(out, stream, firm, corr, stamp) -> int:
    """GL periods: every period a lock or revenue names; a locked one is closed ('C') with its closing time."""
    locks = table(firm, "period_lock")
    rev = table(firm, "revenue_schedule")
    periods = (
        pl.concat([locks.select("period"), rev.select("period")])
        .drop_nulls()
        .unique()
        .join(
            locks.select("period", "lock_ts", pl.col("source_id").alias("_pid")).unique(
                "period", keep="first"
            ),
            on="period",
            how="left",
        )
        .sort("period")
        .with_columns(
            _pid=pl.coalesce("_pid", synthetic_ids(9_500_000_000, ["period"])),
            _locked=pl.col("period").is_in(locks["period"].implode()),
        )
    )
    return _write(
        out,
        stream,
        periods,
        {
            "PeriodId": pl.col("_pid"),
            "PeriodName": pl.col("period").dt.strftime("%b-%y"),
            "StartDate": pl.col("period"),
            "EndDate": pl.col("period").dt.month_end(),
            "ClosingStatus": pl.when(pl.col("_locked")).then(pl.lit("C")).otherwise(pl.lit("O")),
            "ClosedDate": pl.col("lock_ts"),
            corr: pl.lit(None, pl.String),
            "LastUpdateDate": stamp("lock_ts"),
        },
    )
