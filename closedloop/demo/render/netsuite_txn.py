"""NetSuite exports, money flows: transactions, lines, time, expenses, revenue, periods, custom records."""

from __future__ import annotations

import polars as pl

from closedloop.demo.render._fmt import modstamp, synthetic_ids, table, write_suiteql_csv
from closedloop.demo.render.netsuite import Ctx, term
from closedloop.demo.render.netsuite_lines import lines_and_entries
from collectors.netsuite.variants import memo_field, service_period

# canonical invoice.type <-> NetSuite transaction type (the mapping reverses it)
INVOICE_TYPES = {"invoice": "CustInvc", "credit_note": "CustCred"}


BULK_ROWS = 500_000  # rows rendered to text per write of a bulk CSV


def _bulk(c: Ctx, stream: str, frame: pl.DataFrame, values: dict[str, pl.Expr]) -> int:
    s = c.streams[stream]
    return write_suiteql_csv(frame, s, values, c.out / (s.file_pattern or ""), rows_per_write=BULK_ROWS)


def render_bulk(c: Ctx) -> dict[str, int]:
    """timebill, expense_line and transactionline as saved-search CSV exports (millions of rows at tier m)."""
    n, counts = c.n, {}
    il, te = lines_and_entries(table(c.firm, "invoice_line"), table(c.firm, "time_entry"), c.cfg)
    counts["timebill"] = _bulk(
        c,
        "timebill",
        te,
        {
            "id": pl.col("time_entry_id"),
            "employee": pl.col("resource_id"),
            "customer": c.project("timebill"),
            "casetaskevent": pl.col("task_id"),
            "subsidiary": pl.col("resource_legal_entity_id"),
            n["custcol_role"]: pl.col("role"),
            "trandate": pl.col("work_date"),
            "hours": pl.col("hours"),
            "isbillable": pl.col("billable"),
            "approvalstatus": pl.col("approval_status"),
            n["custcol_submitted_at"]: pl.col("submitted_at"),
            n["custcol_approved_at"]: pl.col("approved_at"),
            n["custcol_cost_rate"]: pl.col("cost_rate"),
            n["custcol_invoice_line"]: pl.col("invoice_line_id"),
            n["correlation_column_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now, "submitted_at", "approved_at"),
        },
    )
    ex = table(c.firm, "expense")
    counts["expense_line"] = _bulk(
        c,
        "expense_line",
        ex,
        {
            "id": pl.col("expense_id"),
            "employee": pl.col("resource_id"),
            "customer": c.project("expense_line"),
            "expensedate": pl.col("expense_date"),
            "category": pl.col("category"),
            "foreignamount": pl.col("amount"),
            "currency": c.currency("currency"),
            "isbillable": pl.col("billable"),
            "approvalstatus": pl.col("approval_status"),
            n["custcol_approved_at"]: pl.col("approved_at"),
            n["custcol_invoice_line"]: pl.col("invoice_line_id"),
            n["correlation_column_field"]: pl.col("correlation_id"),
            "lastmodifieddate": modstamp(c.now, "approved_at"),
        },
    )
    counts["transactionline"] = _bulk(
        c,
        "transactionline",
        il,
        {
            "uniquekey": pl.col("invoice_line_id"),
            "transaction": pl.col("invoice_id"),
            "linesequencenumber": pl.col("line_no"),
            "mainline": pl.lit(False),
            "taxline": pl.lit(False),
            n["custcol_line_type"]: pl.col("line_type"),
            n["custcol_source_id"]: pl.col("source_id"),
            n["custcol_role"]: pl.col("role"),
            "quantity": pl.col("quantity"),
            "rate": pl.col("unit_price"),
            "foreignamount": pl.col("amount"),
            "taxcode": pl.col("tax_code"),
            n["custcol_tax_rate"]: pl.col("tax_rate"),
            n["custcol_reason_code"]: pl.col("reason_code"),
            n["custcol_approved_by"]: pl.col("approved_by"),
            n["custcol_service_category"]: pl.col("service_category"),
            n["custcol_applied_to_retainer"]: pl.col("applied_to_retainer"),
            n["correlation_column_field"]: pl.col("correlation_id"),
        }
        | _line_periods(c),
    )
    return counts


def _line_periods(c: Ctx) -> dict[str, pl.Expr]:
    """Each line's service period, unless the firm holds it on the invoice (service_period = 'header')."""
    if service_period(c.cfg) == "header":
        return {}
    return {
        c.n["custcol_period_start"]: pl.col("period_start"),
        c.n["custcol_period_end"]: pl.col("period_end"),
    }


def _header_periods(c: Ctx, inv: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.Expr]]:
    """service_period = 'header': the invoice's one period, spanning its lines' (first start, last end)."""
    if service_period(c.cfg) != "header":
        return inv, {}
    span = (
        table(c.firm, "invoice_line")
        .group_by("invoice_id")
        .agg(_ps=pl.col("period_start").min(), _pe=pl.col("period_end").max())
        .rename({"invoice_id": "id"})
    )
    inv = inv.join(span, on="id", how="left", maintain_order="left")
    return inv, {c.n["custbody_period_start"]: pl.col("_ps"), c.n["custbody_period_end"]: pl.col("_pe")}


