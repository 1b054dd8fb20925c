"""True KPI values built into the firm, each with the exact definition used (catalog §B)."""

from __future__ import annotations

import numpy as np
import polars as pl

from .calc import DAY
from .ctx import Ctx
from .frames import by_slices, slices
from .params import CHECK_PARAMS

# The KPI files' own parameters (their headers), so the truth is computed with what the KPIs compute with.
SLA_SOW_BD = CHECK_PARAMS["sla_sow_to_project_bd"]
SLA_AMEND_BD = CHECK_PARAMS["sla_amend_bd"]
DSO_DAYS = CHECK_PARAMS["dso_days"]

BILLING_CHECKS = [
    "Q2C-020",
    "Q2C-021",
    "Q2C-022",
    "Q2C-023",
    "Q2C-024",
    "Q2C-030",
    "Q2C-031",
    "Q2C-032",
    "Q2C-033",
    "Q2C-035",
    "Q2C-036",
    "Q2C-038",
    "Q2C-050",
    "Q2C-051",
    "Q2C-053",
    "Q2C-055",
    "Q2C-056",
    "Q2C-060",
    "Q2C-061",
]


def _rc_rows(ctx: Ctx, amount: np.ndarray, scale: int, ccy: list, days: np.ndarray) -> float:
    """Σ of per-row round(amount × fx(ccy, day), 2) in USD, as the KPI SQL sums per-row rounded values."""
    if not len(ccy):
        return 0.0
    return int(ctx.fx.rc_units(np.asarray(amount, dtype=np.int64), scale, ccy, np.asarray(days)).sum()) / 100


def _rc_rows_f(ctx: Ctx, amount: np.ndarray, ccy: list, day: int) -> float:
    """Per-row round(x × fx, 2) of DOUBLE amounts (DECIMAL × DOUBLE markup is DOUBLE in the SQL)."""
    if not len(ccy):
        return 0.0
    x = np.asarray(amount, dtype=np.float64) * (ctx.fx.rate_e8(ccy, np.full(len(ccy), day)) / 1e8) * 100
    return float((np.sign(x) * np.floor(np.abs(x) + 0.5)).sum()) / 100


