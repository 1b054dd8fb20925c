"""Invoices and lines (ERP): monthly T&M in arrears, schedule lines on their dates, milestones on trigger."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, month_end, month_index, month_start
from .ctx import Ctx

LINE_ORDER = {
    "time": 0,
    "expense": 1,
    "subcontract": 2,
    "fixed": 3,
    "retainer": 4,
    "milestone": 5,
    "adjustment": 6,
}


def _tm_invoice_day(ctx: Ctx, month: np.ndarray, offset: np.ndarray) -> np.ndarray:
    me = month_end(month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64))
    return ctx.cal.add_bd(me, offset)


def _roll(ctx: Ctx, item_day: np.ndarray, ready_day: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Invoice day for monthly-in-arrears items: the first month-end run after the item is ready (approved)."""
    m = month_index(item_day)
    for _ in range(4):
        inv = _tm_invoice_day(ctx, m, offset)
        m = np.where(inv > ready_day, m, m + 1)
    return _tm_invoice_day(ctx, m, offset)


def items(ctx: Ctx) -> pl.DataFrame:
    """Every billable item with the day it lands on an invoice (items after as_of stay unbilled)."""
    rng = ctx.child_rng("invoice")
    p = ctx.t["project"]
    off = pl.DataFrame({"project_id": p["project_id"], "_off": rng.integers(6, 9, p.height)})
    ctx.notes["inv_offset"] = off
    tm = p.filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))["project_id"]
    te = (
        ctx.t["time_entry"]
        .filter(
            pl.col("billable")
            & (pl.col("approval_status") == "approved")
            & pl.col("project_id").is_in(tm.implode())
        )
        .join(off, on="project_id")
    )
    t_items = te.select(
        "project_id",
        "role",
        line_type=pl.lit("time"),
        source_id=pl.col("time_entry_id"),
        quantity=pl.col("hours"),
        unit_price=pl.col("_rate"),
        amount=pl.col("_value"),
        _day=pl.col("work_date"),
        _ready=pl.col("approved_at") // DAY,
        _off=pl.col("_off"),
    )
    sw = ctx.t["sow"].select("sow_id", "expense_markup_pct")
    ex = (
        ctx.t["expense"]
        .filter(pl.col("billable") & (pl.col("approval_status") == "approved"))
        .join(p.select("project_id", "sow_id"), on="project_id")
        .join(sw, on="sow_id")
        .join(off, on="project_id")
    )
    rebill = (ex["amount"].to_numpy() * (1 + ex["expense_markup_pct"].to_numpy()) + 0.5).astype(np.int64)
    e_items = ex.select(
        "project_id",
        line_type=pl.lit("expense"),
        source_id=pl.col("expense_id"),
        quantity=pl.lit(100),
        _day=pl.col("expense_date"),
        _ready=pl.col("approved_at") // DAY,
        _off=pl.col("_off"),
    ).with_columns(unit_price=pl.Series(rebill), amount=pl.Series(rebill))
    vb = (
        ctx.t["vendor_bill"]
        .filter("rebillable")
        .join(ctx.t["subcontract"].select("subcontract_id", "markup_pct"), on="subcontract_id")
        .join(off, on="project_id")
    )
    vamt = (vb["amount"].to_numpy() * (1 + vb["markup_pct"].to_numpy()) + 0.5).astype(np.int64)
    v_items = vb.select(
        "project_id",
        line_type=pl.lit("subcontract"),
        source_id=pl.col("vendor_bill_id"),
        quantity=pl.lit(100),
        _day=pl.col("bill_date") - 10,
        _ready=pl.col("bill_date"),
        _off=pl.col("_off"),
    ).with_columns(unit_price=pl.Series(vamt), amount=pl.Series(vamt))
    monthly = pl.concat([t_items, e_items, v_items], how="diagonal_relaxed")
    monthly = monthly.with_columns(
        inv_day=pl.Series(
            _roll(ctx, monthly["_day"].to_numpy(), monthly["_ready"].to_numpy(), monthly["_off"].to_numpy())
        ),
        period_start=pl.Series(month_start(monthly["_day"].to_numpy())),
        period_end=pl.Series(month_end(monthly["_day"].to_numpy())),
    )
    bs = ctx.t["billing_schedule"].filter(pl.col("line_type") != "milestone")
    s_items = bs.select(
        "project_id",
        "line_type",
        source_id=pl.col("schedule_line_id"),
        quantity=pl.lit(100),
        unit_price=pl.col("amount"),
        amount=pl.col("amount"),
        inv_day=pl.col("bill_date"),
        period_start=pl.Series(month_start(bs["bill_date"].to_numpy())),
        period_end=pl.Series(month_end(bs["bill_date"].to_numpy())),
    )
    ms = ctx.t["milestone"].filter(pl.col("project_id").is_not_null())
    trig = np.where(
        ms["billing_trigger"].to_numpy() == "acceptance",
        ms["accepted_date"].fill_null(10**7).to_numpy(),
        ms["due_date"].to_numpy(),
    )
    m_items = ms.select(
        "project_id",
        line_type=pl.lit("milestone"),
        source_id=pl.col("milestone_id"),
        quantity=pl.lit(100),
        unit_price=pl.col("amount"),
        amount=pl.col("amount"),
        period_start=pl.coalesce("completed_date", "due_date"),
    ).with_columns(inv_day=pl.Series(trig), period_end=pl.Series(trig))
    cols = [
        "project_id",
        "line_type",
        "source_id",
        "role",
        "quantity",
        "unit_price",
        "amount",
        "inv_day",
        "period_start",
        "period_end",
    ]
    allit = pl.concat(
        [x.select([c for c in cols if c in x.columns]) for x in (monthly, s_items, m_items)],
        how="diagonal_relaxed",
    )
    return allit.filter(pl.col("inv_day") <= ctx.A)


