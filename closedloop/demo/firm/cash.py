"""Invoice → cash: credit-and-rebill, payments, settlement status, CRM invoice status, collections, disputes."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, masked
from .ctx import Ctx
from .frames import set_rows

CREDIT_REASONS = ["pricing", "hours", "po_reference", "admin"]
DISPUTE_REASONS = ["pricing", "scope", "duplicate_admin", "quality"]


def credit_and_rebill(ctx: Ctx, share: float = 0.02) -> None:
    """~2 % of T&M invoices are credited in full (reason coded) and re-issued with the same sources."""
    rng = ctx.child_rng("credit")
    inv = ctx.t["invoice"]
    tm = ctx.t["project"].filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))["project_id"]
    cand = inv.filter(pl.col("project_id").is_in(tm.implode()) & (pl.col("invoice_date") <= ctx.A - 45))
    pick = cand.filter(pl.Series(rng.random(cand.height) < share))
    k = pick.height
    cdate = pick["invoice_date"].to_numpy() + rng.integers(10, 31, k)
    cn = pick.with_columns(
        invoice_id=ids.ns_ids("creditmemo", k),
        erp_invoice_no=ids.tranids("CM", k),
        type=pl.lit("credit_note"),
        invoice_date=pl.Series(cdate),
        posted_at=pl.Series(cdate * DAY + 11 * 3600),
        due_date=pl.Series(cdate),
        source_ref=pl.col("invoice_id"),
        credit_reason_code=pl.Series(np.array(CREDIT_REASONS)[rng.integers(0, 4, k)]),
    ).with_columns(source_id=pl.col("invoice_id"))
    rdate = cdate + rng.integers(0, 6, k)
    n0 = inv.height
    re = pick.with_columns(
        invoice_id=ids.ns_ids("invoice", k, start=n0),
        erp_invoice_no=ids.tranids("INV", k, start=n0),
        invoice_date=pl.Series(rdate),
        posted_at=pl.Series(rdate * DAY + 14 * 3600),
        due_date=pl.Series(rdate) + pl.col("payment_terms_days"),
        _rebill_of=pl.col("invoice_id"),
    ).with_columns(source_id=pl.col("invoice_id"))
    lines = ctx.t["invoice_line"]
    m = dict(zip(pick["invoice_id"].to_list(), re["invoice_id"].to_list(), strict=True))
    old = lines.filter(pl.col("invoice_id").is_in(pick["invoice_id"].implode()))
    new = old.with_columns(
        invoice_id=pl.col("invoice_id").replace_strict(m),
        invoice_line_id=ids.ns_ids("invoiceline", old.height, start=lines.height),
        _orig_line=pl.col("invoice_line_id"),
    )
    remap = new.select(pl.col("_orig_line").alias("invoice_line_id"), pl.col("invoice_line_id").alias("_new"))
    for t in ("time_entry", "expense", "vendor_bill"):
        set_rows(ctx.t, t, "invoice_line_id", remap, {"_new": "invoice_line_id"})
    ctx.t["invoice"] = pl.concat(
        [inv.with_columns(_credited=pl.col("invoice_id").is_in(pick["invoice_id"].implode())), cn, re],
        how="diagonal_relaxed",
    )
    del lines, old
    ctx.append_rows("invoice_line", new.drop("_orig_line"), how="diagonal_relaxed")


def payments(ctx: Ctx) -> None:
    """Payments around due date (≈45 % late), 10 % in two parts; applied 0-2 days after receipt."""
    rng = ctx.child_rng("payment")
    inv = ctx.t["invoice"]
    payable = inv.filter((pl.col("type") == "invoice") & ~pl.col("_credited").fill_null(False))
    n = payable.height
    late = rng.random(n) < 0.45
    delay = np.where(late, np.round(rng.lognormal(np.log(15), 0.8, n)), -rng.integers(0, 11, n)).astype(
        np.int64
    )
    recv = np.maximum(payable["due_date"].to_numpy() + delay, payable["invoice_date"].to_numpy() + 1)
    split = (rng.random(n) < 0.10) & (recv <= ctx.A)  # clean: a split payment is complete by as_of
    gross = payable["amount_gross"].to_numpy()
    first_amt = np.where(split, (gross * rng.uniform(0.5, 0.9, n)).astype(np.int64), gross)
    first_day = np.where(
        split, np.maximum(recv - rng.integers(5, 20, n), payable["invoice_date"].to_numpy() + 1), recv
    )
    rows = (
        pl.concat(
            [
                payable.select(
                    "invoice_id", "client_id", "legal_entity_id", "currency", "correlation_id"
                ).with_columns(
                    amount=pl.Series(first_amt), received_date=pl.Series(first_day), _part=pl.lit(1)
                ),
                payable.filter(pl.Series(split))
                .select("invoice_id", "client_id", "legal_entity_id", "currency", "correlation_id")
                .with_columns(
                    amount=pl.Series((gross - first_amt)[split]),
                    received_date=pl.Series(recv[split]),
                    _part=pl.lit(2),
                ),
            ]
        )
        .filter(pl.col("received_date") <= ctx.A)
        .sort("received_date", "invoice_id", "_part")
    )
    m = rows.height
    applied = np.minimum(rows["received_date"].to_numpy() + rng.integers(0, 3, m), ctx.A)
    ok = applied <= ctx.A
    ctx.t["payment"] = rows.with_columns(
        payment_id=ids.ns_ids("payment", m),
        invoice_id=pl.when(pl.Series(ok)).then("invoice_id"),
        applied_date=masked(applied, ok),
        _invoice=pl.col("invoice_id"),
        source_system=pl.lit("netsuite"),
    ).with_columns(source_id=pl.col("payment_id"))
    settle(ctx)


def settle(ctx: Ctx) -> None:
    """Invoice status and amount_paid at as_of: applied payments, plus full credit for credited invoices."""
    pay = (
        ctx.t["payment"]
        .filter(pl.col("invoice_id").is_not_null())
        .group_by("invoice_id")
        .agg(pl.col("amount").sum().alias("_paid"), pl.col("applied_date").max().alias("_last_applied"))
    )
    inv = ctx.t["invoice"].drop("_paid", "_last_applied", strict=False).join(pay, on="invoice_id", how="left")
    credited = inv["_credited"].fill_null(False)
    paid = pl.when(credited).then(pl.col("amount_gross")).otherwise(pl.col("_paid").fill_null(0))
    ctx.t["invoice"] = inv.with_columns(amount_paid=paid).with_columns(
        status=pl.when(pl.col("type") == "credit_note")
        .then(pl.lit("posted"))
        .when(pl.col("amount_paid") >= pl.col("amount_gross"))
        .then(pl.lit("paid"))
        .when(pl.col("amount_paid") > 0)
        .then(pl.lit("partially_paid"))
        .otherwise(pl.lit("posted"))
    )


def crm_status(ctx: Ctx) -> None:
    """Salesforce Invoice_Status__c rows, synced minutes to hours after each ERP change (clean: in sync)."""
    rng = ctx.child_rng("crm")
    inv = ctx.t["invoice"]
    n = inv.height
    first = inv["posted_at"].to_numpy() + rng.integers(300, 7200, n)
    last_pay = inv["_last_applied"].fill_null(0).to_numpy() * DAY + 12 * 3600 + rng.integers(300, 6 * 3600, n)
    synced = np.maximum(first, np.where(inv["_last_applied"].is_null().to_numpy(), 0, last_pay))
    opp = ctx.t["sow"].select("sow_id", "opportunity_id")
    cl = ctx.t["client"].select("client_id", "crm_account_id")
    c = (
        inv.with_columns(last_synced_at=pl.Series(synced), _first=pl.Series(first))
        .filter(pl.col("_first") < ctx.as_of_ts)
        .join(opp, on="sow_id", how="left", maintain_order="left")
        .join(cl, on="client_id", how="left", maintain_order="left")
    )
    k = c.height
    ctx.t["crm_invoice_status"] = (
        c.select(
            "erp_invoice_no",
            "crm_account_id",
            "opportunity_id",
            "currency",
            "due_date",
            "last_synced_at",
            "correlation_id",
            amount=pl.col("amount_gross"),
            status=pl.when(pl.col("type") == "credit_note")
            .then(pl.lit("credited"))
            .when(pl.col("status") == "posted")
            .then(pl.lit("open"))
            .otherwise(pl.col("status")),
            paid_amount=pl.col("amount_paid"),
            _invoice_id=pl.col("invoice_id"),
        )
        .with_columns(crm_record_id=ids.sf_ids("invoice_status", k), source_system=pl.lit("salesforce"))
        .with_columns(source_id=pl.col("crm_record_id"))
    )


def collections(ctx: Ctx) -> None:
    """Dunning for every invoice that runs 10+ days past due; ~3 % of invoices disputed; approved write-downs."""
    rng = ctx.child_rng("collect")
    inv = ctx.t["invoice"].filter((pl.col("type") == "invoice") & ~pl.col("_credited").fill_null(False))
    settled = np.where(
        inv["status"].to_numpy() == "paid", inv["_last_applied"].fill_null(10**7).to_numpy(), 10**7
    )
    due = inv["due_date"].to_numpy()
    acts = []
    for lag, kind in ((10, "reminder_email"), (30, "call"), (60, "final_notice")):
        sel = (settled > due + lag) & (due + lag <= ctx.A)
        acts.append(
            inv.filter(pl.Series(sel))
            .select("invoice_id", "correlation_id")
            .with_columns(action_type=pl.lit(kind), action_date=pl.Series(due[sel] + lag))
        )
    ca = pl.concat(acts).sort("action_date", "invoice_id")
    ctx.t["collection_action"] = ca.with_columns(
        source_system=pl.lit("netsuite"),
        source_id=pl.concat_str(["invoice_id", "action_type"], separator=":"),
    )
    d = inv.filter(pl.Series(rng.random(inv.height) < 0.03))
    k = d.height
    opened = np.minimum(d["invoice_date"].to_numpy() + rng.integers(5, 30, k), ctx.A)
    closed = opened + np.round(rng.lognormal(np.log(12), 0.7, k)).astype(np.int64)
    ctx.t["dispute"] = (
        d.select("invoice_id", "correlation_id")
        .with_columns(
            opened=pl.Series(opened),
            closed=masked(closed, closed <= ctx.A),
            reason_code=pl.Series(np.array(DISPUTE_REASONS)[rng.choice(4, k, p=[0.38, 0.28, 0.18, 0.16])]),
            source_system=pl.lit("netsuite"),
        )
        .with_columns(source_id=pl.concat_str([pl.lit("DSP-"), "invoice_id"]))
    )
    p = ctx.t["project"].filter(pl.col("billing_type") == "TM")
    p = p.filter(pl.Series(rng.random(p.height) < 0.05))
    k = p.height
    ctx.t["write_down"] = (
        p.select("project_id", "currency", "correlation_id", approved_by="pm_id")
        .with_columns(
            write_down_id=ids.ns_ids("writedown", k),
            amount=pl.Series(rng.integers(200_00, 4_000_00, k)),
            reason_code=pl.lit("client_goodwill"),
            requested_by_role=pl.lit("Manager"),
            created_at=pl.Series((ctx.A - rng.integers(1, 300, k)) * DAY + 15 * 3600),
            source_system=pl.lit("netsuite"),
        )
        .with_columns(source_id=pl.col("write_down_id"))
    )