def compute(ctx: Ctx, key: pl.DataFrame | None = None) -> dict:
    """K01, K03, K05, DSO, unbilled WIP and K04 inputs at as_of (reporting currency USD, fx at as_of)."""
    out: dict = {}
    cal = ctx.cal
    s = ctx.t["sow"].filter(pl.col("status") == "executed")
    first = ctx.t["project"].group_by("sow_id").agg((pl.col("created_at").min() // DAY).alias("_c"))
    k = s.join(first, on="sow_id", how="left")
    has = k["_c"].is_not_null().to_numpy()
    lead = cal.bd_diff(k["signed_date"].to_numpy()[has], k["_c"].to_numpy()[has])
    censored = cal.bd_diff(
        k["signed_date"].to_numpy(), np.where(has, k["_c"].fill_null(ctx.A).to_numpy(), ctx.A)
    )
    out["K01"] = {
        "definition": "per executed SOW lead_bd = bd_diff(signed_date, min(project.created_at)::DATE) on the firm-wide "
        "calendar; median/P90 over SOWs with a project; sla_attainment = share of all executed SOWs with "
        f"bd_diff(signed, coalesce(first_created, as_of)) <= {SLA_SOW_BD}; share_open = share without a project",
        "n_sows": len(k),
        "median_bd": float(np.median(lead)) if len(lead) else None,
        "p90_bd": float(np.quantile(lead, 0.9)) if len(lead) else None,
        "sla_attainment": float(np.mean(censored <= SLA_SOW_BD)),
        "share_open": float(1 - has.mean()),
    }
    out["K03"] = _k03(ctx)
    inv = ctx.t["invoice"].filter(
        (pl.col("type") == "invoice") & ~pl.col("status").is_in(["draft", "cancelled"])
    )
    open_inv = inv.with_columns(_open=pl.col("amount_gross") - pl.col("amount_paid")).filter(
        pl.col("_open") > 1
    )
    crm = ctx.t["crm_invoice_status"].select(
        "erp_invoice_no",
        pl.col("amount").alias("_ca"),
        "paid_amount",
        "last_synced_at",
        pl.col("status").alias("_cs"),
    )
    v = open_inv.join(crm, on="erp_invoice_no", how="left").with_columns(
        _vis=pl.col("_ca").is_not_null()
        & ((pl.col("_ca") - pl.col("paid_amount").fill_null(0) - pl.col("_open")).abs() <= 1)
    )

    def _ar(df: pl.DataFrame) -> float:
        return _rc_rows(ctx, df["_open"].to_numpy(), 2, df["currency"], df["invoice_date"].to_numpy())

    tot_open = _ar(open_inv)
    vis = v.filter("_vis")
    out["K05"] = {
        "definition": "Σ ERP open AR (gross − settled) on invoices present in crm_invoice_status whose CRM open amount "
        "(amount − paid_amount) matches within 0.01 ÷ Σ ERP open AR; USD per invoice at its invoice-date rate, "
        "rounded per invoice (sync-age condition omitted: a CRM row is written within hours of each ERP change, "
        "so a stale row shows as an open-amount mismatch)",
        "open_ar_usd": round(tot_open, 2),
        "ar_visibility_coverage": round(_ar(vis) / tot_open, 6) if tot_open else None,
    }
    bill90 = inv.filter(pl.col("invoice_date") > ctx.A - DSO_DAYS)
    b = _rc_rows(
        ctx,
        bill90["amount_gross"].to_numpy(),
        2,
        bill90["currency"],
        bill90["invoice_date"].to_numpy(),
    )
    out["DSO"] = {
        "definition": f"simple DSO = open AR ÷ gross billings (type invoice) of the last {DSO_DAYS} days × "
        f"{DSO_DAYS}; USD per "
        "invoice at its invoice-date rate, rounded per invoice",
        "days": round(tot_open / b * DSO_DAYS, 6) if b else None,
    }
    out["unbilled_wip"] = _wip(ctx)
    last_m = inv.filter(pl.col("invoice_date") > ctx.A - 30)
    out["K04_inputs"] = {
        "definition": "invoices (type invoice) dated in the 30 days up to as_of; exceptions = those "
        "invoices named by an answer-key row of a billing-class check",
        "invoices_last_30d": int(last_m.height),
        "billing_checks": BILLING_CHECKS,
    }
    return out


def _first_on_or_after(am: pl.DataFrame, upd: pl.DataFrame, name: str) -> pl.DataFrame:
    """Per amendment: the earliest update date (epoch s → day) of its SOW's target on or after the signature."""
    j = am.select("amendment_id", "sow_id", "signed_date").join(upd, on="sow_id")
    j = j.with_columns(_d=pl.col("_ts") // DAY).filter(pl.col("_d") >= pl.col("signed_date"))
    return j.group_by("amendment_id").agg(pl.col("_d").min().alias(name))


def _k03(ctx: Ctx) -> dict:
    """K03 on the timestamps the systems keep (catalog §B SQL), for executed value amendments."""
    s = ctx.t["sow"].select("sow_id", "billing_type", "currency")
    am = (
        ctx.t["amendment"]
        .filter(
            (pl.col("status") == "executed") & (pl.col("value_delta") != 0) & (pl.col("signed_date") <= ctx.A)
        )
        .join(s, on="sow_id")
    )
    for name, tbl, col in (
        ("_tb", "project", "budget_updated_at"),
        ("_tl", "billing_schedule", "updated_at"),
        ("_tr", "revenue_contract", "tp_updated_at"),
    ):
        upd = ctx.t[tbl].select("sow_id", pl.col(col).alias("_ts")).drop_nulls()
        am = am.join(_first_on_or_after(am, upd, name), on="amendment_id", how="left")
    fixed = pl.col("billing_type").is_in(["FF", "MILESTONE", "RETAINER", "MANAGED_SERVICE"])
    am = am.with_columns(_tl2=pl.when(fixed).then("_tl").otherwise("_tb"))
    done = am["_tb"].is_not_null() & am["_tr"].is_not_null() & am["_tl2"].is_not_null()
    d = am.filter(done)
    last = np.maximum.reduce([d["_tb"].to_numpy(), d["_tr"].to_numpy(), d["_tl2"].to_numpy()])
    prop = ctx.cal.bd_diff(d["signed_date"].to_numpy(), last)
    op = am.filter(~done)
    val = ctx.fx.rc_units(
        np.abs(op["value_delta"].to_numpy()), 2, op["currency"], op["signed_date"].to_numpy()
    )
    return {
        "definition": "per executed value amendment signed by as_of: t_target = earliest update date on/after the "
        "signature of the SOW's project budget (budget_updated_at), revenue contract (tp_updated_at) and, for "
        "FF/MILESTONE/RETAINER, billing schedule (updated_at; else the budget); prop_bd = bd_diff(signed, max); "
        f"median/P90 (linear) over propagated ones; within_sla_share = share of all with prop_bd <= {SLA_AMEND_BD}; open "
        "backlog = count and Σ round(|value_delta| × fx(sow ccy, signed_date), 2) not yet propagated. Systems keep "
        "only their latest timestamp, so an amendment followed by another looks as late as the later one's update",
        "n_amendments": int(am.height),
        "median_bd": float(np.quantile(prop, 0.5)) if len(prop) else None,
        "p90_bd": float(np.quantile(prop, 0.9)) if len(prop) else None,
        "within_sla_share": float((prop <= SLA_AMEND_BD).sum() / am.height) if am.height else None,
        "open_backlog": int(op.height),
        "open_value_usd": int(val.sum()) / 100,
    }


def _wip(ctx: Ctx) -> dict:
    """K07 WIP$ as catalog §B: each row rounded to USD cents at the as_of rate, then summed."""
    A = ctx.A
    p = ctx.t["project"].select("project_id", "sow_id", "billing_type")
    s = ctx.t["sow"].select(
        "sow_id", pl.col("currency").alias("_sc"), "expense_rebillable", "expense_markup_pct"
    )

    def wip(te: pl.DataFrame) -> pl.DataFrame:
        return (
            te.select(
                "project_id", "hours", "_rate", "billable", "approval_status", "invoice_line_id", "work_date"
            )
            .filter(
                pl.col("billable")
                & (pl.col("approval_status") == "approved")
                & pl.col("invoice_line_id").is_null()
                & (pl.col("work_date") <= A)
            )
            .join(p, on="project_id")
            .join(s, on="sow_id")
            .filter(pl.col("billing_type").is_in(["TM", "TM_CAP"]) & pl.col("_rate").is_not_null())
            .select("hours", "_rate", "_sc")
        )

    # a sum of per-entry rounded values: slices of entries give the same
    te = by_slices(ctx.t["time_entry"], wip)
    n = te.height
    time_usd = _rc_rows(ctx, (te["hours"] * te["_rate"]).to_numpy(), 4, te["_sc"], np.full(n, A))
    ex = (
        ctx.t["expense"]
        .filter(
            pl.col("billable")
            & (pl.col("approval_status") == "approved")
            & pl.col("invoice_line_id").is_null()
        )
        .join(p, on="project_id")
        .join(s, on="sow_id")
        .filter(pl.col("expense_rebillable").fill_null(False))
    )
    amt = ex["amount"].to_numpy() / 100 * (1 + ex["expense_markup_pct"].fill_null(0.0).to_numpy())
    exp_usd = _rc_rows_f(ctx, amt, ex["currency"], A)
    live = ctx.t["invoice"].filter(~pl.col("status").is_in(["draft", "cancelled"]))["invoice_id"].implode()
    lines = ctx.t["invoice_line"].select("invoice_id", "line_type", "source_id")
    on_live = pl.col("invoice_id").is_in(live)
    mbilled = lines.filter(on_live & (pl.col("line_type") == "milestone"))["source_id"].implode()
    ms = (
        ctx.t["milestone"]
        .filter((pl.col("accepted_date") <= A) & ~pl.col("milestone_id").is_in(mbilled))
        .join(s, on="sow_id")
    )
    ms_usd = _rc_rows(ctx, ms["amount"].to_numpy(), 2, ms["_sc"], np.full(ms.height, A))
    bs = ctx.t["billing_schedule"].filter(
        pl.col("line_type").is_in(["fixed", "retainer"])
        & (pl.col("bill_date") <= A)
        & pl.col("schedule_line_id").is_not_null()  # is_in of a null id is null: such a row never passed
    )
    # not a source of any live line: checked against a slice of lines at a time, not a set of every source id
    for part in slices(lines):
        bs = bs.filter(~pl.col("schedule_line_id").is_in(part.filter(on_live)["source_id"].implode()))
    bs_usd = _rc_rows(ctx, bs["amount"].to_numpy(), 2, bs["currency"], np.full(bs.height, A))
    return {
        "definition": "approved billable uninvoiced T&M time (work_date ≤ as_of) × contract rate + approved billable "
        "uninvoiced expenses on re-billable SOWs × (1 + markup) + accepted milestones not on a live invoice + due "
        "fixed/retainer lines not on a live invoice; each row USD at the as_of rate rounded to cents (no TM_CAP "
        "capping: generated caps never bind)",
        "time_usd": round(time_usd, 2),
        "expense_usd": round(exp_usd, 2),
        "milestone_usd": round(ms_usd, 2),
        "schedule_usd": round(bs_usd, 2),
        "total_usd": round(time_usd + exp_usd + ms_usd + bs_usd, 2),
    }
