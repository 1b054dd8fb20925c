"""Revenue recognition (ASC 606): Q2C-080, Q2C-081, Q2C-082, Q2C-083, Q2C-084.

Injection: 080 — 1.5 % of SOWs with revenue (§D.2 #33; milestone-billed SOWs 4× as likely) have every revenue line
booked 'on_invoice', a method no policy row allows. 084 — no §D.2 row: 0.3 % of revenue lines in locked periods are
posted two days after the lock (late adjustment). 081 / 082 / 083 have no injection of their own: the clean firm
recognises within price and after signature, and contract assets > 90 days arise from other defects (un-billed time,
rates, milestones: §D.3 correlated defects), so their evaluators only state the card on the final tables.
All impacts are in USD at fx(ccy, as_of).
080 — sum of non-permitted lines (period ≤ as_of) per SOW: round(Σ amount × fx(sow ccy, as_of), 2); entity sow.
081 — non-TM SOW with cum revenue (period ≤ as_of) > least(eff_value, eff_cap) + 0.01: round(excess × fx, 2); sow.
082 — lines (period ≤ as_of) of a missing / not executed SOW or before the signature month: round(Σ × fx, 2); sow.
083 — rev_cum − net billing (live invoices dated ≤ as_of in the SOW currency, credit notes negative) > 0.01 and
  days since the last invoice (else first revenue period) > 90: impact_rc round(asset × fx, 2), expected_loss_rc
  round(that × p_leak(days), 2); sow.
084 — line posted after its period's lock_ts, or period after a closed project's close date: round(|amount| × fx,
  2), ccy = project currency; entity rev_line.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import polars as pl

from ..calc import DAY, cents_dec, month_start, p_leak_dec
from ..ctx import Ctx
from ..params import CHECK_PARAMS
from .base import key, pick, rc, sow_effective

CA_AGE = CHECK_PARAMS["ca_age_days"]


def inject(ctx: Ctx) -> None:
    """Non-policy method on a few SOWs (080); late postings into locked periods (084)."""
    rs = ctx.t["revenue_schedule"]
    s = ctx.t["sow"].filter(pl.col("sow_id").is_in(rs["sow_id"].unique().implode()))
    w = np.where(s["billing_type"].to_numpy() == "MILESTONE", 4.0, 1.0)
    a = pick(ctx, s, "Q2C-080", weight=w / w.mean(), p=min(1.0, 0.015 * ctx.defect_scale))
    rs = rs.with_columns(
        method=pl.when(pl.col("sow_id").is_in(a["sow_id"].implode()))
        .then(pl.lit("on_invoice"))
        .otherwise("method")
    )
    lock = ctx.t["period_lock"].select("period", "lock_ts")
    locked = rs.join(lock, on="period").filter(pl.col("posted_at") <= pl.col("lock_ts"))
    b = pick(ctx, locked, "Q2C-084", p=min(1.0, 0.003 * ctx.defect_scale))
    late = b.select("rev_line_id", _late=pl.col("lock_ts") + 2 * DAY).filter(pl.col("_late") < ctx.as_of_ts)
    ctx.t["revenue_schedule"] = (
        rs.join(late, on="rev_line_id", how="left", maintain_order="left")
        .with_columns(posted_at=pl.coalesce("_late", "posted_at"))
        .drop("_late")
    )


def _usd(ctx: Ctx, cents: int, ccy: str) -> Decimal:
    return rc(ctx, cents, ccy, ctx.A)


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 080-084: each card's condition on the final tables."""
    se = sow_effective(ctx)
    rs = ctx.t["revenue_schedule"].filter(pl.col("period") <= ctx.A)
    out = [_080(ctx, se, rs), _081(ctx, se, rs), _082(ctx, rs), _083(ctx, rs), _084(ctx)]
    return pl.concat(out)


def _080(ctx: Ctx, se: pl.DataFrame, rs: pl.DataFrame) -> pl.DataFrame:
    pm = ctx.t["rev_policy_matrix"].select("billing_type", "over_time_criteria", "method")
    j = rs.select("sow_id", "method", "amount").join(
        se.select("sow_id", "billing_type", "over_time_criteria", "currency", "correlation_id"), on="sow_id"
    )
    exact = pm.filter(pl.col("over_time_criteria").is_not_null()).with_columns(_ok=pl.lit(True))
    anyc = pm.filter(pl.col("over_time_criteria").is_null()).select(
        "billing_type", "method", _ok2=pl.lit(True)
    )
    j = (
        j.join(exact, on=["billing_type", "over_time_criteria", "method"], how="left", nulls_equal=False)
        .join(anyc.unique(), on=["billing_type", "method"], how="left")
        .filter(pl.col("_ok").is_null() & pl.col("_ok2").is_null())
    )
    g = j.group_by("sow_id").agg(pl.col("amount").sum(), pl.first("currency", "correlation_id", "method"))
    rows = [
        (r["sow_id"], r["correlation_id"], _usd(ctx, r["amount"], r["currency"]), f"method={r['method']}")
        for r in g.sort("sow_id").iter_rows(named=True)
    ]
    return key("Q2C-080", "sow", rows)


