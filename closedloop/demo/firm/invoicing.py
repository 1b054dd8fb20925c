"""Invoices and lines (ERP): monthly T&M in arrears, schedule lines on their dates, milestones on trigger."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, month_end, month_index, month_start
from .ctx import Ctx
from .frames import attach, by_slices, only, stack

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
    """Every billable item with the day it lands on an invoice (items after as_of stay unbilled).

    Rows come out in no particular order (invoices() sorts them on a unique key), so time entries are turned
    into items a slice at a time and every part gets its invoice day before the parts are stacked.
    """
    rng = ctx.child_rng("invoice")
    p = ctx.t["project"]
    off = pl.DataFrame({"project_id": p["project_id"], "_off": rng.integers(6, 9, p.height)})
    ctx.notes["inv_offset"] = off
    tm = p.filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))["project_id"].implode()

    def monthly(x: pl.DataFrame) -> pl.DataFrame:
        """Monthly-in-arrears items: invoice day and service period, items invoiced by as_of only."""
        day = x["_day"].to_numpy()
        return (
            x.with_columns(
                inv_day=pl.Series(_roll(ctx, day, x["_ready"].to_numpy(), x["_off"].to_numpy())),
                period_start=pl.Series(month_start(day)),
                period_end=pl.Series(month_end(day)),
            )
            .filter(pl.col("inv_day") <= ctx.A)
            .select(
                [
                    c
                    for c in [*COLS, "_ri"]
                    if c in x.columns or c in ("inv_day", "period_start", "period_end")
                ]
            )
        )

    def time_items(te: pl.DataFrame) -> pl.DataFrame:
        te = te.select(
            "_ri",
            "project_id",
            "role",
            "time_entry_id",
            "hours",
            "_rate",
            "_value",
            "work_date",
            "approved_at",
            "billable",
            "approval_status",
        ).filter(
            pl.col("billable") & (pl.col("approval_status") == "approved") & pl.col("project_id").is_in(tm)
        )
        return monthly(
            te.join(off, on="project_id").select(
                "_ri",
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
        )

    # _ri: the entry's row, through which invoices() hands each entry its invoice line without a join
    t_items = by_slices(ctx.t["time_entry"].with_row_index("_ri"), time_items)
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
    # diagonal_relaxed settles each column on the supertype over all parts, as stacking them in any grouping does
    parts = [t_items, monthly(e_items), monthly(v_items)]
    parts += [
        x.select([c for c in COLS if c in x.columns]).filter(pl.col("inv_day") <= ctx.A)
        for x in (s_items, m_items)
    ]
    del t_items
    return stack(parts, how="diagonal_relaxed")


COLS = [
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


def invoices(ctx: Ctx) -> None:
    """Group items into one invoice per project and day; tax per line from the tax matrix."""
    rng = ctx.child_rng("invoice-hdr")
    it = items(ctx)
    lo = it.select(pl.col("line_type").replace_strict(LINE_ORDER, return_dtype=pl.Int32)).to_series()
    order = pl.DataFrame([it["inv_day"], it["project_id"], lo, it["source_id"]]).select(
        pl.arg_sort_by("inv_day", "project_id", "line_type", "source_id")
    )
    del lo
    held = [it]
    del it
    it = _gather(held, order.to_series())
    del order
    assert not it["project_id"].null_count() and not it["inv_day"].null_count()  # every item forms an invoice
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
    # Lines are sorted by (inv_day, project_id, ...), so each invoice's lines are one run, in hdr's order: a
    # line's invoice-level values are its invoice's, repeated, instead of a join of every line to the headers.
    # Tax depends on the invoice's entity and client only, so it is looked up once per invoice as well.
    # tax from the matrix: seller = entity country, buyer = bill-to country; exempt clients 0 %
    le = ctx.t["legal_entity"].select("legal_entity_id", pl.col("country").alias("_seller"))
    cl = ctx.t["client"].select("client_id", pl.col("bill_to_country").alias("_buyer"), "tax_exempt")
    tm = ctx.t["tax_matrix"].select(
        pl.col("seller_country").alias("_seller"),
        pl.col("buyer_country").alias("_buyer"),
        "expected_rate",
        "reverse_charge",
    )
    look = (
        hdr.select("legal_entity_id", "client_id")
        .join(le, on="legal_entity_id", maintain_order="left")
        .join(cl, on="client_id", maintain_order="left")
        .join(tm, on=["_seller", "_buyer"], how="left", maintain_order="left")
    )
    assert (
        look.height == n
    )  # every invoice has its entity and client: the line-level inner joins kept all lines
    exempt = look["tax_exempt"].to_numpy()
    rate = np.where(exempt, 0.0, look["expected_rate"].to_numpy())
    code = np.where(
        exempt,
        "EXEMPT",
        np.where(look["reverse_charge"].to_numpy(), "RC", np.where(rate > 0, "VAT", "NT")),
    )
    del look, exempt
    run = pl.Series(np.repeat(np.arange(n, dtype=np.int64), hdr["_n"].to_numpy()))
    assert len(run) == it.height
    # client and entity stay on the invoice (no defect moves a line's client; an entity change is the invoice's)
    it = it.hstack([hdr["invoice_id"].gather(run)])
    line_rate = rate[run.to_numpy()]
    amount = it["amount"].to_numpy()
    tax = np.floor(amount * line_rate + 0.5).astype(np.int64)
    # position within the invoice's run = the line number a window over invoice_id gives
    counts = hdr["_n"].to_numpy().astype(np.int64)
    starts = np.cumsum(counts) - counts
    line_no = np.arange(it.height, dtype=np.int64) - starts[run.to_numpy()] + 1
    it = it.with_columns(
        tax_rate=pl.Series(line_rate),
        tax_code=pl.Series(code).gather(run),
        line_no=pl.Series(line_no).cast(pl.Int32),
    )
    del line_rate, rate, code, line_no
    it = it.with_columns(invoice_line_id=ids.ns_ids("invoiceline", it.height))
    if it["amount"].null_count():
        tot = (
            it.select("invoice_id", "amount", _tax=pl.Series(tax))
            .group_by("invoice_id", maintain_order=True)
            .agg(pl.col("amount").sum().alias("amount_net"), pl.col("_tax").sum().alias("tax_amount"))
            .drop("invoice_id")
        )
    else:  # per-invoice sums over each run of lines: the group-by's totals, in hdr's order
        tot = pl.DataFrame(
            {"amount_net": np.add.reduceat(amount, starts), "tax_amount": np.add.reduceat(tax, starts)}
        )
    del tax, amount
    hdr = (
        hdr.hstack(tot)
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
    # inv_day was only needed here; at tier l each column of the lines costs ~100-190 MB
    ctx.t["invoice_line"] = it.drop("inv_day", "_ri").with_columns(
        hdr["correlation_id"].gather(run),
        service_category=pl.lit("professional_services"),
        applied_to_retainer=pl.lit(False),
        reason_code=pl.lit(None, pl.String),
        approved_by=pl.lit(None, pl.String),
        source_system=pl.lit("netsuite"),
    )
    back = it.select("source_id", "invoice_line_id", "line_type", "_ri")
    del it, run
    # each time line came from one entry, whose row it carries: the left join on time_entry_id, by position
    te = ctx.t.pop("time_entry")
    pos = back.filter(pl.col("line_type") == "time")
    line = pl.repeat(None, te.height, dtype=pl.String, eager=True).alias("invoice_line_id")
    ctx.t["time_entry"] = te.with_columns(line.scatter(pos["_ri"], pos["invoice_line_id"]))
    del te, pos, line
    back = back.drop("_ri")
    for table, key, lt in (
        ("expense", "expense_id", "expense"),
        ("vendor_bill", "vendor_bill_id", "subcontract"),
    ):
        m = back.filter(pl.col("line_type") == lt).select(pl.col("source_id").alias(key), "invoice_line_id")
        ctx.t[table] = attach(ctx.t[table], m, key)


def _gather(held: list[pl.DataFrame], idx: pl.Series) -> pl.DataFrame:
    """held.pop()[idx], column by column, releasing each source column once it has been copied (the frame comes
    in a list the caller no longer holds, or its reference would keep every source column alive)."""
    df = held.pop()
    parts = []
    for c in df.columns:
        parts.append(only(df, c).select(pl.col(c).gather(idx)))
        df = df.drop(c)
    return pl.concat(parts, how="horizontal")
