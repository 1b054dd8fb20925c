"""Billing setup: amendment propagation times, billing schedules and rules, expenses, subcontracts."""

from __future__ import annotations

import numpy as np
import polars as pl

from . import ids
from .calc import DAY, masked, month_end, month_index
from .ctx import Ctx


def propagation(ctx: Ctx) -> None:
    """When each executed amendment reached budget, billing, revenue and CRM (K03); clean: within 5 bd."""
    rng = ctx.child_rng("propagation")
    am = ctx.t["amendment"]
    n = am.height
    signed = am["signed_date"].fill_null(ctx.A).to_numpy()
    cols = {}
    for t in ("budget", "billing", "rev", "crm"):
        d = np.minimum(np.round(rng.lognormal(np.log(2), 0.6, n)), 5).astype(np.int64)
        day = ctx.cal.add_bd(signed, d)
        cols[f"_t_{t}"] = masked(
            day * DAY + rng.integers(9 * 3600, 18 * 3600, n), am["status"].to_numpy() == "executed"
        )
    ctx.t["amendment"] = am.with_columns(**cols)
    ex = ctx.t["amendment"].filter(pl.col("status") == "executed")
    upd = ex.group_by("sow_id").agg(pl.col("_t_budget").max().alias("_tb"))
    ctx.t["project"] = (
        ctx.t["project"]
        .join(upd, on="sow_id", how="left")
        .with_columns(budget_updated_at=pl.max_horizontal("created_at", "_tb"))
        .drop("_tb")
    )


def _last_bd_of_month(ctx: Ctx, months: np.ndarray) -> np.ndarray:
    me = month_end(months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64))
    return ctx.cal.bd_days[ctx.cal.bdn(me) - 1]


def _first_bd_of_month(ctx: Ctx, months: np.ndarray) -> np.ndarray:
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return ctx.cal.add_bd(first - 1, np.ones(len(first), np.int64))