def _081(ctx: Ctx, se: pl.DataFrame, rs: pl.DataFrame) -> pl.DataFrame:
    cum = rs.group_by("sow_id").agg(pl.col("amount").sum().alias("_cum"))
    j = (
        se.filter(pl.col("billing_type").fill_null("") != "TM")
        .join(cum, on="sow_id")
        .with_columns(_ceil=pl.min_horizontal("eff_value", pl.coalesce("eff_cap_amount", "eff_value")))
        .filter(pl.col("_cum") > pl.col("_ceil") + 1)
    )
    rows = [
        (r["sow_id"], r["correlation_id"], _usd(ctx, r["_cum"] - r["_ceil"], r["currency"]), "")
        for r in j.sort("sow_id").iter_rows(named=True)
    ]
    return key("Q2C-081", "sow", rows)


def _082(ctx: Ctx, rs: pl.DataFrame) -> pl.DataFrame:
    s = ctx.t["sow"].select("sow_id", "status", "signed_date", pl.col("currency").alias("_sc"))
    p = ctx.t["project"].select("project_id", pl.col("currency").alias("_pc"))
    j = rs.join(s, on="sow_id", how="left").join(p, on="project_id", how="left")
    sm = pl.Series(month_start(j["signed_date"].fill_null(0).to_numpy()))
    j = j.with_columns(_sm=sm).filter(
        pl.col("status").is_null()
        | ~pl.col("status").is_in(["executed", "completed"])
        | (pl.col("period") < pl.col("_sm"))
    )
    j = j.with_columns(
        _et=pl.when(pl.col("sow_id").is_null()).then(pl.lit("project")).otherwise(pl.lit("sow")),
        _eid=pl.coalesce("sow_id", "project_id"),
        _ccy=pl.coalesce("_sc", "_pc"),
    )
    out = []
    for et in ("sow", "project"):
        g = (
            j.filter(pl.col("_et") == et)
            .group_by("_eid")
            .agg(pl.col("amount").sum(), pl.col("correlation_id").min(), pl.first("_ccy"))
        )
        rows = [
            (r["_eid"], r["correlation_id"], _usd(ctx, r["amount"], r["_ccy"]), "")
            for r in g.sort("_eid").iter_rows(named=True)
        ]
        out.append(key("Q2C-082", et, rows))
    return pl.concat(out)


def _083(ctx: Ctx, rs: pl.DataFrame) -> pl.DataFrame:
    rev = rs.group_by("sow_id").agg(pl.col("amount").sum().alias("_rev"), pl.col("period").min().alias("_fp"))
    inv = ctx.t["invoice"].filter(
        ~pl.col("status").is_in(["draft", "cancelled"]) & (pl.col("invoice_date") <= ctx.A)
    )
    bil = inv.group_by("sow_id", "currency").agg(
        pl.when(pl.col("type") == "credit_note")
        .then(-pl.col("amount_net").abs())
        .otherwise(pl.col("amount_net"))
        .sum()
        .alias("_bill"),
        pl.col("invoice_date").filter(pl.col("type") == "invoice").max().alias("_last"),
    )
    s = ctx.t["sow"].select("sow_id", "currency", "correlation_id")
    j = (
        rev.join(s, on="sow_id")
        .join(bil, on=["sow_id", "currency"], how="left")
        .with_columns(_ca=pl.col("_rev") - pl.col("_bill").fill_null(0), _since=pl.coalesce("_last", "_fp"))
        .with_columns(_age=ctx.A - pl.col("_since"))
        .filter((pl.col("_ca") > 1) & (pl.col("_age") > CA_AGE))
    )
    rows = [
        (
            r["sow_id"],
            r["correlation_id"],
            _usd(ctx, r["_ca"], r["currency"]),
            f"contract_asset={cents_dec(r['_ca'])} age={r['_age']}",
            _usd(ctx, r["_ca"], r["currency"]) * p_leak_dec(r["_age"]),
        )
        for r in j.sort("sow_id").iter_rows(named=True)
    ]
    return key("Q2C-083", "sow", rows)


def _084(ctx: Ctx) -> pl.DataFrame:
    rs = ctx.t["revenue_schedule"]
    lock = ctx.t["period_lock"].select("period", "lock_ts")
    p = ctx.t["project"].select("project_id", "status", "closed_date", pl.col("currency").alias("_pc"))
    s = ctx.t["sow"].select("sow_id", pl.col("currency").alias("_sc"))
    j = (
        rs.join(lock, on="period", how="left")
        .join(p, on="project_id", how="left")
        .join(s, on="sow_id", how="left")
        .filter(
            (pl.col("posted_at") > pl.col("lock_ts")).fill_null(False)
            | ((pl.col("status") == "closed") & (pl.col("period") > pl.col("closed_date"))).fill_null(False)
        )
    )
    rows = [
        (r["rev_line_id"], r["correlation_id"], _usd(ctx, abs(r["amount"]), r["_pc"] or r["_sc"]), "")
        for r in j.sort("rev_line_id").iter_rows(named=True)
    ]
    return key("Q2C-084", "rev_line", rows)