def render_transactions(c: Ctx) -> int:
    """One transaction stream: invoices, credit memos, payments, vendor bills, POs, revenue arrangements."""
    n, f = c.n, table
    inv = f(c.firm, "invoice").select(
        id=pl.col("invoice_id"),
        tranid=pl.col("erp_invoice_no"),
        type=pl.col("type").replace_strict(INVOICE_TYPES, default=pl.col("type"), return_dtype=pl.String),
        entity=c.customer("client_id"),
        job=c.project("transaction"),
        subsidiary=pl.col("legal_entity_id"),
        trandate=pl.col("invoice_date"),
        duedate=pl.col("due_date"),
        status=pl.col("status"),
        currency=c.currency("currency"),
        foreigntotal=pl.col("amount_gross"),
        taxtotal=pl.col("tax_amount"),
        net=pl.col("amount_net"),
        foreignamountpaid=pl.col("amount_paid"),
        terms=term("payment_terms_days"),
        otherrefnum=pl.col("po_number"),
        posted=pl.col("posted_at"),
        source_ref=pl.col("source_ref"),
        credit_reason=pl.col("credit_reason_code"),
        sow=pl.col("sow_id"),
        corr=pl.col("correlation_id"),
        lm=modstamp(c.now, "posted_at", "invoice_date"),
    )
    pay = f(c.firm, "payment").select(
        id=pl.col("payment_id"),
        type=pl.lit("CustPymt"),
        entity=c.customer("client_id"),
        subsidiary=pl.col("legal_entity_id"),
        trandate=pl.col("received_date"),
        currency=c.currency("currency"),
        foreigntotal=pl.col("amount"),
        applied_invoice=pl.col("invoice_id"),
        applied_date=pl.col("applied_date"),
        corr=pl.col("correlation_id"),
        lm=modstamp(c.now, "received_date", "applied_date"),
    )
    vb = f(c.firm, "vendor_bill").select(
        id=pl.col("vendor_bill_id"),
        type=pl.lit("VendBill"),
        entity=pl.col("vendor_id"),
        job=c.project("transaction"),
        subcontract=pl.col("subcontract_id"),
        trandate=pl.col("bill_date"),
        foreigntotal=pl.col("amount"),
        currency=c.currency("currency"),
        rebillable=pl.col("rebillable"),
        invoice_line=pl.col("invoice_line_id"),
        corr=pl.col("correlation_id"),
        lm=modstamp(c.now, "bill_date"),
    )
    po = f(c.firm, "subcontract").select(
        id=pl.col("subcontract_id"),
        type=pl.lit("PurchOrd"),
        entity=pl.col("vendor_id"),
        job=c.project("transaction"),
        sow=pl.col("sow_id"),
        foreigntotal=pl.col("cap_amount"),
        currency=c.currency("currency"),
        valid_from=pl.col("valid_from"),
        valid_to=pl.col("valid_to"),
        status=pl.col("status"),
        rebillable=pl.col("rebillable"),
        markup=pl.col("markup_pct"),
        corr=pl.col("correlation_id"),
        lm=modstamp(c.now, "valid_from"),
    )
    rc = f(c.firm, "revenue_contract")
    rc = rc.with_columns(source_id=pl.coalesce("source_id", synthetic_ids(9_400_000_000, ["sow_id"]))).select(
        id=pl.col("source_id"),
        type=pl.lit("RevArrng"),
        sow=pl.col("sow_id"),
        foreigntotal=pl.col("transaction_price"),
        tp_updated=pl.col("tp_updated_at"),
        corr=pl.col("correlation_id"),
        lm=modstamp(c.now, "tp_updated_at"),
    )
    inv, header_periods = _header_periods(c, inv)
    memo = memo_field(c.cfg)
    if memo:  # credit_note_link = 'memo': the credited invoice by number in a text field, no applied-to id
        numbers = f(c.firm, "invoice").select(
            source_ref=pl.col("invoice_id"), _ref_no=pl.col("erp_invoice_no")
        )
        inv = inv.join(numbers, on="source_ref", how="left", maintain_order="left").with_columns(
            memo=pl.when(pl.col("type") == INVOICE_TYPES["credit_note"]).then(
                pl.lit("Credit for ") + pl.col("_ref_no")
            ),
            source_ref=pl.lit(None, pl.String),
        )
    tx = pl.concat([inv, pay, vb, po, rc], how="diagonal_relaxed")
    col = pl.col
    values = {
        "id": col("id"),
        "tranid": col("tranid"),
        "type": col("type"),
        "entity": col("entity"),
        "job": col("job"),
        "subsidiary": col("subsidiary"),
        "trandate": col("trandate"),
        "duedate": col("duedate"),
        "status": col("status"),
        "currency": col("currency"),
        "foreigntotal": col("foreigntotal"),
        "taxtotal": col("taxtotal"),
        n["custbody_net_amount"]: col("net"),
        "foreignamountpaid": col("foreignamountpaid"),
        "terms": col("terms"),
        "otherrefnum": col("otherrefnum"),
        n["custbody_posted_at"]: col("posted"),
        n["custbody_source_ref"]: col("source_ref"),
        n["custbody_credit_reason"]: col("credit_reason"),
        n["custbody_sow_id"]: col("sow"),
        n["custbody_applied_invoice"]: col("applied_invoice"),
        n["custbody_applied_date"]: col("applied_date"),
        n["custbody_subcontract"]: col("subcontract"),
        n["custbody_invoice_line"]: col("invoice_line"),
        n["custbody_rebillable"]: col("rebillable"),
        n["custbody_markup_pct"]: col("markup"),
        n["custbody_valid_from"]: col("valid_from"),
        n["custbody_valid_to"]: col("valid_to"),
        n["custbody_tp_updated"]: col("tp_updated"),
        n["correlation_body_field"]: col("corr"),
        "lastmodifieddate": col("lm"),
    }
    if memo:
        values[memo] = col("memo")
    values |= header_periods
    return c.write("transaction", tx, values)


