"""Oracle Fusion exports, money flows: expenditure items, receivables (with their lines), receipts, GL periods;
plus the item writer and Fusion's words shared with closedloop/demo/render/oracle_fusion.py."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from closedloop.demo.render._fmt import (
    check_fields,
    json_object,
    json_value,
    synthetic_ids,
    table,
    write_lines,
)
from collectors.base import Stream

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


def write_items(out: Path, stream: Stream, frame: pl.DataFrame, values: Mapping[str, pl.Expr]) -> int:
    check_fields(stream, values)
    pairs = [(c.name, json_value(values[c.name], c.type, TS)) for c in stream.columns]
    return write_lines(frame, json_object(pairs, keep_nulls=True), out / (stream.file_pattern or ""))


def fusion_words(col: str, words: Mapping[str, str]) -> pl.Expr:
    """A canonical value in Fusion's word for it (an unknown value passes through, as a firm's own would)."""
    return pl.col(col).replace_strict(dict(words), default=pl.col(col), return_dtype=pl.String)


def payment_terms(col: str) -> pl.Expr:
    """Payment terms as Fusion names them: the terms' name ('Net 30'), not a day count."""
    return pl.lit("Net ") + pl.col(col).cast(pl.String)


def render_expenditures(out, stream, firm, f, corr, stamp) -> int:
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
        ApprovalStatus=fusion_words("approval_status", APPROVAL),
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
        ApprovalStatus=fusion_words("approval_status", APPROVAL),
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
    return write_items(out, stream, both, {rename.get(c, c): pl.col(c) for c in both.columns})


def render_receivables(out, s, firm, f, corr, stamp, customer) -> dict[str, int]:
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
        counts[stream] = write_items(
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
                "PaymentTerms": payment_terms("payment_terms_days"),
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
        counts[lines] = write_items(
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
    counts["standardReceipts"] = write_items(
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


def render_periods(out, stream, firm, corr, stamp) -> int:
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
    return write_items(
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