def invoices(ctx: Ctx) -> None:
    """Group items into one invoice per project and day; tax per line from the tax matrix."""
    rng = ctx.child_rng("invoice-hdr")
    it = items(ctx).with_columns(_lo=pl.col("line_type").replace_strict(LINE_ORDER, return_dtype=pl.Int32))
    it = it.sort("inv_day", "project_id", "_lo", "source_id")
    p = ctx.t["project"].select(
        "project_id",
        "sow_id",
        "client_id",
        "legal_entity_id",
        "currency",
        "po_number",
        "payment_terms_days",
        "correlation_id",
    )
    hdr = (
        it.group_by("project_id", "inv_day", maintain_order=True)
        .agg(pl.len().alias("_n"))
        .join(p, on="project_id", how="left", maintain_order="left")
    )
    n = hdr.height
    hdr = hdr.with_columns(invoice_id=ids.ns_ids("invoice", n), erp_invoice_no=ids.tranids("INV", n))
    it = it.join(
        hdr.select("project_id", "inv_day", "invoice_id", "client_id", "legal_entity_id"),
        on=["project_id", "inv_day"],
        maintain_order="left",
    )
    # tax from the matrix: seller = entity country, buyer = bill-to country; exempt clients 0 %
    le = ctx.t["legal_entity"].select("legal_entity_id", pl.col("country").alias("_seller"))
    cl = ctx.t["client"].select("client_id", pl.col("bill_to_country").alias("_buyer"), "tax_exempt")
    tm = ctx.t["tax_matrix"].select(
        pl.col("seller_country").alias("_seller"),
        pl.col("buyer_country").alias("_buyer"),
        "expected_rate",
        "reverse_charge",
    )
    it = (
        it.join(le, on="legal_entity_id", maintain_order="left")
        .join(cl, on="client_id", maintain_order="left")
        .join(tm, on=["_seller", "_buyer"], how="left", maintain_order="left")
    )
    rate = np.where(it["tax_exempt"].to_numpy(), 0.0, it["expected_rate"].to_numpy())
    code = np.where(
        it["tax_exempt"].to_numpy(),
        "EXEMPT",
        np.where(it["reverse_charge"].to_numpy(), "RC", np.where(rate > 0, "VAT", "NT")),
    )
    amt = it["amount"].to_numpy()
    tax = np.floor(amt * rate + 0.5).astype(np.int64)
    it = it.with_columns(
        tax_rate=pl.Series(rate),
        tax_code=pl.Series(code),
        _tax=pl.Series(tax),
        line_no=pl.int_range(1, pl.len() + 1).over("invoice_id").cast(pl.Int32),
    )
    it = it.with_columns(invoice_line_id=ids.ns_ids("invoiceline", it.height))
    tot = it.group_by("invoice_id", maintain_order=True).agg(
        pl.col("amount").sum().alias("amount_net"), pl.col("_tax").sum().alias("tax_amount")
    )
    hdr = (
        hdr.join(tot, on="invoice_id", maintain_order="left")
        .with_columns(
            type=pl.lit("invoice"),
            invoice_date=pl.col("inv_day"),
            posted_at=pl.col("inv_day") * DAY + pl.Series(rng.integers(9 * 3600, 17 * 3600, n)),
            due_date=pl.col("inv_day") + pl.col("payment_terms_days"),
            amount_gross=pl.col("amount_net") + pl.col("tax_amount"),
            source_ref=pl.lit(None, pl.String),
            credit_reason_code=pl.lit(None, pl.String),
            status=pl.lit("posted"),
            source_system=pl.lit("netsuite"),
        )
        .with_columns(source_id=pl.col("invoice_id"))
    )
    ctx.t["invoice"] = hdr
    corr = hdr.select("invoice_id", "correlation_id")
    ctx.t["invoice_line"] = it.join(corr, on="invoice_id", maintain_order="left").with_columns(
        service_category=pl.lit("professional_services"),
        applied_to_retainer=pl.lit(False),
        reason_code=pl.lit(None, pl.String),
        approved_by=pl.lit(None, pl.String),
        source_system=pl.lit("netsuite"),
    )
    back = it.select("source_id", "invoice_line_id", "line_type")
    for table, key, lt in (
        ("time_entry", "time_entry_id", "time"),
        ("expense", "expense_id", "expense"),
        ("vendor_bill", "vendor_bill_id", "subcontract"),
    ):
        m = back.filter(pl.col("line_type") == lt).select(pl.col("source_id").alias(key), "invoice_line_id")
        ctx.t[table] = ctx.t[table].join(m, on=key, how="left", maintain_order="left")