def render_revenue(c: Ctx) -> dict[str, int]:
    """accountingperiod (with locks) and revenue plan lines referencing the periods by id."""
    n, counts = c.n, {}
    locks = table(c.firm, "period_lock")
    rev = table(c.firm, "revenue_schedule")
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
    counts["accountingperiod"] = c.write(
        "accountingperiod",
        periods,
        {
            "id": pl.col("_pid"),
            "periodname": pl.col("period").dt.strftime("%b %Y"),
            "startdate": pl.col("period"),
            "enddate": pl.col("period").dt.month_end(),
            "isquarter": pl.lit(False),
            "isyear": pl.lit(False),
            "alllocked": pl.col("_locked"),
            "closedondate": pl.col("lock_ts"),
        },
    )
    rev = rev.join(periods.select("period", "_pid"), on="period", how="left").with_columns(
        _plan=synthetic_ids(9_600_000_000, ["sow_id", "project_id", "method"])
    )
    counts["revenueplan_line"] = c.write(
        "revenueplan_line",
        rev,
        {
            "id": pl.col("rev_line_id"),
            "revenueplan": pl.col("_plan"),
            "job": c.project("revenueplan_line"),
            n["custrecord_sow_id"]: pl.col("sow_id"),
            "plannedperiod": pl.col("_pid"),
            "revenuerecognitionrule": pl.col("method"),
            "amount": pl.col("amount"),
            n["custrecord_posted_at"]: pl.col("posted_at"),
            n["custrecord_period_locked"]: pl.col("period_locked"),
            n["correlation_record_field"]: pl.col("correlation_id"),
        },
    )
    return counts