def billing_schedules(ctx: Ctx) -> None:
    """FF monthly installments, retainer fees in advance, one line per milestone; amendment lines added."""
    p = ctx.t["project"].join(
        ctx.t["sow"]
        .select("sow_id", "value", "_fee", "_orig_months", "end_date")
        .rename({"end_date": "_orig_end"}),
        on="sow_id",
    )
    am = ctx.t["amendment"].filter(pl.col("status") == "executed")
    parts = []
    # FF: original value over the original months, each value amendment from its effective month to the end
    ff = p.filter(pl.col("billing_type") == "FF")
    src = [
        ff.select(
            "project_id",
            "sow_id",
            "currency",
            "correlation_id",
            pl.col("value").alias("_amt"),
            pl.col("start_date").alias("_from"),
            pl.col("_orig_end").alias("_to"),
            pl.col("created_at").alias("updated_at"),
            pl.lit(None, pl.String).alias("_amendment"),
        )
    ]
    ffa = am.filter(pl.col("value_delta") != 0).join(
        ff.select("project_id", "sow_id", "currency", "correlation_id", "end_date"), on="sow_id"
    )
    src.append(
        ffa.select(
            "project_id",
            "sow_id",
            "currency",
            "correlation_id",
            pl.col("value_delta").alias("_amt"),
            pl.col("effective_date").alias("_from"),
            pl.col("end_date").alias("_to"),
            pl.col("_t_billing").alias("updated_at"),
            pl.col("amendment_id").alias("_amendment"),
        )
    )
    f = pl.concat(src)
    m0, m1 = month_index(f["_from"].to_numpy()), month_index(f["_to"].to_numpy())
    k = np.maximum(m1 - m0 + 1, 1)
    r = np.repeat(np.arange(f.height), k)
    j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
    amt = f["_amt"].to_numpy()[r]
    base = amt // k[r]
    parts.append(
        f[r].with_columns(
            amount=pl.Series(np.where(j == k[r] - 1, amt - base * (k[r] - 1), base)),
            bill_date=pl.Series(_last_bd_of_month(ctx, (m0[r] + j).astype("datetime64[M]"))),
            line_type=pl.lit("fixed"),
            milestone_id=pl.lit(None, pl.String),
        )
    )
    # RETAINER: one fee per month for original + extension months
    rt = p.filter(pl.col("billing_type") == "RETAINER")
    ext = (
        am.filter(pl.col("value_delta") > 0)
        .group_by("sow_id")
        .agg(
            pl.col("_ext_m").sum().alias("_xm"),
            pl.col("_t_billing").max().alias("_tx"),
            pl.col("effective_date").min().alias("_xfrom"),
        )
    )
    rt = rt.join(ext, on="sow_id", how="left").with_columns(
        pl.col("_xm").fill_null(0), pl.col("_tx").fill_null(pl.col("created_at"))
    )
    k = (rt["_orig_months"] + rt["_xm"]).to_numpy()
    r = np.repeat(np.arange(rt.height), k)
    j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
    mon = (month_index(rt["start_date"].to_numpy())[r] + j).astype("datetime64[M]")
    is_ext = j >= rt["_orig_months"].to_numpy()[r]
    parts.append(
        rt[r].with_columns(
            amount=pl.col("_fee"),
            # the first fee is billed in advance, but never before the engagement starts (SOW signed)
            bill_date=pl.Series(
                np.where(
                    j == 0,
                    np.maximum(
                        _first_bd_of_month(ctx, mon),
                        ctx.cal.add_bd(rt["start_date"].to_numpy()[r] - 1, np.ones(len(r), np.int64)),
                    ),
                    _first_bd_of_month(ctx, mon),
                )
            ),
            updated_at=pl.Series(
                np.where(is_ext, rt["_tx"].to_numpy()[r], rt["created_at"].to_numpy()[r])
            ).cast(pl.Int64),
            line_type=pl.lit("retainer"),
            milestone_id=pl.lit(None, pl.String),
            _amendment=pl.lit(None, pl.String),
        )
    )
    # MILESTONE: schedule line per CLM milestone
    ms = (
        ctx.t["milestone"]
        .filter(pl.col("project_id").is_not_null())
        .join(p.select("project_id", "currency", "created_at"), on="project_id")
        .join(
            am.select(pl.col("amendment_id").alias("_amendment"), "_t_billing"), on="_amendment", how="left"
        )
    )
    parts.append(
        ms.select(
            "project_id",
            "sow_id",
            "currency",
            "correlation_id",
            "amount",
            "milestone_id",
            "_amendment",
            bill_date=pl.col("due_date"),
            line_type=pl.lit("milestone"),
            updated_at=pl.coalesce("_t_billing", "created_at"),
        )
    )
    cols = [
        "project_id",
        "sow_id",
        "bill_date",
        "amount",
        "currency",
        "milestone_id",
        "line_type",
        "updated_at",
        "correlation_id",
        "_amendment",
    ]
    bs = pl.concat([x.select(cols) for x in parts]).sort(
        "project_id", "bill_date", "line_type", "milestone_id"
    )
    ctx.t["billing_schedule"] = bs.with_columns(
        schedule_line_id=ids.ns_ids("billingschedule", bs.height), source_system=pl.lit("netsuite")
    ).with_columns(source_id=pl.col("schedule_line_id"))
    rule = {
        "TM": "time",
        "TM_CAP": "time_cap",
        "FF": "fixed_date",
        "MILESTONE": "fixed_milestone",
        "RETAINER": "fixed_date",
    }
    caps = (
        am.filter(pl.col("new_cap_amount").is_not_null())
        .group_by("sow_id")
        .agg(pl.col("new_cap_amount").last().alias("_nc"))
    )
    br = (
        ctx.t["project"]
        .join(ctx.t["sow"].select("sow_id", "cap_amount"), on="sow_id")
        .join(caps, on="sow_id", how="left")
    )
    ctx.t["billing_rule"] = br.select(
        "project_id",
        "correlation_id",
        rule_type=pl.col("billing_type").replace_strict(rule),
        cap=pl.when(pl.col("billing_type") == "TM_CAP").then(pl.coalesce("_nc", "cap_amount")),
        cap_hours=pl.lit(None, pl.Float64),
        source_system=pl.lit("netsuite"),
        source_id=ids.ns_ids("billingrule", br.height),
    )


