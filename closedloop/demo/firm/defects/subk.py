"""Subcontractor cost: Q2C-090, Q2C-091, Q2C-092, Q2C-093.

Injection (§D.2 #40-42): 090 — 5 % of vendor bills arrive with no PO reference (subcontract_id NULL); 091 — 3 % of
subcontracts with bills keep a PO cap that spend has outgrown (cap = spent × U(0.85, 0.97), rounded down to
100.00); 092 — 6 % of re-billable, already re-billed vendor bills older than 30 days lose their invoice line
(base.unbill re-totals the invoice). 093 has no §D.2 row and the clean firm subcontracts only on T&M projects, so
it is evaluated (empty) but not injected. Evaluators state each card on the final tables:
090 — project vendor bill without subcontract, subcontract not executed, bill date outside validity or subcontract
  of another project: round(amount × fx(ccy, bill_date), 2); entity vendor_bill.
091 — Σ bills (subcontract currency) > cap: round((spent − cap) × fx(ccy, as_of), 2); entity subcontract.
092 — re-billable subcontract, TM/TM_CAP project, no invoice line, older than 30 days:
  impact_rc rebill_rc = round(round(amount × (1 + markup), 2) × fx(ccy, as_of), 2), expected_loss_rc
  round(rebill_rc × p_leak(age), 2); entity vendor_bill.
093 — FF/MILESTONE project, Σ bills (project currency) > budget_subcontract_cost × 1.05: round(excess × fx, 2).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ..calc import cents_dec, p_leak_dec
from ..ctx import Ctx
from .base import key, pick, rc, unbill

GRACE_092 = 30


def inject(ctx: Ctx) -> None:
    """No PO on some bills (090), caps outgrown (091), re-bills dropped (092)."""
    rng = ctx.child_rng("inject-subk")
    vb = ctx.t["vendor_bill"]
    if vb.height == 0:
        return
    sc = ctx.t["subcontract"]
    elig = vb.filter(
        pl.col("rebillable")
        & pl.col("invoice_line_id").is_not_null()
        & (ctx.A - pl.col("bill_date") > GRACE_092)
    )
    c = pick(ctx, elig, "Q2C-092", p=min(1.0, 0.06 * ctx.defect_scale))
    unbill(ctx, c["invoice_line_id"].to_list())
    vb = ctx.t["vendor_bill"]
    spent = vb.group_by("subcontract_id").agg(pl.col("amount").sum().alias("_sp"))
    b = pick(ctx, sc.join(spent, on="subcontract_id"), "Q2C-091", p=min(1.0, 0.03 * ctx.defect_scale))
    newcap = (b["_sp"].to_numpy() * rng.uniform(0.85, 0.97, b.height) // 10_000 * 10_000).astype(np.int64)
    m = dict(zip(b["subcontract_id"].to_list(), newcap.tolist(), strict=True))
    ctx.t["subcontract"] = sc.with_columns(
        cap_amount=pl.col("subcontract_id").replace_strict(
            m, default=pl.col("cap_amount"), return_dtype=pl.Int64
        )
    )
    a = pick(
        ctx, vb.filter(pl.col("invoice_line_id").is_null()), "Q2C-090", p=min(1.0, 0.05 * ctx.defect_scale)
    )
    ctx.t["vendor_bill"] = vb.with_columns(
        subcontract_id=pl.when(pl.col("vendor_bill_id").is_in(a["vendor_bill_id"].implode()))
        .then(None)
        .otherwise("subcontract_id")
    )


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 090-093."""
    vb = ctx.t["vendor_bill"]
    sc = ctx.t["subcontract"]
    p = ctx.t["project"]
    out = []
    j = vb.filter(pl.col("project_id").is_not_null()).join(
        sc.select("subcontract_id", pl.col("project_id").alias("_sp"), "status", "valid_from", "valid_to"),
        on="subcontract_id",
        how="left",
    )
    bad = j.filter(
        pl.col("_sp").is_null()
        | (pl.col("status") != "executed")
        | (pl.col("bill_date") < pl.col("valid_from"))
        | (pl.col("bill_date") > pl.col("valid_to").fill_null(10**7))
        | (pl.col("_sp") != pl.col("project_id"))
    )
    rows = [
        (r["vendor_bill_id"], r["correlation_id"], rc(ctx, r["amount"], r["currency"], r["bill_date"]), "")
        for r in bad.sort("vendor_bill_id").iter_rows(named=True)
    ]
    out.append(key("Q2C-090", "vendor_bill", rows))
    s = (
        sc.filter(pl.col("cap_amount").is_not_null())
        .join(vb.select("subcontract_id", pl.col("currency").alias("_c"), "amount"), on="subcontract_id")
        .filter(pl.col("_c") == pl.col("currency"))
        .group_by("subcontract_id")
        .agg(pl.col("amount").sum().alias("_sp"), pl.first("cap_amount", "currency", "correlation_id"))
        .filter(pl.col("_sp") > pl.col("cap_amount"))
    )
    rows = [
        (
            r["subcontract_id"],
            r["correlation_id"],
            rc(ctx, r["_sp"] - r["cap_amount"], r["currency"], ctx.A),
            "",
        )
        for r in s.sort("subcontract_id").iter_rows(named=True)
    ]
    out.append(key("Q2C-091", "subcontract", rows))
    billed = ctx.t["invoice_line"].filter(pl.col("line_type") == "subcontract")["source_id"].implode()
    v = (
        vb.join(
            sc.select("subcontract_id", pl.col("rebillable").alias("_rb"), "markup_pct"), on="subcontract_id"
        )
        .join(p.select("project_id", "billing_type"), on="project_id")
        .filter(
            pl.col("_rb")
            & pl.col("billing_type").is_in(["TM", "TM_CAP"])
            & pl.col("invoice_line_id").is_null()
            & ~pl.col("vendor_bill_id").is_in(billed)
            & (ctx.A - pl.col("bill_date") > GRACE_092)
        )
    )
    rows = []
    for r in v.sort("vendor_bill_id").iter_rows(named=True):
        x = r["amount"] / 100 * (1 + (r["markup_pct"] or 0.0)) * 100  # DECIMAL × DOUBLE is DOUBLE in the SQL
        rebill = cents_dec(int(np.floor(x + 0.5)))
        usd = ctx.fx.rc_dec(rebill, r["currency"], ctx.A)
        rows.append(
            (r["vendor_bill_id"], r["correlation_id"], usd, "", usd * p_leak_dec(ctx.A - r["bill_date"]))
        )
    out.append(key("Q2C-092", "vendor_bill", rows))
    f = (
        p.filter(
            pl.col("billing_type").is_in(["FF", "MILESTONE"])
            & pl.col("budget_subcontract_cost").is_not_null()
        )
        .join(vb.select("project_id", pl.col("currency").alias("_c"), "amount"), on="project_id")
        .filter(pl.col("_c") == pl.col("currency"))
        .group_by("project_id")
        .agg(
            pl.col("amount").sum().alias("_a"),
            pl.first("budget_subcontract_cost", "currency", "correlation_id"),
        )
        .filter(pl.col("_a") * 100 > pl.col("budget_subcontract_cost") * 105)
    )
    rows = [
        (
            r["project_id"],
            r["correlation_id"],
            rc(ctx, r["_a"] - r["budget_subcontract_cost"], r["currency"], ctx.A),
            "",
        )
        for r in f.sort("project_id").iter_rows(named=True)
    ]
    out.append(key("Q2C-093", "project", rows))
    return pl.concat(out)