def render_custom_records(c: Ctx) -> dict[str, int]:
    """Write-downs, collection actions and disputes: custom record types with custrecord_* fields."""
    n, counts, rec = c.n, {}, c.n["correlation_record_field"]
    wd = table(c.firm, "write_down")
    counts["write_down"] = c.write(
        "write_down",
        wd,
        {
            "id": pl.col("write_down_id"),
            n["custrecord_project"]: c.project("write_down"),
            n["custrecord_amount"]: pl.col("amount"),
            n["custrecord_currency"]: c.currency("currency"),
            n["custrecord_reason_code"]: pl.col("reason_code"),
            n["custrecord_requested_by_role"]: pl.col("requested_by_role"),
            n["custrecord_approved_by"]: pl.col("approved_by"),
            "created": pl.col("created_at"),
            rec: pl.col("correlation_id"),
            "lastmodified": modstamp(c.now, "created_at"),
        },
    )
    ca = table(c.firm, "collection_action")
    ca = ca.with_columns(
        source_id=pl.coalesce(
            "source_id", synthetic_ids(9_700_000_000, ["invoice_id", "action_type", "action_date"])
        )
    )
    counts["collection_action"] = c.write(
        "collection_action",
        ca,
        {
            "id": pl.col("source_id"),
            n["custrecord_invoice"]: pl.col("invoice_id"),
            n["custrecord_action_type"]: pl.col("action_type"),
            n["custrecord_action_date"]: pl.col("action_date"),
            rec: pl.col("correlation_id"),
            "lastmodified": modstamp(c.now, "action_date"),
        },
    )
    ms = table(c.firm, "milestone").filter(pl.col("source_system") == "netsuite")
    counts["milestone"] = c.write(
        "milestone",
        ms,
        {
            "id": pl.col("milestone_id"),
            "name": pl.col("name"),
            n["custrecord_sow_id"]: pl.col("sow_id"),
            n["custrecord_project"]: c.project("milestone"),
            n["custrecord_amount"]: pl.col("amount"),
            n["custrecord_due_date"]: pl.col("due_date"),
            n["custrecord_status"]: pl.col("status"),
            n["custrecord_completed_date"]: pl.col("completed_date"),
            n["custrecord_accepted_date"]: pl.col("accepted_date"),
            n["custrecord_billing_trigger"]: pl.col("billing_trigger"),
            rec: pl.col("correlation_id"),
            "lastmodified": modstamp(c.now, "completed_date", "accepted_date"),
        },
    )
    dp = table(c.firm, "dispute")
    dp = dp.with_columns(
        source_id=pl.coalesce("source_id", synthetic_ids(9_800_000_000, ["invoice_id", "opened"]))
    )
    counts["dispute"] = c.write(
        "dispute",
        dp,
        {
            "id": pl.col("source_id"),
            n["custrecord_invoice"]: pl.col("invoice_id"),
            n["custrecord_opened"]: pl.col("opened"),
            n["custrecord_closed"]: pl.col("closed"),
            n["custrecord_reason_code"]: pl.col("reason_code"),
            rec: pl.col("correlation_id"),
            "lastmodified": modstamp(c.now, "opened", "closed"),
        },
    )
    return counts