def expenses(ctx: Ctx) -> None:
    """Expense lines sampled from worked days (≈8 % of time rows), only in categories the SOW's policy allows."""
    rng = ctx.child_rng("expense")
    te = ctx.t["time_entry"].select("project_id", "resource_id", "work_date", "correlation_id")
    p = ctx.t["project"].join(
        ctx.t["sow"].select("sow_id", "expense_rebillable", "expense_policy_id"), on="sow_id"
    )
    pick = te.filter(pl.Series(rng.random(te.height) < 0.08)).join(
        p.select("project_id", "billing_type", "currency", "expense_rebillable", "expense_policy_id"),
        on="project_id",
    )
    pick = pick.filter(pl.col("billing_type").is_in(["TM", "TM_CAP", "FF"]))
    n = pick.height
    allowed = ctx.t["expense_policy_rule"].filter("allowed")
    cats = {pol: g["category"].to_list() for (pol,), g in allowed.group_by("policy_id")}
    u = rng.random(n)
    cat = [
        cats[pol][int(x * len(cats[pol]))]
        for pol, x in zip(pick["expense_policy_id"].to_list(), u, strict=True)
    ]
    fx = ctx.fx.rate_e8(pick["currency"].to_list(), pick["work_date"].to_numpy()) / 1e8
    amt = np.round(rng.lognormal(np.log(80), 0.9, n) / fx * 100).astype(np.int64)
    amt = np.clip(amt, 500, None)
    appr = (pick["work_date"].to_numpy() + rng.integers(2, 9, n)) * DAY + 15 * 3600
    ok = appr < ctx.as_of_ts
    e = pick.select(
        "project_id",
        "resource_id",
        "currency",
        "correlation_id",
        pl.col("work_date").alias("expense_date"),
        billable=pl.col("expense_rebillable") & (pl.col("billing_type") != "FF"),
    ).with_columns(
        category=pl.Series(cat, dtype=pl.String),
        amount=pl.Series(amt),
        approval_status=pl.Series(np.where(ok, "approved", "submitted")),
        approved_at=masked(appr, ok),
    )
    ctx.t["expense"] = e.with_columns(
        expense_id=ids.ns_ids("expense", n), source_system=pl.lit("netsuite")
    ).with_columns(source_id=pl.col("expense_id"))


def subcontracts(ctx: Ctx) -> None:
    """Subcontractor POs on ~8 % of T&M projects with monthly vendor bills inside cap and window."""
    rng = ctx.child_rng("subcontract")
    p = ctx.t["project"].filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]))
    p = p.filter(pl.Series(rng.random(p.height) < 0.08))
    n = p.height
    fx = ctx.fx.rate_e8(p["currency"].to_list(), p["_work_start"].to_numpy()) / 1e8
    cap = (np.round(rng.uniform(20_000, 80_000, n) / fx / 1000) * 100_000).astype(np.int64)
    sc = (
        p.select(
            "project_id",
            "sow_id",
            "currency",
            "correlation_id",
            valid_from=pl.col("_work_start"),
            valid_to=pl.col("end_date") + 45,
        )
        .with_columns(
            subcontract_id=ids.ns_ids("purchaseorder", n),
            vendor_id=ids.ns_ids("vendor", n) if n else pl.Series([], dtype=pl.String),
            cap_amount=pl.Series(cap),
            status=pl.lit("executed"),
            rebillable=pl.Series(rng.random(n) < 0.8),
            markup_pct=pl.Series(np.where(rng.random(n) < 0.5, 0.10, 0.0)),
            source_system=pl.lit("netsuite"),
        )
        .with_columns(source_id=pl.col("subcontract_id"))
    )
    ctx.t["subcontract"] = sc
    m0 = month_index(sc["valid_from"].to_numpy())
    m1 = month_index(sc["valid_to"].to_numpy() - 45)
    k = np.maximum(m1 - m0 + 1, 1)
    r = np.repeat(np.arange(n), k)
    j = np.arange(len(r)) - np.repeat(np.cumsum(k) - k, k)
    bill = month_end(((m0[r] + j).astype("datetime64[M]")).astype("datetime64[D]").astype(np.int64)) + 5
    amt = (cap[r] * 0.75 / k[r] * rng.uniform(0.8, 1.0, len(r))).astype(np.int64)
    vb = (
        sc[r]
        .select("vendor_id", "project_id", "subcontract_id", "currency", "rebillable", "correlation_id")
        .with_columns(bill_date=pl.Series(bill), amount=pl.Series(amt))
        .filter(pl.col("bill_date") <= ctx.A)
    )
    ctx.t["vendor_bill"] = vb.with_columns(
        vendor_bill_id=ids.ns_ids("vendorbill", vb.height), source_system=pl.lit("netsuite")
    ).with_columns(source_id=pl.col("vendor_bill_id"))
